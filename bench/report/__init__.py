"""Reports from the store: results.csv, LEADERBOARD.md, one page per dataset, and plots.

Every table and plot is a pure function of the stored rows of one run (plus the unit
of each dataset from its catalog entry, and for a panel the accuracy its organisers
published, a catalog file checked by its sha256); timestamps and versions come from the
run, so re-rendering a stored run reproduces the files byte for byte. A panel (a dataset
whose cells carry more than one series id) gets an M4-style table and a comparison over
series instead of the per-origin tests; a run without one renders exactly as before.
``write_reports`` is the one entry point; ``bench.api`` and ``python -m bench report`` call it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis, metrics, selection, stats
from bench.files import replace_set
from bench.report.formatting import (OVERALL_FILES, SIGNIFICANCE, dataset_files, fmt, fmt3, fmt_interval, fmt_p,
                                     fmt_params, fmt_rank, fmt_share, fmt_time, p_phrase, unit_of)
from bench.report.published import PUBLISHED_METRICS, PUBLISHED_NAMES, published_rows, published_values
from bench.report.rows import VARIANT_KEYS, losses_of, mean_forecasts, origin_losses, test_cells, with_cell_defaults
from bench.report.table import (METRIC_NAMES, NAIVE_MODEL, PANEL_NOT_OK_SHOWN, REFERENCE_MODEL, SUMMARY_COLUMNS,
                                aggregate, best_row, fit_info_text, overall, results_csv, variant_name)
from bench.report.plot_data import N_PLOTTED, forecast_plot_data, leading_rows, rank_grid, target_times
from bench.report.figures import (cost_plot, forecasts_plot, ranks_plot, render_plots, series_ranks_plot,
                                  steps_plot)


# ---------------------------------------------------------------------------- tests, tables and verdicts

def nominal_dm_horizon(rows: pd.DataFrame) -> int | None:
    """The DM horizon of a dataset's tests: how many consecutive origins share a forecast target."""
    ran = rows[rows["n_ok"] > 0]
    return analysis.overlap_of(ran) if len(ran) else None


def _tested(rows: pd.DataFrame) -> pd.Series | None:
    """A row that carries the dataset's test layout (dm_df, dm_windows), or None where nothing was tested."""
    tested = rows[rows["dm_df"].notna()]
    return tested.iloc[0] if len(tested) else None


def too_few_windows_text(rows: pd.DataFrame) -> str:
    """The verdict's plain statement where the origins hold too few windows for any test; else ""."""
    r = _tested(rows)
    if r is None or r["dm_df"] >= stats.MIN_DEGREES_OF_FREEDOM:
        return ""
    h = nominal_dm_horizon(rows)
    n = int(rows.loc[rows["n_ok"] > 0, "n_origins"].max())
    return (f"{int(r['test_size'])} test points with a {int(r['horizon'])}-step horizon hold "
            f"{int(r['dm_windows'])} non-overlapping windows: too few to call a difference significant "
            f"(a test here needs at least {2 * stats.MIN_DEGREES_OF_FREEDOM * h} origins; there are {n})")


def _test_layout_text(rows: pd.DataFrame) -> str:
    """What the tests rest on: ``109 origins, each sharing targets with the next 11 (10 non-overlapping
    windows), 4 degrees of freedom``."""
    r = _tested(rows)
    n = int(rows.loc[rows["n_ok"] > 0, "n_origins"].max())
    h = nominal_dm_horizon(rows)
    overlap = ("whose forecasts share no target" if h == 1 else
               f"each sharing targets with the next {h - 1} ({int(r['dm_windows'])} non-overlapping windows)")
    return f"{n} origins {overlap}, {int(r['dm_df'])} degrees of freedom"


def _table_notes(rows: pd.DataFrame) -> list[str]:
    """What the table's numbers rest on: the tests' layout (or why there are none) and cells that read n/a."""
    lines = []
    if _tested(rows) is not None:
        few = too_few_windows_text(rows)
        family = int(rows["dm_p_vs_naive_holm"].notna().sum())
        lines.append("No p-values: too few non-overlapping windows (see the verdict)." if few else
                     f"Tests on {_test_layout_text(rows)}; *p vs naive* is Holm-adjusted over the {family} "
                     "models compared with naive; *MCS p* below 0.05 (*) puts a model outside the 95% model "
                     "confidence set, significantly worse than the best.")
    notes = rows.loc[rows["n_ok"] > 0, "mape_note"] if "mape_note" in rows else pd.Series(dtype=str)
    if notes.astype(bool).any():
        lines.append(f"n/a in MAPE %: {notes[notes.astype(bool)].iloc[0]}. sMAPE (bounded by 200%) and MASE "
                     "are shown beside it.")
    return [line for text in lines for line in (text, "")]


