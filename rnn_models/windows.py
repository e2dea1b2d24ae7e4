"""Training windows for the recurrent models, identical for Keras and PyTorch.

Everything here is fitted on the training window alone, i.e. on the values a model is
given in ``fit`` (all of them before the forecast origin): the series transform (logs,
seasonal component, differencing, scaler: rnn_models.preprocessing) and the batch
size; nothing changes when ``update`` later reveals more observations. Both frameworks
train on the very arrays ``prepare`` returns (float32, ``(n, lookback, 1)`` inputs and
``(n, n_outputs)`` targets) in the order ``batch_orders`` draws, and forecast through
``normalise``/``denormalise`` and ``SeriesTransform.inverse``.

For a training window ``y``, lookback ``L`` and ``k`` outputs (1 when recursive, the
horizon when direct):

    z = SeriesTransform.fit(y).forward(y)
    X[i] = z[i : i+L] - r[i],  Y[i] = z[i+L : i+L+k] - r[i]

with ``r[i] = z[i+L-1]`` (``window_norm="last"``: every window is seen relative to its
last value, so an output of zero means "no change", whatever level the series has
reached; Smyl 2020, Hewamalage et al. 2021) or ``r[i] = 0`` (``"none"``).

Validation windows are the last ``val_fraction`` of the windows (the most recent
targets). The ``k - 1`` windows before them are dropped: their targets overlap the first
validation window's, so a network could otherwise score on values it was trained on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.forecaster import ModelSkipped
from rnn_models.config import AUTO, AUTO_MAX_BATCH, PASS, RNNConfig
from rnn_models.preprocessing import Scaler, SeriesTransform, difference, undifference

__all__ = ["Scaler", "SeriesTransform", "TrainingData", "batch_orders", "denormalise",
           "difference", "make_windows", "normalise", "prepare", "undifference"]


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


def normalise(window: np.ndarray, cfg: RNNConfig) -> tuple[np.ndarray, float]:
    """(the network's input for one window of ``z``, the reference added back to its outputs)."""
    reference = float(window[-1]) if cfg.window_norm == "last" else 0.0
    return (np.asarray(window, dtype=np.float32) - np.float32(reference)), reference


def denormalise(outputs: np.ndarray, reference: float) -> np.ndarray:
    return np.asarray(outputs, dtype=float) + reference


@dataclass(frozen=True, eq=False)
class TrainingData:
    x_train: np.ndarray     # (n_train, lookback, 1) float32
    y_train: np.ndarray     # (n_train, n_outputs) float32
    x_val: np.ndarray       # (n_val, lookback, 1); n_val is 0 without a validation split
    y_val: np.ndarray
    transform: SeriesTransform
    batch_size: int         # resolved: "auto" is a number here

    @property
    def has_validation(self) -> bool:
        return len(self.x_val) > 0

    @property
    def scaler(self) -> Scaler:
        return self.transform.scaler


def prepare(y: np.ndarray, cfg: RNNConfig) -> TrainingData:
    """Transform and window the training values ``y`` (all before the origin).

    Raises ``ModelSkipped`` when ``y`` is too short for the lookback, the output width
    and (if asked for) at least one validation window besides one training window.
    """
    cfg = cfg.resolved()
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"training series has {int((~np.isfinite(y)).sum())} missing or "
                         "infinite values; the recurrent models need a gap-free series")
    _check_length(len(y), cfg)
    transform = SeriesTransform.fit(y, cfg)
    x, t = make_windows(transform.forward(y, start=0), cfg.lookback, cfg.n_outputs)
    if cfg.window_norm == "last":
        reference = x[:, -1, :]                     # (n, 1): each window's last value
        x, t = x - reference[:, :, None], t - reference

    n_val, gap = _validation_layout(len(x), cfg)
    n_train = len(x) - n_val - gap
    # A batch larger than the training set is the whole set (one step per pass).
    batch = min(n_train, AUTO_MAX_BATCH if cfg.batch_size == AUTO else cfg.batch_size)
    return TrainingData(x[:n_train], t[:n_train], x[len(x) - n_val:], t[len(x) - n_val:],
                        transform, batch)


def _validation_layout(n_windows: int, cfg: RNNConfig) -> tuple[int, int]:
    """(validation windows, windows dropped before them)."""
    if cfg.val_fraction <= 0:
        return 0, 0
    # Round up, so that any positive fraction keeps at least one validation window.
    return math.ceil(cfg.val_fraction * n_windows), cfg.n_outputs - 1


def _check_length(n_points: int, cfg: RNNConfig) -> None:
    def n_train(n_windows: int) -> int:
        n_val, gap = _validation_layout(n_windows, cfg)
        return n_windows - n_val - gap

    n_windows = n_points - cfg.diff - cfg.lookback - cfg.n_outputs + 1
    if n_train(n_windows) >= 1:
        return
    min_windows = next(n for n in range(1, 10**6) if n_train(n) >= 1)
    needed = cfg.diff + cfg.lookback + cfg.n_outputs - 1 + min_windows
    raise ModelSkipped(
        f"series of {n_points} points is too short: lookback {cfg.lookback}, differencing "
        f"order {cfg.diff}, {cfg.n_outputs} output(s) and validation fraction "
        f"{cfg.val_fraction} need at least {needed} points")


def batch_orders(n_windows: int, batch_size: int, cfg: RNNConfig) -> np.ndarray:
    """The training windows each epoch visits, in order, ``(epochs, windows per epoch)``.

    Both frameworks cut each row into consecutive batches of ``batch_size``, so Keras
    and PyTorch see the same mini-batches in the same order, drawn up front from one
    NumPy generator seeded by the config, independent of any framework's random state.

    ``steps_per_epoch="pass"``: every epoch is one shuffled pass (its last batch may be
    smaller). A number ``s``: every epoch is ``s`` full batches cut from a stream of
    shuffled passes, so an epoch is a fixed amount of work whatever the series' length:
    on a short series several passes, on a long one part of a pass, the next epoch
    continuing where it stopped.
    """
    rng = np.random.default_rng(cfg.seed)
    if cfg.steps_per_epoch == PASS:
        return np.stack([rng.permutation(n_windows) for _ in range(cfg.epochs)])
    per_epoch = cfg.steps_per_epoch * batch_size
    passes = math.ceil(cfg.epochs * per_epoch / n_windows)
    stream = np.concatenate([rng.permutation(n_windows) for _ in range(passes)])
    return stream[:cfg.epochs * per_epoch].reshape(cfg.epochs, per_epoch)


def steps_in(n_windows: int, batch_size: int) -> int:
    """Optimiser steps in one row of ``batch_orders``."""
    return math.ceil(n_windows / batch_size)
