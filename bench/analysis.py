"""Tables of numbers behind the leaderboard's claims, from per-origin losses and per-step errors.

Pure functions of DataFrames (no markdown, no figures, no store): the significance
columns of the dataset tables (``significance``), MAE by horizon step (``mae_by_step``),
the bootstrap intervals of the overall relative MAE (``relative_mae_bootstrap``) and the
metrics that mean nothing on a dataset's actuals (``metric_notes``). ``bench.report``
formats them. Column names are ``bench.report``'s: ``dataset``, ``variant``, ``model``,
``label``, ``params_text``, ``n_ok``, ``selection``, ``horizon``, ``step``.

Panels (a dataset whose cells carry more than one ``series_id``) are summarised series
first: each series' metrics are averaged over seeds, then over series (``panel_numbers``);
their variants are compared over series by ranks (``series_comparison``: Friedman and
Nemenyi), not by per-origin Diebold-Mariano tests (one origin per series in M4), and a
panel's score for ranks and relative errors is its mean MASE (``SCORE``): a mean of
MAE over series would be dominated by the series with the largest values.
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd

from bench import metrics, selection, stats

VARIANT_KEYS = ["dataset", "label", "model", "params_text"]
SIGNIFICANCE_COLUMNS = ["dm_stat_vs_best", "dm_p_vs_best", "dm_stat_vs_naive", "dm_p_vs_naive",
                        "dm_p_vs_naive_holm", "mcs_p", "dm_df", "dm_windows", "share_below_best"]
BOOTSTRAP_COLUMNS = ["overall_rel_mae_lo", "overall_rel_mae_hi", "overall_lowest_share"]
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 13
SCORE = {"single": "mae", "panel": "mase"}   # what ranks a dataset's variants, and what skill is a ratio of
SERIES_RANK_METRIC = "smape"                 # a panel's variants are ranked within each series by this (as M4)
# The columns a run with a panel adds to the table (and results.csv), after all others: per
# variant (``panel_numbers``), then from the dataset's variants together.
PANEL_VARIANT_COLUMNS = ["n_series", "n_series_ok", *(f"{m}_median" for m in metrics.PANEL_MEANS),
                         *(f"{m}_n_series" for m in metrics.MAY_BE_UNDEFINED)]
PANEL_DATASET_COLUMNS = [*(d.name for d in metrics.OF_PANEL), "series_mean_rank", "series_compared",
                         "friedman_p", "nemenyi_cd"]
PANEL_COLUMNS = [*PANEL_VARIANT_COLUMNS, *PANEL_DATASET_COLUMNS]


def honest(rows: pd.DataFrame) -> pd.Series:
    """Rows that ran and were not chosen on the test span: the ones ranks, tests and sets are about."""
    return (rows["n_ok"] > 0) & (rows["selection"] != selection.TEST_NOTE)


def overlap_of(rows: pd.DataFrame) -> int:
    """The dataset's DM horizon: how many consecutive origins share a forecast target."""
    return stats.overlapping_origins(int(rows["horizon"].iloc[0]), int(rows["step"].iloc[0]))


