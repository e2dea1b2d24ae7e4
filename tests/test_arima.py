"""ARIMA (baselines/arima.py) against known answers on real data, with real statsmodels."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.statespace.sarimax import SARIMAX

from baselines import arima
from baselines.arima import Arima
from baselines.naive import SeasonalNaive
from scipy.stats import norm

from bench import quantiles, runner, seasonality
from bench.forecaster import ModelSkipped
from bench.quantiles import INTERVALS, LEVELS
from bench.splits import WalkForward

AIRLINE = dict(p=0, d=1, q=1, P=0, D=1, Q=1, transform="log")
AIR_SPLIT = WalkForward(horizon=12, test_size=36, step=1, refit_every=1)
SEASONAL_NAIVE_AIR_MAE = 38.61


def named_params(model: Arima) -> dict[str, float]:
    return dict(zip(model.results_.model.param_names, model.results_.params))


def test_airline_model_on_log_air_passengers_recovers_the_textbook_ma_coefficients(air):
    # Box & Jenkins (1976), series G: theta = 0.40, Theta = 0.56 (MA signs as statsmodels).
    model = Arima(season_length=12, **AIRLINE).fit(air)
    params = named_params(model)
    assert params["ma.L1"] == pytest.approx(-0.40, abs=0.02)
    assert params["ma.S.L12"] == pytest.approx(-0.56, abs=0.02)
    assert model.n_params() == 3  # two MA coefficients and the innovation variance


def test_update_then_predict_equals_filtering_the_longer_series_with_the_same_parameters(air):
    model = Arima(season_length=12, **AIRLINE).fit(air.iloc[:100])
    params = model.results_.params.copy()
    model.update(air.iloc[100:103]).update(air.iloc[103:104]).update(air.iloc[104:110])

    longer = SARIMAX(np.log(air.to_numpy()[:110]), order=(0, 1, 1),
                     seasonal_order=(0, 1, 1, 12), trend="n").filter(params)
    expected = np.exp(longer.forecast(12))
    np.testing.assert_allclose(model.predict(12), expected, rtol=1e-9)
    np.testing.assert_array_equal(model.results_.params, params)  # nothing re-estimated


@pytest.mark.slow
def test_airline_model_beats_seasonal_naive_by_40_percent_on_the_default_air_protocol(air):
    result = runner.walk_forward(Arima(season_length=12, **AIRLINE), air, AIR_SPLIT, 12)
    assert result.mae() < 0.6 * SEASONAL_NAIVE_AIR_MAE
    assert result.mae() == pytest.approx(15.3, abs=0.3)  # a plain statsmodels loop's MAE


@pytest.mark.slow
def test_when_updating_between_yearly_refits_then_mae_is_within_5_percent_of_refitting_every_origin(air):
    every = runner.walk_forward(Arima(season_length=12, **AIRLINE), air, AIR_SPLIT, 12)
    yearly = runner.walk_forward(Arima(season_length=12, **AIRLINE), air,
                                 WalkForward(12, 36, 1, refit_every=12), 12)
    assert yearly.n_fits == 3 and yearly.n_updates == 22
    assert abs(yearly.mae() - every.mae()) <= 0.05 * every.mae()


@pytest.mark.slow
def test_when_updating_between_refits_on_sunspots_then_mae_is_within_5_percent(sunspots):
    split = dict(horizon=12, test_size=60, step=1)
    make = lambda: Arima(season_length=132, p=1, d=1, q=1)
    every = runner.walk_forward(make(), sunspots, WalkForward(**split, refit_every=1), 132)
    yearly = runner.walk_forward(make(), sunspots, WalkForward(**split, refit_every=12), 132)
    assert abs(yearly.mae() - every.mae()) <= 0.05 * every.mae()


def test_when_the_season_is_too_long_for_sarimax_then_a_non_seasonal_model_is_fitted(sunspots):
    model = Arima(season_length=132, p=1, d=1, q=1).fit(sunspots.iloc[-600:])
    assert model.seasonal_ is False
    assert model.seasonal_order_ == (0, 0, 0, 0)
    assert np.all(np.isfinite(model.predict(12)))


def test_log_transform_of_a_series_with_zeros_is_skipped_with_a_reason(sunspots):
    with pytest.raises(ModelSkipped, match="positive"):
        Arima(season_length=132, transform="log").fit(sunspots)


def test_boxcox_forecasts_are_positive_and_lambda_counts_as_a_parameter(air):
    model = Arima(season_length=12, p=0, d=1, q=1, transform="boxcox").fit(air.iloc[:120])
    forecast = model.predict(24)
    assert np.all(np.isfinite(forecast)) and np.all(forecast > 0)
    assert -1 < model.lambda_ < 1
    assert model.n_params() == 4  # ma, seasonal ma, variance, lambda


def test_auto_order_search_stays_within_its_bounds_and_finds_a_seasonal_difference(air):
    model = Arima(season_length=12, order="auto", transform="log",
                  max_p=2, max_q=2, max_models=6).fit(air.iloc[:108])
    assert len(model.candidates_) <= 6
    assert model.seasonal_order_[1] == 1  # air passengers' season is strong
    p, d, q = model.order_
    assert p <= 2 and q <= 2
    assert np.all(np.isfinite(model.predict(12)))


def test_differencing_follows_r_ndiffs_and_nsdiffs_on_air_passengers(air):
    # R: nsdiffs(AirPassengers) = 1; ndiffs(diff(log(AirPassengers), 12)) = 1 (its help page).
    logs = np.log(air.to_numpy())
    assert seasonality.nsdiffs(logs, 12) == 1
    assert seasonality.ndiffs(logs[12:] - logs[:-12]) == 1
    assert seasonality.kpss_lags(132) == 2       # R: trunc(3 * sqrt(132) / 13)
    assert seasonality.ndiffs(np.arange(50.0)) == 1       # a line is one difference from constant


def test_with_no_parameters_the_model_is_searched_on_logs_and_fit_info_names_the_choice(air):
    model = Arima(season_length=12).fit(air)
    info = model.fit_info()
    assert info["transform"] == "log"              # air passengers' spread grows with its level
    assert model.seasonal_order_[1] == 1 and model.order_[1] == 1
    assert info["order"] == "({},{},{})({},{},{})12".format(*model.order_, *model.seasonal_order_[:3])
    assert info["constant"] == "none"              # d + D = 2: auto.arima allows no constant
    assert info["fit_obs"] == 144
    assert all(key[-1] is False for key in model.candidates_)


def test_exact_search_on_log_air_passengers_finds_rs_airline_model(air):
    # R: auto.arima(AirPassengers, lambda = 0) is ARIMA(0,1,1)(0,1,1)[12] (exact ML search).
    model = Arima(season_length=12, approximation=False).fit(air)
    assert model.order_ == (0, 1, 1) and model.seasonal_order_ == (0, 1, 1, 12)


def test_where_d_plus_D_is_one_the_search_tries_each_model_with_and_without_drift(google):
    model = Arima(season_length=5).fit(google.iloc[:-20])
    assert model.order_[1] + model.seasonal_order_[1] == 1
    tried = {key[:6] for key in model.candidates_ if key[-1]} & \
        {key[:6] for key in model.candidates_ if not key[-1]}
    assert tried                                    # some order was fitted both ways
    assert model.fit_info()["constant"] in ("drift", "none")


def test_a_series_with_zeros_and_a_season_beyond_the_bound_gets_a_non_seasonal_untransformed_model(
        sunspots):
    model = Arima(season_length=132).fit(sunspots.iloc[-600:])
    assert model.fit_info()["transform"] == "none" and model.seasonal_ is False
    assert model.seasonal_order_ == (0, 0, 0, 0) and model.n_obs_ == 600  # whole window
    assert np.all(np.isfinite(model.predict(12)))


def test_automatic_window_bounds_only_long_seasons_and_keeps_all_of_a_non_seasonal_series():
    assert Arima(season_length=24)._window(17520, 24) == 2400      # 100 days of hours
    assert Arima(season_length=12)._window(3000, 12) == 3000
    assert Arima(season_length=5)._window(1258, 5) == 1258
    assert Arima(season_length=132)._window(3265, 1) == 3265
    assert Arima(season_length=24, fit_last=None)._window(17520, 24) == 17520
    assert Arima(season_length=24, fit_last=672)._window(17520, 24) == 672


def test_seasonal_roots_are_checked_in_the_seasonal_lag_not_in_the_expanded_polynomial():
    # Theta = -0.85 at m = 24: the expanded polynomial's roots have modulus 0.85^(-1/24)
    # = 1.0068, which R's check (1.01) rejects; in B^24 the root is 1 / 0.85 = 1.18.
    assert arima._roots_ok(np.empty(0), np.empty(0), np.empty(0), np.array([-0.85]))
    assert not arima._roots_ok(np.array([-0.995]), np.empty(0))     # AR(1) phi = 0.995


def test_short_negative_and_constant_series_still_get_finite_forecasts():
    index = pd.date_range("2020-01-01", periods=20, freq="MS")
    rng = np.random.default_rng(3)
    short = pd.Series(rng.normal(size=20) - 5.0, index=index)
    assert np.all(np.isfinite(Arima(season_length=12).fit(short).predict(12)))
    flat = pd.Series(np.full(30, 7.0), index=pd.date_range("2020-01-01", periods=30, freq="D"))
    np.testing.assert_allclose(Arima(season_length=7).fit(flat).predict(3), 7.0)


def test_giving_an_order_fixes_it_and_searching_with_fixed_p_is_refused(air):
    fixed = Arima(season_length=12, p=1, transform="none").fit(air.iloc[:120])
    assert fixed.order_ == (1, 1, 1) and fixed.seasonal_order_ == (0, 1, 1, 12)  # airline otherwise
    with pytest.raises(ValueError, match="order='fixed'"):
        Arima(season_length=12, order="auto", p=1).fit(air)
    searched = Arima(season_length=12, order="auto", D=0, transform="log").fit(air.iloc[:120])
    assert searched.seasonal_order_[1] == 0       # D fixed, as auto.arima(D = 0)


@pytest.mark.slow
def test_default_walk_on_air_passengers_validation_span_beats_seasonal_naive(air):
    # The validation span: the series before the default split's test span. Its cost is
    # benchmarks/test_classical_speed.py's to measure, not a test's to assert.
    y = air.iloc[:-36]
    result = runner.walk_forward(Arima(season_length=12), y, AIR_SPLIT, 12)
    naive = runner.walk_forward(SeasonalNaive(season_length=12), y, AIR_SPLIT, 12)
    assert result.mae() < naive.mae()


def test_random_walk_without_drift_forecasts_the_last_value():
    y = pd.Series(np.cumsum(np.random.default_rng(0).normal(size=200)) + 50.0,
                  index=pd.date_range("2000-01-01", periods=200, freq="D"))
    model = Arima(p=0, d=1, q=0, seasonal=False, trend="n").fit(y)
    np.testing.assert_allclose(model.predict(5), np.full(5, y.iloc[-1]))
    assert model.n_params() == 1


def test_invalid_hyperparameters_fail_in_fit_not_in_the_constructor(air):
    model = Arima(transform="sqrt")
    with pytest.raises(ValueError, match="transform"):
        model.fit(air)


# -- forecast distribution -------------------------------------------------------------

def widths(q: np.ndarray) -> np.ndarray:
    """The 95% interval's width at each horizon step."""
    lo, hi = INTERVALS[95]
    return q[:, quantiles.index_of(hi)] - q[:, quantiles.index_of(lo)]


