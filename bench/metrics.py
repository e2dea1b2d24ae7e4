"""Point-forecast error metrics with one keyword-only signature.

``y_true`` and ``y_pred`` are (n_origins, horizon) arrays (a 1-D array is one origin).
``y_train`` is the history each origin was forecast from: one array per origin (a single
array is shared by all origins); only MASE reads it. With ``axis=None`` a metric is one
number over every origin and step; with ``axis=0`` it is one number per horizon step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


def _errors(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.atleast_2d(np.asarray(y_true, dtype=float))
    y_pred = np.atleast_2d(np.asarray(y_pred, dtype=float))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    return y_true, y_pred


def mae(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None):
    y_true, y_pred = _errors(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=axis)


def rmse(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None):
    y_true, y_pred = _errors(y_true, y_pred)
    return np.sqrt(np.mean((y_true - y_pred) ** 2, axis=axis))


def mape(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None):
    """Mean absolute percentage error, in percent; NaN when any actual value is zero."""
    y_true, y_pred = _errors(y_true, y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(y_true == 0, np.nan, np.abs((y_true - y_pred) / y_true))
    return 100.0 * np.mean(ape, axis=axis)


def smape(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None):
    """Symmetric MAPE in percent (0..200); a term where actual and forecast are both 0 counts 0."""
    y_true, y_pred = _errors(y_true, y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denominator == 0, 0.0, 2.0 * np.abs(y_true - y_pred) / denominator)
    return 100.0 * np.mean(terms, axis=axis)


def seasonal_naive_scale(y_train, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast on the training history (MASE's scale)."""
    y_train = np.asarray(y_train, dtype=float)
    m = season_length if len(y_train) > season_length else 1
    if len(y_train) <= m:
        return float("nan")
    return float(np.mean(np.abs(y_train[m:] - y_train[:-m])))


def mase(*, y_true, y_pred, y_train, season_length: int = 1, axis=None):
    """MAE scaled, origin by origin, by the seasonal naive in-sample MAE of its history.

    A history shorter than a season falls back to the lag-1 scale; a zero scale (a
    constant history) gives NaN rather than infinity.
    """
    y_true, y_pred = _errors(y_true, y_pred)
    scales = mase_scales(y_train, season_length, n_origins=len(y_true))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.abs(y_true - y_pred) / np.where(scales == 0, np.nan, scales)[:, None]
    return np.mean(scaled, axis=axis)


def mase_scales(y_train, season_length: int, *, n_origins: int) -> np.ndarray:
    histories: Sequence = y_train
    if isinstance(y_train, np.ndarray) and y_train.ndim == 1 or np.isscalar(y_train[0]):
        histories = [y_train] * n_origins
    if len(histories) != n_origins:
        raise ValueError(f"y_train has {len(histories)} histories for {n_origins} origins")
    return np.array([seasonal_naive_scale(h, season_length) for h in histories])


NEAR_ZERO_SHARE = 0.1   # MAPE means nothing where an actual is below this share of the median |actual|


def mape_undefined(y_true) -> str:
    """Why MAPE means nothing on these actual values, or "" where it is meaningful.

    A percentage error divides by the actual value, so the points nearest zero dominate
    the mean: an actual of 0 makes it undefined (``mape`` gives NaN), and one below a
    tenth of the typical (median absolute) value turns an ordinary error into hundreds of
    percent. The actuals must be the test span's distinct targets.
    """
    values = np.abs(np.asarray(y_true, dtype=float).ravel())
    values = values[np.isfinite(values)]
    if not len(values):
        return "there are no actual values"
    zeros = int(np.sum(values == 0))
    if zeros:
        return (f"{zeros} of the {len(values)} test actuals {'is' if zeros == 1 else 'are'} 0, where a "
                "percentage error is undefined (the cell's MAPE is NaN)")
    median = float(np.median(values))
    small = int(np.sum(values < NEAR_ZERO_SHARE * median))
    if small:
        return (f"{small} of the {len(values)} test actuals {'is' if small == 1 else 'are'} below a tenth of "
                f"their median ({median:.3g}; the smallest is {values.min():.2g}), where an ordinary error is "
                "hundreds of percent or more and dominates the mean")
    return ""


Metric = Callable[..., float]


@dataclass(frozen=True)
class Definition:
    """What the reports need to know of a metric besides its function (all are lower-is-better)."""
    name: str
    fn: Metric
    header: str                                      # column header, with its unit
    undefined: Callable[[np.ndarray], str] | None = None   # why it means nothing on these actuals ("" if it does)


DEFINITIONS = (
    Definition("mae", mae, "MAE"),
    Definition("rmse", rmse, "RMSE"),
    Definition("mape", mape, "MAPE %", undefined=mape_undefined),
    Definition("smape", smape, "sMAPE %"),
    Definition("mase", mase, "MASE"),
)
METRICS: dict[str, Metric] = {d.name: d.fn for d in DEFINITIONS}
