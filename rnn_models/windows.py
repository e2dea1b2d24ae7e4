"""Training windows for the recurrent models, identical for Keras and PyTorch.

Everything here is fitted on the training window alone, i.e. on the values a model is
given in ``fit`` (all of them before the forecast origin): the differencing needs no
statistics, the scaler's location and scale come from the differenced training values,
and neither changes when ``update`` later reveals more observations. Both frameworks
train on the very arrays ``prepare`` returns (float32, ``(n, lookback, 1)`` inputs and
``(n, n_outputs)`` targets) and forecast through ``transform_context`` and
``to_levels``.

Pipeline, for a training window ``y`` and order ``d``:

    y  --difference(d)-->  dy  --Scaler.fit(dy)-->  z = (dy - loc) / scale
    z  --windows-->  X[i] = z[i : i+L],  Y[i] = z[i+L : i+L+k]

with ``L`` the lookback and ``k`` 1 (recursive) or the direct horizon. The last
``val_fraction`` of the windows (the most recent targets) is the validation set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.forecaster import ModelSkipped
from rnn_models.config import RNNConfig


@dataclass(frozen=True)
class Scaler:
    """An affine map z = (x - loc) / scale, fitted once on training values."""

    kind: str
    loc: float
    scale: float

    @classmethod
    def fit(cls, kind: str, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=float)
        if kind == "minmax":           # to [0, 1], as sklearn's MinMaxScaler
            loc, spread = float(values.min()), float(values.max() - values.min())
        elif kind == "standard":       # zero mean, unit (population) variance
            loc, spread = float(values.mean()), float(values.std())
        else:
            raise ValueError(f"unknown scaler {kind!r}")
        # A constant training window would divide by zero; any scale maps it to 0.
        return cls(kind, loc, spread if spread > 0 else 1.0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.loc) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float) * self.scale + self.loc


def difference(y: np.ndarray, order: int) -> np.ndarray:
    """The ``order``-th differences of ``y`` (``order`` 0 returns a float copy)."""
    y = np.asarray(y, dtype=float)
    return np.diff(y, n=order) if order else y.copy()


def undifference(dy_future: np.ndarray, history: np.ndarray, order: int) -> np.ndarray:
    """Levels that continue ``history`` whose ``order``-th differences are ``dy_future``.

    Integrates one order at a time, starting each cumulative sum from the last value of
    the history's next-lower difference (for order 2: the last slope, then the last level).
    """
    out = np.asarray(dy_future, dtype=float)
    history = np.asarray(history, dtype=float)
    for k in range(order, 0, -1):
        out = np.diff(history, n=k - 1)[-1] + np.cumsum(out)
    return out


def make_windows(z: np.ndarray, lookback: int, n_outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """All (input, target) pairs of ``z``: inputs ``(n, lookback, 1)``, targets ``(n, n_outputs)``."""
    z = np.asarray(z, dtype=np.float32)
    n = len(z) - lookback - n_outputs + 1
    if n < 1:
        empty = np.empty((0, lookback, 1), np.float32), np.empty((0, n_outputs), np.float32)
        return empty
    # sliding_window_view is a read-only view; copy so both frameworks get contiguous,
    # writable arrays they own.
    rows = np.lib.stride_tricks.sliding_window_view(z, lookback + n_outputs)[:n]
    return rows[:, :lookback, None].copy(), rows[:, lookback:].copy()


@dataclass(frozen=True)
class TrainingData:
    x_train: np.ndarray     # (n_train, lookback, 1) float32
    y_train: np.ndarray     # (n_train, n_outputs) float32
    x_val: np.ndarray       # (n_val, lookback, 1); n_val is 0 without a validation split
    y_val: np.ndarray
    scaler: Scaler
    diff: int

    @property
    def has_validation(self) -> bool:
        return len(self.x_val) > 0


def prepare(y: np.ndarray, cfg: RNNConfig) -> TrainingData:
    """Difference, scale and window the training values ``y`` (all before the origin).

    Raises ``ModelSkipped`` when ``y`` is too short for the lookback, the output width
    and (if asked for) at least one validation window besides one training window.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"training series has {int((~np.isfinite(y)).sum())} missing or "
                         "infinite values; the recurrent models need a gap-free series")
    dy = difference(y, cfg.diff)
    scaler = Scaler.fit(cfg.scaler, dy)
    x, t = make_windows(scaler.transform(dy), cfg.lookback, cfg.n_outputs)

    n_val = _n_validation(len(x), cfg.val_fraction)
    if len(x) - n_val < 1:
        min_windows = next(n for n in range(1, 10**6) if n - _n_validation(n, cfg.val_fraction) >= 1)
        needed = cfg.diff + cfg.lookback + cfg.n_outputs - 1 + min_windows
        raise ModelSkipped(
            f"series of {len(y)} points is too short: lookback {cfg.lookback}, differencing "
            f"order {cfg.diff}, {cfg.n_outputs} output(s) and validation fraction "
            f"{cfg.val_fraction} need at least {needed} points")
    split = len(x) - n_val
    return TrainingData(x[:split], t[:split], x[split:], t[split:], scaler, cfg.diff)


def epoch_orders(n_windows: int, epochs: int, seed: int) -> np.ndarray:
    """The order in which each epoch visits the training windows, ``(epochs, n_windows)``.

    Drawn up front from one NumPy generator seeded by the config, so Keras and PyTorch
    see the same mini-batches in the same order, independent of any framework's global
    random state.
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_windows) for _ in range(epochs)])


def _n_validation(n_windows: int, val_fraction: float) -> int:
    # Round up, so that any positive fraction keeps at least one validation window.
    return math.ceil(val_fraction * n_windows) if val_fraction > 0 else 0


def transform_context(y: np.ndarray, scaler: Scaler, cfg: RNNConfig) -> np.ndarray:
    """The last ``lookback`` scaled (differenced) values of ``y``: the network's input."""
    need = cfg.lookback + cfg.diff
    y = np.asarray(y, dtype=float)
    if len(y) < need:
        raise ValueError(f"context of {len(y)} points is shorter than lookback + diff = {need}")
    return scaler.transform(difference(y[-need:], cfg.diff))


def to_levels(z_future: np.ndarray, history: np.ndarray, scaler: Scaler, diff: int) -> np.ndarray:
    """Map scaled (differenced) forecasts back to the series' own units."""
    return undifference(scaler.inverse(z_future), history, diff)