def _metric_cells(r) -> list[str]:
    cells = []
    for d in metrics.PER_CELL:
        note = getattr(r, f"{d.name}_note", "")
        cells.append("n/a" if note and r.n_ok else fmt(getattr(r, d.name), getattr(r, f"{d.name}_std")))
    return cells


def dataset_table(rows: pd.DataFrame) -> str:
    body = []
    best = best_row(rows)
    for r in rows.itertuples():
        is_best = best is not None and r.Index == best.name
        body.append([
            fmt_rank(r.rank), f"{r.label} [{r.selection}]" if r.selection else r.label, r.params_text or "-",
            *_metric_cells(r), fmt(r.mae_vs_naive), fmt_p(r.dm_p_vs_naive_holm),
            "best" if is_best else fmt_p(r.mcs_p),
            fmt_time(r.fit_time_s), fmt_time(r.predict_time_s),
            "-" if np.isnan(r.n_params) else f"{int(r.n_params):,}", r.refit,
            r.status if r.n_seeds == 1 else f"{r.status} ({r.n_seeds} seeds)",
        ])
    headers = ["rank", "model", "params", *(d.header for d in metrics.PER_CELL), "MAE / naive",
               "p vs naive (Holm)", "MCS p", "fit_time_s", "predict_time_s", "n_params", "refit", "status"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def overall_table(frame: pd.DataFrame) -> str:
    body = [[r.variant, f"{r.datasets_ok} of {r.datasets_total}", fmt(r.mean_rank),
             fmt(r.geomean_mae_vs_seasonal_naive), fmt_interval(r.rel_mae_lo, r.rel_mae_hi),
             fmt_share(r.lowest_share), r.wins, fmt_time(r.median_fit_time_s),
             fmt_params(r.n_params_min, r.n_params_max)]
            for r in frame.itertuples()]
    headers = ["model", "ran on", "mean rank (MAE)", "MAE / seasonal naive (geo. mean)", "95% interval",
               "lowest in", "wins", "median fit_time_s", "n_params"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def certainty_lines(summary: pd.DataFrame, panels: bool = False) -> list[str]:
    """In words: which models the bootstrap cannot order by relative MAE, and how fragile a mean rank is."""
    contenders = summary[summary["lowest_share"] >= 0.025].sort_values("lowest_share", ascending=False,
                                                                       kind="stable")
    if contenders.empty:
        return []
    if len(contenders) == 1:
        claim = (f"{contenders['variant'].iloc[0]} has the lowest relative MAE in "
                 f"{fmt_share(contenders['lowest_share'].iloc[0])} of the draws.")
    else:
        shares = ", ".join(f"{r.variant} {fmt_share(r.lowest_share)}" for r in contenders.itertuples())
        claim = f"The data cannot say which of these has the lowest relative MAE (lowest in: {shares} of the draws)."
    n_datasets = int(summary["datasets_total"].max())
    drawn = ("each dataset's origins (circular blocks as long as the forecasts' overlap; a panel's series, one by "
             "one)" if panels else "each dataset's origins (circular blocks as long as the forecasts' overlap)")
    return [f"How sure: *95% interval* and *lowest in* come from {analysis.BOOTSTRAP_DRAWS} bootstrap draws of "
            f"{drawn}; they show how much "
            f"these test spans pin the numbers down, not how the models would fare on other data. {claim} "
            f"With {n_datasets} dataset{'s' if n_datasets != 1 else ''}, one place gained on one dataset moves a "
            f"mean rank by {1 / n_datasets:.2g}.", ""]


def protocol_text(r) -> str:
    window = "expanding window" if r.window is None or pd.isna(r.window) else f"sliding window of {int(r.window)}"
    refit = "fit once, then update" if r.refit_every >= r.n_origins else (
        "refit at every origin" if r.refit_every == 1 else f"refit every {int(r.refit_every)} origins, update in between")
    return (f"horizon {int(r.horizon)}, last {int(r.test_size)} points, origins every {int(r.step)} "
            f"({int(r.n_origins)} origins), {refit}, {window}")


def verdict(rows: pd.DataFrame, unit: str = "") -> str:
    """Which model wins the dataset, whether it beats naive significantly, and what it costs.

    Every claim carries what its p-value rests on: the comparison with naive is
    Holm-adjusted over every model the winner was picked from, "cannot tell apart" and
    "significantly worse" come from the model confidence set, and with too few windows
    no p-value is given at all.
    """
    best = best_row(rows)
    if best is None:
        return "Every model that ran here was chosen on the test span: no honest verdict."
    ran = rows[analysis.honest(rows)]
    unit_text = f" {unit}" if unit else ""
    n = best["n_params"]
    cost = (f"Cost: {fmt_time(best['fit_time_s'])} s per fit, {fmt_time(best['predict_time_s'])} s per "
            f"forecast, {fmt_params(n, n)} fitted parameter{'' if n == 1 else 's'}.")
    naive = analysis.reference_row(ran, NAIVE_MODEL)
    head = f"**Winner: {best['variant']}**, MAE {fmt(best['mae'])}{unit_text}"
    few = too_few_windows_text(rows)
    if naive is None:
        against = "naive was not run, so there is no test against it."
    elif best["model"] == NAIVE_MODEL:
        against = "no model beats repeating the last value."
    else:
        ratio = f"{fmt(best['mae_vs_naive'])} x naive's {fmt(naive['mae'])}"
        p, raw = best["dm_p_vs_naive_holm"], best["dm_p_vs_naive"]
        if few:
            against = f"{ratio}; no test against naive: {few}."
        elif np.isnan(p):
            against = f"{ratio}; the DM test against naive could not be computed."
        else:
            family = int(rows["dm_p_vs_naive_holm"].notna().sum())
            how = (f"DM test, Holm-adjusted for the {family} models compared with naive: {p_phrase(p)}, "
                   f"unadjusted {p_phrase(raw)}; {_test_layout_text(rows)}")
            significant = p < SIGNIFICANCE and best["dm_stat_vs_naive"] < 0
            against = (f"{ratio}; **significantly better than naive** ({how})." if significant else
                       f"{ratio}; **not significantly better than naive** at 5% ({how}).")
    close = _confidence_set_text(ran, best)
    if few and few not in against:                 # naive won or did not run: say why no model is tested
        close = f"No p-values: {few}."
    return " ".join(part for part in (f"{head}; {against}", cost, close) if part)


def _confidence_set_text(ran: pd.DataFrame, best: pd.Series) -> str:
    """The models the data cannot tell apart from the winner: the 95% model confidence set."""
    tested = ran[ran["mcs_p"].notna()]
    if len(tested) < 2:
        return ""
    others = tested.drop(index=best.name, errors="ignore")
    kept = others[others["mcs_p"] >= SIGNIFICANCE]
    if kept.empty:
        return (f"Every other model is significantly worse than the winner: the 95% model confidence set over "
                f"all {len(tested)} holds the winner alone.")
    names = ", ".join(f"{r.variant} ({p_phrase(r.mcs_p)})" for r in kept.itertuples())
    return (f"Not significantly worse than the winner (the 95% model confidence set over all {len(tested)} "
            f"models, MCS p-values): {names}.")


def not_ok_lines(rows: pd.DataFrame, cells: pd.DataFrame) -> list[str]:
    """One line per failed or skipped variant and reason, naming the seeds when only some of them failed."""
    lines = []
    cells = test_cells(cells)
    mine = cells[cells["dataset"].isin(set(rows["dataset"]))]
    panels = analysis.panel_datasets(mine)
    for keys, group in mine.groupby(VARIANT_KEYS, sort=True):
        label, params = keys[1], keys[3]
        if keys[0] in panels:
            lines += _panel_not_ok_lines(variant_name(label, params), group)
            continue
        for (status, reason), bad in group[group["status"] != "ok"].groupby(["status", "reason"], sort=True):
            seeds = sorted(int(s) for s in bad["seed"])
            which = "" if len(group) == 1 else (
                f" on seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} of {len(group)}")
            lines.append(f"- {variant_name(label, params)}: **{status}**{which}: {reason or '(no reason recorded)'}")
    return lines


def _panel_not_ok_lines(name: str, group: pd.DataFrame) -> list[str]:
    """A panel variant's cells that did not finish ok: per status and reason, how many series and which."""
    bad = group[group["status"] != "ok"]
    n_series = group["series_id"].nunique()
    seeds = group["seed"].nunique()
    kinds = sorted(bad.groupby(["status", "reason"], sort=True), key=lambda kv: -kv[1]["series_id"].nunique())
    lines = []
    for (status, reason), cells in kinds[:PANEL_NOT_OK_SHOWN]:
        ids = sorted(cells["series_id"].unique())
        named = ", ".join(ids[:PANEL_NOT_OK_SHOWN]) + (f" and {len(ids) - PANEL_NOT_OK_SHOWN} more"
                                                        if len(ids) > PANEL_NOT_OK_SHOWN else "")
        which = f" on {len(ids)} of {n_series} series ({named})" + (f", {len(cells)} of {len(group)} cells"
                                                                    if seeds > 1 else "")
        lines.append(f"- {name}: **{status}**{which}: {reason or '(no reason recorded)'}")
    if len(kinds) > PANEL_NOT_OK_SHOWN:
        rest = sum(len(c) for _, c in kinds[PANEL_NOT_OK_SHOWN:])
        lines.append(f"- {name}: {rest} more cells not ok, for {len(kinds) - PANEL_NOT_OK_SHOWN} other reasons")
    return lines


# ---------------------------------------------------------------------------- pages

HOW_TO_READ = """How to read:

- Every model is walked forward over the last points of each series and never sees a value at or
  after the origin it forecasts from. Errors are averaged over every origin and horizon step.
- **Overall**: *mean rank* is the mean over datasets of a variant's rank by MAE (1 = most accurate);
  *MAE / seasonal naive* is the geometric mean over datasets of its MAE divided by seasonal naive's
  (below 1: better than repeating the last season), with a *95% interval* from a bootstrap of each
  dataset's origins; *lowest in* is the share of bootstrap draws in which it has the lowest relative MAE
  of the variants that ran everywhere; *wins* counts the datasets where its MAE is the lowest. Variants
  that ran on fewer datasets are listed after those that ran on all.
- **Per dataset**: MAE and RMSE are in the series' unit, MAPE and sMAPE in percent (MAPE reads n/a where
  test actuals come near zero, with the reason under the table); MASE divides each error by the
  in-sample seasonal-naive MAE of the history at its origin; *MAE / naive* above 1 means worse than
  repeating the last observed value. Seeded models show mean ± standard deviation over seeds.
- **Tests** compare one loss per origin: the absolute error averaged over the horizon steps (and over
  seeds: the seeds' absolute errors are averaged, not their forecasts). Forecasts from h consecutive
  origins share targets, so their losses are correlated: the Diebold-Mariano statistic's variance is
  the mean of B = floor(n / 2h) squared cosine projections of the loss differences (n origins), and it
  is compared with Student t with B degrees of freedom; this held its 5% size in simulations of these
  protocols, where the usual HAC variance did not. *p vs naive (Holm)* is that test against naive,
  Holm-adjusted over every model compared with naive, because the winner was picked from them. *MCS p*
  is the model confidence set p-value (Hansen, Lunde and Nason 2011, all models at once): below 0.05
  (marked *) a model is outside the 95% set of models the data cannot tell apart from the best.
  Fewer than 4h origins are too few windows for any test, and then no p-value is shown.
- **Cost**: fit_time_s is the mean wall time of one fit, predict_time_s of one predict call (one
  origin); n_params counts fitted parameters; refit says when the model was re-estimated."""

PANEL_HOW_TO_READ = """- **Panels** (a dataset of many series, such as M4 Hourly): every series is walked on its own (M4:
  one origin, the end of its training part); its metrics are averaged over seeds first, then over the
  series (*mean*, as M4 reports) with the *median* beside. sMAPE and MASE are M4's; *OWA* is M4's overall
  weighted average, the mean of sMAPE and MASE each divided by Naive2's, on the panel means (only where
  naive2 ran). A panel's variants are ranked, and its overall *MAE / seasonal naive* is computed, by mean
  MASE (each series' error in units of its own in-sample seasonal-naive error): a mean MAE over series
  would be dominated by the largest series. The overall table counts a panel as one dataset. Panels get
  no per-origin tests (one origin per series); instead the models are ranked by sMAPE within each
  series (as M4 ranks): Friedman's test says whether the mean ranks differ, and Nemenyi's critical
  difference which pairs do, every pair accounted for (Demsar 2006). *published* columns hold the values
  the dataset's organisers published for the same method, where the catalog carries them."""


def _header(run: dict, cells: pd.DataFrame | None) -> list[str]:
    env = run["environment"]
    packages = ", ".join(f"{k} {v}" for k, v in sorted(env.get("packages", {}).items()))
    lines = [
        f"Run {run['run_id']} of suite `{run['suite']}`, started {run['started_at']}, "
        f"took {fmt_time(run['total_time_s'])} s. Commit `{run['git_commit'] or 'unknown'}`.",
        f"Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores; Python {env.get('python', '?')}; {packages}."
        + (f" Calibration workload: {fmt_time(env['calibration_s'])} s." if "calibration_s" in env else ""),
    ]
    if cells is not None and len(cells):
        cells = with_cell_defaults(cells)
        validation = cells[cells["span"] == "validation"]
        cells = cells[cells["span"] == "test"]
        counts = cells["status"].value_counts()
        order = ["ok", *sorted(s for s in counts.index if s != "ok")]   # failed, skipped, timeout, ...
        parts = [f"{int(counts[s])} {s}" for s in order if s in counts]
        note = "" if set(counts.index) <= {"ok"} else "; the failed and skipped are listed under each dataset"
        what = "dataset x variant x seed x series" if analysis.panel_datasets(cells) else "dataset x variant x seed"
        lines.append(f"Cells ({what}): {len(cells)}: {', '.join(parts)}{note}."
                     + (f" Selections walked {len(validation)} variant x seed cells over the validation span "
                        "first (listed on the dataset pages)." if len(validation) else ""))
    return lines


def leaderboard(run: dict, table: pd.DataFrame, cells: pd.DataFrame | None = None) -> str:
    how = HOW_TO_READ + ("\n" + PANEL_HOW_TO_READ if analysis.is_panel(table).any() else "")
    lines = ["# Forecasting leaderboard", "", *(f"- {line}" for line in _header(run, cells)), "", how,
             "", "## Overall", ""]
    summary = overall(table)
    lines += [overall_table(summary), "", *certainty_lines(summary, analysis.is_panel(table).any())]
    if summary["geomean_mae_vs_seasonal_naive"].notna().any():
        lines += [f"![Accuracy against fit time across datasets]({OVERALL_FILES['cost']})", ""]
    else:
        lines += [f"{REFERENCE_MODEL} did not run, so there is no relative MAE and no overall "
                  "accuracy-versus-cost plot.", ""]
    lines += [f"![Rank of each model on each dataset]({OVERALL_FILES['ranks']})", ""]
    for dataset, rows in table.groupby("dataset", sort=True):
        files = dataset_files(dataset)
        lines += [f"## {dataset}", ""]
        links = f"[Page]({files['page']})"
        if (rows["n_ok"] > 0).any() and analysis.is_panel(rows).any():
            links += (f" · [mean ranks over series]({files['ranks']}) · "
                      f"[accuracy vs fit time]({files['cost']})")
        elif (rows["n_ok"] > 0).any():
            links += (f" · [forecasts vs actual]({files['forecasts']}) · "
                      f"[accuracy vs fit time]({files['cost']})")
        lines += [links, ""]
        lines += _dataset_body(dataset, rows, cells)
    return "\n".join(lines)


def _dataset_body(dataset: str, rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    if analysis.is_panel(rows).any():
        return _panel_body(dataset, rows, cells)
    lines = []
    ran = rows[rows["n_ok"] > 0]
    unit = unit_of(dataset)
    if len(ran):
        lines += [f"Protocol: {protocol_text(ran.iloc[0])}." + (f" Unit: {unit}." if unit else ""), ""]
        lines += [verdict(rows, unit), ""]
    else:
        lines += ["No model ran on this dataset.", ""]
    lines += [dataset_table(rows), "", *_table_notes(rows)]
    bad = rows[rows["status"] != "ok"]
    if len(bad):
        if cells is not None:
            detail = not_ok_lines(rows, cells)
        else:
            detail = [f"- {r.variant}: **{r.status}**: {r.reason}" for r in bad.itertuples()]
        lines += ["Cells that did not finish ok, with their reasons:", "", *detail, ""]
    return lines


def dataset_page(run: dict, table: pd.DataFrame, dataset: str, cells: pd.DataFrame | None = None,
                 per_step: pd.DataFrame | None = None) -> str:
    """The dataset's page: its leaderboard section, plots, tests, MAE by horizon step (with the
    run's ``per_step`` errors, ``mean_forecasts``), fitted choices and selections."""
    rows = table[table["dataset"] == dataset]
    files = dataset_files(dataset)
    lines = [f"# {dataset}", "", "[Back to the leaderboard](LEADERBOARD.md). " + _header(run, None)[0], ""]
    lines += _dataset_body(dataset, rows, cells)
    ran = rows[rows["n_ok"] > 0]
    if len(ran) and analysis.is_panel(rows).any():
        lines += _panel_page_lines(dataset, rows)
    elif len(ran):
        lines += [f"![{dataset}: forecasts vs actual]({files['forecasts']})", "",
                  f"![{dataset}: accuracy vs fit time]({files['cost']})", ""]
        lines += _test_lines(rows)
    if per_step is not None and len(ran) and not analysis.is_panel(rows).any():
        lines += _step_lines(table, per_step, dataset)
    lines += _fit_info_lines(ran)
    if cells is not None:
        lines += _selection_lines(dataset, with_cell_defaults(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- panels


def _panel_protocol(ran: pd.DataFrame, unit: str) -> str:
    r = ran.iloc[0]
    walk = (f"one origin, {int(r['test_size'])} points before its end, forecast {int(r['horizon'])} steps ahead "
            "from everything before it" if r["n_origins"] == 1 else protocol_text(r))
    return f"Protocol: {int(r['n_series'])} series, each on its own: {walk}." + (f" Unit: {unit}." if unit else "")


def _panel_body(dataset: str, rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """A panel's section: protocol, verdict, the M4-style table, published values not run here, cells not ok."""
    ran = rows[rows["n_ok"] > 0]
    lines = ([_panel_protocol(ran, unit_of(dataset)), "", panel_verdict(rows), ""] if len(ran) else
             ["No model ran on this dataset.", ""])
    values = published_values(dataset)
    lines += [panel_table(rows, values), "", *_panel_notes(rows, values)]
    bad = rows[rows["status"] != "ok"]
    if len(bad):
        detail = (not_ok_lines(rows, cells) if cells is not None else
                  [f"- {r.variant}: **{r.status}**: {r.reason}" for r in bad.itertuples()])
        lines += ["Cells that did not finish ok, with their reasons:", "", *detail, ""]
    return lines


def panel_table(rows: pd.DataFrame, values: pd.DataFrame | None = None) -> str:
    """The M4-style table: per variant the panel means (± seeds) and medians of the metrics whose mean over
    series means something, the panel-level ones (OWA), the published values, the mean rank over series
    by sMAPE, fit time per series and parameters."""
    values = published_values(rows["dataset"].iloc[0]) if values is None else values
    shown = [m for m in PUBLISHED_METRICS if f"published_{m}" in rows and rows[f"published_{m}"].notna().any()]
    best = best_row(rows)
    body = []
    for r in rows.itertuples():
        cells = []
        for m in metrics.PANEL_MEANS:
            cells += [fmt3(getattr(r, m), getattr(r, f"{m}_std")), fmt3(getattr(r, f"{m}_median"))]
        cells += [fmt3(getattr(r, d.name)) for d in metrics.OF_PANEL]
        cells += [fmt3(getattr(r, f"published_{m}")) for m in shown]
        body.append([
            fmt_rank(r.rank), f"{r.label} [{r.selection}]" if r.selection else r.label, r.params_text or "-",
            *cells, "-" if np.isnan(r.series_mean_rank) else f"{r.series_mean_rank:.2f}",
            fmt_time(r.fit_time_total_s), "-" if np.isnan(r.n_params) else f"{int(r.n_params):,}",
            ("best, " if best is not None and r.Index == best.name else "")
            + (r.status if r.n_seeds == 1 else f"{r.status} ({r.n_seeds} seeds)"),
        ])
    headers = ["rank", "model", "params"]
    for m in metrics.PANEL_MEANS:
        header = metrics.BY_NAME[m].header
        headers += [f"{header} mean", f"{header} median"]
    headers += [d.header for d in metrics.OF_PANEL]
    headers += [f"published {metrics.BY_NAME[m].header}" for m in shown]
    headers += [f"mean rank over series ({metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]})",
                "fit_time_s per series", "n_params (median)", "status"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _panel_notes(rows: pd.DataFrame, values: pd.DataFrame) -> list[str]:
    """What the panel table's numbers rest on, and the published values of methods not run here."""
    lines = []
    ran = rows[rows["n_ok"] > 0]
    if len(ran):
        owa = metrics.OF_PANEL[0] if metrics.OF_PANEL else None
        lines.append(
            "Means and medians are over series of each series' mean over seeds (± the standard deviation over "
            "seeds of the panel mean); *rank* orders the models by mean MASE"
            + (f"; {owa.header} is relative to {owa.reference}'s panel means"
               + ("" if rows[owa.name].notna().any() else f", and {owa.reference} did not run here") if owa else "")
            + ". fit_time_s per series is the wall time of fitting one series (all its fits), mean over series; "
              "for a global model, its share of the one fit on the whole panel (that fit's time over the number of "
              "series).")
        incomplete = ran[ran["n_series_ok"] < ran["n_series"]]
        if len(incomplete):
            lines.append("Means over fewer series (a model that did not finish on every series): " + ", ".join(
                f"{r.variant} ({int(r.n_series_ok)} of {int(r.n_series)})" for r in incomplete.itertuples()) + ".")
    matched = set(published_rows(rows, values).values())
    others = values.loc[[m for m in values.index if m not in matched]]
    if len(others):
        body = [[m, *(fmt3(others.loc[m, c]) for c in others.columns)] for m in others.index]
        lines.append("Published values of methods not run here, for reference:\n\n" + tabulate(
            body, headers=["method", *(metrics.BY_NAME[c].header for c in others.columns)], tablefmt="github",
            disable_numparse=True))
    return [line for text in lines for line in (text, "")]


def panel_verdict(rows: pd.DataFrame) -> str:
    """A panel's verdict: the lowest mean MASE, and which models the comparison over series tells apart.

    The comparison ranks the models by sMAPE within each series where all of them ran;
    Friedman's test says whether the mean ranks differ at all, and Nemenyi's critical
    difference which models are worse than the best-ranked one, every pair accounted for.
    """
    best = best_row(rows)
    if best is None:
        return "Every model that ran here was chosen on the test span: no honest verdict."
    level = "".join(f", {d.header} {fmt3(best[d.name])}" for d in metrics.OF_PANEL if np.isfinite(best[d.name]))
    head = (f"**Lowest mean MASE: {best['variant']}**, {fmt3(best['mase'])} (sMAPE {fmt3(best['smape'])}%{level}) "
            f"over {int(best['n_series_ok'])} series.")
    fair = rows[analysis.honest(rows) & (rows["n_ok"] > 0)]
    compared = fair[fair["series_mean_rank"].notna()].sort_values("series_mean_rank", kind="stable")
    left_out = fair[fair["series_mean_rank"].isna()]
    rank_metric = metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]
    if len(compared) < 2:
        middle = "Fewer than two models finished on every series: no comparison over series."
    else:
        top, first = compared.iloc[0], compared.iloc[0]["series_mean_rank"]
        p, cd = top["friedman_p"], top["nemenyi_cd"]
        n, k = int(top["series_compared"]), len(compared)
        middle = (f"Ranked by {rank_metric} within each of the {n} series (as M4 ranks), **{top['variant']}** has "
                  f"the best mean rank of the {k} models that finished on every series ({first:.2f})")
        if np.isnan(p):
            middle += "; with fewer than two series there is no test."
        elif p >= SIGNIFICANCE:
            middle += (f"; Friedman's test finds no difference between their mean ranks ({p_phrase(p)}): the "
                       "data cannot tell these models apart.")
        else:
            others = compared.iloc[1:]
            close = others[others["series_mean_rank"] - first <= cd]
            worse = others[others["series_mean_rank"] - first > cd]
            names = lambda frame: ", ".join(f"{r.variant} ({r.series_mean_rank:.2f})" for r in frame.itertuples())
            middle += (f"; Friedman's test rejects equal mean ranks ({p_phrase(p)}), and with Nemenyi's critical "
                       f"difference of {cd:.2f} ranks at 5% (every pair accounted for) ")
            middle += (f"the data cannot tell it apart from {names(close)}" if len(close) else
                       "every other model is significantly worse")
            middle += f"; significantly worse: {names(worse)}." if len(close) and len(worse) else "."
    if len(left_out):
        middle += " Not compared (did not finish on every series): " + ", ".join(
            f"{r.variant} ({int(r.n_series_ok)} of {int(r.n_series)})" for r in left_out.itertuples()) + "."
    n_params = best["n_params"]
    cost = (f"Cost of {best['variant']}: {fmt_time(best['fit_time_total_s'])} s of fitting per series, "
            f"{fmt_params(n_params, n_params)} fitted parameter{'' if n_params == 1 else 's'} (median over series).")
    return " ".join([head, middle, cost])


def _panel_page_lines(dataset: str, rows: pd.DataFrame) -> list[str]:
    """The panel page's plots and the comparison over series behind the verdict."""
    files = dataset_files(dataset)
    lines = [f"![{dataset}: mean ranks over series with Nemenyi's critical difference]({files['ranks']})", "",
             f"![{dataset}: accuracy vs fit time]({files['cost']})", ""]
    compared = rows[rows["series_mean_rank"].notna()].sort_values("series_mean_rank", kind="stable")
    if len(compared) < 2:
        return lines
    top = compared.iloc[0]
    cd, first = top["nemenyi_cd"], top["series_mean_rank"]
    body = [[r.variant, f"{r.series_mean_rank:.2f}", f"{r.series_mean_rank - first:+.2f}",
             "-" if r.Index == top.name else ("yes" if r.series_mean_rank - first > cd else "no")]
            for r in compared.itertuples()]
    friedman = top["friedman_p"]
    lines += [f"Comparison over series: {int(top['series_compared'])} series, {len(compared)} models ranked by "
              f"{metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]} within each series (ties share their mean "
              f"rank). Friedman's test (Iman-Davenport F): {p_phrase(friedman)}. Nemenyi's critical difference at "
              f"5%: {cd:.3f} ranks; two models whose mean ranks differ by more are significantly different.", "",
              tabulate(body, headers=["model", "mean rank", "vs best", "significantly worse than the best"],
                       tablefmt="github", disable_numparse=True), ""]
    return lines


def _test_lines(rows: pd.DataFrame) -> list[str]:
    """Every test statistic behind the verdict, unadjusted beside adjusted."""
    if _tested(rows) is None:
        return []
    if too_few_windows_text(rows):
        return ["Diebold-Mariano tests and the model confidence set: none, too few non-overlapping windows "
                "(see the verdict).", ""]
    ran = rows[rows["n_ok"] > 0]
    body = [[r.variant, fmt(r.dm_stat_vs_naive), fmt_p(r.dm_p_vs_naive), fmt_p(r.dm_p_vs_naive_holm),
             fmt(r.dm_stat_vs_best), fmt_p(r.dm_p_vs_best), fmt_p(r.mcs_p)]
            for r in ran.itertuples()]
    return [f"Diebold-Mariano tests ({_test_layout_text(rows)}; a negative statistic: the row's model has the "
            "smaller loss). *p vs best* is unadjusted and picks the best on the same errors, so the verdict reads "
            "the model confidence set (*MCS p*) instead:", "",
            tabulate(body, headers=["model", "DM vs naive", "p", "p (Holm)", "DM vs best", "p vs best", "MCS p"],
                     tablefmt="github", disable_numparse=True), ""]


def _step_lines(table: pd.DataFrame, per_step: pd.DataFrame, dataset: str) -> list[str]:
    steps = analysis.mae_by_step(per_step[per_step["dataset"] == dataset], leading_rows(table, dataset))
    if steps.empty:
        return []
    unit = unit_of(dataset)
    body = [[str(step), *(fmt(v) for v in values)] for step, values in zip(steps.index, steps.to_numpy())]
    return [f"MAE by horizon step{f' ({unit})' if unit else ''} of the leading models and naive, mean over "
            "origins (and seeds):", "",
            tabulate(body, headers=["step", *steps.columns], tablefmt="github", disable_numparse=True), "",
            f"![{dataset}: MAE by horizon step]({dataset_files(dataset)['steps']})", ""]


def _fit_info_lines(ran: pd.DataFrame) -> list[str]:
    """What each model's fits chose (automatic orders, transforms, epochs trained), where it says."""
    described = ran[ran["fit_info"].astype(bool)]
    if described.empty:
        return []
    body = [[r.variant, r.fit_info] for r in described.itertuples()]
    return ["What the fits chose (numbers: mean over fits and seeds; text: the most frequent choice):", "",
            tabulate(body, headers=["model", "fitted"], tablefmt="github", disable_numparse=True), ""]


def _selection_lines(dataset: str, cells: pd.DataFrame) -> list[str]:
    """Every candidate of the dataset's selections with the score it was chosen on."""
    lines = []
    for mode, note in (("validation", selection.VALIDATION_NOTE), ("test", selection.TEST_NOTE)):
        table = selection.candidates(cells[cells["dataset"] == dataset], mode)
        for group, rows in table.groupby("selection_group", sort=True):
            score = f"{mode} {metrics.BY_NAME[rows['criterion'].iloc[0]].header}"
            chosen = rows[rows["chosen"]]
            picked = f"**{chosen['label'].iloc[0]}** is {note}" if len(chosen) else "no candidate finished"
            lines += [f"Selection for {group} ({len(rows)} candidates; lowest {score}, mean over seeds; ties: "
                      f"fewer parameters): {picked}.", ""]
            body = [[("→ " if r.chosen else "") + r.label, r.params_text or "-", fmt(r.score, r.score_std),
                     "-" if np.isnan(r.n_params) else f"{int(r.n_params):,}",
                     r.status + (f": {r.reason}" if r.reason else "")]
                    for r in rows.sort_values(["score", "params_text"], na_position="last").itertuples()]
            lines += [tabulate(body, headers=["candidate", "params", score, "n_params", "status"],
                               tablefmt="github", disable_numparse=True), ""]
    return lines


# ---------------------------------------------------------------------------- files

def render(run: dict, cells: pd.DataFrame, forecasts: pd.DataFrame) -> dict[str, str | bytes]:
    """Every report file of a run, by file name: a pure function of the stored rows."""
    table = aggregate(cells, forecasts, run)
    cells = with_cell_defaults(cells)
    per_step = mean_forecasts(test_cells(cells), forecasts)
    files: dict[str, str | bytes] = {"LEADERBOARD.md": leaderboard(run, table, cells),
                                     "results.csv": results_csv(table)}
    for dataset in sorted(table["dataset"].unique()):
        files[dataset_files(dataset)["page"]] = dataset_page(run, table, dataset, cells, per_step)
    files.update(render_plots(table, per_step))
    return files


def write_reports(store, run_id: int, out_dir: Path) -> list[Path]:
    """Render a run and replace the report set in ``out_dir`` as one set (``files.replace_set``):
    never half of it, and no file of an earlier set beside it (older bench kept no list of its
    files, so the overall plots' names are removed too when this set has none)."""
    run = store.run(run_id)
    files = render(run, store.cells(run_id), store.forecasts(run_id))
    return replace_set(Path(out_dir), files, also_remove=OVERALL_FILES.values())
