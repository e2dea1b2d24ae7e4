"""What the global Keras and PyTorch recurrent models share: windows, per-series scaling, forecasting.

A global model is one network trained across every series of a panel
(``bench.forecaster.GlobalForecaster``); a single series is a panel of one. Everything
per series is fitted on that series' training part alone (the values before its origin):

- **Scale** (``SeriesScale``): logs of a positive series, so every window reads relative
  changes whatever the series' level (Smyl 2020; Hewamalage, Bergmeir and Bandara 2021);
  a series with a value <= 0 is divided by its mean absolute value instead.
- **Deseasonalisation**: where M4's seasonality test (``bench.seasonality.is_seasonal``,
  the lag-m autocorrelation outside its 90% band) says a series is seasonal, the network
  forecasts a correction to the last season repeated (in logs: a multiplicative correction
  to seasonal naive; the targets are the seasonal differences at lag m); elsewhere a
  correction to the last value (plain differences). The base is the latest season of each
  window, never a profile averaged over the history: on M4 hourly the last season carries
  the current daily shape (seasonal naive's sMAPE 13.9 against Naive2's 18.4).
- **Per-window normalisation**: each input window minus the mean of its last season (its
  last value without a season), so one network reads every series on one scale.
- **Multi-output head** of the horizon's width, initialised at zero: training starts from
  the base forecast (seasonal naive where seasonal) and learns what improves on it.
- **Forecast distributions**: the registered networks forecast points only, and the runner
  gives them conformal intervals from their validation walk (``bench.conformal``): on a
  pseudo-test of M4 hourly that beat a quantile head on MSIS (docs/global_models.md,
  "Forecast distributions"; ``benchmarks/global_intervals.py``). The quantile head is here
  as an option (``QuantileHead``, the ``...Quantiles`` classes): beside the point outputs,
  one output per horizon step and level of ``bench.quantiles.LEVELS``, also added to the
  base forecast and initialised at zero, trained with the pinball loss (``pinball``) on top
  of the point loss; sorted at prediction time and mapped back through the series' scale as
  the point forecast is.

The network reads a window in **chunks of one season** (24 hours a step on hourly data):
a 168-hour window is 7 recurrent steps of 24 inputs, not 168 steps of 1, which makes the
matrix products large enough to matter on a CPU and shortens the recurrence.

Training windows: every window whose targets end at least ``horizon`` points before a
series' origin; the last ``horizon`` points of each series' training part are its
validation window (one per series) for early stopping, never the test span. Training is
a budget of ``epochs x steps_per_epoch`` optimiser steps of ``batch_size`` windows (fewer
epochs where ``MAX_PASSES`` passes over the windows take fewer steps), the
validation loss checked every ``steps_per_epoch`` steps; ``patience`` checks without a
better loss stop it and the best check's weights are kept. Both frameworks read the same
windows in the same order (``rnn_models.windows.batch_orders``, seeded by the config).

Fields of ``RNNConfig`` read here: cell, units, layers, dropout, lookback, epochs,
steps_per_epoch, batch_size, learning_rate, patience, horizon, season_length, seed; the
per-series preset's transform, deseasonalise, window_norm, scaler, diff, output and
val_fraction do not apply (the choices above replace them). No per-series embedding or
series-level feature is learned: every series is read through its own window only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from bench import quantiles as qs
from bench.forecaster import ModelSkipped
from bench.seasonality import is_seasonal, usable_season
from rnn_models.config import AUTO, AUTO_MAX_BATCH, LOOKBACK_PER_PERIOD, RNNConfig
from rnn_models.windows import TrainingData

_LOSSES = ("mae", "mse")
LEVELS = qs.LEVELS          # the quantile head's levels: the ones the runner asks for
GLOBAL_BATCH = 512          # default windows per optimiser step (see the measurements in docs/global_models.md)


@dataclass(frozen=True)
class SeriesScale:
    """One series' map to the network's scale, fitted on its training part and then frozen."""

    log: bool
    scale: float            # divisor when not in logs (mean absolute value); 1.0 in logs
    seasonal: bool          # M4's test on the training part: the base is the last season, else the last value

    @classmethod
    def fit(cls, y: np.ndarray, season: int) -> SeriesScale:
        log = bool(np.all(y > 0))
        scale = 1.0 if log else float(np.mean(np.abs(y))) or 1.0
        return cls(log, scale, is_seasonal(y, season) if season > 1 else False)

    def forward(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        if self.log:
            # A value <= 0 revealed after a fit in logs: the smallest positive float keeps the
            # forecast finite (it reads as a collapse of the level).
            return np.log(np.maximum(y, np.finfo(float).tiny))
        return y / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else np.asarray(z) * self.scale


def chunk_of(season_length: int) -> int:
    """Inputs per recurrent step: one season (1 without one)."""
    return usable_season(season_length)


def head_width(horizon: int, quantile_head: bool) -> int:
    """Outputs of the network's head: the horizon's point corrections, then with ``quantile_head``
    one correction per step and level (``(horizon, len(LEVELS))`` row-major: step by step)."""
    return horizon * (1 + len(LEVELS)) if quantile_head else horizon


def split_outputs(out: np.ndarray, horizon: int, quantile_head: bool):
    """(point corrections ``(n, horizon)``, quantile corrections ``(n, horizon, len(LEVELS))`` or None)
    of the head's outputs ``(n, head_width)``."""
    if not quantile_head:
        return out, None
    return out[:, :horizon], out[:, horizon:].reshape(len(out), horizon, len(LEVELS))


