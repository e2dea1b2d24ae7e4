"""The order in which cells are handed to workers: longest first.

With N workers a run ends when the last worker finishes. If the longest cell (a GRU
on a year of hourly load takes minutes, a naive forecast milliseconds) starts last,
the other workers idle until it is done. Starting the longest cells first and filling
in with short ones (the LPT rule) keeps every worker busy to the end.

How long a cell takes is read from the store: the median wall time of the same
dataset, model, parameters and split in earlier runs. Cells never run before come
first, ordered by a prior (neural networks and Prophet on the longest series first):
a cell of unknown length is better started early than discovered late. The order
changes no result, only when each cell runs.

The cells of one walk over a panel's series share a history key (the series is not part
of it), so the stable sort keeps them together, in the panel's order, and the executor
sends them to workers in chunks; a panel's length here is its longest series.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd

from bench import forecaster
from bench.runner import Cell

# Families whose cells refit many times and take seconds to minutes on real series.
SLOW_FAMILIES = ("rnn", "prophet")


def history_key(cell: Cell) -> tuple[str, str, str, str, str]:
    """What a cell's duration depends on; the seed is left out (seeds take about as long)."""
    split = cell.split.as_dict()
    return cell.dataset, cell.model, json.dumps(cell.params, sort_keys=True), json.dumps(split), cell.span


def longest_first(cells: Sequence[Cell], past_wall_s: dict[tuple, float],
                  series_lengths: dict[str, int]) -> list[Cell]:
    """``cells`` reordered: never-timed cells by the prior, then timed cells slowest first."""
    def family(cell: Cell) -> str:
        try:
            return forecaster.get_entry(cell.model).family
        except KeyError:
            return "external"

    unknown = [c for c in cells if history_key(c) not in past_wall_s]
    known = [c for c in cells if history_key(c) in past_wall_s]
    # sorted() is stable: ties keep the suite's order.
    unknown = sorted(unknown, key=lambda c: (family(c) not in SLOW_FAMILIES, -series_lengths.get(c.dataset, 0)))
    known = sorted(known, key=lambda c: -past_wall_s[history_key(c)])
    return unknown + known


def past_wall_times(cells_table: pd.DataFrame) -> dict[tuple, float]:
    """Median wall time per history key over stored cells that finished ``ok``."""
    ok = cells_table[cells_table["status"] == "ok"]
    if ok.empty:
        return {}
    keys = list(zip(ok["dataset"], ok["model"], ok["params"], ok["split"], ok["span"]))
    return pd.Series(ok["wall_time_s"].to_numpy(), index=pd.MultiIndex.from_tuples(keys)) \
        .groupby(level=[0, 1, 2, 3, 4]).median().to_dict()
