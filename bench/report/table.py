"""The summary table (results.csv) and the overall table, from a run's stored rows: numbers only.

``aggregate`` makes one row per dataset x model variant (seeds: a mean and a standard
deviation; a panel: over series, ``analysis.panel_numbers``), ranks the variants, and adds
the tests, the bootstrap intervals and a panel's comparison over series, all computed by
``bench.analysis``. ``overall`` makes one row per variant across the datasets. The only
words are column values (status, refit, selection, fit choices) that results.csv carries.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench import analysis, metrics, provenance, selection, stats
from bench.report.formatting import SIGNIFICANCE, fmt
from bench.report.published import PUBLISHED_DISTRIBUTION, PUBLISHED_METRICS, published_rows, published_values
from bench.report.rows import VARIANT_KEYS, losses_of, mean_forecasts, test_cells

METRIC_NAMES = list(metrics.STORED)
REFERENCE_MODEL = "seasonal_naive"   # the overall table's skill is MAE relative to this model
NAIVE_MODEL = "naive"
PANEL_NOT_OK_SHOWN = 5               # reasons listed per panel variant, and series named per reason
SUMMARY_COLUMNS = ["dataset", "variant", "rank", "mae", "mae_std", *(m for m in metrics.STORED if m != "mae"),
                   "mae_vs_naive", "dm_p_vs_naive_holm", "mcs_p", "fit_time_s", "predict_time_s",
                   "n_params", "status"]


def variant_name(label: str, params_text: str = "") -> str:
    """How the tables and plots name a model variant: its label, which the suite made unique
    (``bench.suite.variant_label``); ``params_text`` stays in the tables' params column."""
    return label


def fit_info_text(infos) -> str:
    """What a variant's fits chose, over seeds: ``order=(1,1,1)(0,1,1)12 transform=log``, ``epochs_run=41``."""
    from bench.runner import summarise_fit_infos

    summary = summarise_fit_infos([json.loads(i) for i in infos if i and i != "{}"])
    return " ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in summary.items())


