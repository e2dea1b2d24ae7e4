"""Tables of numbers behind the leaderboard's claims, from per-origin losses and per-step errors.

Pure functions of DataFrames (no markdown, no figures, no store): the significance
columns of the dataset tables (``significance``), MAE by horizon step (``mae_by_step``),
the bootstrap intervals of the overall relative MAE (``relative_mae_bootstrap``) and the
metrics that mean nothing on a dataset's actuals (``metric_notes``). ``bench.report``
formats them. Column names are ``bench.report``'s: ``dataset``, ``variant``, ``model``,
``label``, ``params_text``, ``n_ok``, ``selection``, ``horizon``, ``step``.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from bench import metrics, selection, stats

VARIANT_KEYS = ["dataset", "label", "model", "params_text"]
SIGNIFICANCE_COLUMNS = ["dm_stat_vs_best", "dm_p_vs_best", "dm_stat_vs_naive", "dm_p_vs_naive",
                        "dm_p_vs_naive_holm", "mcs_p", "dm_df", "dm_windows"]
BOOTSTRAP_COLUMNS = ["overall_rel_mae_lo", "overall_rel_mae_hi", "overall_lowest_share"]
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 13


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


def significance(table: pd.DataFrame, losses: pd.DataFrame) -> pd.DataFrame:
    """The dataset tables' tests, aligned with ``table``'s rows.

    - ``dm_*_vs_naive``: Diebold-Mariano against naive; ``dm_p_vs_naive_holm`` adjusts
      the p-values of every honest row (the family the winner was picked from) by Holm.
    - ``dm_*_vs_best``: against the dataset's best row, unadjusted (the page lists them;
      the verdict reads the model confidence set instead).
    - ``mcs_p``: model confidence set p-value over the honest rows; a row with
      ``mcs_p >= 0.05`` is in the 95% set of models the data cannot tell from the best.
    - ``dm_df``: the tests' degrees of freedom; ``dm_windows``: non-overlapping windows.
      With fewer than four windows every p-value is NaN (``stats.too_few_windows``).
    """
    out = pd.DataFrame(np.nan, index=table.index, columns=SIGNIFICANCE_COLUMNS)
    for _, rows in table.groupby("dataset", sort=True):
        ran = rows[rows["n_ok"] > 0]
        if not len(ran):
            continue
        h = overlap_of(ran)
        matrix = loss_matrix(losses, ran)
        if matrix.empty:
            continue
        n = len(matrix)
        out.loc[ran.index, "dm_df"] = stats.dm_degrees_of_freedom(n, h)
        out.loc[ran.index, "dm_windows"] = stats.non_overlapping_windows(n, h)
        fair = ran[honest(ran)]
        best, naive = best_of(fair), reference_row(fair, "naive")
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


def best_of(rows: pd.DataFrame) -> pd.Series | None:
    """The row with the lowest MAE (the first of a tie in the rows' order), or None."""
    return rows.sort_values("mae", kind="stable").iloc[0] if len(rows) else None


def reference_row(rows: pd.DataFrame, model: str) -> pd.Series | None:
    """The run of ``model`` a comparison uses: the one labelled as the model, else its best."""
    candidates = rows[(rows["model"] == model) & (rows["n_ok"] > 0)]
    if not len(candidates):
        return None
    named = candidates[candidates["label"] == model]
    return (named if len(named) else candidates).sort_values("mae", kind="stable").iloc[0]


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
        actuals = test_actuals(mine, int(rows["step"].iloc[0])).to_numpy()
        for definition in metrics.DEFINITIONS:
            reason = definition.undefined(actuals) if definition.undefined else ""
            if reason:
                notes[(dataset, definition.name)] = reason
    return notes


# ---------------------------------------------------------------------------- overall bootstrap

def relative_mae_bootstrap(table: pd.DataFrame, losses: pd.DataFrame, reference: str = "seasonal_naive",
                           n_draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
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
    """
    logs: dict[str, list[np.ndarray]] = {}
    for dataset, rows in table.groupby("dataset", sort=True):
        fair = rows[honest(rows)]
        ref = reference_row(fair, reference)
        if ref is None:
            continue
        matrix = loss_matrix(losses, fair)
        if ref.name not in matrix or matrix.empty:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(dataset.encode())])
        idx = stats.block_bootstrap_indices(len(matrix), overlap_of(fair), n_draws, rng)
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
        out.loc[v, ["overall_rel_mae_lo", "overall_rel_mae_hi"]] = np.nanquantile(draws, [0.025, 0.975])
    widest = max(len(parts) for parts in logs.values())
    full = [v for v, parts in logs.items() if len(parts) == widest]
    stacked = np.stack([geomeans[v] for v in full], axis=1)
    lowest = np.argmin(np.where(np.isfinite(stacked), stacked, np.inf), axis=1)
    out.loc[full, "overall_lowest_share"] = np.bincount(lowest, minlength=len(full)) / n_draws
    return out
