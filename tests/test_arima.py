"""ARIMA (baselines/arima.py) against known answers on real data, with real statsmodels."""
import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.statespace.sarimax import SARIMAX

from baselines.arima import Arima
from bench import runner
from bench.forecaster import ModelSkipped
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
                  max_pq=2, max_models=6).fit(air.iloc[:108])
    assert len(model.candidates_) <= 6
    assert model.seasonal_order_[1] == 1  # air passengers' season is strong
    p, d, q = model.order_
    assert p <= 2 and q <= 2
    assert np.all(np.isfinite(model.predict(12)))


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
