"""Conformal intervals for any point forecaster, calibrated on the validation span.

A model that makes no distribution of its own (XGBoost, the recurrent networks, a user's
model) is first walked over the **validation span** (``bench.splits``: the points just
before the test span, the same horizon, step, refit and window protocol; every target
before the test span begins). Its residuals there, ``y - forecast``, each divided by its
origin's MASE scale (the in-sample seasonal-naive MAE of the history the forecast was
made from), are pooled per horizon step over the origins and, on a panel, over the
series: one series of M4 has a single validation origin, so only the panel gives a step
enough residuals. At a test origin the ``tau`` quantile of step ``k`` is

    forecast[k] + scale * r_(j),   r_(1) <= ... <= r_(n) the step's scaled residuals,

with ``j = ceil((n + 1) tau)`` for ``tau >= 0.5`` and ``floor((n + 1) tau)`` below it
(split conformal prediction's finite-sample rank, Vovk et al. 2005; Lei et al. 2018), each
one-sided bound covering at least its level when the residuals are exchangeable. Signed
residuals, not absolute ones: a forecaster that is biased on the validation span gets
asymmetric intervals (and a median moved by its median residual) instead of symmetric
ones that are too wide on one side.

The 97.5% quantile needs ``n >= 39`` residuals (``(n + 1) 0.975 <= n``); a single series'
validation span often has fewer origins (air passengers' default split: 25). Then the
steps are pooled: each step's residuals are divided by their mean absolute value
``s_k``, the quotients of all steps ranked together (``n`` times the horizon of them), and
step ``k``'s quantile is ``s_k`` times theirs. This assumes the steps' residuals differ in
scale only, not in shape; with enough residuals per step (every panel of 39 series or
more) each step is calibrated on its own. The interval method text says which was done
and how many residuals there were.

Scaling by the origin's MASE scale makes a residual comparable across series of different
levels and across origins of one series. An origin whose scale is not a positive number
(a constant history) contributes no residual, and gets an interval of zero width.

``Conformal`` (and ``GlobalConformal`` for a model trained across a panel) wraps a point
forecaster with a ``Calibration``; the runner wraps every model without
``predict_quantiles`` (or any model whose suite entry says ``intervals = "conformal"``), and
a user can wrap a model of their own the same way:

    cal = Calibration.from_residuals(actuals, forecasts, scales)      # (n, h), (n, h), (n,)
    model = Conformal(MyModel(), cal, season_length=12)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from bench import quantiles as qs
from bench.metrics import seasonal_naive_scale

METHOD = "conformal"
MIN_PER_STEP = 39       # residuals a step needs for its own 2.5% and 97.5% quantiles: (n + 1) 0.025 >= 1


def rank(n: int, level: float) -> int:
    """The 1-based order statistic of ``n`` residuals that bounds the ``level`` quantile (clipped to 1..n)."""
    k = math.ceil((n + 1) * level - 1e-9) if level >= 0.5 else math.floor((n + 1) * level + 1e-9)
    return min(max(k, 1), n)


@dataclass(frozen=True, eq=False)
class Calibration:
    """Per horizon step, the scaled residual quantiles that widen a point forecast into quantiles."""
    offsets: np.ndarray                 # (horizon, len(levels)): r_(j) of each step and level
    n_residuals: int                    # the fewest residuals of any step
    pooled: bool = False                # True: the steps were ranked together (too few per step)
    levels: tuple[float, ...] = qs.LEVELS

    @classmethod
    def from_residuals(cls, actuals, forecasts, scales, levels: Sequence[float] = qs.LEVELS) -> Calibration | None:
        """From validation walks: ``actuals`` and ``forecasts`` ``(n_origins, horizon)`` (origins of every
        series stacked), ``scales`` ``(n_origins,)``. None when some step has no usable residual."""
        actuals = np.atleast_2d(np.asarray(actuals, dtype=float))
        forecasts = np.atleast_2d(np.asarray(forecasts, dtype=float))
        scales = np.asarray(scales, dtype=float).reshape(-1)
        usable = np.isfinite(scales) & (scales > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (actuals[usable] - forecasts[usable]) / scales[usable, None]
        steps = [np.sort(step[np.isfinite(step)]) for step in scaled.T]
        if not steps or min(len(step) for step in steps) == 0:
            return None
        fewest = min(len(step) for step in steps)
        spreads = np.array([np.mean(np.abs(step)) for step in steps])
        if fewest >= MIN_PER_STEP or len(steps) == 1 or not np.all(spreads > 0):
            offsets = [[step[rank(len(step), level) - 1] for level in levels] for step in steps]
            return cls(np.asarray(offsets), fewest, False, tuple(levels))
        pooled = np.sort(np.concatenate([step / spread for step, spread in zip(steps, spreads)]))
        ranked = np.array([pooled[rank(len(pooled), level) - 1] for level in levels])
        return cls(spreads[:, None] * ranked[None, :], fewest, True, tuple(levels))

    @property
    def horizon(self) -> int:
        return self.offsets.shape[0]

    def quantiles(self, forecast, scale: float, levels: Sequence[float] = qs.LEVELS) -> np.ndarray:
        """``(horizon, len(levels))`` quantiles around ``forecast`` at an origin of MASE scale ``scale``."""
        if tuple(levels) != self.levels:
            raise ValueError(f"calibrated for the levels {self.levels}, asked for {tuple(levels)}")
        forecast = np.asarray(forecast, dtype=float).reshape(-1)
        if len(forecast) != self.horizon:
            raise ValueError(f"calibrated for a horizon of {self.horizon} steps, asked for {len(forecast)}")
        scale = scale if np.isfinite(scale) and scale > 0 else 0.0
        return forecast[:, None] + scale * self.offsets

    def describe(self) -> str:
        how = (f"{self.n_residuals} per step, steps pooled by their mean |residual|" if self.pooled
               else f"{self.n_residuals} per step")
        return f"{METHOD}: validation-span residuals ({how}), scaled by the in-sample seasonal-naive MAE"


def from_validation_rows(rows: pd.DataFrame) -> Calibration | None:
    """The calibration of stored validation forecasts (``Store.validation_forecasts``: one row per
    series, origin and step), pooled over every series and origin they hold."""
    if rows.empty:
        return None
    rows = rows.sort_values(["series_id", "origin_time", "step"], kind="stable")
    horizon = int(rows["step"].max())
    if len(rows) % horizon:
        return None
    actuals = rows["y_true"].to_numpy(dtype=float).reshape(-1, horizon)
    forecasts = rows["y_pred"].to_numpy(dtype=float).reshape(-1, horizon)
    scales = rows["mase_scale"].to_numpy(dtype=float).reshape(-1, horizon)[:, 0]
    return Calibration.from_residuals(actuals, forecasts, scales)


class Conformal:
    """A point forecaster with conformal quantiles (``Calibration``) around its forecasts.

    Everything but ``predict_quantiles`` is the wrapped model's. The scale at an origin is
    the seasonal-naive MAE of the history the model has seen (its last ``window`` points
    with a sliding window), the same one the calibration's residuals were divided by.
    """

    def __init__(self, model, calibration: Calibration, *, season_length: int, window: int | None = None):
        self.model = model
        self.calibration = calibration
        self.season_length = season_length
        self.window = window

    def fit(self, y: pd.Series):
        self.model.fit(y)
        self.history_ = np.asarray(y, dtype=float).copy()
        self.forecast_ = None
        return self

    def update(self, y_new: pd.Series):
        self.model.update(y_new)
        self.history_ = np.concatenate([self.history_, np.asarray(y_new, dtype=float)])
        self.forecast_ = None
        return self

    def predict(self, horizon: int) -> np.ndarray:
        self.forecast_ = np.asarray(self.model.predict(horizon), dtype=float).reshape(-1)
        return self.forecast_

    def predict_quantiles(self, horizon: int, levels: Sequence[float]) -> np.ndarray:
        if self.forecast_ is None or len(self.forecast_) != horizon:
            self.predict(horizon)
        seen = self.history_ if self.window is None else self.history_[-self.window:]
        return self.calibration.quantiles(self.forecast_, seasonal_naive_scale(seen, self.season_length), levels)

    def n_params(self) -> int:
        return self.model.n_params()

    @property
    def intervals(self) -> str:
        return self.calibration.describe()

    def __getattr__(self, name):
        # fit_info, load_libraries and anything else optional: the wrapped model's, when it has them.
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)


class GlobalConformal(Conformal):
    """``Conformal`` for a model trained across a panel: one calibration, each series its own scale."""

    def fit(self, panel: dict[str, pd.Series]):
        self.model.fit(panel)
        self.history_ = {sid: np.asarray(y, dtype=float).copy() for sid, y in panel.items()}
        self.forecast_ = None
        return self

    def update(self, revealed: dict[str, pd.Series]):
        self.model.update(revealed)
        for sid, y in revealed.items():
            self.history_[sid] = np.concatenate([self.history_[sid], np.asarray(y, dtype=float)])
        self.forecast_ = None
        return self

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        self.forecast_ = {sid: np.asarray(f, dtype=float).reshape(-1) for sid, f in self.model.predict(horizon).items()}
        return self.forecast_

    def predict_quantiles(self, horizon: int, levels: Sequence[float]) -> dict[str, np.ndarray]:
        if self.forecast_ is None:
            self.predict(horizon)
        out = {}
        for sid, forecast in self.forecast_.items():
            seen = self.history_[sid] if self.window is None else self.history_[sid][-self.window:]
            out[sid] = self.calibration.quantiles(forecast, seasonal_naive_scale(seen, self.season_length), levels)
        return out
