"""Holt-Winters (baselines/holt_winters.py) on real data, checked against statsmodels itself."""
import numpy as np
import pandas as pd
import pytest

from baselines.holt_winters import HoltWinters
from bench import data, runner, seasonality
from bench.forecaster import ModelSkipped
from bench.splits import WalkForward

AIR_SPLIT = WalkForward(horizon=12, test_size=36, step=1, refit_every=1)
SEASONAL_NAIVE_AIR_MAE = 38.61


def refiltered(model: HoltWinters, values: np.ndarray):
    """statsmodels re-running the fitted model over ``values`` with everything fixed."""
    p = model.params_
    sm = model.statsmodels_model(
        values, initialization_method="known", initial_level=p["initial_level"],
        initial_trend=p["initial_trend"] if model.trend != "none" else None,
        initial_seasonal=p["initial_seasons"] if model.seasonal_ else None)
    fixed = {"smoothing_level": model.alpha_}
    if model.trend != "none":
        fixed["smoothing_trend"] = model.beta_
    if model.trend == "damped":
        fixed["damping_trend"] = model.phi_
    if model.seasonal_:
        fixed["smoothing_seasonal"] = model.gamma_
    return sm.fit(optimized=False, **fixed)


@pytest.mark.parametrize("trend", ["none", "add", "damped"])
@pytest.mark.parametrize("season", ["none", "add", "mul"])
def test_update_gives_the_states_of_statsmodels_refiltering_the_longer_series_with_fixed_parameters(
        air, trend, season):
    model = HoltWinters(season_length=12, trend=trend, season=season).fit(air.iloc[:110])
    for start, stop in [(110, 111), (111, 112), (112, 120), (120, 130)]:
        model.update(air.iloc[start:stop])
    res = refiltered(model, air.to_numpy()[:130])

    assert model.level_ == pytest.approx(res.level[-1], rel=1e-10)
    if trend != "none":
        assert model.slope_ == pytest.approx(res.trend[-1], rel=1e-8, abs=1e-10)
    # statsmodels' forecast is right below one full season (see the next test).
    np.testing.assert_allclose(model.predict(11), res.forecast(11), rtol=1e-10)


@pytest.mark.parametrize("season", ["add", "mul"])
def test_update_matches_statsmodels_on_hourly_load_where_the_seasonal_states_move(season):
    load = data.load_series("energy_aep_hourly").iloc[-4200:]
    model = HoltWinters(season_length=24, trend="none", season=season).fit(load.iloc[:4000])
    assert model.gamma_ > 0.05  # the daily profile is re-estimated as it goes
    for start in range(4000, 4200, 40):
        model.update(load.iloc[start:start + 40])
    res = refiltered(model, load.to_numpy())
    np.testing.assert_allclose(model.predict(23), res.forecast(23), rtol=1e-10)


def test_forecast_one_full_season_ahead_uses_the_latest_seasonal_state():
    # statsmodels <= 0.15 uses the factor from one season earlier here (issue #9538).
    load = data.load_series("energy_aep_hourly").iloc[-4000:]
    model = HoltWinters(season_length=24, trend="add", season="add").fit(load)
    forecast = model.predict(48)
    assert forecast[23] == pytest.approx(model.level_ + 24 * model.slope_ + model.seasons_[-1])
    assert forecast[47] - forecast[23] == pytest.approx(24 * model.slope_)


@pytest.mark.slow
def test_additive_trend_multiplicative_season_beats_seasonal_naive_by_40_percent_on_air(air):
    model = HoltWinters(season_length=12, trend="add", season="mul")
    result = runner.walk_forward(model, air, AIR_SPLIT, 12)
    assert result.mae() < 0.6 * SEASONAL_NAIVE_AIR_MAE


@pytest.mark.slow
def test_when_updating_between_yearly_refits_on_air_then_mae_is_within_15_percent_of_refitting(air):
    # statsmodels' least squares has local minima on air passengers, and its default start
    # lands in different ones from origin to origin, so a refit every month and a yearly
    # refit with updates in between differ more than for ARIMA (measured: 16.3 vs 18.1).
    make = lambda: HoltWinters(season_length=12, trend="add", season="mul")
    every = runner.walk_forward(make(), air, AIR_SPLIT, 12)
    yearly = runner.walk_forward(make(), air, WalkForward(12, 36, 1, refit_every=12), 12)
    assert yearly.n_updates == 22
    assert abs(yearly.mae() - every.mae()) <= 0.15 * every.mae()


