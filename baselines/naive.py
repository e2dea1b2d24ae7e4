"""Naive baselines: the references every other model must beat to be worth its cost.

``update`` only appends observations; these models have nothing to re-estimate.
``n_params`` follows the forecasting convention of counting what is estimated from
the data: none for naive and seasonal naive, the slope for drift.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


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


class Naive(_History):
    """Repeats the last observation."""

    def predict(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.y_[-1])


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


class Drift(_History):
    """Extends the line through the first and the last observation."""

    def predict(self, horizon: int) -> np.ndarray:
        n = len(self.y_)
        slope = (self.y_[-1] - self.y_[0]) / (n - 1) if n > 1 else 0.0
        return self.y_[-1] + slope * np.arange(1, horizon + 1)

    def n_params(self) -> int:
        return 1
