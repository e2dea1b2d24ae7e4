"""The report's figures, drawn by ``bench.plots`` from what ``plot_data`` and ``table`` computed.

Per single-series dataset: forecasts against the actuals (with the best distribution's
80% and 95% intervals), accuracy against fit time, MAE by horizon step; per panel: accuracy
against fit time and the mean ranks over series with Nemenyi's critical difference; per
dataset where a model made a distribution: the calibration of its intervals; overall:
accuracy against fit time and the rank heat map.
``render_plots`` gives every PNG of a run by file name; the others return one figure,
for the pages and for ``bench.api``'s notebook methods. Each variant keeps one colour
across a run's figures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench import analysis, metrics
from bench.report.formatting import OVERALL_FILES, dataset_files, p_phrase, unit_of
from bench.report.plot_data import N_PLOTTED, forecast_plot_data, leading_rows, rank_grid
from bench.report.table import NAIVE_MODEL, has_relative_mae, overall


def forecasts_plot(table: pd.DataFrame, per_step: pd.DataFrame, dataset: str, colors: dict | None = None,
                   top: int = N_PLOTTED, series: str | None = None):
    """Figure: actual values and the forecasts of the dataset's best ``top`` variants and naive.

    A panel's forecasts are drawn one series at a time: ``series`` names it (a ValueError
    says so where it is missing or unknown); the variants are the panel's best overall.
    """
    from bench import plots

    colors = colors or _colors(table)
    mine = per_step[per_step["dataset"] == dataset]
    ids = mine["series_id"].unique() if "series_id" in mine else np.array([""])
    if len(ids) > 1 or series:
        if series not in set(ids):
            shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
            raise ValueError(f"{dataset} is a panel of {len(ids)} series: name one of them with series= "
                             f"({shown}), got {series!r}")
        per_step = mine[mine["series_id"] == series]
    figure = plots.forecasts_figure(**forecast_plot_data(table, per_step, dataset, colors, top))
    if series:
        figure.axes[0].set_title(figure.axes[0].get_title().replace(f"{dataset}:", f"{dataset}, series {series}:", 1),
                                 fontsize=10)
    return figure


def cost_plot(table: pd.DataFrame, dataset: str | None = None, colors: dict | None = None):
    """Figure: MAE against fit time for one dataset, or relative MAE against median fit time overall."""
    from bench import plots

    summary = overall(table)
    colors = colors or _colors(table)
    if dataset is not None and analysis.is_panel(table[table["dataset"] == dataset]).any():
        ran = table[(table["dataset"] == dataset) & (table["n_ok"] > 0)]
        points = pd.DataFrame({"name": ran["variant"], "cost_s": ran["fit_time_s"],
                               "error": analysis.scores(ran), "n_params": ran["n_params"]})
        return plots.cost_accuracy_figure(
            points, colors=colors, title=f"{dataset}: accuracy vs fit time (lower left is better)",
            xlabel="mean wall time of one fit of one series (s, log scale)",
            ylabel="MASE (mean over series)")
    if dataset is not None:
        ran = table[(table["dataset"] == dataset) & (table["n_ok"] > 0)]
        unit = unit_of(dataset)
        points = pd.DataFrame({"name": ran["variant"], "cost_s": ran["fit_time_s"], "error": ran["mae"],
                               "n_params": ran["n_params"]})
        return plots.cost_accuracy_figure(
            points, colors=colors, title=f"{dataset}: accuracy vs fit time (lower left is better)",
            xlabel="mean wall time of one fit (s, log scale)", ylabel=f"MAE ({unit})" if unit else "MAE")
    points = pd.DataFrame({"name": summary["variant"], "cost_s": summary["median_fit_time_s"],
                           "error": summary["geomean_mae_vs_seasonal_naive"],
                           "n_params": summary["n_params_max"]})
    return plots.cost_accuracy_figure(
        points, colors=colors, title="All datasets: accuracy vs fit time (lower left is better)",
        xlabel="median over datasets of the mean wall time of one fit (s, log scale)",
        ylabel="MAE / seasonal naive MAE (geometric mean over datasets)", reference=(1.0, "seasonal naive"))


def steps_plot(table: pd.DataFrame, per_step: pd.DataFrame, dataset: str, colors: dict | None = None):
    """Figure: MAE at each horizon step of the dataset's leading variants and naive."""
    from bench import plots

    colors = colors or _colors(table)
    leading = leading_rows(table, dataset)
    steps = analysis.mae_by_step(per_step[per_step["dataset"] == dataset], leading)
    naive = analysis.reference_row(leading, NAIVE_MODEL)
    return plots.mae_by_step_figure(steps, dataset=dataset, unit=unit_of(dataset), colors=colors,
                                    reference=None if naive is None else naive["variant"])


