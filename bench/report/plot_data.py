"""What the plots are given: the rows and numbers behind each figure, no drawing (``figures`` draws).

``leading_rows`` picks the dataset's most accurate variants and naive (the forecast and
step plots, and the page's step table); ``forecast_plot_data`` assembles the arguments of
``plots.forecasts_figure``, with each target's timestamp from ``target_times``;
``rank_grid`` is the rank heat map's grid of variants by datasets.
"""
from __future__ import annotations

import pandas as pd

import numpy as np

from bench import analysis
from bench import quantiles as qs
from bench.report.formatting import fmt, unit_of
from bench.report.table import NAIVE_MODEL

N_PLOTTED = 3                        # forecast and per-step plots show this many best models (and naive)


def leading_rows(table: pd.DataFrame, dataset: str, top: int = N_PLOTTED) -> pd.DataFrame:
    """The dataset's ``top`` most accurate variants that ran, and naive: what the plots and step table show."""
    rows = table[(table["dataset"] == dataset) & (table["n_ok"] > 0)]
    chosen = rows.iloc[:top]
    naive = analysis.reference_row(rows, NAIVE_MODEL)
    if naive is not None and naive.name not in chosen.index:
        chosen = rows.loc[[*chosen.index, naive.name]]
    return chosen


def forecast_plot_data(table: pd.DataFrame, per_step: pd.DataFrame, dataset: str, colors: dict,
                       top: int = N_PLOTTED) -> dict:
    """The arguments of ``plots.forecasts_figure`` for one dataset: its best ``top`` variants and naive.

    Origins are placed by their offset into the test span (origin i at i * step), which
    is exact on any calendar, including trading days with holidays.
    """
    rows = table[(table["dataset"] == dataset) & (table["n_ok"] > 0)]
    chosen = leading_rows(table, dataset, top)
    naive = analysis.reference_row(rows, NAIVE_MODEL)
    horizon, step = int(rows["horizon"].iloc[0]), int(rows["step"].iloc[0])
    steps = per_step[per_step["dataset"] == dataset]
    origin_times = sorted(steps["origin_time"].unique())
    offset_of = {t: i * step for i, t in enumerate(origin_times)}
    n_targets = (len(origin_times) - 1) * step + horizon
    steps = steps.assign(origin_offset=steps["origin_time"].map(offset_of))
    actual = (steps.assign(target=steps["origin_offset"] + steps["step"] - 1)
              .groupby("target")["y_true"].first())
    forecasts, legend_colors, reference, bands = {}, {}, None, None
    quantile_columns = [c for c in qs.COLUMNS if c in steps]
    banded = analysis.best_of(chosen[np.isfinite(analysis.distribution_scores(chosen).astype(float))],
                              analysis.distribution_scores) if "sql" in chosen else None
    for r in chosen.itertuples():
        mine = steps[(steps["label"] == r.label) & (steps["model"] == r.model)
                     & (steps["params_text"] == r.params_text)]
        name = f"{r.variant} (MAE {fmt(r.mae)})"
        forecasts[name] = mine[["origin_offset", "step", "y_pred", *quantile_columns]]
        legend_colors[name] = colors[r.variant]
        if naive is not None and r.Index == naive.name:
            reference = name
        if banded is not None and r.Index == banded.name:
            bands = name
    seeded = bool((chosen["n_seeds"] > 1).any())
    return dict(dataset=dataset, unit=unit_of(dataset), actual=actual, forecasts=forecasts,
                times=target_times(pd.to_datetime(origin_times), step, n_targets, dataset),
                horizon=horizon, step=step, colors=legend_colors, reference=reference,
                note=("; seeded models: mean forecast over seeds" if seeded else "")
                + (f"\nshaded: the 80% and 95% intervals of {banded['variant']}, the best distribution (SQL) of "
                   "these" if bands else ""),
                bands=bands)


def target_times(origin_times: pd.DatetimeIndex, step: int, n_targets: int, dataset: str) -> pd.Series:
    """The timestamp of every offset of the test span, indexed by offset.

    The store keeps each origin's first forecast time; the points between origins (when
    ``step`` > 1) and after the last one are counted on from the previous origin at the
    catalog's frequency. On a trading-day calendar that count ignores market holidays,
    which only matters for those in-between points (horizon-1 origins are all exact).
    """
    from bench import data
    from bench.errors import BenchError

    try:
        freq = pd.tseries.frequencies.to_offset(data.get_dataset(dataset).frequency)
    except BenchError:      # not in the catalog (a user's series not registered yet): the origins' own spacing
        freq = _origin_frequency(origin_times, step)
    times = []
    for offset in range(n_targets):
        i = min(offset // step, len(origin_times) - 1)     # the last origin at or before it
        k = offset - i * step
        times.append(origin_times[i] + k * freq if k else origin_times[i])
    return pd.Series(pd.DatetimeIndex(times), index=range(n_targets))


def _origin_frequency(origin_times: pd.DatetimeIndex, step: int):
    """The series' frequency from its origins: the calendar's (``MS``: month starts) where pandas can name it
    and origins are one point apart, else their mean spacing over ``step``."""
    if step == 1 and len(origin_times) >= 3:
        with pd.option_context("future.infer_freq_returns_offset", True):
            named = pd.infer_freq(origin_times)
        if named is not None:
            return pd.tseries.frequencies.to_offset(named)
    gap = (origin_times[-1] - origin_times[0]) / max(1, (len(origin_times) - 1) * step)
    return pd.tseries.frequencies.to_offset(gap if len(origin_times) > 1 else "D")


def rank_grid(table: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranks of variants (rows, overall order) by datasets, and what to write where there is no rank."""
    names, datasets = list(summary["variant"]), sorted(table["dataset"].unique())
    ranks = table.pivot(index="variant", columns="dataset", values="rank").reindex(index=names, columns=datasets)
    status = (table.pivot(index="variant", columns="dataset", values="status")
              .reindex(index=names, columns=datasets).fillna("not run"))
    return ranks.astype(float), status
