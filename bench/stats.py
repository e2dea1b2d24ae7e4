"""Statistics for the leaderboards: Diebold-Mariano tests, ranks, skill, Pareto fronts.

Pure functions of arrays and DataFrames; nothing here reads the store or draws.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps


class DMResult(NamedTuple):
    stat: float        # HLN-corrected DM statistic; negative: ``loss_a`` is the smaller
    p_value: float     # two-sided, Student t with n - 1 degrees of freedom


def diebold_mariano(loss_a, loss_b, horizon: int) -> DMResult:
    """Diebold-Mariano test of equal expected loss, with the Harvey-Leybourne-Newbold correction.

    ``loss_a`` and ``loss_b`` are aligned per-origin losses of two forecasters. With
    ``d = loss_a - loss_b`` and ``n`` origins the long-run variance of the mean of ``d``
    is ``(g0 + 2 * (g1 + ... + g_{h-1})) / n``, where ``gk`` is the lag-k
    autocovariance of ``d`` (demeaned, divided by ``n``): forecasts ``h`` steps ahead
    overlap, so their losses are correlated up to lag ``h - 1`` and no further (the
    rectangular-kernel HAC of Diebold and Mariano 1995). The statistic is scaled by
    ``sqrt((n + 1 - 2h + h(h - 1) / n) / n)`` and compared with Student t, n - 1 df
    (Harvey, Leybourne and Newbold 1997), which keeps the test's size honest with few
    origins.

    The rectangular kernel can give a non-positive variance; then, as R's
    ``forecast::dm.test`` does, the test is repeated with ``horizon=1``. Identical
    losses give (0, 1); a variance that is still zero or a sample too short gives NaNs.
    """
    loss_a = np.asarray(loss_a, dtype=float)
    loss_b = np.asarray(loss_b, dtype=float)
    if loss_a.shape != loss_b.shape or loss_a.ndim != 1:
        raise ValueError(f"loss series must be 1-D and aligned, got {loss_a.shape} and {loss_b.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    d = loss_a - loss_b
    n = len(d)
    if n < 2 or not np.all(np.isfinite(d)):
        return DMResult(math.nan, math.nan)
    if np.all(d == 0):
        return DMResult(0.0, 1.0)
    variance = hac_variance(d, horizon)
    if variance <= 0:
        return diebold_mariano(loss_a, loss_b, 1) if horizon > 1 else DMResult(math.nan, math.nan)
    hln_squared = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
    if hln_squared <= 0:
        return DMResult(math.nan, math.nan)
    stat = float(d.mean() / math.sqrt(variance) * math.sqrt(hln_squared))
    return DMResult(stat, float(2.0 * sps.t.sf(abs(stat), df=n - 1)))


def hac_variance(d, horizon: int) -> float:
    """The DM variance of the mean of ``d``: ``(g0 + 2 * (g1 + ... + g_{h-1})) / n``; may be <= 0.

    ``gk`` is the lag-k autocovariance of ``d``, demeaned and divided by ``n`` (not n - k).
    """
    d = np.asarray(d, dtype=float)
    n = len(d)
    centred = d - d.mean()
    gammas = [float(centred[k:] @ centred[:n - k]) / n for k in range(min(horizon, n))]
    return (gammas[0] + 2.0 * sum(gammas[1:])) / n


def dm_horizon_used(loss_a, loss_b, horizon: int) -> int:
    """The horizon ``diebold_mariano`` really uses: ``horizon``, or 1 where that variance is not positive."""
    d = np.asarray(loss_a, dtype=float) - np.asarray(loss_b, dtype=float)
    return horizon if horizon == 1 or len(d) < 2 or hac_variance(d, horizon) > 0 else 1


def overlapping_origins(horizon: int, step: int) -> int:
    """How many consecutive origins share a forecast target: the DM test's ``horizon``.

    Origins ``step`` points apart with ``horizon``-step forecasts overlap for lags
    below ``ceil(horizon / step)``; with ``step = 1`` this is the textbook ``h``.
    """
    return max(1, math.ceil(horizon / step))


def ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank the rows (model variants) within every column (dataset); 1 is the lowest score.

    Ties share the mean of their ranks; a missing score (the variant failed or did not
    run there) stays missing rather than being ranked.
    """
    return scores.rank(axis=0, method="average", ascending=True, na_option="keep")


def mean_ranks(scores: pd.DataFrame) -> pd.Series:
    """Mean over columns of each row's rank, over the columns where the row has a score."""
    return ranks(scores).mean(axis=1, skipna=True)


def wins(scores: pd.DataFrame) -> pd.Series:
    """How many columns each row has the lowest score in; a tie for best counts for every tied row."""
    best = scores.min(axis=0, skipna=True)
    return scores.eq(best, axis=1).sum(axis=1).astype(int)


def relative_scores(scores: pd.DataFrame, reference: pd.Series) -> pd.DataFrame:
    """Each column divided by its reference score (the reference is indexed by column)."""
    return scores.div(reference.reindex(scores.columns), axis=1)


def geometric_mean(values: pd.DataFrame) -> pd.Series:
    """Geometric mean of each row over its finite, positive entries; NaN where there are none.

    The geometric mean is the right average of ratios: a model twice as bad on one
    dataset and twice as good on another averages to exactly 1.
    """
    logs = np.log(values.where(values > 0))
    return np.exp(logs.mean(axis=1, skipna=True))


def pareto_front(cost, error) -> np.ndarray:
    """Boolean mask of the points that no other point beats on both cost and error.

    A point is dominated when another has cost and error both at most its own and at
    least one strictly smaller. Points with a missing value are never on the front.
    """
    cost = np.asarray(cost, dtype=float)
    error = np.asarray(error, dtype=float)
    valid = np.isfinite(cost) & np.isfinite(error)
    front = valid.copy()
    for i in np.flatnonzero(valid):
        others = valid & (cost <= cost[i]) & (error <= error[i]) & ((cost < cost[i]) | (error < error[i]))
        front[i] = not others.any()
    return front