def aggregate(cells: pd.DataFrame, forecasts: pd.DataFrame | None = None, run: dict | None = None) -> pd.DataFrame:
    """One row per dataset x model variant; seeds become a mean and a standard deviation.

    Only test-span walks make rows (``test_cells``); a row chosen by a selection says so
    in ``selection`` (``selection.VALIDATION_NOTE`` or ``selection.TEST_NOTE``). Rows
    chosen on the test span are optimistic: they get no rank, are never the dataset's
    best, and the overall table leaves them out.

    ``fit_time_s`` is the mean wall time of one fit, ``predict_time_s`` of one predict
    call (one origin); totals over the walk are kept beside them. ``rank`` ranks the
    variants that ran by MAE within the dataset. With the run's ``forecasts`` come the
    tests (``analysis.significance``: DM against naive, Holm-adjusted; against the best;
    the model confidence set), ``mape_note`` (why MAPE means nothing on the dataset, if
    it does not: ``metrics.mape_undefined``) and the overall bootstrap interval of each
    variant's relative MAE (``analysis.relative_mae_bootstrap``, the same on every row of
    the variant); without them those columns are empty. With the ``run`` its id, suite
    and calibration time are added, and each dataset's fingerprint (``data_fingerprints``),
    which ``bench.compare`` needs from a results.csv.
    """
    cells = test_cells(cells)
    panels = analysis.panel_datasets(cells)
    cells = cells.assign(
        fit_time_per_fit_s=cells["fit_time_s"] / cells["n_fits"],
        predict_time_per_call_s=cells["predict_time_s"] / cells["n_origins"],
    )
    rows, extras = [], []
    for keys, group in cells.groupby(VARIANT_KEYS, sort=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(VARIANT_KEYS, keys))
        split = json.loads(group["split"].iloc[0])
        panel = keys[0] in panels
        row.update(n_seeds=group["seed"].nunique() if panel else len(group), n_ok=len(ok))
        row["status"] = _panel_status(group) if panel else _status(group)
        reasons = sorted(set(group.loc[group["status"] != "ok", "reason"]))
        if panel and len(reasons) > PANEL_NOT_OK_SHOWN:      # a reason per series would swamp results.csv
            reasons = [*reasons[:PANEL_NOT_OK_SHOWN], f"and {len(reasons) - PANEL_NOT_OK_SHOWN} other reasons"]
        row["reason"] = "; ".join(reasons)
        if panel:
            numbers = analysis.panel_numbers(group)
            row.update({k: numbers.pop(k) for k in [*(m for n in METRIC_NAMES for m in (n, f"{n}_std"))]})
            extras.append(numbers)
        else:
            for m in METRIC_NAMES:
                row[m] = ok[m].mean() if len(ok) else np.nan
                row[f"{m}_std"] = ok[m].std(ddof=1) if len(ok) > 1 else np.nan
            extras.append({"n_series": 1, "n_series_ok": int(len(ok) > 0)})
        row["fit_time_s"] = ok["fit_time_per_fit_s"].mean() if len(ok) else np.nan
        row["predict_time_s"] = ok["predict_time_per_call_s"].mean() if len(ok) else np.nan
        row["fit_time_total_s"] = ok["fit_time_s"].mean() if len(ok) else np.nan
        row["update_time_total_s"] = ok["update_time_s"].mean() if len(ok) else np.nan
        row["n_fits"] = ok["n_fits"].max() if len(ok) else np.nan
        row["n_origins"] = ok["n_origins"].max() if len(ok) else np.nan
        row["n_params"] = ok["n_params"].median() if len(ok) else np.nan
        row["fit_info"] = fit_info_text(ok["fit_info"])
        row["intervals"] = _most_frequent(ok["intervals"]) if "intervals" in ok else ""
        row["quantile_time_s"] = ((ok["quantile_time_s"] / ok["n_origins"]).mean()
                                  if "quantile_time_s" in ok and len(ok) else np.nan)
        mode = group["selection"].iloc[0]
        row["selection"] = {"validation": selection.VALIDATION_NOTE, "test": selection.TEST_NOTE}.get(mode, "")
        if mode == "validation" and not len(ok):
            row["selection"] = "no variant finished the validation walk"
        row["selection_group"] = group["selection_group"].iloc[0]
        row.update(split)
        rows.append(row)
    table = pd.DataFrame(rows)
    if panels:      # a run without panels keeps its columns (results.csv) exactly as before panels
        table = table.join(pd.DataFrame(extras).reindex(columns=analysis.PANEL_VARIANT_COLUMNS))
    # A dataset's variants are ranked, and compared with naive, by MAE; a panel's by mean MASE.
    table["mae_vs_naive"] = analysis.scores(table) / _reference_score(table, NAIVE_MODEL)
    table = (table.assign(_score=analysis.scores(table))
             .sort_values(["dataset", "_score", *VARIANT_KEYS[1:]], na_position="last", kind="stable")
             .drop(columns="_score").reset_index(drop=True))
    # Appended after the original columns so readers of results.csv by position still work.
    table["variant"] = _variant_names(table)
    ran = (table["n_ok"] > 0) & (table["selection"] != selection.TEST_NOTE)
    table["rank"] = analysis.scores(table).where(ran).groupby(table["dataset"]).rank(method="average")
    table["mae_vs_seasonal_naive"] = analysis.scores(table) / _reference_score(table, REFERENCE_MODEL)
    table["refit"] = [_refit_text(r) for r in table.itertuples()]
    per_step = mean_forecasts(cells, forecasts) if forecasts is not None else None
    losses = losses_of(per_step) if per_step is not None else None
    tests = analysis.significance(table, losses) if losses is not None else None
    for column in analysis.SIGNIFICANCE_COLUMNS:
        table[column] = np.nan if tests is None else tests[column]
    notes = analysis.metric_notes(table, per_step) if per_step is not None else {}
    table["mape_note"] = [notes.get((d, "mape"), "") for d in table["dataset"]]
    series = {d: analysis.series_scores(cells[cells["dataset"] == d], table[table["dataset"] == d],
                                        analysis.SCORE["panel"]) for d in sorted(panels)}
    boot = (analysis.relative_mae_bootstrap(table, losses, REFERENCE_MODEL, series=series)
            if losses is not None else None)
    for column in analysis.BOOTSTRAP_COLUMNS:
        table[column] = np.nan if boot is None else table["variant"].map(boot[column])
    table = _with_distribution_columns(table, per_step)
    if run is not None:
        table["run_id"] = run["run_id"]
        table["suite"] = run["suite"]
        table["calibration_s"] = run["environment"].get("calibration_s", np.nan)
        table = table.join(data_fingerprints(cells, run), on="dataset")
    if panels:
        table = _with_panel_columns(table, cells, panels)
    return table