def pinball(errors, levels) -> float:
    """Twice the mean pinball loss of ``errors = y - q`` ``(..., len(levels))``: fev's quantile loss,
    which is the absolute error at the median, so it sits on the scale of the point loss (MAE). Both
    frameworks compute this same formula on their own tensors (``max(tau e, (tau - 1) e)``)."""
    e = np.asarray(errors, dtype=float)
    tau = np.asarray(levels, dtype=float)
    return float(2.0 * np.mean(np.maximum(tau * e, (tau - 1.0) * e)))


def resolved(cfg: RNNConfig) -> RNNConfig:
    """``cfg`` with a numeric lookback, a whole number of chunks: 1.25 x max(horizon, season) rounded
    up to whole seasons, at least two (the per-series preset's rule, Hewamalage et al. 2021)."""
    chunk = chunk_of(cfg.season_length)
    if cfg.lookback == AUTO:
        steps = max(2, math.ceil(LOOKBACK_PER_PERIOD * max(cfg.horizon, cfg.season) / chunk))
        return replace(cfg, lookback=steps * chunk)
    if cfg.lookback % chunk:
        raise ValueError(f"lookback {cfg.lookback} must be a whole number of seasons of {chunk} "
                         "(the network reads one season per step)")
    return cfg


MAX_PASSES = 20     # a cost cap, not tuned: M4 hourly's budget is 11 passes, one short series' thousands


def capped(cfg: RNNConfig, n_windows: int, batch_size: int) -> RNNConfig:
    """``cfg`` with at most as many epochs as ``MAX_PASSES`` passes over the training windows need
    (at least one): the step budget is sized for a panel, and one short series would otherwise
    see each window thousands of times (air passengers: about 100 windows, 5,000 steps)."""
    needed = math.ceil(MAX_PASSES * n_windows / (batch_size * cfg.steps_per_epoch))
    return replace(cfg, epochs=max(1, min(cfg.epochs, needed)))


def base_and_reference(windows_z: np.ndarray, seasonal: np.ndarray, season: int, horizon: int):
    """(base forecasts ``(n, horizon)``, references ``(n, 1)``) of input windows ``(n, lookback)``.

    The base is the window's last season repeated where ``seasonal``, its last value elsewhere;
    the reference (subtracted from the input) the mean of its last season, or its last value.
    """
    last = windows_z[:, -1:]
    base = np.repeat(last, horizon, axis=1)
    reference = last
    if season > 1:
        last_season = windows_z[:, -season:]
        repeated = np.resize(np.arange(season), horizon)          # 0..m-1 repeated over the horizon
        base = np.where(seasonal[:, None], last_season[:, repeated], base)
        reference = np.where(seasonal[:, None], last_season.mean(axis=1, keepdims=True), last)
    return base, reference


@dataclass(frozen=True, eq=False)
class PanelWindows:
    data: TrainingData          # x (n, steps, chunk) float32, y (n, horizon) float32; transform None
    n_series: int