def series_ranks_plot(table: pd.DataFrame, dataset: str, colors: dict | None = None):
    """Figure: a panel's mean ranks over series with Nemenyi's critical difference (a Demsar diagram)."""
    from bench import plots

    rows = table[(table["dataset"] == dataset) & table["series_mean_rank"].notna()]
    first = rows.iloc[0]
    return plots.critical_difference_figure(
        pd.Series(rows["series_mean_rank"].to_numpy(), index=rows["variant"]),
        critical_difference=float(first["nemenyi_cd"]),
        title=f"{dataset}: mean rank by {metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]} over "
              f"{int(first['series_compared'])} series (1 = best), Friedman {p_phrase(first['friedman_p'])}",
        colors=colors or _colors(table))


def calibration_plot(table: pd.DataFrame, per_step: pd.DataFrame, dataset: str, colors: dict | None = None):
    """Figure: the observed coverage of each central interval against its nominal level, a line per model that
    made a distribution; None where none did."""
    from bench import plots
    from bench.report.rows import INSIDE

    rows = table[(table["dataset"] == dataset) & analysis.honest(table)]
    mine = per_step[per_step["dataset"] == dataset]
    coverage = analysis.interval_coverage(mine, rows, INSIDE)
    if coverage.empty:
        return None
    naive = analysis.reference_row(rows, NAIVE_MODEL)
    n_targets = int(mine.groupby([c for c in ("series_id", "origin_time", "step") if c in mine]).ngroups)
    return plots.calibration_figure(coverage, dataset=dataset, colors=colors or _colors(table),
                                    reference=None if naive is None else naive["variant"], n_targets=n_targets)


def _colors(table: pd.DataFrame) -> dict:
    """One colour per variant, in overall order, then the rows the overall table leaves out."""
    from bench import plots

    return plots.variant_colors(list(dict.fromkeys([*overall(table)["variant"], *table["variant"]])))


def ranks_plot(table: pd.DataFrame):
    """Figure: the rank heat map of variants (best overall first) by datasets."""
    from bench import plots

    return plots.rank_heatmap_figure(*rank_grid(table, overall(table)))


def render_plots(table: pd.DataFrame, per_step: pd.DataFrame) -> dict[str, bytes]:
    """Every PNG of a run, by file name."""
    from bench import plots

    summary = overall(table)
    colors = _colors(table)
    out = {}
    for dataset, rows in table.groupby("dataset", sort=True):
        if not (rows["n_ok"] > 0).any():
            continue
        files = dataset_files(dataset)
        calibration = calibration_plot(table, per_step, dataset, colors)
        if calibration is not None:
            out[files["calibration"]] = plots.png_bytes(calibration)
        if analysis.is_panel(rows).any():
            out[files["cost"]] = plots.png_bytes(cost_plot(table, dataset, colors))
            if rows["series_mean_rank"].notna().sum() >= 2:
                out[files["ranks"]] = plots.png_bytes(series_ranks_plot(table, dataset, colors))
            continue
        out[files["forecasts"]] = plots.png_bytes(forecasts_plot(table, per_step, dataset, colors))
        out[files["cost"]] = plots.png_bytes(cost_plot(table, dataset, colors))
        out[files["steps"]] = plots.png_bytes(steps_plot(table, per_step, dataset, colors))
    if has_relative_mae(summary):
        out[OVERALL_FILES["cost"]] = plots.png_bytes(cost_plot(table, None, colors))
    out[OVERALL_FILES["ranks"]] = plots.png_bytes(ranks_plot(table))
    return out
