"""Point-forecast error metrics with one keyword-only signature, and the table that declares them.

``y_true`` and ``y_pred`` are (n_origins, horizon) arrays (a 1-D array is one origin).
``y_train`` is the history each origin was forecast from: one array per origin (a single
array is shared by all origins); only MASE reads it, or instead ``scales``, the
per-origin scales already computed from those histories (the store keeps them). With
``axis=None`` a metric is one number over every origin and step; with ``axis=0`` it is
one number per horizon step.

``DEFINITIONS`` is the one list of metrics: the runner scores a walk with ``score``, the
store keeps a column per ``PER_CELL`` metric, the reports show their headers and which
of them a mean over a panel's series means anything for (``panel_mean``), and OWA is a
``Definition`` computed on panel means. Adding a metric is one entry here.

sMAPE and MASE are M4's (Makridakis, Spiliotis and Assimakopoulos 2020): sMAPE is
``200 |y - f| / (|y| + |f|)`` averaged over the horizon; MASE divides the absolute
errors by the in-sample MAE of the seasonal naive forecast (lag = the dataset's season)
over the history the forecast was made from, which for M4's single origin is the
series' whole training part.

The distribution metrics read ``q_pred``, the quantiles of every origin and step,
``(n_origins, horizon, len(levels))`` at ``levels`` (``bench.quantiles.LEVELS``); without
them (a model that made no distribution) they are NaN:

- MSIS (M4): the interval score of the 95% interval, ``(U - L) + (2 / 0.05) (L - y) 1{y < L}
  + (2 / 0.05) (y - U) 1{y > U}``, averaged over the horizon and divided by the origin's
  MASE scale (M4: the in-sample mean absolute seasonal difference);
- coverage of the 80% and 95% intervals: the share of actuals within ``[L, U]``; M4's ACD
  (``|coverage - 0.95|``, pooled over series and steps) is computed from the mean coverage;
- SQL (fev): the quantile loss ``2 |(y - q)(1{y <= q} - tau)|`` averaged over the nine
  levels 0.1 .. 0.9 and divided by the origin's MASE scale;
- WQL (fev's weighted quantile loss, GIFT-Eval's "CRPS"): the same loss, unscaled, averaged,
  divided by the mean |actual|; over a panel it is pooled (weighted by each series' mean
  |actual|), as fev computes it on a whole task.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from bench import quantiles as qs


def _errors(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.atleast_2d(np.asarray(y_true, dtype=float))
    y_pred = np.atleast_2d(np.asarray(y_pred, dtype=float))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    return y_true, y_pred


def mae(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
        q_pred=None, levels=None):
    y_true, y_pred = _errors(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=axis)


def rmse(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
         q_pred=None, levels=None):
    y_true, y_pred = _errors(y_true, y_pred)
    return np.sqrt(np.mean((y_true - y_pred) ** 2, axis=axis))


def mape(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
         q_pred=None, levels=None):
    """Mean absolute percentage error, in percent; NaN when any actual value is zero."""
    y_true, y_pred = _errors(y_true, y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(y_true == 0, np.nan, np.abs((y_true - y_pred) / y_true))
    return 100.0 * np.mean(ape, axis=axis)


def smape(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
          q_pred=None, levels=None):
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


def mase(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
         q_pred=None, levels=None):
    """MAE scaled, origin by origin, by the seasonal naive in-sample MAE of its history.

    A history shorter than a season falls back to the lag-1 scale; a zero scale (a
    constant history) gives NaN rather than infinity. ``scales`` (one per origin) stand
    in for ``y_train`` where they were computed already.
    """
    y_true, y_pred = _errors(y_true, y_pred)
    if scales is None:
        scales = mase_scales(y_train, season_length, n_origins=len(y_true))
    scales = np.asarray(scales, dtype=float)
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


def _quantile_columns(q_pred, levels, wanted) -> np.ndarray | None:
    """``q_pred``'s columns at the ``wanted`` levels, ``(n_origins, horizon, len(wanted))``; None without quantiles."""
    if q_pred is None:
        return None
    q_pred = np.asarray(q_pred, dtype=float)
    if q_pred.ndim == 2:                                  # one origin
        q_pred = q_pred[None]
    levels = qs.LEVELS if levels is None else levels
    return q_pred[..., [qs.index_of(level, levels) for level in wanted]]


def _origin_scales(scales, y_train, season_length, n_origins) -> np.ndarray:
    if scales is None:
        scales = mase_scales(y_train, season_length, n_origins=n_origins)
    scales = np.asarray(scales, dtype=float)
    return np.where(scales == 0, np.nan, scales)


def interval_score(y_true, lower, upper, alpha: float) -> np.ndarray:
    """The interval score of a central (1 - alpha) interval, element by element (Gneiting & Raftery 2007)."""
    return ((upper - lower) + (2.0 / alpha) * (lower - y_true) * (y_true < lower)
            + (2.0 / alpha) * (y_true - upper) * (y_true > upper))


