"""The shared series analysis against the values R gives for the same data."""
import numpy as np
import pytest

from bench import seasonality


def test_guerrero_lambda_of_air_passengers_is_rs_boxcox_lambda(air):
    # R: forecast::BoxCox.lambda(AirPassengers) = -0.2947156
    assert seasonality.guerrero_lambda(air.to_numpy(), 12) == pytest.approx(-0.2947156, abs=1e-4)


def test_classical_seasonal_figure_of_air_passengers_is_rs_decompose(air):
    # R: decompose(AirPassengers, type = "multiplicative")$figure
    figure = [0.9102304, 0.8836253, 1.0073663, 0.9759060, 0.9813780, 1.1127758,
              1.2265555, 1.2199110, 1.0604919, 0.9217572, 0.8011781, 0.8988244]
    indices = seasonality.classical_seasonal_indices(air.to_numpy(), 12)
    assert indices[:12] == pytest.approx(figure, abs=1e-6)
    assert indices[12:24] == pytest.approx(figure, abs=1e-6)     # repeated from the first point


def test_when_the_lag_m_autocorrelation_is_strong_then_the_m4_test_says_seasonal(air):
    assert seasonality.is_seasonal(air.to_numpy(), 12)
    rng = np.random.default_rng(0)
    assert not seasonality.is_seasonal(rng.normal(size=240), 12)
    assert not seasonality.is_seasonal(air.to_numpy()[:30], 12)      # fewer than three seasons


def test_when_the_spread_grows_with_the_level_then_logs_are_chosen(air):
    assert seasonality.variance_grows_with_level(air.to_numpy(), 12)
    rng = np.random.default_rng(1)
    level = np.linspace(100, 1000, 240)
    assert not seasonality.variance_grows_with_level(level + rng.normal(scale=5, size=240), 12)
    assert not seasonality.variance_grows_with_level(np.r_[0.0, air.to_numpy()], 12)   # not positive


def test_seasons_beyond_the_bound_are_treated_as_non_seasonal():
    assert seasonality.usable_season(12) == 12
    assert seasonality.usable_season(132) == 1
    assert seasonality.usable_season(1) == 1


def test_seasonal_strength_separates_a_seasonal_series_from_noise(air):
    assert seasonality.seasonal_strength(np.log(air.to_numpy()), 12) > 0.9
    rng = np.random.default_rng(2)
    assert seasonality.seasonal_strength(rng.normal(size=240), 12) < 0.64