FINGERPRINT_COLUMNS = ["data_hash", "data_n_series", "data_series_ids_hash"]


def data_fingerprints(cells: pd.DataFrame, run: dict) -> pd.DataFrame:
    """Per dataset (index), what ``compare`` checks before it compares two runs' numbers: the hash of its values
    that the run recorded when it started (none in a run of bench before schema 3), its number of series and a
    hash of their ids."""
    recorded = run.get("inputs", {}).get("data", {})
    ids = (cells["series_id"] if "series_id" in cells else pd.Series("", index=cells.index)).groupby(cells["dataset"])
    return pd.DataFrame({"data_hash": {d: recorded.get(d, np.nan) for d in ids.groups},
                         "data_n_series": ids.nunique(),
                         "data_series_ids_hash": ids.agg(lambda s: provenance.series_ids_hash(s.unique()))},
                        columns=FINGERPRINT_COLUMNS)


DISTRIBUTION_COLUMNS = ["intervals", "quantile_time_s", *(d.name for d in metrics.DISTRIBUTION_OF_PANEL),
                        "dist_rank", "sql_vs_seasonal_naive", *(f"ql_{c}" for c in analysis.SIGNIFICANCE_COLUMNS)]


def _with_distribution_columns(table: pd.DataFrame, per_step: pd.DataFrame | None) -> pd.DataFrame:
    """The forecast distributions' columns: how they were made, ACD, the rank by SQL within the dataset, SQL
    relative to seasonal naive's (fev's skill is one minus their geometric mean), and the tests of the
    per-origin quantile loss (``ql_*``: as the point forecasts' are, by ``analysis.significance``)."""
    ran = (table["n_ok"] > 0) & (table["selection"] != selection.TEST_NOTE)
    for d in metrics.DISTRIBUTION_OF_PANEL:
        table[d.name] = [d.of_panel_means(r) if r["n_ok"] > 0 else np.nan for _, r in table.iterrows()]
    scores = analysis.distribution_scores(table)
    table["dist_rank"] = scores.where(ran).groupby(table["dataset"]).rank(method="average")
    table["sql_vs_seasonal_naive"] = scores / _reference_score(table, REFERENCE_MODEL, analysis.distribution_scores)
    losses = losses_of(per_step, "qloss") if per_step is not None else None
    tests = (analysis.significance(table, losses, analysis.distribution_scores)
             if losses is not None and len(losses) else None)
    for column in analysis.SIGNIFICANCE_COLUMNS:
        table[f"ql_{column}"] = np.nan if tests is None else tests[column]
    order = [c for c in table.columns if c not in DISTRIBUTION_COLUMNS]
    return table[[*order, *DISTRIBUTION_COLUMNS]]


def _most_frequent(texts: pd.Series) -> str:
    texts = [t for t in texts.fillna("") if t]
    return max(dict.fromkeys(texts), key=texts.count) if texts else ""