def test_random_walk_quantiles_are_the_last_value_plus_root_h_sigma_times_normal_quantiles():
    y = pd.Series(np.cumsum(np.random.default_rng(0).normal(scale=3.0, size=300)) + 50.0,
                  index=pd.date_range("2000-01-01", periods=300, freq="D"))
    model = Arima(p=0, d=1, q=0, seasonal=False, trend="n").fit(y)
    sigma2 = model.results_.params[-1]
    # R's sigma2 for a random walk: the mean square of the 299 differences (maximum likelihood).
    assert sigma2 == pytest.approx(np.mean(np.diff(y.to_numpy()) ** 2), rel=1e-6)
    q = quantiles.checked(model.predict_quantiles(10, LEVELS), 10)
    h = np.arange(1, 11)[:, None]
    expected = y.iloc[-1] + np.sqrt(h * sigma2) * norm.ppf(LEVELS)[None, :]
    np.testing.assert_allclose(q, expected, rtol=1e-9)


def test_quantiles_of_the_automatic_model_on_a_stock_price_widen_with_the_horizon(google):
    model = Arima(season_length=5).fit(google.iloc[:-20])
    forecast = model.predict(20)
    q = quantiles.checked(model.predict_quantiles(20, LEVELS), 20)
    assert q.shape == (20, len(LEVELS))
    assert np.all(np.diff(q, axis=1) > 0)                       # never crossing, never equal
    assert np.all(np.diff(widths(q)) > 0)                       # wider at every further step
    np.testing.assert_allclose(q[:, LEVELS.index(0.5)], forecast, rtol=1e-12)