@pytest.mark.slow
def test_when_updating_between_yearly_refits_on_sunspots_then_mae_is_within_5_percent(sunspots):
    make = lambda: HoltWinters(season_length=132, trend="damped", season="none")
    split = dict(horizon=12, test_size=120, step=1)
    every = runner.walk_forward(make(), sunspots, WalkForward(**split, refit_every=1), 132)
    yearly = runner.walk_forward(make(), sunspots, WalkForward(**split, refit_every=12), 132)
    assert abs(yearly.mae() - every.mae()) <= 0.05 * every.mae()


def test_fit_is_statsmodels_own_default_fit(air):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = HoltWinters(season_length=12, trend="add", season="mul").fit(air.iloc[:108])
    default = ExponentialSmoothing(air.to_numpy()[:108], trend="add", seasonal="mul",
                                   seasonal_periods=12).fit()
    assert model.alpha_ == default.params["smoothing_level"]
    assert model.gamma_ == default.params["smoothing_seasonal"]
    np.testing.assert_allclose(model.predict(11), default.forecast(11), rtol=1e-12)


def test_with_no_parameters_air_passengers_gets_a_damped_trend_and_a_multiplicative_season(air):
    model = HoltWinters(season_length=12).fit(air.iloc[:120])
    assert model.fit_info() == {"trend": "damped", "season": "mul"}
    assert model.phi_ < 1
    assert model.n_params() == 4 + 2 + 12  # alpha beta gamma phi, level trend, 12 seasons


def test_automatic_season_is_additive_where_the_spread_does_not_grow_with_the_level(energy):
    index = pd.date_range("2000-01-01", periods=240, freq="MS")
    rng = np.random.default_rng(5)
    months = np.arange(240)
    y = pd.Series(np.linspace(100, 1000, 240) + 30 * np.sin(2 * np.pi * months / 12)
                  + rng.normal(scale=5, size=240), index=index)
    assert not seasonality.variance_grows_with_level(y.to_numpy(), 12)
    assert HoltWinters(season_length=12).fit(y).fit_info()["season"] == "add"
    # Hourly load's daily swing grows with its level (Guerrero's lambda about -0.8).
    assert HoltWinters(season_length=24).fit(energy.iloc[-2000:]).fit_info()["season"] == "mul"


def test_automatic_season_is_none_without_autocorrelation_at_the_season_or_two_seasons_of_data(air):
    rng = np.random.default_rng(4)
    noise = pd.Series(rng.normal(100.0, 1.0, size=120), index=air.index[:120])
    assert HoltWinters(season_length=12).fit(noise).fit_info()["season"] == "none"
    short = HoltWinters(season_length=12).fit(air.iloc[:20])     # fewer than 2 * 12 + 2
    assert short.fit_info()["season"] == "none" and np.all(np.isfinite(short.predict(12)))
    with pytest.raises(ModelSkipped, match="too few"):
        HoltWinters(season_length=12, season="add").fit(air.iloc[:20])


def test_a_series_with_zeros_and_a_long_cycle_gets_the_non_seasonal_damped_method(sunspots):
    model = HoltWinters(season_length=132).fit(sunspots.iloc[-600:])
    assert model.fit_info() == {"trend": "damped", "season": "none"}


def test_multiplicative_season_on_a_series_with_zeros_is_skipped_with_a_reason(sunspots):
    with pytest.raises(ModelSkipped, match="positive"):
        HoltWinters(season_length=12, trend="none", season="mul").fit(sunspots)


def test_when_the_season_is_longer_than_max_season_then_the_non_seasonal_method_is_fitted(sunspots):
    model = HoltWinters(season_length=132, trend="damped", season="add").fit(sunspots)
    assert model.seasonal_ is False
    assert model.n_params() == 5  # alpha, beta, phi, initial level and trend
    assert np.all(np.isfinite(model.predict(12)))


def test_n_params_counts_smoothing_parameters_and_initial_states(air):
    model = HoltWinters(season_length=12, trend="add", season="mul").fit(air.iloc[:120])
    assert model.n_params() == 3 + 2 + 12  # alpha beta gamma, level trend, 12 seasons


# -- forecast distribution -------------------------------------------------------------

from scipy.stats import norm  # noqa: E402

from baselines import ets  # noqa: E402
from baselines.holt_winters import N_PATHS  # noqa: E402
from bench import quantiles  # noqa: E402
from bench.quantiles import LEVELS  # noqa: E402