def _with_panel_columns(table: pd.DataFrame, cells: pd.DataFrame, panels: set[str]) -> pd.DataFrame:
    """The panel tables' columns, after every other: OWA, the comparison over series, published values."""
    for column in analysis.PANEL_DATASET_COLUMNS:
        table[column] = np.nan
    names = [*PUBLISHED_METRICS, *PUBLISHED_DISTRIBUTION]
    published = [f"published_{name}" for name in names]
    for column in published:
        table[column] = np.nan
    for dataset in sorted(panels):
        rows = table[table["dataset"] == dataset]
        levels = analysis.panel_levels(rows)
        table.loc[levels.index, levels.columns] = levels
        comparison = analysis.series_comparison(rows, cells[cells["dataset"] == dataset], SIGNIFICANCE)
        if comparison is not None:
            table.loc[comparison.mean_ranks.index, "series_mean_rank"] = comparison.mean_ranks
            table.loc[rows.index, ["series_compared", "friedman_p", "nemenyi_cd"]] = (
                comparison.n_series, comparison.friedman_p, comparison.critical_difference)
        values = published_values(dataset)
        for i, method in published_rows(rows, values).items():
            table.loc[i, published] = values.reindex(columns=names).loc[method].to_numpy(dtype=float)
    order = [c for c in table.columns if c not in analysis.PANEL_COLUMNS and c not in published]
    return table[[*order, *analysis.PANEL_COLUMNS, *published]]


def _panel_status(group: pd.DataFrame) -> str:
    """A panel variant's status: ``ok`` when every cell is, else the one status of them all, else how many
    series finished ok (a series with any seed not ok is not)."""
    statuses = group["status"]
    if (statuses == "ok").all():
        return "ok"
    if (statuses == statuses.iloc[0]).all():
        return statuses.iloc[0]
    fine = group.groupby("series_id")["status"].agg(lambda s: bool((s == "ok").all()))
    return f"ok on {int(fine.sum())} of {len(fine)} series"


def _status(group: pd.DataFrame) -> str:
    statuses = group["status"]
    if (statuses == "ok").all():
        return "ok"
    if (statuses == statuses.iloc[0]).all():
        return statuses.iloc[0]
    return f"ok {int((statuses == 'ok').sum())}/{len(statuses)}"


def _variant_names(table: pd.DataFrame) -> list[str]:
    names = [variant_name(r.label, r.params_text) for r in table.itertuples()]
    # Two registry models under one label would otherwise share a name in the plots.
    pairs = pd.DataFrame({"name": names, "model": table["model"]})
    clash = set(pairs.groupby("name")["model"].nunique().loc[lambda s: s > 1].index)
    return [f"{n} [{m}]" if n in clash else n for n, m in zip(names, table["model"])]


def _reference_score(table: pd.DataFrame, model: str, score=None) -> pd.Series:
    """Per row: the score (``analysis.scores``: MAE, a panel's mean MASE; or ``score``'s) of its dataset's run
    of ``model``."""
    ref = {}
    for dataset, rows in table.groupby("dataset", sort=True):
        row = analysis.reference_row(rows, model, score)
        value = np.nan if row is None else (analysis.score_of(row) if score is None else score(row.to_frame().T).iloc[0])
        ref[dataset] = value
    return table["dataset"].map(ref)


def _refit_text(r) -> str:
    if not r.n_ok:
        return "-"
    if r.n_fits == 1 and r.n_origins > 1:
        return "once, then update"
    if r.refit_every == 1:
        return "every origin"
    return f"every {int(r.refit_every)} origins"


def best_row(rows: pd.DataFrame) -> pd.Series | None:
    """The dataset's most accurate row that ran and was not chosen on the test span."""
    return analysis.best_of(rows[analysis.honest(rows)])


