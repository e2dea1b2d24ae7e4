"""How the pages and plots write a number, and the names of the files they go in.

Values to four significant figures (``fmt``) or M4's three decimals (``fmt3``), seconds,
p-values (marked ``*`` below ``SIGNIFICANCE``), ranks, parameter counts, bootstrap
intervals and shares; the file names of a dataset's page and plots and of the overall
plots; a dataset's unit from its catalog entry. Every function takes the value it writes:
nothing here reads a table.
"""
from __future__ import annotations

import numpy as np

SIGNIFICANCE = 0.05                  # p-values below this are marked, and the confidence set is 95%
OVERALL_FILES = {"cost": "cost_vs_accuracy.png", "ranks": "rank_heatmap.png"}


def dataset_files(dataset: str) -> dict[str, str]:
    return {"page": f"{dataset}.md", "forecasts": f"{dataset}_forecasts.png", "cost": f"{dataset}_cost.png",
            "steps": f"{dataset}_steps.png", "ranks": f"{dataset}_ranks.png",
            "calibration": f"{dataset}_calibration.png"}


def unit_of(dataset: str) -> str:
    """The dataset's unit from its catalog entry; empty for a dataset the catalog lacks."""
    from bench import data
    from bench.errors import BenchError

    try:
        return data.get_dataset(dataset).unit
    except BenchError:
        return ""


def fmt(value, std=np.nan) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    text = f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return text if np.isnan(std) else f"{text} ± {std:.2g}"


def fmt_time(seconds) -> str:
    if seconds is None or np.isnan(seconds):
        return "-"
    return f"{seconds:.0f}" if seconds >= 100 else f"{seconds:.3g}"   # 1651, not 1.65e+03


def fmt_p(p) -> str:
    """A p-value to three decimals, with ``*`` where it is below the significance level."""
    if p is None or np.isnan(p):
        return "-"
    mark = "*" if p < SIGNIFICANCE else ""
    return ("<0.001" if p < 0.001 else f"{p:.3f}") + mark


def p_phrase(p) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_rank(rank) -> str:
    if rank is None or np.isnan(rank):
        return ""
    return f"{rank:.0f}" if rank == round(rank) else f"{rank:.1f}"


def fmt_params(low, high) -> str:
    if np.isnan(low):
        return "-"
    return f"{int(low):,}" if low == high else f"{int(low):,}–{int(high):,}"


def fmt_interval(low, high) -> str:
    return "-" if np.isnan(low) or np.isnan(high) else f"{low:.3g}–{high:.3g}"


def fmt_share(share) -> str:
    if np.isnan(share):
        return "-"
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def fmt3(value, std=np.nan) -> str:
    """M4's tables' three decimals, with the seeds' standard deviation where there is one."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.3f}" if np.isnan(std) else f"{value:.3f} ± {std:.2g}"
