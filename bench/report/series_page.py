"""A single-series dataset's section (on the leaderboard and its page) and the rest of its page.

The section: protocol, verdict (``series_verdict``), the dataset table (``dataset_table``:
rank, point metrics ± seeds, tests, cost, refit, status) with the notes its numbers rest
on, the forecast distributions (``distributions``), and the cells that did not finish ok.
Below it on the page: the forecast, cost and calibration plots, every test statistic, and
MAE by horizon step of the leading models and naive.
A panel's section and page are ``panel_page``'s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis, metrics
from bench.report.distributions import distribution_lines, with_distribution
from bench.report.formatting import SIGNIFICANCE, dataset_files, fmt, fmt_p, fmt_rank, fmt_time, unit_of
from bench.report.plot_data import leading_rows
from bench.report.sections import not_ok_section, protocol_text
from bench.report.series_verdict import test_layout_text, tested_row, too_few_windows_text, verdict
from bench.report.table import best_row


def series_body(dataset: str, rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """A single-series dataset's section: protocol, verdict, the dataset table and its notes, cells not ok."""
    lines = []
    ran = rows[rows["n_ok"] > 0]
    unit = unit_of(dataset)
    if len(ran):
        lines += [f"Protocol: {protocol_text(ran.iloc[0])}." + (f" Unit: {unit}." if unit else ""), ""]
        lines += [verdict(rows, unit), ""]
    else:
        lines += ["No model ran on this dataset.", ""]
    lines += [dataset_table(rows), "", *_table_notes(rows)]
    lines += distribution_lines(rows, panel=False)
    return lines + not_ok_section(rows, cells)


def series_page_lines(table: pd.DataFrame, dataset: str, rows: pd.DataFrame,
                      per_step: pd.DataFrame | None) -> list[str]:
    """Below the section on the page of a dataset where a model ran: its plots, every test statistic, and
    (with the run's ``per_step`` errors) MAE by horizon step."""
    files = dataset_files(dataset)
    lines = [f"![{dataset}: forecasts vs actual]({files['forecasts']})", "",
             f"![{dataset}: accuracy vs fit time]({files['cost']})", ""]
    if len(with_distribution(rows)):
        lines += [f"![{dataset}: interval calibration]({files['calibration']})", ""]
    lines += _test_lines(rows)
    if per_step is not None:
        lines += _step_lines(table, per_step, dataset)
    return lines


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
    headers = ["rank", "model", "params", *(d.header for d in metrics.POINT), "MAE / naive",
               "p vs naive (Holm)", "MCS p", "fit_time_s", "predict_time_s", "n_params", "refit", "status"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _metric_cells(r) -> list[str]:
    cells = []
    for d in metrics.POINT:
        note = getattr(r, f"{d.name}_note", "")
        cells.append("n/a" if note and r.n_ok else fmt(getattr(r, d.name), getattr(r, f"{d.name}_std")))
    return cells


def _table_notes(rows: pd.DataFrame) -> list[str]:
    """What the table's numbers rest on: the tests' layout (or why there are none) and cells that read n/a."""
    lines = []
    if tested_row(rows) is not None:
        few = too_few_windows_text(rows)
        family = int(rows["dm_p_vs_naive_holm"].notna().sum())
        lines.append("No p-values: too few non-overlapping windows (see the verdict)." if few else
                     f"Tests on {test_layout_text(rows)}; *p vs naive* is Holm-adjusted over the {family} "
                     "models compared with naive; *MCS p* below 0.05 (*) puts a model outside the 95% model "
                     "confidence set, significantly worse than the best.")
    why = _confidence_set_note(rows)
    if why:
        lines.append(why)
    notes = rows.loc[rows["n_ok"] > 0, "mape_note"] if "mape_note" in rows else pd.Series(dtype=str)
    if notes.astype(bool).any():
        lines.append(f"n/a in MAPE %: {notes[notes.astype(bool)].iloc[0]}. sMAPE (bounded by 200%) and MASE "
                     "are shown beside it.")
    return [line for text in lines for line in (text, "")]


FAR_ABOVE_BEST = 1.2           # a model this far above the best's MAE that the confidence set keeps gets a word


def _confidence_set_note(rows: pd.DataFrame) -> str:
    """Why a model with a much larger MAE can stay in the confidence set, where one does (one sentence)."""
    best = best_row(rows)
    if best is None or "share_below_best" not in rows or not rows["mcs_p"].notna().any():
        return ""
    ran = rows[analysis.honest(rows) & rows["mcs_p"].notna() & (rows.index != best.name)]
    kept = ran[(ran["mcs_p"] >= SIGNIFICANCE) & (ran["mae"] >= FAR_ABOVE_BEST * best["mae"])]
    if kept.empty:
        return ""
    far = kept.sort_values("mae", ascending=False, kind="stable").iloc[0]
    out = ran[(ran["mcs_p"] < SIGNIFICANCE) & (ran["mae"] < far["mae"])]
    text = (f"The confidence set asks whether a model's per-origin losses sit above the best's, not how far apart "
            f"the means are: {far['variant']} (MAE {_above(far, best)}) has the smaller loss at "
            f"{far['share_below_best']:.0%} of the origins, so the data cannot call it worse")
    if len(out):
        closest = out.sort_values("mae", kind="stable").iloc[0]
        text += (f", while {closest['variant']} (MAE {_above(closest, best)}) is smaller at "
                 f"{closest['share_below_best']:.0%} and is out")
    return text + "."


def _above(r: pd.Series, best: pd.Series) -> str:
    return f"{100 * (r['mae'] / best['mae'] - 1):+.0f}% on the best's"


def _test_lines(rows: pd.DataFrame) -> list[str]:
    """Every test statistic behind the verdict, unadjusted beside adjusted."""
    if tested_row(rows) is None:
        return []
    if too_few_windows_text(rows):
        return ["Diebold-Mariano tests and the model confidence set: none, too few non-overlapping windows "
                "(see the verdict).", ""]
    ran = rows[rows["n_ok"] > 0]
    body = [[r.variant, fmt(r.dm_stat_vs_naive), fmt_p(r.dm_p_vs_naive), fmt_p(r.dm_p_vs_naive_holm),
             fmt(r.dm_stat_vs_best), fmt_p(r.dm_p_vs_best), fmt_p(r.mcs_p)]
            for r in ran.itertuples()]
    return [f"Diebold-Mariano tests ({test_layout_text(rows)}; a negative statistic: the row's model has the "
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
