"""One page per dataset (``<dataset>.md``), and the section each dataset has on the leaderboard.

The section is a single series' (``series_page``) or a panel's (``panel_page``); the
page adds below it that kind's plots and tests, then what the fits chose and every
candidate of the dataset's selections (``sections``).
"""
from __future__ import annotations

import pandas as pd

from bench import analysis
from bench.report.panel_page import panel_body, panel_page_lines
from bench.report.rows import with_cell_defaults
from bench.report.sections import fit_info_lines, run_header, selection_lines
from bench.report.series_page import series_body, series_page_lines


def dataset_body(dataset: str, rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """The dataset's section, on the leaderboard and at the top of its page."""
    if analysis.is_panel(rows).any():
        return panel_body(dataset, rows, cells)
    return series_body(dataset, rows, cells)


def dataset_page(run: dict, table: pd.DataFrame, dataset: str, cells: pd.DataFrame | None = None,
                 per_step: pd.DataFrame | None = None) -> str:
    """The dataset's page: its leaderboard section, plots, tests, MAE by horizon step (with the
    run's ``per_step`` errors, ``mean_forecasts``), fitted choices and selections."""
    rows = table[table["dataset"] == dataset]
    lines = [f"# {dataset}", "", "[Back to the leaderboard](LEADERBOARD.md). " + run_header(run, None)[0], ""]
    lines += dataset_body(dataset, rows, cells)
    ran = rows[rows["n_ok"] > 0]
    if len(ran) and analysis.is_panel(rows).any():
        lines += panel_page_lines(dataset, rows)
    elif len(ran):
        lines += series_page_lines(table, dataset, rows, per_step)
    lines += fit_info_lines(ran)
    if cells is not None:
        lines += selection_lines(dataset, with_cell_defaults(cells))
    return "\n".join(lines)