def panel_windows(zs: list[np.ndarray], seasonal: np.ndarray, cfg: RNNConfig) -> PanelWindows:
    """Training and validation windows of every series' transformed training part ``zs``."""
    L, H, m, chunk = cfg.lookback, cfg.horizon, cfg.season, chunk_of(cfg.season_length)
    xs, ys, x_val, y_val, flags, val_flags = [], [], [], [], [], []
    for z, flag in zip(zs, seasonal):
        z = np.asarray(z, dtype=np.float32)
        n = len(z)
        # Training targets end at least H before the origin: the last H points validate.
        rows = np.lib.stride_tricks.sliding_window_view(z[:n - H], L + H)
        xs.append(rows[:, :L])
        ys.append(rows[:, L:])
        flags.append(np.full(len(rows), flag))
        x_val.append(z[n - H - L:n - H][None])
        y_val.append(z[n - H:][None])
        val_flags.append([flag])

    def normalised(x, y, f):
        x, y, f = np.concatenate(x), np.concatenate(y), np.concatenate(f).astype(bool)
        base, reference = base_and_reference(x, f, m, H)
        # In place: the panel's windows are the largest arrays of a fit (150 MB on M4 hourly).
        x -= reference
        y -= base
        return x.reshape(len(x), L // chunk, chunk), y

    x, y = normalised(xs, ys, flags)
    xv, yv = normalised(x_val, y_val, val_flags)
    batch = min(len(x), GLOBAL_BATCH if cfg.batch_size == AUTO else cfg.batch_size)
    return PanelWindows(TrainingData(x, y, xv, yv, None, batch), len(zs))


class GlobalRNNForecaster:
    """A recurrent network trained across a panel; subclasses supply the framework.

        _train(data, cfg) -> history          build the network and train it; its head has
                                              head_width(cfg.horizon, self.quantile_head) outputs
                                              and, with the quantile head, its loss is the point
                                              loss plus ``pinball`` of the quantile outputs
        _forward(x) -> np.ndarray             a batch of windows (n, steps, chunk) -> (n, head width)
        _count_params() -> int

    Without ``QuantileHead`` (``quantile_head`` False) the head has the horizon's width and the
    loss is the point loss: a point forecaster, which the runner gives conformal intervals.
    """

    global_model: ClassVar[bool] = True
    seeded: ClassVar[bool] = True
    quantile_head: ClassVar[bool] = False
    cell: ClassVar[str]
    framework: ClassVar[str]

    def __init__(self, *, season_length: int = 1, seed: int = 0, units: int = 128, layers: int = 1,
                 dropout: float = 0.0, lookback: int | str = AUTO, epochs: int = 100,
                 steps_per_epoch: int = 50, batch_size: int | str = AUTO, learning_rate: float = 1e-3,
                 patience: int = 8, loss: str = "mae", horizon: int = 1):
        # Only store: validation happens in fit.
        self.season_length = season_length
        self.seed = seed
        self.units = units
        self.layers = layers
        self.dropout = dropout
        self.lookback = lookback
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.loss = loss
        self.horizon = horizon

    def config(self) -> RNNConfig:
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}")
        # val_fraction > 0 only switches early stopping on; the validation windows are the last horizon.
        return resolved(RNNConfig(
            cell=self.cell, units=self.units, layers=self.layers, dropout=self.dropout,
            lookback=self.lookback, epochs=self.epochs, steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size, learning_rate=self.learning_rate, patience=self.patience,
            val_fraction=0.1, horizon=self.horizon, season_length=self.season_length, seed=self.seed))

    # -- the GlobalForecaster protocol ---------------------------------------------------

    def fit(self, panel: dict[str, pd.Series]):
        cfg = self.config()
        need = cfg.lookback + 2 * cfg.horizon
        scales, zs, histories = {}, [], {}
        for sid, y in panel.items():
            values = np.asarray(y, dtype=float)
            if len(values) < need:
                raise ModelSkipped(f"series {sid!r} has {len(values)} training points; lookback {cfg.lookback} "
                                   f"and a validation horizon of {cfg.horizon} need at least {need}")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"series {sid!r} has missing or infinite values")
            scales[sid] = SeriesScale.fit(values, cfg.season)
            zs.append(scales[sid].forward(values))
            histories[sid] = values.copy()
        seasonal = np.array([s.seasonal for s in scales.values()])
        windows = panel_windows(zs, seasonal, cfg)
        cfg = capped(cfg, len(windows.data.x_train), windows.data.batch_size)
        history = self._train(windows.data, cfg)
        if not np.isfinite(history["loss"][-1]):
            raise RuntimeError(f"training diverged: final training loss {history['loss'][-1]}")
        self.config_ = cfg
        self.scales_ = scales
        self.history_ = history
        self.n_windows_ = len(windows.data.x_train)
        self.batch_size_ = windows.data.batch_size
        self.y_ = histories
        self.quantiles_ = None
        return self

    def fit_info(self) -> dict:
        self._check_fitted()
        val = self.history_["val_loss"]
        return {"epochs_run": len(self.history_["loss"]),
                "steps_run": len(self.history_["loss"]) * self.config_.steps_per_epoch,
                "best_epoch": int(np.argmin(val)) + 1 if val else 0,
                "training_windows": self.n_windows_, "batch_size": self.batch_size_,
                "lookback": self.config_.lookback,
                "seasonal_share": float(np.mean([s.seasonal for s in self.scales_.values()]))}

    def update(self, revealed: dict[str, pd.Series]):
        self._check_fitted()
        for sid, y_new in revealed.items():
            self.y_[sid] = np.concatenate([self.y_[sid], np.asarray(y_new, dtype=float)])
        self.quantiles_ = None
        return self

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        self._check_fitted()
        cfg = self.config_
        L, H, chunk = cfg.lookback, cfg.horizon, chunk_of(cfg.season_length)
        ids = list(self.y_)
        seasonal = np.array([self.scales_[sid].seasonal for sid in ids])
        windows = np.stack([self.scales_[sid].forward(self.y_[sid][-L:]) for sid in ids])
        z_future = np.empty((len(ids), 0))
        q_future = np.empty((len(ids), 0, len(LEVELS)))
        while z_future.shape[1] < horizon:
            base, reference = base_and_reference(windows, seasonal, cfg.season, H)
            x = (windows - reference).reshape(len(ids), L // chunk, chunk).astype(np.float32)
            point, quantiles = split_outputs(self._forward(x).astype(float), H, self.quantile_head)
            step = base + point
            z_future = np.concatenate([z_future, step], axis=1)
            if quantiles is not None:
                q_future = np.concatenate([q_future, base[:, :, None] + quantiles], axis=1)
            windows = np.concatenate([windows, step], axis=1)[:, -L:]      # fed back as if observed
        if self.quantile_head:
            # Rearrangement (Chernozhukov, Fernandez-Val and Galichon 2010): the outputs sorted per
            # step are quantiles in order and no farther from the true ones than the raw outputs.
            q_future = np.sort(q_future[:, :horizon], axis=2)
            self.quantiles_ = {sid: self.scales_[sid].inverse(q_future[i]) for i, sid in enumerate(ids)}
        return {sid: self.scales_[sid].inverse(z_future[i, :horizon]) for i, sid in enumerate(ids)}

    def n_params(self) -> int:
        self._check_fitted()
        return int(self._count_params())

    def load_libraries(self) -> None:
        """Import the framework now; the runner calls this untimed, before the fit."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "y_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")

    # -- for subclasses ------------------------------------------------------------------

    def _train(self, data: TrainingData, cfg: RNNConfig) -> dict[str, list[float]]:
        raise NotImplementedError

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _count_params(self) -> int:
        raise NotImplementedError


class QuantileHead:
    """Mixin: a global network with a quantile head, which forecasts its own distribution.

    ``class GlobalTorchGRUQuantiles(QuantileHead, GlobalTorchGRU)``: the head has
    ``head_width(horizon, True)`` outputs, the horizon's point corrections (trained with the
    point loss, as the point network's) and one correction per step and level of ``LEVELS``
    (trained with ``pinball``); the loss, and so early stopping, is their sum. The quantiles
    are sorted per step at prediction time. The runner then makes no calibration walk for it;
    a suite entry's ``intervals = "conformal"`` still gets conformal intervals around its point
    forecast instead.
    """

    quantile_head: ClassVar[bool] = True
    intervals: ClassVar[str] = ("quantile head: the network's own quantiles of every step at the 13 levels, "
                                "trained with the pinball loss beside the point loss, sorted")

    def predict_quantiles(self, horizon: int, levels=LEVELS) -> dict[str, np.ndarray]:
        """Every series' ``(horizon, len(levels))`` quantiles from the quantile head, by id.

        Each quantile is the base forecast plus its head output in the network's scale, mapped
        back through the series' scale exactly as the point forecast (exp in logs; both maps are
        increasing, so quantiles stay quantiles and in order). Beyond the network's horizon (a
        ``predict(horizon)`` longer than the ``horizon`` it was built for) the next block's
        quantiles are those given the point forecast fed back as if observed: conditional on that
        path, so narrower than the forecast's whole uncertainty (the runner asks for the split's
        horizon, which the network is built for).
        """
        self._check_fitted()
        if tuple(levels) != LEVELS:
            raise ValueError(f"the quantile head is trained for the levels {LEVELS}, asked for {tuple(levels)}")
        if self.quantiles_ is None or len(next(iter(self.quantiles_.values()))) != horizon:
            self.predict(horizon)
        return {sid: q.copy() for sid, q in self.quantiles_.items()}


def flops_per_window(cfg: RNNConfig) -> float:
    """Multiply-adds x 2 of one window's forward pass (recurrent layers and head), for GFLOP/s."""
    chunk = chunk_of(cfg.season_length)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cfg.cell]
    steps = cfg.lookback // chunk
    total, inputs = 0.0, chunk
    for _ in range(cfg.layers):
        total += steps * 2 * gates * cfg.units * (inputs + cfg.units)
        inputs = cfg.units
    return total + 2 * cfg.units * cfg.horizon