def state_space_params(model: HoltWinters) -> dict[str, float]:
    """The ETS state-space parameters of the fitted recursions: beta = alpha * beta*, gamma = gamma*."""
    return {"smoothing_level": model.alpha_, "smoothing_trend": model.alpha_ * model.beta_,
            "smoothing_seasonal": model.gamma_, "damping_trend": model.phi_,
            "initial_level": model.level_, "initial_trend": model.slope_,
            **{f"initial_seasonal.{i}": s for i, s in enumerate(model.seasons_[::-1])}}


@pytest.mark.parametrize("trend", ["none", "add", "damped"])
@pytest.mark.parametrize("season", ["none", "add"])
def test_additive_forms_have_the_exact_variance_of_their_ets_state_space_model(air, trend, season):
    model = HoltWinters(season_length=12, trend=trend, season=season).fit(air.iloc[:120])
    assert model.error_ == "add"
    values = air.to_numpy()[:120]
    res = model.statsmodels_model(values).fit()
    # statsmodels' simulate() estimate: squared residuals over n minus the fitted quantities.
    assert model.sigma2_ == pytest.approx(np.sum(res.resid ** 2) / (120 - model.n_params()), rel=1e-9)

    spec = ets.Spec("add", trend, season)
    sm = ets.statsmodels_model(values, spec, 12)
    params = state_space_params(model)
    etsres = sm.smooth(np.array([params[name] for name in sm.param_names]))
    steps = np.arange(1, 31)
    np.testing.assert_allclose(model.forecast_variance(30) / model.sigma2_,
                               etsres._relative_forecast_variance(steps), rtol=1e-9)
    q = quantiles.checked(model.predict_quantiles(30, LEVELS), 30)
    expected = model.predict(30)[:, None] + np.sqrt(model.forecast_variance(30))[:, None] * norm.ppf(LEVELS)
    np.testing.assert_allclose(q, expected, rtol=1e-12)


@pytest.mark.parametrize("trend, season", [("damped", "mul"), ("add", "mul"), ("none", "mul"),
                                           ("damped", "add")])
def test_paths_are_statsmodels_simulations_with_the_state_space_beta(air, trend, season):
    # statsmodels' HoltWintersResults.simulate moves the slope by smoothing_trend * e, where
    # the recursions it fitted move it by alpha * smoothing_trend * e; with that one change
    # its paths are the model's paths, to rounding.
    model = HoltWinters(season_length=12, trend=trend, season=season).fit(air.iloc[:120])
    res = model.statsmodels_model(air.to_numpy()[:120]).fit()
    errors = np.random.default_rng(3).standard_normal((24, 50)) * np.sqrt(model.sigma2_)
    ours = model._paths(errors)
    if trend != "none":
        res.params["smoothing_trend"] = model.alpha_ * model.beta_
    theirs = res.simulate(24, repetitions=50, error=model.error_, random_errors=errors)
    np.testing.assert_allclose(ours, theirs.T, rtol=1e-9)


@pytest.mark.parametrize("trend", ["none", "add", "damped"])
def test_multiplicative_paths_have_the_moments_of_rs_class_3_model(air, trend):
    # Holt-Winters' multiplicative recursions with y = yhat (1 + e) are R's ETS(M,*,M)
    # state-space model (beta = alpha * beta*): its exact mean and variance (class 3, in
    # baselines.ets) must match the simulated paths. 20,000 paths: sd to about 0.5%.
    model = HoltWinters(season_length=12, trend=trend, season="mul").fit(air.iloc[:120])
    assert model.error_ == "mul"
    state = ets.Fitted(model.alpha_, model.alpha_ * model.beta_, model.gamma_, model.phi_,
                       model.level_, model.slope_, model.seasons_)
    mean, var = ets.forecast_moments(state, ets.Spec("mul", trend, "mul"), model.sigma2_, 24)
    paths = model.simulate(24, 20000, np.random.default_rng(0))
    np.testing.assert_allclose(paths.std(axis=0) / np.sqrt(var), 1.0, atol=0.02)
    np.testing.assert_allclose((paths.mean(axis=0) - mean) / np.sqrt(var), 0.0, atol=0.03)


