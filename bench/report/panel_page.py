"""A panel's section (on the leaderboard and its page) and the rest of its page.

The section: protocol, verdict (``panel_verdict``: the lowest mean MASE, and which
models the comparison over series tells apart), the M4-style table (``panel_table``:
means and medians over series, OWA, the published values, the mean rank over series)
with its notes and the published values of methods not run here, the forecast
distributions (``distributions``: M4's interval track beside its published values), and
the cells that did not finish ok. Below it on the page: the plots and the comparison over series
(Friedman, Nemenyi). The numbers are ``analysis``'s and ``published``'s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis, metrics
from bench.report.formatting import (SIGNIFICANCE, dataset_files, fmt3, fmt_params, fmt_rank, fmt_time, p_phrase,
                                     unit_of)
from bench.report.distributions import distribution_lines, with_distribution
from bench.report.published import PUBLISHED_METRICS, published_rows, published_values
from bench.report.rows import test_cells
from bench.report.sections import not_ok_section, protocol_text
from bench.report.table import PANEL_NOT_OK_SHOWN, best_row


def _panel_protocol(ran: pd.DataFrame, unit: str) -> str:
    r = ran.iloc[0]
    walk = (f"one origin, {int(r['test_size'])} points before its end, forecast {int(r['horizon'])} steps ahead "
            "from everything before it" if r["n_origins"] == 1 else protocol_text(r))
    return f"Protocol: {int(r['n_series'])} series, each on its own: {walk}." + (f" Unit: {unit}." if unit else "")


def panel_body(dataset: str, rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """A panel's section: protocol, verdict, the M4-style table, published values not run here, cells not ok."""
    ran = rows[rows["n_ok"] > 0]
    lines = ([_panel_protocol(ran, unit_of(dataset)), "", panel_verdict(rows), ""] if len(ran) else
             ["No model ran on this dataset.", ""])
    values = published_values(dataset)
    lines += [panel_table(rows, values), "", *_panel_notes(rows, values, cells)]
    lines += distribution_lines(rows, panel=True)
    return lines + not_ok_section(rows, cells)


