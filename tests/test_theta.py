"""The classic Theta method (baselines/theta.py) against numbers derived independently of it."""
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from statsmodels.tsa.holtwinters import SimpleExpSmoothing

from baselines.theta import Theta, ses_least_squares, ses_levels
from bench import data, runner
from bench.forecaster import ModelSkipped

# R: decompose(AirPassengers, type = "multiplicative")$figure (as in test_seasonality.py)
R_AIR_FIGURE = np.array([0.9102304, 0.8836253, 1.0073663, 0.9759060, 0.9813780, 1.1127758,
                         1.2265555, 1.2199110, 1.0604919, 0.9217572, 0.8011781, 0.8988244])


def series(values, freq="MS") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.date_range("2000-01-01", periods=len(values), freq=freq))


def statsmodels_ses_levels(x, alpha, initial_level):
    fit = SimpleExpSmoothing(np.asarray(x), initialization_method="known",
                             initial_level=initial_level).fit(smoothing_level=alpha, optimized=False)
    return np.asarray(fit.level)


def local_level(n=200, seed=3):
    rng = np.random.default_rng(seed)
    return 50 + np.cumsum(rng.normal(scale=0.5, size=n)) + rng.normal(scale=2.0, size=n)


def test_ses_levels_with_a_known_alpha_are_statsmodels_simple_exponential_smoothing():
    x = local_level()
    np.testing.assert_allclose(ses_levels(x, 0.3, 47.0), statsmodels_ses_levels(x, 0.3, 47.0),
                               rtol=1e-12)


def test_ses_estimate_minimises_the_sum_of_squared_one_step_errors_over_alpha_and_l0():
    x = local_level()

    def sse(p):
        alpha, level0 = p
        if not 1e-4 <= alpha <= 0.9999:
            return np.inf
        predictions = np.r_[level0, ses_levels(x, alpha, level0)[:-1]]
        return float(np.sum((x - predictions) ** 2))

    alpha, level0 = ses_least_squares(x)
    brute = min((minimize(sse, [a, x[0]], method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
                 for a in (0.05, 0.3, 0.8)), key=lambda r: r.fun)
    assert 0.01 < alpha < 0.9                       # an interior optimum, not a bound
    assert alpha == pytest.approx(brute.x[0], abs=1e-5)
    assert level0 == pytest.approx(brute.x[1], abs=1e-3)
    assert sse([alpha, level0]) <= brute.fun * (1 + 1e-10)


def test_on_a_straight_line_theta_forecasts_half_the_slope_from_the_last_value():
    # Theta line 2 of a line is the line itself; SES tracks it with alpha at its bound, and
    # averaging with the line's extrapolation halves the slope (Hyndman & Billah 2003).
    y = 10.0 + 2.0 * np.arange(1, 41)
    model = Theta(season_length=1).fit(series(y))
    assert model.alpha_ == pytest.approx(0.9999)
    np.testing.assert_allclose(model.predict(6), y[-1] + 1.0 * np.arange(1, 7), atol=1e-3)


def test_air_passengers_is_deseasonalised_with_rs_classical_figure_and_reseasonalised_from_january(air):
    model = Theta(season_length=12).fit(air)
    assert model.deseasonalised_
    np.testing.assert_allclose(model.figure_, R_AIR_FIGURE, atol=1e-6)

    # M4's Theta.classic by hand: the line through the adjusted series, SES of 2y - line,
    # half of each, times the figure of the last season (the series ends in December).
    t = np.arange(1, 145)
    adjusted = air.to_numpy() / np.resize(R_AIR_FIGURE, 144)
    slope, intercept = np.polyfit(t, adjusted, 1)
    theta_line = 2 * adjusted - (intercept + slope * t)
    level = statsmodels_ses_levels(theta_line, model.alpha_, model.initial_level_)[-1]
    future = np.arange(145, 157)
    expected = (0.5 * (intercept + slope * future) + 0.5 * level) * R_AIR_FIGURE
    np.testing.assert_allclose(model.predict(12), expected, rtol=1e-6)


def test_update_runs_ses_over_the_new_points_with_alpha_line_and_figure_fixed(air):
    model = Theta(season_length=12).fit(air.iloc[:100])
    for start, stop in [(100, 101), (101, 112), (112, 130)]:
        model.update(air.iloc[start:stop])

    # Refilter the longer series with every fitted value held fixed.
    t = np.arange(1, 131)
    indices = model.figure_[(t - 1) % 12]
    theta_line = 2 * air.to_numpy()[:130] / indices - (model.intercept_ + model.slope_ * t)
    level = statsmodels_ses_levels(theta_line, model.alpha_, model.initial_level_)[-1]
    future = np.arange(131, 155)
    expected = (0.5 * (model.intercept_ + model.slope_ * future) + 0.5 * level) \
        * model.figure_[(future - 1) % 12]
    np.testing.assert_allclose(model.predict(24), expected, rtol=1e-10)


def test_negative_forecasts_of_a_positive_series_are_clipped_to_zero_as_m4_does():
    y = 100.0 - 5.0 * np.arange(1, 20)             # 95 down to 5
    forecast = Theta(season_length=1).fit(series(y)).predict(6)
    assert forecast[0] > 0
    assert np.all(forecast >= 0) and forecast[-1] == 0.0


def test_a_series_with_negative_values_is_neither_deseasonalised_nor_clipped(air):
    shifted = air.iloc[:120] - 400.0                # seasonal, mostly negative
    model = Theta(season_length=12).fit(shifted)
    assert not model.deseasonalised_
    assert model.n_params() == 4
    assert np.all(model.predict(12) < 0)


def test_n_params_counts_alpha_l0_the_line_and_the_free_seasonal_indices(air, sunspots):
    assert Theta(season_length=12).fit(air).n_params() == 4 + 11
    assert Theta(season_length=132).fit(sunspots).n_params() == 4   # 132 > max_season


def test_max_season_lets_the_m4_reproduction_deseasonalise_a_longer_period():
    rng = np.random.default_rng(0)
    weeks = np.arange(52 * 5)
    y = 100 + 20 * np.sin(2 * np.pi * weeks / 52) + rng.normal(size=len(weeks))
    assert not Theta(season_length=52).fit(series(y, "W")).deseasonalised_
    model = Theta(season_length=52, max_season=52).fit(series(y, "W"))
    assert model.deseasonalised_ and model.n_params() == 4 + 51


def test_a_series_shorter_than_four_points_is_skipped_with_a_reason():
    with pytest.raises(ModelSkipped, match="too few"):
        Theta(season_length=1).fit(series([1.0, 2.0, 3.0]))


def test_on_air_passengers_validation_span_theta_beats_seasonal_naive(air):
    split = data.get_dataset("air_passengers").split
    before_test = air.iloc[:len(air) - split.test_size]
    theta = runner.walk_forward(Theta(season_length=12), before_test, split, 12)
    from baselines.naive import SeasonalNaive
    naive = runner.walk_forward(SeasonalNaive(season_length=12), before_test, split, 12)
    assert theta.mae() < 0.7 * naive.mae()
