"""Prophet (baselines/prophet.py) on real data with the real Stan backend."""
import logging

import numpy as np
import pytest

from baselines.prophet import ProphetModel
from bench import data, runner
from bench.splits import WalkForward

SEASONAL_NAIVE_AIR_MAE = 38.61


@pytest.mark.parametrize("name, points, expected", [
    ("air_passengers", 120, {"yearly": True, "weekly": False, "daily": False}),
    ("google_stock", 1000, {"yearly": True, "weekly": True, "daily": False}),
    ("google_stock", 300, {"yearly": False, "weekly": True, "daily": False}),
    ("energy_aep_hourly", 17544, {"yearly": True, "weekly": True, "daily": True}),
    ("energy_aep_hourly", 17520, {"yearly": False, "weekly": True, "daily": True}),
    ("energy_aep_hourly", 1344, {"yearly": False, "weekly": True, "daily": True}),
])
def test_seasonalities_follow_the_spacing_and_the_span_of_the_history(name, points, expected):
    y = data.load_series(name).iloc[-points:]
    assert ProphetModel()._choose_seasonalities(y.index) == expected


def test_fit_and_predict_write_nothing_to_the_terminal_or_the_log(air, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    model = ProphetModel(season_length=12).fit(air.iloc[:100])
    model.update(air.iloc[100:110])
    model.predict(12)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name.startswith(("prophet", "cmdstanpy"))]


def test_update_refits_warm_started_and_lands_near_a_cold_fit_on_the_longer_series(air):
    warm = ProphetModel(season_length=12, seasonality_mode="multiplicative").fit(air.iloc[:120])
    before = warm.model_
    warm.update(air.iloc[120:132])
    cold = ProphetModel(season_length=12, seasonality_mode="multiplicative").fit(air.iloc[:132])
    assert warm.model_ is not before and len(warm.model_.history) == 132
    np.testing.assert_allclose(warm.predict(12), cold.predict(12), rtol=0.02)


def test_without_refit_on_update_the_forecast_continues_the_old_fit(air):
    model = ProphetModel(season_length=12, refit_on_update=False).fit(air.iloc[:120])
    two_ahead = model.predict(2)
    model.update(air.iloc[120:121])
    assert model.predict(1)[0] == pytest.approx(two_ahead[1])


def test_fit_last_keeps_a_sliding_window_through_updates(air):
    model = ProphetModel(season_length=12, fit_last=60).fit(air.iloc[:120])
    assert len(model.model_.history) == 60
    model.update(air.iloc[120:126])
    assert len(model.model_.history) == 60
    assert model.model_.history["ds"].iloc[-1] == air.index[125]


def test_n_params_counts_k_m_sigma_changepoint_deltas_and_fourier_coefficients(air):
    model = ProphetModel(season_length=12, n_changepoints=10).fit(air.iloc[:120])
    assert model.n_params() == 3 + 10 + 2 * 10  # yearly seasonality has Fourier order 10


def test_a_trading_day_series_is_forecast_for_the_next_twenty_sessions():
    stock = data.load_series("google_stock")
    model = ProphetModel(season_length=5).fit(stock.iloc[:-20])
    assert model.predict(20).shape == (20,)
    assert np.all(np.isfinite(model.predict(20)))


def test_same_seed_gives_identical_forecasts(air):
    a = ProphetModel(season_length=12, seed=3).fit(air.iloc[:120]).predict(12)
    b = ProphetModel(season_length=12, seed=3).fit(air.iloc[:120]).predict(12)
    np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_multiplicative_prophet_beats_seasonal_naive_on_the_default_air_protocol(air):
    model = ProphetModel(season_length=12, seasonality_mode="multiplicative")
    result = runner.walk_forward(model, air, WalkForward(horizon=12, test_size=36, step=1), 12)
    assert result.mae() < SEASONAL_NAIVE_AIR_MAE


def test_with_no_parameters_the_seasonality_mode_follows_the_spread_of_the_series(air, sunspots):
    grows = ProphetModel(season_length=12).fit(air.iloc[:120])
    assert grows.fit_info() == {"seasonality_mode": "multiplicative", "seasonalities": "yearly"}
    assert grows.model_.seasonality_mode == "multiplicative"
    zeros = ProphetModel(season_length=132).fit(sunspots.iloc[-240:])   # has zeros
    assert zeros.fit_info()["seasonality_mode"] == "additive"
    fixed = ProphetModel(season_length=12, seasonality_mode="additive").fit(air.iloc[:120])
    assert fixed.model_.seasonality_mode == "additive"


@pytest.mark.slow
def test_the_whole_two_year_hourly_window_is_fitted_by_default(energy):
    model = ProphetModel(season_length=24).fit(energy.iloc[-17520:])
    assert len(model.model_.history) == 17520
    assert model.fit_info()["seasonalities"] == "weekly+daily"
    assert np.all(np.isfinite(model.predict(24)))


