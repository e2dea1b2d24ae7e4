"""Naive baselines: the references every other model must beat to be worth its cost.

``update`` only appends observations; these models have nothing to re-estimate.
``n_params`` follows the forecasting convention of counting what is estimated from
the data: none for naive and seasonal naive, the slope for drift.

Their forecast distributions are R forecast's (``rwf``, ``naive``, ``snaive``: ``lagwalk``
and ``forecast.lagwalk``): normal, around the point forecast, with the variance of the
lagged walk's residuals ``y_t - y_{t-lag}`` (``lag`` 1, or the season for seasonal naive),
each residual counted once over the whole history seen (an update adds its residuals):

- naive: ``sigma^2 = mean(residual^2)``, standard error ``sigma sqrt(h)``;
- seasonal naive: the same with lag m, and ``sigma sqrt(ceil(h / m))`` (step h is k = ceil(h/m)
  seasons ahead); with fewer than m + 1 points there is no seasonal residual, and the lag-1
  residuals stand in;
- drift: the residuals less the drift b (the mean first difference), ``sigma^2 = sum / (n - 2)``
  (R counts the drift as estimated), and ``sqrt(sigma^2 h + (h se(b))^2)``, ``se(b) = sigma /
  sqrt(n - 1)``: the drift's own uncertainty widens the interval.

With no residual at all (one point seen) the interval has width 0. M4's Naive 1 intervals
are these (``benchmarks``: MSIS 71.245 and ACD 0.011 on the 414 hourly series, reproduced).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench import quantiles


class _History:
    def __init__(self, *, season_length: int = 1, seed: int = 0):
        self.season_length = season_length
        self.seed = seed

    def fit(self, y: pd.Series):
        if len(y) == 0:
            raise ValueError("cannot fit on an empty series")
        self.y_ = np.asarray(y, dtype=float).copy()
        return self

    def update(self, y_new: pd.Series):
        self.y_ = np.concatenate([self.y_, np.asarray(y_new, dtype=float)])
        return self

    def n_params(self) -> int:
        return 0


    def _residual_variance(self, lag: int, ddof: int = 0) -> float:
        """Mean squared lagged difference of the history (``ddof`` fewer in the count); NaN without any."""
        diffs = self.y_[lag:] - self.y_[:-lag]
        if len(diffs) - ddof < 1:
            return math.nan
        return float(diffs @ diffs) / (len(diffs) - ddof)

    def predict_quantiles(self, horizon: int, levels) -> np.ndarray:
        std = self._standard_errors(horizon)
        return quantiles.normal(self.predict(horizon), np.nan_to_num(std, nan=0.0), levels)


class Naive(_History):
    """Repeats the last observation."""
    intervals = "normal, R forecast's naive(): sigma sqrt(h), sigma from the one-step residuals"

    def predict(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.y_[-1])

    def _standard_errors(self, horizon: int) -> np.ndarray:
        return np.sqrt(self._residual_variance(1) * np.arange(1, horizon + 1))


class SeasonalNaive(_History):
    """Repeats the last full season: y[t+h] = y[t+h-m*k], k the smallest that reaches the past."""

    def fit(self, y: pd.Series):
        if self.season_length < 1:
            raise ValueError(f"season_length must be >= 1, got {self.season_length}")
        if len(y) < self.season_length:
            raise ValueError(f"seasonal naive needs at least one season ({self.season_length} "
                             f"points), got {len(y)}")
        return super().fit(y)

    def predict(self, horizon: int) -> np.ndarray:
        last_season = self.y_[-self.season_length:]
        return np.resize(last_season, horizon)

    intervals = "normal, R forecast's snaive(): sigma sqrt(ceil(h / m)), sigma from the seasonal residuals"

    def _standard_errors(self, horizon: int) -> np.ndarray:
        m = self.season_length
        variance = self._residual_variance(m) if len(self.y_) > m else self._residual_variance(1)
        seasons_ahead = (np.arange(1, horizon + 1) - 1) // m + 1
        return np.sqrt(variance * seasons_ahead)


class Drift(_History):
    """Extends the line through the first and the last observation."""
    intervals = "normal, R forecast's rwf(drift = TRUE): the residual and the drift's own variance"

    def predict(self, horizon: int) -> np.ndarray:
        n = len(self.y_)
        slope = (self.y_[-1] - self.y_[0]) / (n - 1) if n > 1 else 0.0
        return self.y_[-1] + slope * np.arange(1, horizon + 1)

    def _standard_errors(self, horizon: int) -> np.ndarray:
        diffs = np.diff(self.y_)
        if len(diffs) < 2:
            return np.full(horizon, math.nan)
        centred = diffs - diffs.mean()
        variance = float(centred @ centred) / (len(diffs) - 1)
        drift_se = math.sqrt(variance / len(diffs))
        steps = np.arange(1, horizon + 1)
        return np.sqrt(variance * steps + (steps * drift_se) ** 2)

    def n_params(self) -> int:
        return 1
