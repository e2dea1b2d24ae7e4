"""Parts that the leaderboard and every dataset page share, single series or panel.

The run's header lines (``run_header``), the protocol of a walk (``protocol_text``), the
cells that did not finish ok with their reasons (``not_ok_section``: per seed, and for a
panel per series), what the fits chose (``fit_info_lines``) and every candidate of a
dataset's selections with the score it was chosen on (``selection_lines``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis, metrics, selection
from bench.report.formatting import fmt, fmt_time
from bench.report.rows import VARIANT_KEYS, test_cells, with_cell_defaults
from bench.report.table import PANEL_NOT_OK_SHOWN, variant_name


def run_header(run: dict, cells: pd.DataFrame | None) -> list[str]:
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
        selecting = validation[validation["selection"] != ""]
        calibrating = validation[validation["selection"] == ""]
        lines.append(f"Cells ({what}): {len(cells)}: {', '.join(parts)}{note}."
                     + (f" Selections walked {len(selecting)} variant x seed cells over the validation span "
                        "first (listed on the dataset pages)." if len(selecting) else "")
                     + (f" {len(calibrating)} cells walked the validation span to calibrate conformal intervals "
                        "(models without a forecast distribution of their own)." if len(calibrating) else ""))
    return lines


def protocol_text(r) -> str:
    window = "expanding window" if r.window is None or pd.isna(r.window) else f"sliding window of {int(r.window)}"
    refit = "fit once, then update" if r.refit_every >= r.n_origins else (
        "refit at every origin" if r.refit_every == 1 else f"refit every {int(r.refit_every)} origins, update in between")
    return (f"horizon {int(r.horizon)}, last {int(r.test_size)} points, origins every {int(r.step)} "
            f"({int(r.n_origins)} origins), {refit}, {window}")


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


def not_ok_section(rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """The rows' cells that did not finish ok, with their reasons (``not_ok_lines`` with the run's ``cells``,
    else one line per row); nothing where every row is ok."""
    bad = rows[rows["status"] != "ok"]
    if not len(bad):
        return []
    detail = (not_ok_lines(rows, cells) if cells is not None else
              [f"- {r.variant}: **{r.status}**: {r.reason}" for r in bad.itertuples()])
    return ["Cells that did not finish ok, with their reasons:", "", *detail, ""]


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


def fit_info_lines(ran: pd.DataFrame) -> list[str]:
    """What each model's fits chose (automatic orders, transforms, epochs trained), where it says."""
    described = ran[ran["fit_info"].astype(bool)]
    if described.empty:
        return []
    body = [[r.variant, r.fit_info] for r in described.itertuples()]
    return ["What the fits chose (numbers: mean over fits and seeds; text: the most frequent choice):", "",
            tabulate(body, headers=["model", "fitted"], tablefmt="github", disable_numparse=True), ""]


def selection_lines(dataset: str, cells: pd.DataFrame) -> list[str]:
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
