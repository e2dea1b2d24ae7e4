"""Leaderboard plots: forecasts against actuals (with one model's 80% and 95% intervals), MAE by
horizon step, accuracy against fit time, a rank heat map, interval calibration.

Figures are built on ``matplotlib.figure.Figure`` directly, never through pyplot: no
global backend is chosen, nothing opens a window, and a notebook's own backend is left
alone (a returned Figure displays inline there). Every figure is drawn in matplotlib's
default style, so a user's matplotlibrc cannot change the files, and PNGs are written
without the "Software" version stamp, so re-rendering a run gives the same bytes.
"""
from __future__ import annotations

import contextlib
import io
import math
from typing import Iterator, Sequence

import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

from bench import quantiles as qs
from bench import stats

DPI = 110
MIN_TIME_S = 1e-6           # a log axis cannot show 0 s; faster fits are drawn here
ACTUAL_COLOR = "black"
MARKERS = "osD^vP*Xh<>p"
LINESTYLES = ["-", (0, (5, 1.5)), (0, (3, 1, 1, 1)), (0, (1, 1))]


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with matplotlib.style.context("default"):
        yield


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, deterministic for the same figure (no version or date stamp)."""
    buf = io.BytesIO()
    # A legend kept with ``ax.add_artist`` is not counted by the tight bounding box unless named.
    legends = [a for ax in fig.axes for a in [*ax.artists, ax.get_legend()] if isinstance(a, Legend)]
    with _style():
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", bbox_extra_artists=legends,
                    metadata={"Software": None})
    return buf.getvalue()


def variant_colors(names: Sequence[str]) -> dict[str, tuple]:
    """One colour and marker per variant, stable across every plot of a run."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: (cmap(i % cmap.N), MARKERS[i % len(MARKERS)]) for i, name in enumerate(names)}


def tile_origins(origin_offsets: Sequence[int], horizon: int) -> list[int]:
    """Origins whose forecast paths follow one another without overlapping.

    Drawing every origin's path would stack ``horizon`` lines on each point; taking the
    first origin, then the first one at or after the end of its path, and so on, shows
    genuine ``horizon``-step forecasts that tile the test span.
    """
    chosen: list[int] = []
    for offset in sorted(origin_offsets):
        if not chosen or offset >= chosen[-1] + horizon:
            chosen.append(offset)
    return chosen


