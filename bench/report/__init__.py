"""Reports from the store: results.csv, LEADERBOARD.md, one page per dataset, and plots.

Every table and plot is a pure function of the stored rows of one run (plus the unit
of each dataset from its catalog entry, and for a panel the accuracy its organisers
published, a catalog file checked by its sha256); timestamps and versions come from the
run, so re-rendering a stored run reproduces the files byte for byte. A panel (a dataset
whose cells carry more than one series id) gets an M4-style table and a comparison over
series instead of the per-origin tests; a run without one renders exactly as before.
``write_reports`` is the one entry point; ``bench.api`` and ``python -m bench report`` call it.

The package keeps numbers apart from words, and each page or table kind in a module of its
own; data flows one way, from the numbers to the pages to the files:

- numbers only: ``rows`` (which stored cells the tables describe; per-step errors and the
  tests' losses), ``table`` (``aggregate``: the summary table and results.csv;
  ``overall``), ``published`` (a panel's published accuracy), ``plot_data`` (what each
  figure is given), all from ``bench.analysis``;
- how values are written: ``formatting`` (and the file names);
- pages: ``leaderboard_page`` (LEADERBOARD.md), ``dataset_pages`` (``<dataset>.md``, and a
  dataset's section of the leaderboard), ``series_page`` and ``series_verdict`` (a single
  series), ``panel_page`` (a panel), ``sections`` (what they share);
- figures: ``figures`` (drawn by ``bench.plots``).

``__all__`` keeps every name the single ``bench/report.py`` had, so callers keep writing
``report.aggregate``, ``report.leaderboard``...
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bench.files import replace_set
from bench.report.dataset_pages import dataset_page
from bench.report.figures import cost_plot, forecasts_plot, ranks_plot, render_plots, series_ranks_plot, steps_plot
from bench.report.formatting import (OVERALL_FILES, SIGNIFICANCE, dataset_files, fmt, fmt3, fmt_p, fmt_params, fmt_rank,
                                     fmt_time, unit_of)
from bench.report.leaderboard_page import HOW_TO_READ, PANEL_HOW_TO_READ, certainty_lines, leaderboard, overall_table
from bench.report.panel_page import panel_table, panel_verdict
from bench.report.plot_data import N_PLOTTED, forecast_plot_data, leading_rows, rank_grid, target_times
from bench.report.published import PUBLISHED_METRICS, PUBLISHED_NAMES, published_rows, published_values
from bench.report.rows import VARIANT_KEYS, losses_of, mean_forecasts, origin_losses, test_cells, with_cell_defaults
from bench.report.sections import not_ok_lines, protocol_text
from bench.report.series_page import dataset_table
from bench.report.series_verdict import nominal_dm_horizon, too_few_windows_text, verdict
from bench.report.table import (METRIC_NAMES, NAIVE_MODEL, PANEL_NOT_OK_SHOWN, REFERENCE_MODEL, SUMMARY_COLUMNS,
                                aggregate, best_row, fit_info_text, overall, results_csv, variant_name)

__all__ = [
    "render", "write_reports",
    # numbers
    "METRIC_NAMES", "NAIVE_MODEL", "PANEL_NOT_OK_SHOWN", "REFERENCE_MODEL", "SUMMARY_COLUMNS", "aggregate", "best_row",
    "fit_info_text", "overall", "results_csv", "variant_name",
    "VARIANT_KEYS", "losses_of", "mean_forecasts", "origin_losses", "test_cells", "with_cell_defaults",
    "PUBLISHED_METRICS", "PUBLISHED_NAMES", "published_rows", "published_values",
    "N_PLOTTED", "forecast_plot_data", "leading_rows", "rank_grid", "target_times",
    # words
    "OVERALL_FILES", "SIGNIFICANCE", "dataset_files", "fmt", "fmt3", "fmt_p", "fmt_params", "fmt_rank", "fmt_time",
    "unit_of",
    "HOW_TO_READ", "PANEL_HOW_TO_READ", "certainty_lines", "leaderboard", "overall_table",
    "dataset_page", "dataset_table", "nominal_dm_horizon", "too_few_windows_text", "verdict",
    "not_ok_lines", "protocol_text", "panel_table", "panel_verdict",
    # figures
    "cost_plot", "forecasts_plot", "ranks_plot", "render_plots", "series_ranks_plot", "steps_plot",
]


def render(run: dict, cells: pd.DataFrame, forecasts: pd.DataFrame, *, plots: bool = True) -> dict[str, str | bytes]:
    """Every report file of a run, by file name: a pure function of the stored rows (and of
    ``plots``: without them, the pages lose their image lines instead of linking to nothing)."""
    table = aggregate(cells, forecasts, run)
    cells = with_cell_defaults(cells)
    per_step = mean_forecasts(test_cells(cells), forecasts)
    files: dict[str, str | bytes] = {"LEADERBOARD.md": leaderboard(run, table, cells),
                                     "results.csv": results_csv(table)}
    for dataset in sorted(table["dataset"].unique()):
        files[dataset_files(dataset)["page"]] = dataset_page(run, table, dataset, cells, per_step)
    if plots:
        files.update(render_plots(table, per_step))
    return {name: _without_missing_images(text, files) if name.endswith(".md") else text
            for name, text in files.items()}


# A page's image: a line of its own, then a blank line; a link to a plot follows another link.
_IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\(([^)\s]+\.png)\)\n\n?", re.MULTILINE)
_PLOT_LINK = re.compile(r" · \[[^\]]*\]\(([^)\s]+\.png)\)")


def _without_missing_images(text: str, names) -> str:
    """The page without its images and plot links whose PNG is not in this set of files."""
    keep = lambda m: m.group(0) if m.group(1) in names else ""
    kept = _PLOT_LINK.sub(keep, _IMAGE_LINE.sub(keep, text))
    return kept.rstrip("\n") + "\n" if kept != text and text.endswith("\n") else kept


def write_reports(store, run_id: int, out_dir: Path, *, plots: bool = True) -> list[Path]:
    """Render a run and replace the report set in ``out_dir`` as one set (``files.replace_set``):
    never half of it, and no file of an earlier set beside it (older bench kept no list of its
    files, so the overall plots' names are removed too when this set has none). ``plots=False``
    writes the tables and pages only (``--no-plots``): no PNG, and no page links to one."""
    run = store.run(run_id)
    files = render(run, store.cells(run_id), store.forecasts(run_id), plots=plots)
    return replace_set(Path(out_dir), files, also_remove=OVERALL_FILES.values())
