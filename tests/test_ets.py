"""Automatic ETS (baselines/ets.py) on real data, checked against statsmodels' ETSModel itself."""
import numpy as np
import pandas as pd
import pytest

from baselines.ets import ETS, Spec, statsmodels_model
from bench import data, runner
from bench.forecaster import ModelSkipped


def statsmodels_params(model: ETS, names: list[str]) -> np.ndarray:
    """The fitted parameters and initial states in ETSModel's order (seasons newest first)."""
    f = model.initial_
    values = {"smoothing_level": f.alpha, "smoothing_trend": f.beta,
              "smoothing_seasonal": f.gamma, "damping_trend": f.phi,
              "initial_level": f.level, "initial_trend": f.slope}
    values.update({f"initial_seasonal.{i}": s for i, s in enumerate(f.seasons[::-1])})
    return np.array([values[name] for name in names])


def resmoothed(model: ETS, values: np.ndarray):
    """statsmodels smoothing ``values`` with every parameter and initial state fixed."""
    sm = statsmodels_model(values, model.spec_, model.m_)
    return sm.smooth(statsmodels_params(model, sm.param_names))


def series(values, freq="MS") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.date_range("2000-01-01", periods=len(values), freq=freq))


@pytest.mark.parametrize("error, trend, season", [
    ("add", "none", "none"), ("add", "damped", "add"), ("mul", "add", "mul"),
    ("mul", "none", "mul"), ("mul", "damped", "none")])
def test_update_gives_the_forecast_of_statsmodels_smoothing_the_longer_series_with_fixed_parameters(
        air, error, trend, season):
    model = ETS(season_length=12, error=error, trend=trend, season=season).fit(air.iloc[:100])
    for start, stop in [(100, 101), (101, 112), (112, 130)]:
        model.update(air.iloc[start:stop])
    res = resmoothed(model, air.to_numpy()[:130])
    np.testing.assert_allclose(model.predict(24), res.forecast(24), rtol=1e-8)


def test_update_after_a_fit_on_the_last_points_continues_from_that_window():
    load = data.load_series("energy_aep_hourly").iloc[-1200:]
    model = ETS(season_length=24, error="add", trend="none", season="add", fit_last=500)
    model.fit(load.iloc[:1000])
    assert model.fit_info()["fit_points"] == 500
    for start in range(1000, 1200, 24):
        model.update(load.iloc[start:start + 24])
    res = resmoothed(model, load.to_numpy()[500:])
    np.testing.assert_allclose(model.predict(48), res.forecast(48), rtol=1e-8)


def test_forecast_one_and_two_seasons_ahead_uses_the_latest_seasonal_state(air):
    # Unlike its Holt-Winters (statsmodels issue #9538), ETSModel's forecast is right at
    # steps m and 2m; both agree with the forecast equations.
    model = ETS(season_length=12, error="mul", trend="add", season="mul").fit(air.iloc[:120])
    s = model.state_
    forecast = model.predict(24)
    assert forecast[11] == pytest.approx((s.level + 12 * s.slope) * s.seasons[-1], rel=1e-12)
    assert forecast[23] == pytest.approx((s.level + 24 * s.slope) * s.seasons[-1], rel=1e-12)
    np.testing.assert_allclose(forecast, resmoothed(model, air.to_numpy()[:120]).forecast(24),
                               rtol=1e-8)


def test_the_selected_model_has_the_lowest_aicc_counted_as_r_counts(air):
    model = ETS(season_length=12).fit(air.iloc[:120])
    assert len(model.candidates_) == 15     # 6 additive-error + 9 multiplicative-error forms
    assert model.spec_.name == min(model.candidates_, key=model.candidates_.get)
    assert model.fit_info()["model"] == model.spec_.name

    # R's AICc from statsmodels' own log-likelihood of the kept parameters: k' counts
    # alpha, beta, gamma, phi, l0, b0, m - 1 seasonal states and the error variance.
    llf = resmoothed(model, air.to_numpy()[:120]).llf
    n, k = 120, model.n_params() + 1
    assert model.aicc_ == pytest.approx(-2 * llf + 2 * k + 2 * k * (k + 1) / (n - k - 1), rel=1e-9)


def test_n_params_counts_smoothing_parameters_and_the_initial_states_r_estimates():
    assert Spec("mul", "add", "mul").n_params(12) == 3 + 2 + 11   # alpha beta gamma, l0 b0, 11 seasons
    assert Spec("add", "damped", "none").n_params(12) == 5       # alpha beta phi, l0 b0
    assert Spec("add", "none", "none").n_params(1) == 2


def test_a_series_with_zeros_gets_only_additive_error_candidates(sunspots):
    model = ETS(season_length=12).fit(sunspots.iloc[-300:])
    assert model.candidates_ and all(name.startswith("ETS(A,") for name in model.candidates_)
    with pytest.raises(ModelSkipped, match="positive"):
        ETS(season_length=12, error="mul").fit(sunspots.iloc[-300:])


def test_a_season_beyond_24_is_fitted_without_a_season(sunspots):
    model = ETS(season_length=132, season="add").fit(sunspots.iloc[-600:])
    assert model.spec_.season == "none"
    assert model.fit_info()["model"].endswith(",N)")
    assert model.fit_info()["fit_points"] == 600


def test_automatic_window_is_sixty_seasons_when_seasonal():
    load = data.load_series("energy_aep_hourly").iloc[-2000:]
    model = ETS(season_length=24, error="add", trend="none", season="add").fit(load)
    assert model.fit_info()["fit_points"] == 60 * 24
    model = ETS(season_length=24, error="add", trend="none", season="add", fit_last=None).fit(load.iloc[:800])
    assert model.fit_info()["fit_points"] == 800


def test_a_short_series_fits_only_the_forms_it_has_enough_points_for(air):
    model = ETS(season_length=12).fit(air.iloc[:10])
    # R's rule n > npars + 4: ANN (2), AAN (4) and AAdN (5) qualify, no seasonal form.
    assert sorted(model.candidates_) == sorted(
        ["ETS(A,N,N)", "ETS(A,A,N)", "ETS(A,Ad,N)", "ETS(M,N,N)", "ETS(M,A,N)", "ETS(M,Ad,N)"])
    with pytest.raises(ModelSkipped, match="too few"):
        ETS(season_length=12).fit(air.iloc[:6])


def test_a_constant_series_gets_a_flat_forecast_and_a_nearly_constant_one_a_finite_one():
    model = ETS(season_length=12).fit(series(np.full(60, 3.0)))
    np.testing.assert_array_equal(model.predict(5), np.full(5, 3.0))
    assert model.n_params() == 0
    rng = np.random.default_rng(0)
    nearly = ETS(season_length=12).fit(series(3.0 + 1e-6 * rng.normal(size=60)))
    assert np.allclose(nearly.predict(12), 3.0, atol=1e-4)


def test_forbidden_combinations_and_unknown_values_are_rejected(air):
    with pytest.raises(ValueError, match="restrict"):
        ETS(season_length=12, error="add", season="mul").fit(air)
    with pytest.raises(ValueError, match="trend"):
        ETS(season_length=12, trend="mul").fit(air)


@pytest.mark.slow
def test_on_air_passengers_validation_span_ets_beats_seasonal_naive_by_half(air):
    from baselines.naive import SeasonalNaive

    split = data.get_dataset("air_passengers").split
    before_test = air.iloc[:len(air) - split.test_size]
    ets = runner.walk_forward(ETS(season_length=12), before_test, split, 12)
    naive = runner.walk_forward(SeasonalNaive(season_length=12), before_test, split, 12)
    assert ets.mae() < 0.5 * naive.mae()