def forecasts_figure(*, dataset: str, unit: str, actual: pd.Series, forecasts: dict[str, pd.DataFrame],
                     times: pd.Series, horizon: int, step: int, colors: dict, reference: str | None = None,
                     note: str = "", bands: str | None = None) -> Figure:
    """Actual values and the chosen models' forecast paths over the test span.

    ``actual`` is indexed by the target's offset (points after the first origin);
    ``forecasts`` maps a legend name to rows (origin_offset, step, y_pred, and the quantile
    columns of ``bench.quantiles`` where the model made a distribution); ``times`` maps every
    offset of the test span to its timestamp. The ``reference`` forecast (naive) is dashed.
    ``bands`` names the one model whose 80% and 95% intervals are shaded along its paths
    (more than one model's would hide each other).
    """
    origin_offsets = sorted(set().union(*(set(rows["origin_offset"]) for rows in forecasts.values())))
    shown = tile_origins(origin_offsets, horizon)
    few_points = len(actual) <= 80
    with _style():
        fig = Figure(figsize=(10, 4.2))
        ax = fig.add_subplot()
        if len(shown) <= 40 and horizon > 1:
            for offset in shown:
                ax.axvline(times[offset], color="0.85", linewidth=0.8, zorder=0)
        ax.plot(times[actual.index].to_numpy(), actual.to_numpy(), color=ACTUAL_COLOR, linewidth=1.6,
                marker="o" if few_points else None, markersize=3, label="actual", zorder=3)
        for i, (name, rows) in enumerate(forecasts.items()):
            color, marker = colors.get(name, ("tab:blue", "o"))
            # One-step forecasts are joined into one line; longer paths are drawn apart, so the
            # jump where a new origin's forecast starts stays visible.
            paths = [rows] if horizon == 1 else [rows[rows["origin_offset"] == o] for o in shown]
            for k, path in enumerate(paths):
                path = path.sort_values(["origin_offset", "step"])
                x = times[path["origin_offset"].to_numpy() + path["step"].to_numpy() - 1].to_numpy()
                # Two models with the same forecasts would hide each other: each its own dash pattern,
                # and markers at points offset by model, so both stay visible.
                ax.plot(x, path["y_pred"].to_numpy(), color=color, linewidth=1.3, marker=marker, markersize=3.5,
                        markevery=None if few_points else (i % 4, max(4, len(x) // 10)),
                        linestyle="--" if name == reference else LINESTYLES[i % len(LINESTYLES)],
                        label=name if k == 0 else None, zorder=2)
                if name == bands:
                    for nominal, alpha in ((95, 0.13), (80, 0.22)):
                        low, high = (qs.column(level) for level in qs.INTERVALS[nominal])
                        ax.fill_between(x, path[low].to_numpy(dtype=float), path[high].to_numpy(dtype=float),
                                        color=color, alpha=alpha, linewidth=0, zorder=1,
                                        label=f"{name}: {nominal}% interval" if k == 0 else None)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        # No offset text: it names the last tick's month, not the span's; the x label gives the span.
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
        first, last = _span_text(times[actual.index[0]], times[actual.index[-1]])
        ax.set_xlabel(f"time (test span: {len(actual)} points, {first} to {last})")
        ax.set_ylabel(f"{dataset} ({unit})" if unit else dataset)
        if horizon == 1:
            what = "one-step-ahead forecasts from every origin"
        elif step < horizon:
            what = (f"{horizon}-step forecast paths from every {math.ceil(horizon / step)}-th origin "
                    f"(grey lines), so the paths do not overlap")
        else:
            what = f"{horizon}-step forecast paths from every origin (grey lines)"
        ax.set_title(f"{dataset}: forecasts vs actual over the test span\n{what}{note}", fontsize=10)
        ax.grid(True, color="0.93")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def mae_by_step_figure(steps: pd.DataFrame, *, dataset: str, unit: str, colors: dict,
                       reference: str | None = None) -> Figure:
    """MAE (y) at each horizon step (x) of each model: ``steps`` is indexed by step, one column per model.

    The ``reference`` model (naive) is dashed. With one step the models are points.
    """
    with _style():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.add_subplot()
        for name in steps.columns:
            color, marker = colors.get(name, ("tab:blue", "o"))
            ax.plot(steps.index.to_numpy(), steps[name].to_numpy(), color=color, marker=marker, markersize=4,
                    linewidth=1.4, linestyle="--" if name == reference else "-", label=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(steps.index) == 1:
            ax.set_xlim(steps.index[0] - 1, steps.index[0] + 1)
        ax.set_xlabel("horizon step (points ahead of the origin)")
        ax.set_ylabel(f"MAE ({unit})" if unit else "MAE")
        ax.set_title(f"{dataset}: MAE by horizon step, mean over origins", fontsize=10)
        ax.grid(True, color="0.93")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _span_text(first: pd.Timestamp, last: pd.Timestamp) -> tuple[str, str]:
    daily = first == first.normalize() and last == last.normalize()
    return tuple(t.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M") for t in (first, last))


def _marker_area(n_params: float) -> float:
    """Marker area in pt^2, growing with log10 of the parameter count (0 params: the smallest)."""
    n = 0.0 if n_params is None or not np.isfinite(n_params) else max(float(n_params), 0.0)
    return 25.0 + 35.0 * math.log10(1.0 + n)


def cost_accuracy_figure(points: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, colors: dict,
                         reference: tuple[float, str] | None = None) -> Figure:
    """Error against fit time (log scale), point area by parameter count, Pareto front marked.

    ``points`` has columns name, cost_s, error, n_params (one row per model variant).
    """
    points = points[np.isfinite(points["error"].astype(float))].reset_index(drop=True)
    cost = points["cost_s"].astype(float).clip(lower=MIN_TIME_S).fillna(MIN_TIME_S)
    front = stats.pareto_front(cost, points["error"])
    with _style():
        fig = Figure(figsize=(9, 5))
        ax = fig.add_subplot()
        ax.set_xscale("log")
        if front.any():
            order = np.argsort(cost[front].to_numpy(), kind="stable")
            fx = cost[front].to_numpy()[order]
            fy = points.loc[front, "error"].to_numpy(dtype=float)[order]
            ax.step(fx, fy, where="post", color="0.4", linewidth=1.2, linestyle=":", zorder=1,
                    label="Pareto front (nothing is both faster and more accurate)")
        for i, r in points.iterrows():
            color, marker = colors.get(r["name"], ("tab:blue", "o"))
            ax.scatter(cost[i], r["error"], s=_marker_area(r["n_params"]), color=color, marker=marker,
                       edgecolors="black" if front[i] else "none", linewidths=1.2, alpha=0.9, zorder=3,
                       label=r["name"] + (" (front)" if front[i] else ""))
        if reference is not None:
            ax.axhline(reference[0], color="0.5", linewidth=0.8, linestyle="--", zorder=0)
            # At the right edge: the cheap baselines that sit on this line are at the left.
            ax.annotate(reference[1], xy=(0.99, reference[0]), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8, color="0.35", ha="right")
        errors = points["error"].astype(float)
        spread = errors.max() / errors.min() if len(errors) and errors.min() > 0 else 1.0
        if spread > 10:     # one poor model would otherwise squash the good ones into a line
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ylabel += ", log scale"
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", color="0.93")
        _pad_log_axis(ax, cost)
        models = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                           title="model (marker area: n_params)", title_fontsize=8)
        ax.add_artist(models)
        ax.legend(handles=_size_handles(points["n_params"]), loc="upper center",
                  bbox_to_anchor=(0.5, -0.13), ncol=4, fontsize=8, frameon=False, title="n_params",
                  title_fontsize=8)
    return fig


def _pad_log_axis(ax, cost: pd.Series) -> None:
    lo, hi = float(cost.min()), float(cost.max())
    if np.isfinite(lo) and np.isfinite(hi):      # no point to draw: matplotlib's own limits
        ax.set_xlim(lo / 3.0, hi * 3.0)


def _size_handles(n_params: pd.Series) -> list[Line2D]:
    finite = n_params[np.isfinite(n_params.astype(float))].astype(float)
    top = float(finite.max()) if len(finite) else 0.0
    examples = [0.0] + [10.0 ** k for k in range(1, 9) if 10.0 ** k <= max(top, 1.0) * 3][-3:]
    return [Line2D([], [], linestyle="none", marker="o", color="0.6",
                   markersize=math.sqrt(_marker_area(n)), label=f"{int(n):,}") for n in examples]


def rank_heatmap_figure(ranks: pd.DataFrame, status: pd.DataFrame) -> Figure:
    """Models (rows, best first) by datasets (columns), coloured by rank; cells without a rank say why.

    ``status`` has the same shape: ``ok``, ``failed``, ``skipped``, or ``not run``.
    """
    import matplotlib

    n_rows, n_cols = ranks.shape
    values = ranks.to_numpy(dtype=float)
    with _style():
        fig = Figure(figsize=(1.9 + 1.6 * n_cols, 1.4 + 0.38 * n_rows))
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["RdYlGn_r"].with_extremes(bad="0.85")
        top = max(2.0, float(np.nanmax(values))) if np.isfinite(values).any() else 2.0
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=1, vmax=top, aspect="auto")
        for i in range(n_rows):
            for j in range(n_cols):
                v = values[i, j]
                text = (f"{v:.0f}" if v == round(v) else f"{v:.1f}") if np.isfinite(v) else status.iat[i, j]
                ax.text(j, i, text, ha="center", va="center", fontsize=8 if np.isfinite(v) else 7,
                        color="black" if np.isfinite(v) else "0.3")
        ax.set_xticks(range(n_cols), list(ranks.columns), rotation=20, ha="right", fontsize=9)
        ax.set_yticks(range(n_rows), list(ranks.index), fontsize=9)
        ax.set_xlabel("dataset")
        ax.set_ylabel("model (best overall at the top)")
        ax.set_title("Rank by MAE of each model on each dataset (1 = most accurate)", fontsize=10)
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
        bar.set_label("rank by MAE")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    return fig


def nemenyi_cliques(ranks: Sequence[float], critical_difference: float) -> list[tuple[int, int]]:
    """Runs of models (first, last index into ``ranks``, sorted ascending) whose mean ranks all lie within
    the critical difference: the groups the data cannot tell apart. A run inside a longer one is left out."""
    cliques: list[tuple[int, int]] = []
    reach = -1
    for i, r in enumerate(ranks):
        j = max(k for k in range(i, len(ranks)) if ranks[k] - r <= critical_difference)
        if j > i and j > reach:
            cliques.append((i, j))
            reach = j
    return cliques


def critical_difference_figure(mean_ranks: pd.Series, *, critical_difference: float, title: str,
                               colors: dict) -> Figure:
    """Mean ranks over series on one axis (1 = best, at the left), Nemenyi's critical difference as a bar
    above it, and thick bars joining the models whose mean ranks are within it (Demsar 2006, figure 1).

    ``mean_ranks`` maps a model's name to its mean rank. The better half of the models is labelled on
    the left, the worse half on the right.
    """
    ranks = mean_ranks.sort_values(kind="stable")
    k = len(ranks)
    low, high = 1, max(k, math.ceil(float(ranks.max())))
    cliques = nemenyi_cliques(ranks.to_numpy(), critical_difference)
    half = math.ceil(k / 2)
    # One y unit is one inch: rows of labels 0.22 in apart below the axis and the clique bars.
    clique_y = [-0.15 - 0.12 * i for i in range(len(cliques))]
    first_label_y = min(clique_y, default=0.0) - 0.3
    bottom = first_label_y - 0.22 * (half - 1) - 0.25
    # Room for the labels beside the axis, in rank units: about 0.07 in per character at 8 pt.
    label_in = 0.3 + 0.07 * max(len(f"{name} ({r:.2f})") for name, r in ranks.items())
    width_in, axis_in = 10.0, 10.0 - 2 * label_in
    per_in = (high - low + 0.6) / max(axis_in, 2.0)
    with _style():
        fig = Figure(figsize=(width_in, 1.0 - bottom + 0.4))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 / (1.0 + 0.4 / (1.0 - bottom))))
        ax.set_axis_off()
        ax.set_xlim(low - 0.3 - label_in * per_in, high + 0.3 + label_in * per_in)
        ax.set_ylim(bottom, 1.0)
        ax.hlines(0.0, low, high, color="black", linewidth=1.0)
        for r in range(low, high + 1):
            ax.vlines(r, 0.0, 0.08, color="black", linewidth=1.0)
            ax.text(r, 0.12, str(r), ha="center", va="bottom", fontsize=8)
        if np.isfinite(critical_difference):
            ax.hlines(0.55, low, low + critical_difference, color="black", linewidth=1.5)
            ax.vlines([low, low + critical_difference], 0.5, 0.6, color="black", linewidth=1.0)
            ax.text(low + critical_difference / 2, 0.62, f"CD = {critical_difference:.2f} (Nemenyi, 5%)",
                    ha="center", va="bottom", fontsize=8)
        values = ranks.to_numpy()
        for (a, b), y in zip(cliques, clique_y):
            ax.hlines(y, values[a] - 0.04, values[b] + 0.04, color="black", linewidth=3.5)
        for i, (name, r) in enumerate(ranks.items()):
            left = i < half
            y = first_label_y - 0.22 * (i if left else k - 1 - i)
            x = low - 0.2 if left else high + 0.2
            color = colors.get(name, ("black", "o"))[0]
            ax.plot([r, r, x], [0.0, y, y], color=color, linewidth=1.0)
            ax.text(x - 0.05 if left else x + 0.05, y, f"{name} ({r:.2f})", ha="right" if left else "left",
                    va="center", fontsize=8)
        ax.set_title(f"{title}\nbars join models whose mean ranks differ by at most the critical difference: "
                     "the data cannot tell them apart", fontsize=9)
    return fig


