"""Selection among a grid's variants: which one a ``select`` entry keeps, from stored cells.

One function decides, ``choose``, and both the run (before it evaluates the chosen
variant on the test span) and the reports (which list every candidate and mark the
chosen one) call it on the same stored rows, so they cannot disagree.

- ``select = "validation"``: the candidates are the variants' walks over the validation
  span (``span == "validation"``), which ends where the test span begins.
- ``select = "test"``: the candidates are the variants' test-span walks; choosing on
  them is optimistic, and the tables say so.

A variant is eligible when every one of its seeds finished ``ok``. The lowest mean MAE
over seeds wins; ties go to fewer parameters, then to the parameters' text order. On a
panel (a group whose cells span more than one series) the criterion is the mean MASE over
series and seeds instead: a mean MAE over series of different scales would be decided by
the largest series alone.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from bench.runner import Cell, CellResult

GROUP_KEYS = ["dataset", "selection_group"]
CANDIDATE_KEYS = [*GROUP_KEYS, "label", "model", "params_text"]
VALIDATION_NOTE = "chosen on the validation span"
TEST_NOTE = "chosen on the test span (optimistic)"


def candidates(cells: pd.DataFrame, mode: str) -> pd.DataFrame:
    """One row per candidate variant of every ``mode`` selection: its scores and whether it is chosen.

    ``cells`` are a run's stored cells (``Store.cells``); the result has the columns of
    ``CANDIDATE_KEYS``, ``params`` (JSON), ``mae``, ``mae_std``, ``criterion`` (``mae``, or
    ``mase`` on a panel), ``score`` and ``score_std`` (the criterion's mean and standard
    deviation over series and seeds), ``n_seeds``, ``n_ok``, ``n_params``, ``status``,
    ``reason`` and ``chosen``.
    """
    span = "validation" if mode == "validation" else "test"
    mine = cells[(cells["selection"] == mode) & (cells["span"] == span)]
    columns = [*CANDIDATE_KEYS, "params", "mae", "mae_std", "criterion", "score", "score_std", "n_seeds",
               "n_ok", "n_params", "status", "reason", "chosen"]
    if mine.empty:
        return pd.DataFrame(columns=columns)
    series = mine["series_id"] if "series_id" in mine else pd.Series("", index=mine.index)
    panel_groups = {keys for keys, ids in series.groupby([mine[k] for k in GROUP_KEYS]) if ids.nunique() > 1}
    rows = []
    for keys, group in mine.groupby(CANDIDATE_KEYS, sort=True):
        ok = group[group["status"] == "ok"]
        bad = group[group["status"] != "ok"]
        criterion = "mase" if tuple(keys[:len(GROUP_KEYS)]) in panel_groups else "mae"
        rows.append({**dict(zip(CANDIDATE_KEYS, keys)), "params": group["params"].iloc[0],
                     "mae": ok["mae"].mean() if len(ok) else np.nan,
                     "mae_std": ok["mae"].std(ddof=1) if len(ok) > 1 else np.nan,
                     "criterion": criterion,
                     "score": ok[criterion].mean() if len(ok) else np.nan,
                     "score_std": ok[criterion].std(ddof=1) if len(ok) > 1 else np.nan,
                     "n_seeds": len(group), "n_ok": len(ok),
                     "n_params": ok["n_params"].median() if len(ok) else np.nan,
                     "status": "ok" if bad.empty else ", ".join(sorted(set(bad["status"]))),
                     "reason": "; ".join(sorted(set(bad["reason"])))})
    table = pd.DataFrame(rows)
    table["chosen"] = False
    for _, group in table.groupby(GROUP_KEYS, sort=False):
        winner = choose(group)
        if winner is not None:
            table.loc[winner, "chosen"] = True
    return table[columns]


def choose(group: pd.DataFrame):
    """The index of the winning candidate of one selection group, or None when none is eligible."""
    eligible = group[(group["n_ok"] == group["n_seeds"]) & np.isfinite(group["score"].astype(float))]
    if eligible.empty:
        return None
    # Rounded so that two variants equal up to floating-point noise count as tied.
    ranked = eligible.assign(_mae=eligible["score"].astype(float).round(10),
                             _params=eligible["n_params"].fillna(np.inf))
    return ranked.sort_values(["_mae", "_params", "params_text"], kind="stable").index[0]


def chosen_cells(validation_cells: list[Cell], stored: pd.DataFrame) -> tuple[list[Cell], list[CellResult]]:
    """The test cells of the variants each validation selection chose, and results for those that chose none.

    ``validation_cells`` are the run's validation-span cells, ``stored`` the run's stored
    cells restricted to the current ones (a resumed run may hold others). The test cell
    of a chosen variant is its validation cell moved to the test span and named by the
    selection group, one per seed. A group whose every variant failed the validation walk
    gets a ``skipped`` result per seed, naming why.
    """
    table = candidates(stored, "validation")
    cells, skipped = [], []
    by_group: dict[tuple, list[Cell]] = {}
    for cell in validation_cells:
        by_group.setdefault((cell.dataset, cell.group), []).append(cell)
    for (dataset, group), members in by_group.items():
        rows = table[(table["dataset"] == dataset) & (table["selection_group"] == group)]
        winner = rows[rows["chosen"]]
        if len(winner):
            params = json.loads(winner["params"].iloc[0])
            cells += [dataclasses.replace(c, span="test", label=group) for c in members if c.params == params]
            continue
        reasons = "; ".join(f"{r.label}: {r.status} ({r.reason})" if r.reason else f"{r.label}: {r.status}"
                            for r in rows.itertuples()) or "no variant ran"
        for seed in sorted({c.seed for c in members}):
            first = next(c for c in members if c.seed == seed)
            cell = dataclasses.replace(first, span="test", label=group, params={})
            skipped.append(CellResult(cell, "skipped", f"no variant finished the validation walk: {reasons}"))
    return cells, skipped