def overall(table: pd.DataFrame) -> pd.DataFrame:
    """One row per model variant across the datasets, best first: by the geometric mean of MAE relative to
    seasonal naive, then mean rank (variants that ran on fewer datasets after the others).

    Mean rank and wins are over the datasets where the variant ran; the geometric mean
    of MAE relative to seasonal naive is over the datasets where both ran, and so is the
    skill of its distributions (fev's: one minus the geometric mean of SQL relative to
    seasonal naive's, each ratio clipped to [0.001, 5]; ``sql_datasets`` counts them). Variants that
    ran on more datasets come first, then lower mean rank: a variant that ran on one
    dataset only cannot top the table on that one dataset. ``rel_mae_lo``/``rel_mae_hi``
    bound the relative MAE's bootstrap interval, and ``lowest_share`` is how often the
    variant had the lowest one (``analysis.relative_mae_bootstrap``).
    """
    table = table[table["selection"] != selection.TEST_NOTE]
    ran = table[table["n_ok"] > 0]
    names = list(dict.fromkeys(table["variant"]))
    # A panel counts as one dataset, by its score (mean MASE over its series).
    mae = ran.assign(_score=analysis.scores(ran)).pivot(index="variant", columns="dataset", values="_score").reindex(names)
    relative = ran.pivot(index="variant", columns="dataset", values="mae_vs_seasonal_naive").reindex(names)
    relative_sql = (ran.pivot(index="variant", columns="dataset", values="sql_vs_seasonal_naive").reindex(names)
                    if "sql_vs_seasonal_naive" in ran else pd.DataFrame(index=names, dtype=float))
    by_variant = ran.groupby("variant")
    frame = pd.DataFrame({
        "variant": names,
        "datasets_ok": mae.notna().sum(axis=1).to_numpy(),
        "datasets_total": table["dataset"].nunique(),
        "mean_rank": stats.mean_ranks(mae).to_numpy(),
        "geomean_mae_vs_seasonal_naive": stats.geometric_mean(relative).to_numpy(),
        "wins": stats.wins(mae).to_numpy(),
        "median_fit_time_s": by_variant["fit_time_s"].median().reindex(names).to_numpy(),
        "n_params_min": by_variant["n_params"].min().reindex(names).to_numpy(),
        "n_params_max": by_variant["n_params"].max().reindex(names).to_numpy(),
    })
    # fev's skill score of the distributions: one minus the geometric mean of SQL relative to seasonal naive's.
    frame["sql_skill"] = analysis.skill(relative_sql).reindex(names).to_numpy(dtype=float)
    frame["sql_datasets"] = relative_sql.notna().sum(axis=1).reindex(names).to_numpy()
    for column, name in zip(analysis.BOOTSTRAP_COLUMNS, ["rel_mae_lo", "rel_mae_hi", "lowest_share"]):
        values = by_variant[column].first() if column in ran else pd.Series(dtype=float)
        frame[name] = values.reindex(names).to_numpy(dtype=float)
    frame["model"] = frame["variant"].map(dict(zip(table["variant"], table["model"])))
    frame = frame.assign(_coverage=-frame["datasets_ok"])
    # The verdict is the geometric mean of MAE relative to seasonal naive (fev orders its leaderboard by
    # the same ratio); the mean rank breaks ties, and orders the table where seasonal naive did not run.
    return (frame.sort_values(["_coverage", "geomean_mae_vs_seasonal_naive", "mean_rank", "variant"],
                              na_position="last", kind="stable")
            .drop(columns="_coverage").reset_index(drop=True))


def has_relative_mae(summary: pd.DataFrame) -> bool:
    """Whether any variant has a finite overall MAE relative to seasonal naive (not where seasonal naive did
    not run, nor where its MAE is 0 on every dataset: a series that repeats its season exactly)."""
    return bool(np.isfinite(summary["geomean_mae_vs_seasonal_naive"].astype(float)).any())


def results_csv(table: pd.DataFrame) -> str:
    return table.to_csv(index=False, float_format="%.6g")
