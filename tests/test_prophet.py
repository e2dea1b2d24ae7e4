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