@pytest.mark.parametrize("season", ["none", "auto"])
def test_quantiles_on_a_stock_price_have_the_shape_never_cross_and_widen_with_the_horizon(season):
    stock = data.load_series("google_stock")
    model = HoltWinters(season_length=5, season=season).fit(stock.iloc[:-20])
    forecast = model.predict(20)
    q = quantiles.checked(model.predict_quantiles(20, LEVELS), 20)
    assert q.shape == (20, len(LEVELS)) and np.all(np.diff(q, axis=1) > 0)
    width = q[:, -1] - q[:, 0]
    median = q[:, LEVELS.index(0.5)]
    if season == "none":                                   # analytic
        assert np.all(np.diff(width) > 0)
        np.testing.assert_allclose(median, forecast, rtol=1e-12)
    else:                                                  # simulated: the spread grows with the level
        assert model.fit_info()["season"] == "mul" and model.error_ == "mul"
        assert np.all(width[5:] > width[:-5]) and width[-1] > 2 * width[0]
        assert np.max(np.abs(median - forecast) / width) < 0.03


def test_simulated_quantiles_are_reproducible_from_the_seed_and_the_observations_seen(air):
    def walk(seed):
        model = HoltWinters(season_length=12, seed=seed).fit(air.iloc[:120])
        first = model.predict_quantiles(12, LEVELS)
        model.update(air.iloc[120:121])
        return first, model.predict_quantiles(12, LEVELS), model.predict_quantiles(12, LEVELS)

    a, b = walk(0), walk(0)
    assert HoltWinters(season_length=12).fit(air.iloc[:120]).error_ == "mul"     # simulated
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a[1], a[2])              # the same state: the same draws
    other = walk(1)[0]
    assert not np.array_equal(a[0], other)
    # Another seed moves the quantiles by simulation noise only: 1-2% of the 95% half-width.
    half = (a[0][:, -1] - a[0][:, 0]) / 2
    assert np.max(np.abs(other - a[0]) / half[:, None]) < 0.1
    for q in (*a, other):
        quantiles.checked(q, 12)


def test_quantiles_after_update_are_simulated_from_the_updated_states(air):
    model = HoltWinters(season_length=12, trend="damped", season="mul").fit(air.iloc[:110])
    for start, stop in [(110, 111), (111, 120), (120, 130)]:
        model.update(air.iloc[start:stop])
    assert model.n_seen_ == 130
    q = model.predict_quantiles(12, LEVELS)

    # statsmodels re-running the fitted model over the longer series, simulated from its
    # end with the same draws (and the state-space beta, see above).
    res = refiltered(model, air.to_numpy()[:130])
    res.params["smoothing_trend"] = model.alpha_ * model.beta_
    rng = np.random.default_rng([model.seed, 130])
    errors = rng.standard_normal((12, N_PATHS)) * np.sqrt(model.sigma2_)
    paths = res.simulate(12, repetitions=N_PATHS, error="mul", random_errors=errors)
    np.testing.assert_allclose(q, quantiles.from_samples(paths.T, LEVELS), rtol=1e-9)
    # The simulated median is the point forecast up to the skew and the simulation: within 1%
    # of the 95% interval's half-width... plus the skew of (1 + e) products, about 2%.
    half = (q[:, -1] - q[:, 0]) / 2
    assert np.max(np.abs(q[:, LEVELS.index(0.5)] - model.predict(12)) / half) < 0.05


def test_a_multiplicative_season_with_relative_errors_too_large_to_multiply_keeps_its_interval_near_the_data():
    # M4's H130 falls from thousands to 10 every day: its multiplicative season has factors
    # near 0.1, its fitted values come near zero and its relative errors reach hundreds.
    # Simulated with multiplicative errors, 1 + e was negative on most paths and the 95%
    # bounds reached 1e113 (MSIS 1e109); the errors are additive there instead.
    panel = data.load_panel(data.get_dataset("m4_hourly"), only="H130")
    y = panel["H130"].iloc[:-48]
    model = HoltWinters(season_length=24).fit(y)
    assert model.season_ == "mul" and model.error_ == "add"
    q = model.predict_quantiles(48)
    assert np.all(np.isfinite(q)) and np.all(np.diff(q, axis=1) >= 0)
    span = float(y.max() - y.min())
    assert q[:, 0].min() > y.min() - 2 * span and q[:, -1].max() < y.max() + 2 * span


def test_air_passengers_multiplicative_season_keeps_multiplicative_errors(air):
    model = HoltWinters(season_length=12, season="mul").fit(air)
    assert model.error_ == "mul" and model.sigma2_ < 0.01