def msis(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
         q_pred=None, levels=None):
    """M4's mean scaled interval score of the 95% interval; NaN without quantiles."""
    y_true, _ = _errors(y_true, y_pred)
    bounds = _quantile_columns(q_pred, levels, qs.INTERVALS[95])
    if bounds is None:
        return _nan_like(y_true, axis)
    score = interval_score(y_true, bounds[..., 0], bounds[..., 1], alpha=0.05)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(score / _origin_scales(scales, y_train, season_length, len(y_true))[:, None], axis=axis)


def _coverage(nominal: int):
    def coverage(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
                 q_pred=None, levels=None):
        y_true, _ = _errors(y_true, y_pred)
        bounds = _quantile_columns(q_pred, levels, qs.INTERVALS[nominal])
        if bounds is None:
            return _nan_like(y_true, axis)
        inside = (y_true >= bounds[..., 0]) & (y_true <= bounds[..., 1])
        return np.mean(inside, axis=axis)
    coverage.__doc__ = f"Share of actuals inside the central {nominal}% interval (inclusive, as M4); NaN without quantiles."
    coverage.__name__ = f"coverage_{nominal}"
    return coverage


coverage_80 = _coverage(80)
coverage_95 = _coverage(95)


def quantile_loss(y_true, q, levels) -> np.ndarray:
    """fev's quantile loss ``2 |(y - q)(1{y <= q} - tau)|``, for every level (last axis)."""
    y = np.asarray(y_true, dtype=float)[..., None]
    tau = np.asarray(levels, dtype=float)
    return 2.0 * np.abs((y - q) * ((y <= q) - tau))


def _decile_loss(y_true, y_pred, q_pred, levels) -> tuple[np.ndarray, np.ndarray | None]:
    """``y_true`` as an array, and the quantile loss averaged over the levels 0.1 .. 0.9 of every origin and
    step (None without quantiles)."""
    y_true, _ = _errors(y_true, y_pred)
    q = _quantile_columns(q_pred, levels, qs.SQL_LEVELS)
    return y_true, None if q is None else quantile_loss(y_true, q, qs.SQL_LEVELS).mean(axis=-1)