def test_an_invalid_seasonality_mode_fails_in_fit(air):
    with pytest.raises(ValueError, match="seasonality_mode"):
        ProphetModel(season_length=12, seasonality_mode="log").fit(air)


# -- forecast distribution -------------------------------------------------------------

import pandas as pd  # noqa: E402

from baselines import prophet as prophet_module  # noqa: E402
from bench import quantiles  # noqa: E402
from bench.forecaster import future_index  # noqa: E402
from bench.quantiles import LEVELS  # noqa: E402


def prophets_own(model: ProphetModel, start, steps: int, seed_entropy):
    """Prophet's own predictive_samples and predict with uncertainty, from ``start``, seeded alike."""
    times = future_index(pd.DatetimeIndex([start], freq=model.freq_), steps)
    future = pd.DataFrame({"ds": times.tz_localize(None)})
    p = model.model_
    p.uncertainty_samples = prophet_module.N_SAMPLES
    try:
        with prophet_module._quiet(), prophet_module._numpy_seeded(seed_entropy):
            samples = p.predictive_samples(future)["yhat"].T
        with prophet_module._quiet(), prophet_module._numpy_seeded(seed_entropy):
            forecast = p.predict(future)
    finally:
        p.uncertainty_samples = 0
    return samples, forecast


@pytest.mark.parametrize("mode", ["multiplicative", "additive"])
def test_draws_are_prophets_predictive_samples_and_the_80_percent_interval_prophets_own(air, mode):
    model = ProphetModel(season_length=12, seasonality_mode=mode).fit(air.iloc[:120])
    forecast = model.predict(12)
    draws = model.predictive_samples(12)
    samples, own = prophets_own(model, air.index[119], 12, [0, 120])
    assert draws.shape == (prophet_module.N_SAMPLES, 12)
    np.testing.assert_allclose(draws, samples, rtol=1e-12)
    q = quantiles.checked(model.predict_quantiles(12, LEVELS), 12)
    # Prophet's interval_width is 0.8: yhat_lower and yhat_upper are the 10% and 90% quantiles.
    np.testing.assert_allclose(q[:, LEVELS.index(0.1)], own["yhat_lower"], rtol=1e-12)
    np.testing.assert_allclose(q[:, LEVELS.index(0.9)], own["yhat_upper"], rtol=1e-12)
    np.testing.assert_array_equal(own["yhat"], forecast)      # predict's forecast is unchanged
    # The median is the point forecast up to the simulation: within 3% of the 95% width.
    width = q[:, -1] - q[:, 0]
    assert np.max(np.abs(q[:, LEVELS.index(0.5)] - forecast) / width) < 0.03


def test_quantiles_are_reproducible_and_leave_numpys_global_generator_as_it_was(air):
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    model = ProphetModel(season_length=12, seed=3).fit(air.iloc[:120])
    a = model.predict_quantiles(12, LEVELS)
    assert np.random.random() == expected_next
    b = ProphetModel(season_length=12, seed=3).fit(air.iloc[:120]).predict_quantiles(12, LEVELS)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, model.predict_quantiles(12, LEVELS))
    assert not np.array_equal(a, ProphetModel(season_length=12, seed=4).fit(air.iloc[:120])
                              .predict_quantiles(12, LEVELS))


def test_quantiles_on_a_stock_price_have_the_shape_never_cross_and_widen_with_the_horizon():
    stock = data.load_series("google_stock")
    model = ProphetModel(season_length=5).fit(stock.iloc[:-60])
    q = quantiles.checked(model.predict_quantiles(60, LEVELS), 60)
    assert q.shape == (60, len(LEVELS)) and np.all(np.diff(q, axis=1) > 0)
    width = q[:, -1] - q[:, 0]
    # Trend changes accumulate: each 20 sessions wider than the 20 before (single steps
    # also carry simulation noise).
    assert width[:20].mean() < width[20:40].mean() < width[40:].mean()


def test_quantiles_after_update_come_from_the_refit_on_the_longer_series(air):
    warm = ProphetModel(season_length=12, seasonality_mode="multiplicative").fit(air.iloc[:120])
    warm.update(air.iloc[120:132])
    cold = ProphetModel(season_length=12, seasonality_mode="multiplicative").fit(air.iloc[:132])
    assert warm.n_seen_ == cold.n_seen_ == 132                # the same draws for both
    np.testing.assert_allclose(warm.predict_quantiles(12, LEVELS), cold.predict_quantiles(12, LEVELS),
                               rtol=0.02)


def test_without_refit_the_draws_start_at_the_last_fitted_observation(air):
    model = ProphetModel(season_length=12, refit_on_update=False).fit(air.iloc[:120])
    model.update(air.iloc[120:123])
    forecast = model.predict(12)
    q = model.predict_quantiles(12, LEVELS)
    samples, own = prophets_own(model, air.index[119], 15, [0, 123])
    np.testing.assert_allclose(q, quantiles.from_samples(samples[:, 3:], LEVELS), rtol=1e-12)
    np.testing.assert_allclose(forecast, own["yhat"].to_numpy()[3:], rtol=1e-12)
