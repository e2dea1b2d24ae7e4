"""Test-only forecasters that misbehave on purpose; suites name them by import path."""
import os
import time

import numpy as np

from baselines.naive import Naive


class Raises(Naive):
    def fit(self, y):
        raise RuntimeError("deliberate failure in fit")


class SleepsForever(Naive):
    def fit(self, y):
        time.sleep(3600)
        return self


class ExitsInFit(Naive):
    def fit(self, y):
        os._exit(3)


class SlowNaive(Naive):
    """Naive, but each fit takes ``delay_s``: long enough to interrupt a run part-way."""
    seeded = True

    def __init__(self, *, season_length=1, seed=0, delay_s=0.3):
        super().__init__(season_length=season_length, seed=seed)
        self.delay_s = delay_s

    def fit(self, y):
        time.sleep(self.delay_s)
        return super().fit(y)

    def predict(self, horizon):
        return super().predict(horizon) + self.seed   # seeds give different, reproducible results


class Noisy(Naive):
    """Seeded and stochastic: the same seed must give the same forecasts in any process."""
    seeded = True

    def predict(self, horizon):
        rng = np.random.default_rng(self.seed + len(self.y_))
        return super().predict(horizon) + rng.normal(0, 1, horizon)


class Degradable(Naive):
    """Naive, made worse or slower through the environment, as a bad code change would.

    DEGRADE_BIAS adds to every forecast; DEGRADE_FIT_S sleeps in every fit; DEGRADE_SPREAD
    multiplies the distance of every quantile from the forecast (below 1: too narrow).
    """

    def fit(self, y):
        time.sleep(float(os.environ.get("DEGRADE_FIT_S", "0")))
        return super().fit(y)

    def predict(self, horizon):
        return super().predict(horizon) + float(os.environ.get("DEGRADE_BIAS", "0"))

    def predict_quantiles(self, horizon, levels):
        point = self.predict(horizon)[:, None]
        return point + float(os.environ.get("DEGRADE_SPREAD", "1")) * (super().predict_quantiles(horizon, levels) - point)


class Overflows(Naive):
    """Finite forecasts whose errors are not: 1e308 (a float64 holds it; twice it is infinite)."""

    def predict(self, horizon):
        return np.full(horizon, -1e308)


class Announces(Naive):
    """Naive that leaves a file in $BENCH_TEST_MARKS when a fit starts, then takes ``delay_s``:
    a test can act while every worker is inside a cell."""
    seeded = True

    def __init__(self, *, season_length=1, seed=0, delay_s=1.0):
        super().__init__(season_length=season_length, seed=seed)
        self.delay_s = delay_s

    def fit(self, y):
        marks = os.environ["BENCH_TEST_MARKS"]
        open(os.path.join(marks, f"{os.getpid()}-{self.delay_s:g}"), "w").close()
        time.sleep(self.delay_s)
        return super().fit(y)
