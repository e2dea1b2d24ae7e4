"""Statistics for the leaderboards: Diebold-Mariano tests, a model confidence set, Holm's
adjustment, block-bootstrap draws, ranks, skill, Pareto fronts, and for panels the
Friedman test with Nemenyi's critical difference over series.

Pure functions of arrays and DataFrames; nothing here reads the store or draws a figure.

The tests were chosen by simulation on the harness's own protocols (``bench.size_study``
and the size table in docs/reading_results.md): a Diebold-Mariano statistic whose long-run variance is
the mean of ``B`` squared cosine projections of the loss differences (the
equal-weighted cosine, EWC, estimator), compared with Student t with ``B`` degrees of
freedom, ``B = floor(n / (2h))``. It holds its size where the rectangular HAC with the
Harvey-Leybourne-Newbold correction rejected 28% of true nulls.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd


MIN_DEGREES_OF_FREEDOM = 2   # below this no p-value is computed: see ``too_few_windows``


class DMResult(NamedTuple):
    stat: float        # negative: ``loss_a`` is the smaller
    p_value: float     # two-sided, Student t with ``df`` degrees of freedom
    df: int            # cosine terms in the variance (``dm_degrees_of_freedom``)


def dm_degrees_of_freedom(n_origins: int, horizon: int) -> int:
    """How many cosine terms the variance uses: ``floor(n / (2h))``, at most ``n - 1``.

    ``horizon`` is the number of consecutive origins whose forecasts overlap
    (``overlapping_origins``). Term ``j`` measures the loss differences' variation at a
    period of ``2n / j`` origins; keeping every period at least four overlap lengths
    long keeps the terms nearly free of the overlap's correlation. The rule was chosen
    by simulation (``bench.size_study``): more terms reject true nulls too often when
    ``h > 1`` (sunspots, 109 origins, h = 12: 6% with 4 terms, 9% with 8).
    """
    return max(0, min(n_origins - 1, n_origins // (2 * horizon)))


def non_overlapping_windows(n_origins: int, horizon: int) -> int:
    """How many origins can be picked whose forecasts share no target: ``ceil(n / h)``."""
    return math.ceil(n_origins / horizon)


def too_few_windows(n_origins: int, horizon: int) -> bool:
    """True where the test gets fewer than ``MIN_DEGREES_OF_FREEDOM`` terms (fewer than 4 windows).

    One term would leave Student t with 1 degree of freedom (a 5% critical value of
    12.7) and a variance resting on a single number: no p-value is honest there.
    """
    return dm_degrees_of_freedom(n_origins, horizon) < MIN_DEGREES_OF_FREEDOM


def cosine_projections(x, df: int) -> np.ndarray:
    """``sqrt(2/n) * sum_t cos(pi j (t - 1/2) / n) x_t`` for ``j = 1..df``: shape (df,) + x.shape[1:].

    The basis is orthonormal and orthogonal to the constant, so the projections do not
    depend on the mean of ``x``; with ``df = n - 1`` their mean square is the sample
    variance, and the DM statistic is the ordinary one-sample t statistic.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    phases = np.pi * np.outer(np.arange(1, df + 1), np.arange(n) + 0.5) / n
    return np.tensordot(math.sqrt(2.0 / n) * np.cos(phases), x, axes=(1, 0))