def loss_matrix(losses: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Per-origin losses (origins x ``rows``' index), on the origins every one of ``rows`` has."""
    mine = losses[losses["dataset"].isin(set(rows["dataset"]))]
    wide = mine.pivot_table(index="origin_time", columns=VARIANT_KEYS, values="loss", aggfunc="first")
    keys = [tuple(r[k] for k in VARIANT_KEYS) for _, r in rows.iterrows()]
    present = [k in wide.columns for k in keys]
    matrix = wide.reindex(columns=[k for k, ok in zip(keys, present) if ok]).dropna(axis=0, how="any")
    matrix.columns = rows.index[present]
    return matrix


def significance(table: pd.DataFrame, losses: pd.DataFrame, score=None) -> pd.DataFrame:
    """The dataset tables' tests, aligned with ``table``'s rows.

    The losses are per variant and origin: the absolute error (the tests of the point
    forecasts), or the quantile loss (of the distributions: ``score`` then ranks the rows, by
    SQL, ``distribution_scores``; only the rows with losses take part).

    - ``dm_*_vs_naive``: Diebold-Mariano against naive; ``dm_p_vs_naive_holm`` adjusts
      the p-values of every honest row (the family the winner was picked from) by Holm.
    - ``dm_*_vs_best``: against the dataset's best row, unadjusted (the page lists them;
      the verdict reads the model confidence set instead).
    - ``mcs_p``: model confidence set p-value over the honest rows; a row with
      ``mcs_p >= 0.05`` is in the 95% set of models the data cannot tell from the best.
    - ``dm_df``: the tests' degrees of freedom; ``dm_windows``: non-overlapping windows.
      With fewer than four windows every p-value is NaN (``stats.too_few_windows``).
    - ``share_below_best``: the share of origins where the row's loss is below the best's:
      what keeps a model with a much larger mean loss in the confidence set (losses that swing
      around the best's rather than sit above them).
    """
    out = pd.DataFrame(np.nan, index=table.index, columns=SIGNIFICANCE_COLUMNS)
    for _, rows in table.groupby("dataset", sort=True):
        ran = rows[rows["n_ok"] > 0]
        if not len(ran) or is_panel(ran).any():    # a panel is compared over series (series_comparison)
            continue
        h = overlap_of(ran)
        matrix = loss_matrix(losses, ran)
        if matrix.empty:
            continue
        ran = ran.loc[[i for i in ran.index if i in matrix]]
        n = len(matrix)
        out.loc[ran.index, "dm_df"] = stats.dm_degrees_of_freedom(n, h)
        out.loc[ran.index, "dm_windows"] = stats.non_overlapping_windows(n, h)
        fair = ran[honest(ran)]
        best, naive = best_of(fair, score), reference_row(fair, "naive", score)
        if best is not None and best.name in matrix:
            below = matrix.lt(matrix[best.name], axis=0).mean()
            out.loc[below.index, "share_below_best"] = below.to_numpy()
        for ref, prefix in ((best, "vs_best"), (naive, "vs_naive")):
            if ref is None or ref.name not in matrix:
                continue
            for idx in matrix.columns.drop(ref.name):
                result = stats.diebold_mariano(matrix[idx].to_numpy(), matrix[ref.name].to_numpy(), h)
                out.loc[idx, f"dm_stat_{prefix}"] = result.stat
                out.loc[idx, f"dm_p_{prefix}"] = result.p_value
        family = [i for i in fair.index if i in matrix and (naive is None or i != naive.name)]
        if naive is not None and family:
            out.loc[family, "dm_p_vs_naive_holm"] = stats.holm(out.loc[family, "dm_p_vs_naive"].to_numpy())
        members = [i for i in fair.index if i in matrix]
        if members:
            out.loc[members, "mcs_p"] = stats.model_confidence_set(matrix[members].to_numpy(), h)
    return out


def is_panel(rows: pd.DataFrame) -> pd.Series:
    """Which of a table's rows are of a panel dataset (more than one series)."""
    if "n_series" not in rows:
        return pd.Series(False, index=rows.index)
    return rows["n_series"].fillna(1) > 1


def complete(rows: pd.DataFrame) -> pd.Series:
    """Which rows finished on every series of their dataset: on a panel, the only ones whose means are over the
    same series (a metric the data leave undefined on a series is so for every model), and so the only ones
    ranked or compared with another model; a variant missing a series keeps its means, over fewer series."""
    if "n_series_ok" not in rows:
        return pd.Series(True, index=rows.index)
    return ~is_panel(rows) | (rows["n_series_ok"] == rows["n_series"])


def scores(rows: pd.DataFrame) -> pd.Series:
    """What ranks each row within its dataset: MAE, or on a panel its mean MASE over series (``SCORE``); NaN for
    a panel row that did not finish on every series (``complete``)."""
    panel = is_panel(rows)
    if not panel.any():
        return rows[SCORE["single"]]
    return rows[SCORE["single"]].where(~panel, rows[SCORE["panel"]].where(complete(rows)))


def score_of(row: pd.Series) -> float:
    """One row's score (``scores``)."""
    return float(scores(row.to_frame().T).iloc[0])


def best_of(rows: pd.DataFrame, score=None) -> pd.Series | None:
    """The row with the lowest score (``scores``: MAE, a panel's mean MASE; or ``score(rows)``), the first
    of a tie in the rows' order; None where no row has one."""
    ranked = (score or scores)(rows).astype(float).dropna()
    if not len(ranked):
        return None
    return rows.loc[ranked.sort_values(kind="stable").index[0]]


def reference_row(rows: pd.DataFrame, model: str, score=None) -> pd.Series | None:
    """The run of ``model`` a comparison uses: the one labelled as the model, else its best."""
    candidates = rows[(rows["model"] == model) & (rows["n_ok"] > 0)]
    if not len(candidates):
        return None
    named = candidates[candidates["label"] == model]
    return best_of(named if len(named) else candidates, score)


# ---------------------------------------------------------------------------- distributions

DISTRIBUTION_SCORE = "sql"     # what ranks the forecast distributions: fev's scaled quantile loss
SKILL_CLIP = (1e-3, 5.0)       # fev's leaderboard clips each relative error to this range


def distribution_scores(rows: pd.DataFrame) -> pd.Series:
    """What ranks each row's forecast distribution within its dataset: its SQL (NaN: it made none, or it did
    not finish on every series of its panel, ``complete``)."""
    return rows[DISTRIBUTION_SCORE].where(complete(rows))


def skill(relative: pd.DataFrame) -> pd.Series:
    """fev's skill score per row of ``relative`` (errors relative to the reference, datasets in columns):
    one minus the geometric mean of the ratios, each clipped to ``SKILL_CLIP``."""
    return 1.0 - stats.geometric_mean(relative.clip(*SKILL_CLIP))


def interval_coverage(per_step: pd.DataFrame, rows: pd.DataFrame, inside: dict[float, str]) -> pd.DataFrame:
    """The share of actuals inside each central interval (index: nominal coverage) of each of ``rows`` with a
    distribution (columns: their ``variant``), pooled over origins, steps (and series)."""
    columns = {}
    if all(column in per_step for column in inside.values()):
        shares = per_step.groupby(VARIANT_KEYS, sort=False)[list(inside.values())].mean()
        for _, r in rows.iterrows():
            key = tuple(r[k] for k in VARIANT_KEYS)
            if key in shares.index and shares.loc[key].notna().all():
                columns[r["variant"]] = shares.loc[key].to_numpy(dtype=float)
    return pd.DataFrame(columns, index=pd.Index(list(inside), name="nominal"))


# ---------------------------------------------------------------------------- per step

def mae_by_step(per_step: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """MAE at each horizon step (index ``step``) of each of ``rows`` (columns: their ``variant``)."""
    by_step = per_step.groupby([*VARIANT_KEYS, "step"], sort=True)["abs_error"].mean()
    columns = {}
    for _, r in rows.iterrows():
        key = tuple(r[k] for k in VARIANT_KEYS)
        if key in by_step.index.droplevel("step"):
            columns[r["variant"]] = by_step.loc[key]
    return pd.DataFrame(columns).rename_axis("step")


def test_actuals(per_step: pd.DataFrame, step: int) -> pd.Series:
    """The actual value of every target in a dataset's test span, indexed by offset into the span."""
    origins = sorted(per_step["origin_time"].unique())
    offset = per_step["origin_time"].map({t: i * step for i, t in enumerate(origins)})
    return per_step.assign(target=offset + per_step["step"] - 1).groupby("target")["y_true"].first()


def metric_notes(table: pd.DataFrame, per_step: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``{(dataset, metric): why the metric means nothing there}`` from each test span's actuals."""
    notes = {}
    for dataset, rows in table.groupby("dataset", sort=True):
        mine = per_step[per_step["dataset"] == dataset]
        if mine.empty:
            continue
        if is_panel(rows).any():        # every series' targets, each once
            actuals = mine.groupby(["series_id", "origin_time", "step"])["y_true"].first().to_numpy()
        else:
            actuals = test_actuals(mine, int(rows["step"].iloc[0])).to_numpy()
        for definition in metrics.PER_CELL:
            reason = definition.undefined(actuals) if definition.undefined else ""
            if reason:
                notes[(dataset, definition.name)] = reason
    return notes


# ---------------------------------------------------------------------------- overall bootstrap

def relative_mae_bootstrap(table: pd.DataFrame, losses: pd.DataFrame, reference: str = "seasonal_naive",
                           n_draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED,
                           series: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Per variant: a 95% interval of its geometric-mean MAE relative to ``reference``, and how
    often it has the lowest one.

    Within each dataset the origins are resampled in circular blocks as long as the
    forecasts' overlap (``stats.block_bootstrap_indices``), the same draw for every
    variant, and a variant's MAE and the reference's are recomputed on the drawn
    origins; a draw's geometric mean runs over the datasets where both ran. The
    interval is the draws' 2.5% and 97.5% quantiles. ``overall_lowest_share`` is over
    the variants that ran on the most datasets. Each dataset's generator is seeded
    from ``seed`` and its name, so a re-render gives the same numbers. The intervals
    show how much these test spans pin the numbers down, not how a variant would fare
    on other datasets.

    A panel dataset (a matrix in ``series``: its per-series scores, series x the table's
    index, ``series_scores``) is resampled by series, which are independent, and its
    score is the mean over the drawn series; only the variants that ran on every series
    take part, on the series where the score is defined (``complete``).
    """
    logs: dict[str, list[np.ndarray]] = {}
    series = series or {}
    for dataset, rows in table.groupby("dataset", sort=True):
        fair = rows[honest(rows)]
        ref = reference_row(fair, reference)
        if ref is None:
            continue
        if dataset in series:
            # The variants ranked, on the series where their score is defined: the same for all of them.
            matrix = series[dataset]
            matrix = matrix[[i for i in fair.index[complete(fair)] if i in matrix]].dropna(axis=0, how="any")
            block = 1
        else:
            matrix = loss_matrix(losses, fair)
            block = overlap_of(fair)
        if ref.name not in matrix or matrix.empty:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(dataset.encode())])
        idx = stats.block_bootstrap_indices(len(matrix), block, n_draws, rng)
        values = matrix.to_numpy()
        drawn = values[idx].mean(axis=1)                        # (n_draws, variants): MAE per draw
        ref_column = list(matrix.columns).index(ref.name)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(drawn / drawn[:, [ref_column]])
        for j, idx_row in enumerate(matrix.columns):
            logs.setdefault(fair.loc[idx_row, "variant"], []).append(log_ratio[:, j])
    out = pd.DataFrame(np.nan, index=pd.Index(list(logs), name="variant"), columns=BOOTSTRAP_COLUMNS)
    if not logs:
        return out
    geomeans = {v: np.exp(np.mean(np.stack(parts), axis=0)) for v, parts in logs.items()}
    for v, draws in geomeans.items():
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            # Seasonal naive's MAE of 0 (a series repeating its season exactly) leaves no finite ratio.
            warnings.simplefilter("ignore", RuntimeWarning)
            out.loc[v, ["overall_rel_mae_lo", "overall_rel_mae_hi"]] = np.nanquantile(draws, [0.025, 0.975])
    widest = max(len(parts) for parts in logs.values())
    full = [v for v, parts in logs.items() if len(parts) == widest]
    stacked = np.stack([geomeans[v] for v in full], axis=1)
    lowest = np.argmin(np.where(np.isfinite(stacked), stacked, np.inf), axis=1)
    out.loc[full, "overall_lowest_share"] = np.bincount(lowest, minlength=len(full)) / n_draws
    return out


# ---------------------------------------------------------------------------- panels

def panel_datasets(cells: pd.DataFrame) -> set[str]:
    """The datasets whose cells carry more than one series id."""
    if "series_id" not in cells or cells.empty:
        return set()
    counts = cells.groupby("dataset")["series_id"].nunique()
    return set(counts.index[counts > 1])


def panel_numbers(group: pd.DataFrame) -> dict:
    """One panel variant's metrics from its cells (one per series and seed): seeds first, then series.

    For each stored metric ``m``: the mean over series of each series' mean over the seeds
    that finished ok; ``m_std``, the standard deviation over seeds of each seed's mean
    over series (what seed noise does to the panel mean: the regression gate's
    yardstick); ``m_median``, the median over series, for the metrics whose panel mean
    means something (``metrics.PANEL_MEANS``). ``n_series_ok`` counts the series where
    at least one seed finished ok; ``m_n_series``, for a metric that may be undefined
    (``metrics.MAY_BE_UNDEFINED``), the series its mean and median are over: those where it
    is defined (as fev's metrics leave out what is not finite).
    """
    ok = group[group["status"] == "ok"]
    names = list(metrics.STORED)
    per_series = ok.groupby("series_id", sort=True)[names].mean()
    by_seed = ok.groupby("seed", sort=True)[names].mean()
    out = {"n_series": group["series_id"].nunique(), "n_series_ok": len(per_series)}
    for m in names:
        out[m] = per_series[m].mean() if len(per_series) else np.nan
        out[f"{m}_std"] = by_seed[m].std(ddof=1) if len(by_seed) > 1 else np.nan
    for d in metrics.PER_CELL:
        if d.weight and d.weight in ok and len(per_series):
            # Pooled, as fev pools a task: each series weighted by its mean |actual| (WQL's denominator).
            out[d.name] = _weighted_mean(per_series[d.name], ok.groupby("series_id", sort=True)[d.weight].mean())
            out[f"{d.name}_std"] = _std_over_seeds(ok, d.name, d.weight)
    for m in metrics.PANEL_MEANS:
        out[f"{m}_median"] = per_series[m].median() if len(per_series) else np.nan
    for m in metrics.MAY_BE_UNDEFINED:
        out[f"{m}_n_series"] = int(per_series[m].notna().sum())
    return out


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    keep = values.notna() & weights.notna() & (weights > 0)
    return float(np.average(values[keep], weights=weights[keep])) if keep.any() else float("nan")


def _std_over_seeds(ok: pd.DataFrame, metric: str, weight: str) -> float:
    by_seed = [_weighted_mean(rows[metric], rows[weight]) for _, rows in ok.groupby("seed", sort=True)]
    return float(np.std(by_seed, ddof=1)) if len(by_seed) > 1 else float("nan")


def panel_levels(rows: pd.DataFrame, definitions=metrics.OF_PANEL) -> pd.DataFrame:
    """The panel-level metrics (``metrics.OF_PANEL``: OWA; ``metrics.DISTRIBUTION_OF_PANEL``: ACD) of one
    panel dataset's rows.

    Each is computed from a row's panel means and, where it has one, its reference model's
    (Naive2 for OWA): NaN for every row where the reference did not run, and where the row or
    the reference did not finish on every series (``complete``).
    """
    out = pd.DataFrame(np.nan, index=rows.index, columns=[d.name for d in definitions])
    for d in definitions:
        ref = reference_row(rows[honest(rows)], d.reference) if d.reference else {}
        if ref is None:
            continue
        ran = rows[(rows["n_ok"] > 0) & complete(rows)]      # a ratio of means over the same series
        out.loc[ran.index, d.name] = [d.of_panel_means(r, ref) for _, r in ran.iterrows()]
    return out


def undefined_series(cells: pd.DataFrame, metric: str) -> list[str]:
    """The series of a panel where ``metric`` has no value in any cell that finished ok, among the variants that
    have it somewhere (a model without quantiles has no MSIS anywhere): the data leave it undefined there."""
    ok = cells[cells["status"] == "ok"]
    ok = ok[ok.groupby(VARIANT_KEYS, sort=False)[metric].transform("count") > 0]
    defined = ok.groupby("series_id", sort=True)[metric].count()
    return list(defined.index[defined == 0])


def series_scores(cells: pd.DataFrame, rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Series (index, every series id of ``cells``) x ``rows``' index: ``metric`` averaged over the seeds
    that finished ok; NaN where none did."""
    ok = cells[(cells["status"] == "ok") & cells["dataset"].isin(set(rows["dataset"]))]
    by_variant = dict(list(ok.groupby(VARIANT_KEYS, sort=False)))
    index = pd.Index(sorted(cells.loc[cells["dataset"].isin(set(rows["dataset"])), "series_id"].unique()),
                     name="series_id")
    columns = {}
    for i, r in rows.iterrows():
        mine = by_variant.get(tuple(r[k] for k in VARIANT_KEYS))
        columns[i] = (mine.groupby("series_id")[metric].mean().reindex(index) if mine is not None
                      else pd.Series(np.nan, index=index))
    return pd.DataFrame(columns, index=index)


def series_comparison(rows: pd.DataFrame, cells: pd.DataFrame,
                      alpha: float = 0.05) -> stats.RankComparison | None:
    """A panel's variants compared over its series: ranks by sMAPE within each series (as M4 ranks),
    Friedman's test and Nemenyi's critical difference (``stats.rank_comparison``).

    Only the honest variants that ran on every series take part, so that every one is
    ranked on the same series; ``mean_ranks`` is indexed by ``rows``' index. None with
    fewer than two such variants.
    """
    fair = rows[honest(rows)]
    matrix = series_scores(cells, fair, SERIES_RANK_METRIC)
    complete = [i for i in matrix.columns if matrix[i].notna().all()]
    if len(complete) < 2:
        return None
    return stats.rank_comparison(matrix[complete], alpha)
