"""Test-only forecasters with a parameter that matters, fast enough to walk many variants."""
import numpy as np

from baselines.naive import Naive
from bench.forecaster import ModelSkipped


class MeanOfLast(Naive):
    """Forecasts the mean of the last ``window`` observations at every step."""

    def __init__(self, *, season_length=1, seed=0, window=1):
        super().__init__(season_length=season_length, seed=seed)
        self.window = window

    def fit(self, y):
        if len(y) < self.window:
            raise ModelSkipped(f"a window of {self.window} needs as many points, got {len(y)}")
        return super().fit(y)

    def predict(self, horizon):
        return np.full(horizon, self.y_[-self.window:].mean())

    def n_params(self):
        return self.window
