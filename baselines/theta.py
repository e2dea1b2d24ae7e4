"""The classic Theta method, as the M4 competition's organisers compute their Theta benchmark.

Their ``Theta.classic`` and ``Benchmarks`` ("Benchmarks and Evaluation.R" in the
Mcompetitions/M4-methods repository), step by step on the training window:

1. Deseasonalise: when M4's 90% autocorrelation test says the series is seasonal
   (``bench.seasonality.is_seasonal``), divide it by the seasonal figure of R's
   classical multiplicative decomposition (``classical_seasonal_indices``). This is
   ``SeasonalAdjustment`` below, which the other M4 benchmarks share
   (``baselines/m4_benchmarks.py``).
2. Theta line 0: the least-squares line ``a + b t`` through the deseasonalised
   series (t = 1..n). Theta line 2: ``2 y - (a + b t)``.
3. Simple exponential smoothing of theta line 2, as R's ``forecast::ses()``:
   alpha in [1e-4, 0.9999] and the initial level l0 minimise the sum of squared
   one-step errors (``ets(x, "ANN", opt.crit = "mse")``). For a given alpha the
   errors are linear in l0, so l0 has a closed form and only alpha is searched
   (a grid, then Brent's method around the best grid point).
4. Forecast: ``0.5 (a + b (n + h)) + 0.5 l_n`` (half the line's extrapolation,
   half the flat SES forecast), negative values clipped to 0, times the seasonal
   figure of the last season repeated forward.

Differences from M4, all for series M4 did not have:

- The season is used only when ``bench.seasonality.usable_season`` allows it
  (``max_season``, default 24, the bound every family applies), where M4 used any
  frequency; set ``max_season`` higher to deseasonalise longer periods. Multiplicative
  deseasonalising also needs positive values: a series with a zero or a negative
  value is not deseasonalised.
- M4 clips every negative forecast to 0 (all its series are positive). Here the
  clip applies when the training window has no negative value; a series that goes
  below zero is forecast unclipped.

Hyperparameters: ``max_season`` (above).

``update`` keeps everything estimated at the last fit (alpha, the line, the
seasonal figure) and runs the SES recursion over the theta-line values of the new
points: each new point is deseasonalised with the figure's value at its position,
its line value is ``a + b t`` at its own t, and the level moves by alpha times the
one-step error. The forecast then extrapolates the same line from the new end.
This is what refiltering the longer series with the fitted values gives (the tests
check it).

``n_params``: alpha, l0, the line's intercept and slope (4), plus m - 1 when the
series was deseasonalised (m seasonal indices estimated from the data, normalised
to average 1).

Forecast distribution: R forecast's ``thetaf`` formula around this forecast: normal, the
standard error of step h ``sigma sqrt(1 + alpha^2 (h - 1))``, added to the reseasonalised
forecast (as in R, the half-width is not reseasonalised). ``thetaf`` takes alpha and
``sigma^2`` (squared one-step errors over n - 2) from an SES of the deseasonalised series;
M4's method already fits one to theta line 2, and a second fit would double Theta's fit
time, so alpha is that SES's, and sigma follows from its errors: the method's own one-step
error is ``x_t - (0.5 line_t + 0.5 l_{t-1}) = 0.5 (theta_t - l_{t-1})``, half the SES's, so
``sigma^2`` is a quarter of the SES's sum of squares over n - 2. Where the point forecast is
clipped at 0, so are the quantiles (the quantiles of ``max(Y, 0)``). ``update`` adds the new
points' squared errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

from bench import quantiles
from bench.forecaster import ModelSkipped
from bench.seasonality import MAX_SEASON, classical_seasonal_indices, is_seasonal, usable_season

ALPHA_BOUNDS = (1e-4, 0.9999)        # R's ets() "usual" bounds, which ses() inherits
MIN_OBSERVATIONS = 4                 # a line and a level need a few points beyond their 2 + 2


class Theta:
    def __init__(self, *, season_length: int = 1, seed: int = 0, max_season: int = MAX_SEASON):
        self.season_length = season_length
        self.seed = seed
        self.max_season = max_season

    def fit(self, y: pd.Series) -> Theta:
        values = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError("Theta needs finite observations")
        if len(values) < MIN_OBSERVATIONS:
            raise ModelSkipped(f"{len(values)} observations are too few for Theta "
                               f"(needs {MIN_OBSERVATIONS})")
        n = len(values)
        self.season_ = SeasonalAdjustment.fit(values, self.season_length, self.max_season)
        self.deseasonalised_ = self.season_.applied
        self.figure_ = self.season_.figure
        adjusted = values / self._indices(0, n)

        t = np.arange(1, n + 1, dtype=float)
        self.slope_, self.intercept_ = np.polyfit(t, adjusted, 1)
        theta_line = 2.0 * adjusted - (self.intercept_ + self.slope_ * t)
        self.alpha_, self.initial_level_ = ses_least_squares(theta_line)
        self.level_, self.squares_ = _ses_run(theta_line, self.alpha_, self.initial_level_)
        self.n_seen_ = n
        self.clip_at_zero_ = bool(values.min() >= 0)
        return self

    def update(self, y_new: pd.Series) -> Theta:
        values = np.asarray(y_new, dtype=float)
        if len(values):
            t = np.arange(self.n_seen_ + 1, self.n_seen_ + len(values) + 1, dtype=float)
            adjusted = values / self._indices(self.n_seen_, len(values))
            theta_line = 2.0 * adjusted - (self.intercept_ + self.slope_ * t)
            self.level_, squares = _ses_run(theta_line, self.alpha_, self.level_)
            self.squares_ += squares
            self.n_seen_ += len(values)
        return self

    def predict(self, horizon: int) -> np.ndarray:
        forecast = self._adjusted_forecast(horizon)
        if self.clip_at_zero_:
            forecast = np.maximum(forecast, 0.0)
        return forecast * self._indices(self.n_seen_, horizon)

    intervals = "normal, R forecast's thetaf() formula sigma sqrt(1 + alpha^2 (h - 1)), from the theta-line SES"

    def predict_quantiles(self, horizon: int, levels) -> np.ndarray:
        sigma2 = 0.25 * self.squares_ / (self.n_seen_ - 2) if self.n_seen_ > 2 else 0.0
        std = np.sqrt(sigma2 * (1.0 + self.alpha_ ** 2 * np.arange(horizon)))
        q = quantiles.normal(self._adjusted_forecast(horizon) * self._indices(self.n_seen_, horizon), std, levels)
        return np.maximum(q, 0.0) if self.clip_at_zero_ else q

    def _adjusted_forecast(self, horizon: int) -> np.ndarray:
        t = np.arange(self.n_seen_ + 1, self.n_seen_ + horizon + 1, dtype=float)
        return 0.5 * (self.intercept_ + self.slope_ * t) + 0.5 * self.level_

    def n_params(self) -> int:
        return 4 + self.season_.n_params

    def fit_info(self) -> dict:
        return {"deseasonalised": self.deseasonalised_, "alpha": self.alpha_}

    def _indices(self, start: int, count: int) -> np.ndarray:
        return self.season_.indices(start, count)


@dataclass(frozen=True)
class SeasonalAdjustment:
    """M4's deseasonalisation, shared by its benchmarks (Theta here, the others in m4_benchmarks).

    When the season is usable (at most ``max_season``), the window is positive and M4's
    90% autocorrelation test finds the season, ``figure`` holds R's classical
    multiplicative seasonal figure by position in the season, counted from the window's
    first point; otherwise it is ``[1.0]`` and nothing is adjusted.
    """
    figure: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, season_length: int, max_season: int = MAX_SEASON) -> SeasonalAdjustment:
        m = usable_season(season_length, max_season)
        if m > 1 and np.all(values > 0) and is_seasonal(values, m):
            return cls(classical_seasonal_indices(values, m)[:m])
        return cls(np.ones(1))

    @property
    def applied(self) -> bool:
        return len(self.figure) > 1

    @property
    def n_params(self) -> int:
        """m - 1 when applied: m indices estimated from the data, normalised to average 1."""
        return len(self.figure) - 1

    def indices(self, start: int, count: int) -> np.ndarray:
        """The figure at window positions start, start + 1, ... (all 1 when not applied)."""
        return self.figure[np.arange(start, start + count) % len(self.figure)]


def ses_levels(x: np.ndarray, alpha: float, initial_level: float) -> np.ndarray:
    """Levels l_1..l_n of simple exponential smoothing, ``l_t = l_{t-1} + alpha (x_t - l_{t-1})``."""
    levels, _ = lfilter([alpha], [1.0, alpha - 1.0], np.asarray(x, dtype=float),
                        zi=[(1.0 - alpha) * initial_level])
    return levels


def _ses_run(x: np.ndarray, alpha: float, level: float) -> tuple[float, float]:
    """(the level after ``x``, the sum of squared one-step errors over ``x``) of SES from ``level``."""
    levels = ses_levels(x, alpha, level)
    errors = np.asarray(x, dtype=float) - np.r_[level, levels[:-1]]
    return float(levels[-1]), float(errors @ errors)


def ses_least_squares(x: np.ndarray) -> tuple[float, float]:
    """(alpha, l0) minimising the sum of squared one-step errors of SES on ``x``, as R's ``ses()``.

    The one-step error at t is ``a_t - (1 - alpha)^(t-1) l0``, where ``a_t`` is the error
    when smoothing starts from 0; so for each alpha the best l0 is a least-squares
    coefficient and the profile sum of squares is a function of alpha alone.
    """
    x = np.asarray(x, dtype=float)
    steps = np.arange(len(x), dtype=float)

    def profile(alpha: float) -> tuple[float, float]:
        from_zero = x - np.r_[0.0, ses_levels(x, alpha, 0.0)[:-1]]
        weights = (1.0 - alpha) ** steps
        level0 = float(from_zero @ weights / (weights @ weights))
        errors = from_zero - level0 * weights
        return float(errors @ errors), level0

    low, high = ALPHA_BOUNDS
    # The profile can have more than one local minimum: a grid finds the right valley,
    # Brent's method its bottom.
    grid = np.linspace(low, high, 41)
    sse = [profile(a)[0] for a in grid]
    best = int(np.argmin(sse))
    bracket = (grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)])
    refined = minimize_scalar(lambda a: profile(a)[0], bounds=bracket, method="bounded",
                              options={"xatol": 1e-10})
    alpha = float(refined.x) if refined.fun <= sse[best] else float(grid[best])
    return alpha, profile(alpha)[1]