def panel_table(rows: pd.DataFrame, values: pd.DataFrame | None = None) -> str:
    """The M4-style table: per variant the panel means (± seeds) and medians of the metrics whose mean over
    series means something, the panel-level ones (OWA), the published values, the mean rank over series
    by sMAPE, fit time per series and parameters."""
    values = published_values(rows["dataset"].iloc[0]) if values is None else values
    shown = [m for m in PUBLISHED_METRICS if f"published_{m}" in rows and rows[f"published_{m}"].notna().any()]
    best = best_row(rows)
    body = []
    for r in rows.itertuples():
        cells = []
        for m in metrics.PANEL_MEANS:
            cells += [fmt3(getattr(r, m), getattr(r, f"{m}_std")), fmt3(getattr(r, f"{m}_median"))]
        cells += [fmt3(getattr(r, d.name)) for d in metrics.OF_PANEL]
        cells += [fmt3(getattr(r, f"published_{m}")) for m in shown]
        body.append([
            fmt_rank(r.rank), f"{r.label} [{r.selection}]" if r.selection else r.label, r.params_text or "-",
            *cells, "-" if np.isnan(r.series_mean_rank) else f"{r.series_mean_rank:.2f}",
            fmt_time(r.fit_time_s), "-" if np.isnan(r.n_params) else f"{int(r.n_params):,}",
            ("best, " if best is not None and r.Index == best.name else "")
            + (r.status if r.n_seeds == 1 else f"{r.status} ({r.n_seeds} seeds)"),
        ])
    headers = ["rank", "model", "params"]
    for m in metrics.PANEL_MEANS:
        header = metrics.BY_NAME[m].header
        headers += [f"{header} mean{_over(rows, m)}", f"{header} median"]
    headers += [d.header for d in metrics.OF_PANEL]
    headers += [f"published {metrics.BY_NAME[m].header}" for m in shown]
    headers += [f"mean rank over series ({metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]})",
                "fit_time_s", "n_params (median)", "status"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _compared(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a panel ranks: those that ran on every series, whose means are over the same series."""
    return rows[(rows["n_ok"] > 0) & analysis.complete(rows)]


def _defined_on(rows: pd.DataFrame, metric: str) -> int | None:
    """Over how many series the compared rows' means of a metric that may be undefined are (None: the metric is
    always defined, or no compared row has it)."""
    ran, column = _compared(rows), f"{metric}_n_series"
    if column not in ran:
        return None
    counts = set(ran.loc[np.isfinite(ran[metric].astype(float)), column].astype(int))
    return counts.pop() if len(counts) == 1 else None      # one: the data decide, for every model alike


def _over(rows: pd.DataFrame, metric: str) -> str:
    """' (k of n series)' where the compared rows' means of ``metric`` leave out series where it is undefined."""
    k, ran = _defined_on(rows, metric), _compared(rows)
    return "" if k is None or k == ran["n_series"].iloc[0] else f" ({k} of {int(ran['n_series'].iloc[0])} series)"


def _undefined_lines(rows: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    """Per reason, the metrics whose panel means leave out series where the data leave them undefined, and which."""
    ran = _compared(rows)
    if ran.empty:
        return []
    n = int(ran["n_series"].iloc[0])
    mine = None if cells is None else test_cells(cells[cells["dataset"] == rows["dataset"].iloc[0]])
    groups: dict[tuple, list[str]] = {}
    for d in metrics.PER_CELL:
        k = _defined_on(rows, d.name) if d.panel_mean and d.undefined_where else None
        if k is not None and k < n:
            ids = () if mine is None else tuple(analysis.undefined_series(mine, d.name))
            groups.setdefault((n - k, ids, d.undefined_where), []).append(d.name)
    lines = []
    for (gone, ids, where), names in groups.items():
        headers = [metrics.BY_NAME[m].header for m in names]
        listed = ", ".join(headers[:-1]) + " and " + headers[-1] if len(headers) > 1 else headers[0]
        more = " ..." if len(ids) > PANEL_NOT_OK_SHOWN else ""
        named = f" ({', '.join(ids[:PANEL_NOT_OK_SHOWN])}{more})" if ids else ""
        ranked = " So are OWA and the rank, which read the mean MASE." if analysis.SCORE["panel"] in names else ""
        lines.append(f"{listed} {'is' if len(names) == 1 else 'are'} undefined on {gone} of the {n} series{named} for "
                     f"every model: {where}. {'Its' if len(names) == 1 else 'Their'} means and medians are over the "
                     f"other {n - gone}, the same series for every model, as fev's metrics leave out what is not "
                     f"finite (M4's series have none).{ranked}")
    return lines


def _panel_notes(rows: pd.DataFrame, values: pd.DataFrame, cells: pd.DataFrame | None = None) -> list[str]:
    """What the panel table's numbers rest on, and the published values of methods not run here."""
    lines = []
    ran = rows[rows["n_ok"] > 0]
    if len(ran):
        owa = metrics.OF_PANEL[0] if metrics.OF_PANEL else None
        lines.append(
            "Means and medians are over series of each series' mean over seeds (± the standard deviation over "
            "seeds of the panel mean); *rank* orders the models that finished on every series by mean MASE"
            + (f"; {owa.header} is relative to {owa.reference}'s panel means"
               + ("" if rows[owa.name].notna().any() else f", and {owa.reference} did not run here") if owa else "")
            + ". fit_time_s is, as in every table, the mean wall time of one fit: of one series (mean over series "
              "and fits); for a global model, its share of one fit on the whole panel (that fit's time over the "
              "number of series).")
        lines += _undefined_lines(rows, cells)
        incomplete = ran[ran["n_series_ok"] < ran["n_series"]]
        if len(incomplete):
            lines.append("Means over fewer series (a model that did not finish on every series): " + ", ".join(
                f"{r.variant} ({int(r.n_series_ok)} of {int(r.n_series)})" for r in incomplete.itertuples())
                + ". They get no rank, OWA or ratio to another model's: means over other series are no comparison.")
    matched = set(published_rows(rows, values).values())
    others = values.loc[[m for m in values.index if m not in matched]]
    if len(others):
        body = [[m, *(fmt3(others.loc[m, c]) for c in others.columns)] for m in others.index]
        lines.append("Published values of methods not run here, for reference:\n\n" + tabulate(
            body, headers=["method", *(metrics.BY_NAME[c].header for c in others.columns)], tablefmt="github",
            disable_numparse=True))
    return [line for text in lines for line in (text, "")]


def panel_verdict(rows: pd.DataFrame) -> str:
    """A panel's verdict: the lowest mean MASE, and which models the comparison over series tells apart.

    The comparison ranks the models by sMAPE within each series where all of them ran;
    Friedman's test says whether the mean ranks differ at all, and Nemenyi's critical
    difference which models are worse than the best-ranked one, every pair accounted for.
    """
    best = best_row(rows)
    if best is None:
        if (analysis.honest(rows) & (rows["n_ok"] > 0)).any():
            return ("No model finished on every series: their means are over different series, so none is ranked "
                    "(the notes under the table say over how many series each is).")
        return "Every model that ran here was chosen on the test span: no honest verdict."
    level = "".join(f", {d.header} {fmt3(best[d.name])}" for d in metrics.OF_PANEL if np.isfinite(best[d.name]))
    n, k = int(best["n_series"]), _defined_on(rows, "mase")
    over = ("" if k is None or k == n else
            f"; MASE over {k} of them, where it is defined (see the notes under the table)")
    head = (f"**Lowest mean MASE: {best['variant']}**, {fmt3(best['mase'])} (sMAPE {fmt3(best['smape'])}%{level}) "
            f"over {n} series{over}.")
    fair = rows[analysis.honest(rows) & (rows["n_ok"] > 0)]
    compared = fair[fair["series_mean_rank"].notna()].sort_values("series_mean_rank", kind="stable")
    left_out = fair[fair["series_mean_rank"].isna()]
    rank_metric = metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]
    if len(compared) < 2:
        middle = "Fewer than two models finished on every series: no comparison over series."
    else:
        top, first = compared.iloc[0], compared.iloc[0]["series_mean_rank"]
        p, cd = top["friedman_p"], top["nemenyi_cd"]
        n, k = int(top["series_compared"]), len(compared)
        middle = (f"Ranked by {rank_metric} within each of the {n} series (as M4 ranks), **{top['variant']}** has "
                  f"the best mean rank of the {k} models that finished on every series ({first:.2f})")
        if np.isnan(p):
            middle += "; with fewer than two series there is no test."
        elif p >= SIGNIFICANCE:
            middle += (f"; Friedman's test finds no difference between their mean ranks ({p_phrase(p)}): the "
                       "data cannot tell these models apart.")
        else:
            others = compared.iloc[1:]
            close = others[others["series_mean_rank"] - first <= cd]
            worse = others[others["series_mean_rank"] - first > cd]
            names = lambda frame: ", ".join(f"{r.variant} ({r.series_mean_rank:.2f})" for r in frame.itertuples())
            middle += (f"; Friedman's test rejects equal mean ranks ({p_phrase(p)}), and with Nemenyi's critical "
                       f"difference of {cd:.2f} ranks at 5% (every pair accounted for) ")
            middle += (f"the data cannot tell it apart from {names(close)}" if len(close) else
                       "every other model is significantly worse")
            middle += f"; significantly worse: {names(worse)}." if len(close) and len(worse) else "."
    if len(left_out):
        middle += " Not compared (did not finish on every series): " + ", ".join(
            f"{r.variant} ({int(r.n_series_ok)} of {int(r.n_series)})" for r in left_out.itertuples()) + "."
    n_params = best["n_params"]
    cost = (f"Cost of {best['variant']}: {fmt_time(best['fit_time_s'])} s per fit of one series, "
            f"{fmt_params(n_params, n_params)} fitted parameter{'' if n_params == 1 else 's'} (median over series).")
    return " ".join([head, middle, cost])


def panel_page_lines(dataset: str, rows: pd.DataFrame) -> list[str]:
    """The panel page's plots and the comparison over series behind the verdict."""
    files = dataset_files(dataset)
    lines = [f"![{dataset}: mean ranks over series with Nemenyi's critical difference]({files['ranks']})", "",
             f"![{dataset}: accuracy vs fit time]({files['cost']})", ""]
    if len(with_distribution(rows)):
        lines += [f"![{dataset}: interval calibration]({files['calibration']})", ""]
    compared = rows[rows["series_mean_rank"].notna()].sort_values("series_mean_rank", kind="stable")
    if len(compared) < 2:
        return lines
    top = compared.iloc[0]
    cd, first = top["nemenyi_cd"], top["series_mean_rank"]
    body = [[r.variant, f"{r.series_mean_rank:.2f}", f"{r.series_mean_rank - first:+.2f}",
             "-" if r.Index == top.name else ("yes" if r.series_mean_rank - first > cd else "no")]
            for r in compared.itertuples()]
    friedman = top["friedman_p"]
    lines += [f"Comparison over series: {int(top['series_compared'])} series, {len(compared)} models ranked by "
              f"{metrics.BY_NAME[analysis.SERIES_RANK_METRIC].header.split()[0]} within each series (ties share their mean "
              f"rank). Friedman's test (Iman-Davenport F): {p_phrase(friedman)}. Nemenyi's critical difference at "
              f"5%: {cd:.3f} ranks; two models whose mean ranks differ by more are significantly different.", "",
              tabulate(body, headers=["model", "mean rank", "vs best", "significantly worse than the best"],
                       tablefmt="github", disable_numparse=True), ""]
    return lines