def sql(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
        q_pred=None, levels=None):
    """fev's scaled quantile loss over the levels 0.1 .. 0.9; NaN without quantiles."""
    y_true, loss = _decile_loss(y_true, y_pred, q_pred, levels)
    if loss is None:
        return _nan_like(y_true, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(loss / _origin_scales(scales, y_train, season_length, len(y_true))[:, None], axis=axis)


def wql(*, y_true, y_pred, y_train=None, season_length: int = 1, axis=None, scales=None,
        q_pred=None, levels=None):
    """fev's weighted quantile loss over the levels 0.1 .. 0.9: mean loss / mean |actual|; NaN without quantiles."""
    y_true, loss = _decile_loss(y_true, y_pred, q_pred, levels)
    if loss is None:
        return _nan_like(y_true, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(loss, axis=axis) / np.mean(np.abs(y_true), axis=axis)


def _nan_like(y_true: np.ndarray, axis):
    return float("nan") if axis is None else np.full(np.mean(y_true, axis=axis).shape, np.nan)


def acd(means: Mapping[str, float], reference: Mapping[str, float] | None = None) -> float:
    """M4's absolute coverage difference of the 95% interval: ``|coverage - 0.95|``, from the
    panel's mean coverage (every series has as many targets, so it is the pooled coverage)."""
    return abs(means["coverage_95"] - 0.95)


Metric = Callable[..., float]


def owa(means: Mapping[str, float], reference: Mapping[str, float]) -> float:
    """M4's overall weighted average: ``(sMAPE / sMAPE_ref + MASE / MASE_ref) / 2``.

    ``means`` and ``reference`` are panel means (over series) of a model and of the
    reference model (Naive2 in M4), as M4 computes it: on the means, not series by series.
    """
    return 0.5 * (means["smape"] / reference["smape"] + means["mase"] / reference["mase"])


@dataclass(frozen=True)
class Definition:
    """A metric and what every layer needs to know of it (all are lower-is-better).

    A per-cell metric has ``fn``: the runner scores each cell with it and the store keeps
    a column of it. A panel-level metric has ``of_panel_means`` instead: it is computed
    from a variant's panel means and those of ``reference`` (only when the reference ran).
    """
    name: str
    header: str                                      # column header, with its unit
    unit: str                                        # "series" (the series' own unit), "%", or "" (scale-free)
    panel_mean: bool                                 # whether a mean over a panel's series means anything
    why: str                                         # why it does (or does not)
    fn: Metric | None = None
    undefined: Callable[[np.ndarray], str] | None = None   # why it means nothing on these actuals ("" if it does)
    # True: a non-finite value means the forecasts overflowed (the cell fails); False: the
    # metric is NaN where it is undefined (an actual of 0, a constant history), never inf.
    always_defined: bool = True
    of_panel_means: Callable[[Mapping[str, float], Mapping[str, float]], float] | None = None
    reference: str = ""                              # the model ``of_panel_means`` is relative to ("": none)
    direction: str = "lower"                         # "lower" is better, or "nominal": nearer ``nominal`` is
    nominal: float | None = None                     # the value a calibrated model reaches (a coverage's level)
    kind: str = "point"                              # "point" (judges the point forecast) or "distribution"
    weight: str = ""                                 # a cells column: the panel mean is weighted by it (WQL)
    undefined_where: str = ""                        # where the data leave it undefined, for every model


# Where a metric scaled by the series' in-sample seasonal-naive error has no value: the scale is 0.
ZERO_SCALE = ("its in-sample seasonal-naive error is 0 (a history that repeats its season exactly, such as a "
              "constant one)")

DEFINITIONS = (
    Definition("mae", "MAE", "series", False,
               "in each series' unit: a mean over series of different scales is dominated by the largest", mae),
    Definition("rmse", "RMSE", "series", False, "in each series' unit, as MAE", rmse),
    Definition("mape", "MAPE %", "%", False,
               "a series whose actuals come near zero dominates the mean (and a zero makes it undefined)", mape,
               undefined=mape_undefined, always_defined=False, undefined_where="a test actual is 0"),
    Definition("smape", "sMAPE %", "%", True, "bounded (0-200%) and scale-free: M4's first measure", smape),
    Definition("mase", "MASE", "", True,
               "scale-free: each series' errors in units of its own in-sample seasonal-naive error (M4)", mase,
               always_defined=False, undefined_where=ZERO_SCALE),
    Definition("owa", "OWA", "", False,
               "computed on the panel means already (M4): sMAPE and MASE each relative to Naive2's, averaged",
               of_panel_means=owa, reference="naive2"),
    Definition("msis", "MSIS", "", True,
               "scale-free: each origin's 95% interval score in units of its in-sample seasonal-naive error (M4)",
               msis, always_defined=False, kind="distribution", undefined_where=ZERO_SCALE),
    Definition("coverage_80", "cover 80%", "", True, "a share of each series' targets", coverage_80,
               always_defined=False, direction="nominal", nominal=0.80, kind="distribution"),
    Definition("coverage_95", "cover 95%", "", True, "a share of each series' targets", coverage_95,
               always_defined=False, direction="nominal", nominal=0.95, kind="distribution"),
    Definition("sql", "SQL", "", True,
               "scale-free: the quantile loss in units of each origin's in-sample seasonal-naive error (fev)", sql,
               always_defined=False, kind="distribution", undefined_where=ZERO_SCALE),
    Definition("wql", "WQL", "", True,
               "relative to the mean |actual|; a panel's is pooled, each series weighted by its mean |actual| (fev)",
               wql, always_defined=False, kind="distribution", weight="actual_abs_mean",
               undefined_where="its test actuals are all 0"),
    Definition("acd", "ACD", "", False,
               "computed on the panel mean coverage of the 95% interval (M4): every series has as many targets",
               of_panel_means=acd, kind="distribution"),
)
BY_NAME: dict[str, Definition] = {d.name: d for d in DEFINITIONS}
PER_CELL = tuple(d for d in DEFINITIONS if d.fn is not None)
OF_PANEL = tuple(d for d in DEFINITIONS if d.of_panel_means is not None and d.kind == "point")
DISTRIBUTION_OF_PANEL = tuple(d for d in DEFINITIONS if d.of_panel_means is not None and d.kind == "distribution")
METRICS: dict[str, Metric] = {d.name: d.fn for d in PER_CELL}
STORED = tuple(METRICS)              # the store's metric columns, one per per-cell metric
PANEL_MEANS = tuple(d.name for d in PER_CELL if d.panel_mean and d.kind == "point")
POINT = tuple(d for d in PER_CELL if d.kind == "point")
DISTRIBUTION = tuple(d for d in PER_CELL if d.kind == "distribution")
MAY_BE_UNDEFINED = tuple(d.name for d in PER_CELL if not d.always_defined)   # NaN on some series, or models


def score(*, y_true, y_pred, scales, q_pred=None, levels=None) -> dict[str, float]:
    """Every per-cell metric of one walk over all its origins and steps, as the store keeps them.

    ``scales`` are the walk's per-origin MASE scales, ``q_pred`` its quantiles at ``levels``
    (None: the distribution metrics are NaN). A metric that may be undefined is NaN rather
    than infinite; an always-defined one that is not finite is left so, and ``unscorable``
    names it (the forecasts overflowed).
    """
    out = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for d in PER_CELL:
            value = float(d.fn(y_true=y_true, y_pred=y_pred, scales=scales, q_pred=q_pred, levels=levels))
            out[d.name] = float("nan") if not d.always_defined and np.isinf(value) else value
    return out


def unscorable(scores: Mapping[str, float]) -> list[str]:
    """The always-defined metrics that are not finite in ``scores`` (a cell with any cannot be ok)."""
    return [d.name for d in PER_CELL if d.always_defined and not np.isfinite(scores[d.name])]