def test_log_model_quantiles_are_exponentiated_normal_quantiles_around_the_log_forecast(air):
    model = Arima(season_length=12, **AIRLINE).fit(air.iloc[:120])
    forecast = model.predict(12)
    q = model.predict_quantiles(12, LEVELS)
    prediction = model.results_.get_forecast(12)
    expected = np.exp(prediction.predicted_mean[:, None]
                      + np.sqrt(prediction.var_pred_mean)[:, None] * norm.ppf(LEVELS)[None, :])
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    np.testing.assert_allclose(q[:, LEVELS.index(0.5)], forecast, rtol=1e-12)   # the median
    upper, lower = q[:, -1] - forecast, forecast - q[:, 0]
    assert np.all(upper > lower)                                 # skewed upwards, as logs make it
    # The one-step variance is the fitted innovation variance sigma2 (plus what is left of
    # the states' uncertainty after 120 months: 1e-5 of it).
    assert prediction.var_pred_mean[0] == pytest.approx(named_params(model)["sigma2"], rel=1e-4)


def test_quantiles_for_other_levels_follow_the_same_normal():
    y = pd.Series(np.cumsum(np.random.default_rng(1).normal(size=100)),
                  index=pd.date_range("2000-01-01", periods=100, freq="D"))
    model = Arima(p=0, d=1, q=0, seasonal=False, trend="n").fit(y)
    q = model.predict_quantiles(3, [0.01, 0.5, 0.99])
    np.testing.assert_allclose(q[:, 0] + q[:, 2], 2 * y.iloc[-1])
    assert q.shape == (3, 3) and np.all(np.diff(q, axis=1) > 0)