def studentized_means(x, df: int) -> np.ndarray:
    """The t statistic of the mean of ``x`` (of each column), with the EWC variance over ``df`` terms.

    ``sqrt(n) * mean / sqrt(mean of the squared projections)``. A column with no
    variation gives 0 when its mean is 0 and +-inf otherwise (every origin shows the
    same difference).
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    mean = x.mean(axis=0)
    omega = np.mean(cosine_projections(x, df) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = math.sqrt(n) * mean / np.sqrt(omega)
    return np.where(mean == 0, 0.0, t)


def diebold_mariano(loss_a, loss_b, horizon: int) -> DMResult:
    """Diebold-Mariano test of equal expected loss, with an equal-weighted cosine (EWC) variance.

    ``loss_a`` and ``loss_b`` are aligned per-origin losses of two forecasters;
    ``horizon`` is the number of consecutive origins whose forecasts overlap. The
    statistic is the mean of ``d = loss_a - loss_b`` over its standard error, the
    long-run variance being the mean of the ``B = dm_degrees_of_freedom(n, horizon)``
    squared cosine projections of ``d``; under the null it is Student t with ``B``
    degrees of freedom (Mueller 2007; Lazarus, Lewis, Stock and Watson 2018). Unlike a
    truncated kernel it cannot give a negative variance, so there is no fallback.

    Identical losses give (0, 1); fewer than ``MIN_DEGREES_OF_FREEDOM`` terms (fewer
    than four non-overlapping windows), non-finite losses or one origin give NaNs.
    """
    loss_a = np.asarray(loss_a, dtype=float)
    loss_b = np.asarray(loss_b, dtype=float)
    if loss_a.shape != loss_b.shape or loss_a.ndim != 1:
        raise ValueError(f"loss series must be 1-D and aligned, got {loss_a.shape} and {loss_b.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    d = loss_a - loss_b
    df = dm_degrees_of_freedom(len(d), horizon)
    if not np.all(np.isfinite(d)) or df < MIN_DEGREES_OF_FREEDOM:
        return DMResult(math.nan, math.nan, df)
    if np.all(d == 0):
        return DMResult(0.0, 1.0, df)
    stat = float(studentized_means(d, df))
    from scipy import stats as sps   # lazily: scipy.stats takes 1.5 s to import
    return DMResult(stat, float(2.0 * sps.t.sf(abs(stat), df=df)), df)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: family-wise error at most the level, whatever the dependence.

    NaNs stay NaN and do not count in the family.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def model_confidence_set(losses, horizon: int) -> np.ndarray:
    """Model confidence set p-values (Hansen, Lunde and Nason 2011) of the columns of ``losses``.

    ``losses`` is (n origins, m models). Starting from every model, the test of equal
    expected loss studentizes the mean loss difference of every ordered pair with the
    EWC variance (``studentized_means``) and compares the largest, ``T_R``, with the
    Bonferroni bound over the pairs, ``k (k - 1) P(t_B > T_R)``; the model that is worse
    than another by that largest statistic is removed and the test repeated. A model's
    p-value is the largest p-value of the tests up to its removal; the last model's is
    1. The models with a p-value of at least ``alpha`` form the ``1 - alpha`` confidence
    set: it holds the best model with probability at least ``1 - alpha``, and a model
    outside it is worse than one inside, the whole family of comparisons accounted for.
    With two models left the p-value is the pair's two-sided DM p-value.

    Why not Hansen's block bootstrap: 20-109 overlapping origins give a bootstrap few
    blocks; the Bonferroni bound held its size in simulation (``bench.size_study``), and
    the range statistic dropped a clearly worse model more often than the deviation
    from the set's mean (``T_max``) did.

    NaNs everywhere where the test has too few windows (``too_few_windows``).
    """
    from scipy import stats as sps   # lazily: scipy.stats takes 1.5 s to import
    losses = np.asarray(losses, dtype=float)
    n, m = losses.shape
    p_values = np.full(m, np.nan)
    df = dm_degrees_of_freedom(n, horizon)
    if df < MIN_DEGREES_OF_FREEDOM or not np.all(np.isfinite(losses)):
        return p_values
    alive = list(range(m))
    running = 0.0
    while len(alive) > 1:
        k = len(alive)
        kept = losses[:, alive]
        pairs = (kept[:, :, None] - kept[:, None, :]).reshape(n, k * k)     # row model minus column model
        t = studentized_means(pairs, df).reshape(k, k)
        np.fill_diagonal(t, -np.inf)
        worse_by = t.max(axis=1)                      # how far each model is worse than its best rival
        worst = int(np.argmax(worse_by))
        running = max(running, min(1.0, k * (k - 1) * float(sps.t.sf(worse_by[worst], df=df))))
        p_values[alive.pop(worst)] = running
    p_values[alive[0]] = 1.0
    return p_values


def block_bootstrap_indices(n: int, block: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """(n_draws, n) origin indices of a circular block bootstrap with blocks of ``block`` origins.

    Blocks as long as the forecasts' overlap keep the overlapping origins' correlation
    within a draw (Politis and Romano 1992).
    """
    block = max(1, min(block, n))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_draws, n_blocks))
    return ((starts[:, :, None] + np.arange(block)) % n).reshape(n_draws, -1)[:, :n]


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


# ---------------------------------------------------------------------------- panels: comparisons over series

class RankComparison(NamedTuple):
    """Mean ranks of k models over n series (blocks), Friedman's test and Nemenyi's critical difference."""
    mean_ranks: pd.Series      # by model, 1 = best
    n_series: int
    friedman_stat: float       # Iman-Davenport F (Friedman's chi-square made less conservative)
    friedman_p: float
    critical_difference: float  # two models whose mean ranks differ by more differ at ``alpha``
    alpha: float


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference for ``k`` models ranked on ``n`` series (Demsar 2006).

    ``q_alpha sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the studentized range quantile
    for ``k`` means and infinite degrees of freedom, over sqrt(2): 1.960 for 2 models,
    2.343 for 3, 3.164 for 10 at 5%.
    """
    if k < 2 or n < 1:
        return math.nan
    from scipy import stats as sps   # lazily: scipy.stats takes 1.5 s to import
    q = sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def rank_comparison(scores: pd.DataFrame, alpha: float = 0.05) -> RankComparison:
    """Compare the columns (models) of ``scores`` (series x models, lower is better) over the series.

    Within each series the models are ranked (ties share their mean rank); series where
    a model has no score are left out, so every model is ranked on the same series.
    Friedman's test of equal mean ranks uses Iman and Davenport's F form,
    ``(n - 1) chi2 / (n (k - 1) - chi2)`` with ``k - 1`` and ``(k - 1)(n - 1)`` degrees of
    freedom; Nemenyi's post-hoc test compares every pair at once, all ``k (k - 1) / 2``
    comparisons accounted for (Demsar 2006, Journal of Machine Learning Research 7).
    Series are the independent blocks: M4 forecasts each from one origin.
    """
    complete = scores.dropna(axis=0, how="any")
    n, k = complete.shape
    ranks_by_series = complete.rank(axis=1, method="average", ascending=True)
    mean = ranks_by_series.mean(axis=0) if n else pd.Series(np.nan, index=scores.columns)
    stat = p = math.nan
    if n >= 2 and k >= 2:
        chi2 = 12.0 * n / (k * (k + 1)) * (float(np.sum(mean.to_numpy() ** 2)) - k * (k + 1) ** 2 / 4.0)
        denominator = n * (k - 1) - chi2
        if denominator > 0:
            stat = (n - 1) * chi2 / denominator
            from scipy import stats as sps   # lazily: scipy.stats takes 1.5 s to import
            p = float(sps.f.sf(stat, k - 1, (k - 1) * (n - 1)))
        else:           # every series ranks the models the same way: as significant as it gets
            stat, p = math.inf, 0.0
    return RankComparison(mean, n, stat, p, nemenyi_critical_difference(k, n, alpha), alpha)