def calibration_figure(coverage: pd.DataFrame, *, dataset: str, colors: dict, reference: str | None = None,
                       n_targets: int | None = None) -> Figure:
    """Observed coverage (y) of each central interval against its nominal level (x), a line per model.

    ``coverage`` is indexed by the nominal coverage (0.2 ... 0.95), one column per model. A
    calibrated model follows the diagonal; below it its intervals are too narrow, above it
    too wide. ``n_targets`` (the actuals each point is a share of) sets the grey band of
    binomial sampling noise (two standard errors) around the diagonal.
    """
    nominal = coverage.index.to_numpy(dtype=float)
    with _style():
        fig = Figure(figsize=(7.5, 5))
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="0.5", linewidth=1.0, linestyle=":", label="calibrated", zorder=1)
        if n_targets:
            grid = np.linspace(0.0, 1.0, 101)
            noise = 2.0 * np.sqrt(grid * (1.0 - grid) / n_targets)
            ax.fill_between(grid, grid - noise, grid + noise, color="0.9", linewidth=0, zorder=0,
                            label=f"sampling noise of {n_targets:,} independent targets (2 s.e.)")
        for name in coverage.columns:
            color, marker = colors.get(name, ("tab:blue", "o"))
            ax.plot(nominal, coverage[name].to_numpy(dtype=float), color=color, marker=marker, markersize=4,
                    linewidth=1.3, linestyle="--" if name == reference else "-", label=name, zorder=2)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("nominal coverage of the central interval")
        ax.set_ylabel("share of actuals inside it")
        ax.set_title(f"{dataset}: interval calibration over the test span\nbelow the diagonal: intervals "
                     "too narrow; above: too wide", fontsize=10)
        ax.grid(True, color="0.93")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return fig