def test_quantiles_after_update_equal_filtering_the_longer_series_with_the_same_parameters(air):
    model = Arima(season_length=12, **AIRLINE).fit(air.iloc[:100])
    params = model.results_.params.copy()
    before = (model.predict(12), model.predict_quantiles(12, LEVELS))   # cached for the old state
    model.update(air.iloc[100:103]).update(air.iloc[103:110])
    model.predict(12)
    q = model.predict_quantiles(12, LEVELS)

    longer = SARIMAX(np.log(air.to_numpy()[:110]), order=(0, 1, 1),
                     seasonal_order=(0, 1, 1, 12), trend="n").filter(params).get_forecast(12)
    expected = np.exp(longer.predicted_mean[:, None]
                      + np.sqrt(longer.var_pred_mean)[:, None] * norm.ppf(LEVELS)[None, :])
    np.testing.assert_allclose(q, expected, rtol=1e-9)
    assert not np.allclose(q, before[1])
    np.testing.assert_array_equal(model.results_.params, params)     # sigma2 not re-estimated


def ar1_panel(n_series, length, phi, sigma, mean, seed) -> np.ndarray:
    """Stationary Gaussian AR(1) series, one per row (started from the stationary distribution)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(scale=sigma, size=(n_series, length))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi ** 2)
    for t in range(1, length):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return mean + x


@pytest.mark.slow
def test_known_answer_correct_ar1_model_intervals_cover_their_nominal_share_of_held_out_values():
    # 1,000 Gaussian AR(1) series (phi 0.6, innovation sd 2, mean 50), 200 points each, one
    # origin at the end, 12 steps held out: the 95% and 80% intervals of the true model
    # (order fixed to (1,0,0) with a mean, parameters estimated) must cover 95% +- 1% and
    # 80% +- 1.5% of the 12,000 held-out values. The forecast variance grows from sigma2
    # to sigma2 / (1 - phi^2) = 1.56 sigma2: intervals that ignored it, or a variance not
    # scaled by sigma2 = 4, would miss by far more.
    length, horizon = 200, 12
    panel = ar1_panel(1000, length + horizon, phi=0.6, sigma=2.0, mean=50.0, seed=0)
    index = pd.date_range("2000-01-01", periods=length, freq="D")
    inside = {nominal: 0 for nominal in (95, 80)}
    for y in panel:
        model = Arima(order="fixed", p=1, d=0, q=0, seasonal=False, transform="none")
        model.fit(pd.Series(y[:length], index=index))
        assert model.trend_ == "c"                               # the mean
        model.predict(horizon)
        q = quantiles.checked(model.predict_quantiles(horizon, LEVELS), horizon)
        actual = y[length:]
        for nominal in inside:
            lo, hi = (quantiles.index_of(v) for v in INTERVALS[nominal])
            inside[nominal] += int(np.sum((actual >= q[:, lo]) & (actual <= q[:, hi])))
    n = panel.shape[0] * horizon
    coverage = {nominal: count / n for nominal, count in inside.items()}
    assert coverage[95] == pytest.approx(0.95, abs=0.01), coverage
    assert coverage[80] == pytest.approx(0.80, abs=0.015), coverage
