"""The forecast distributions' part of a dataset's section: a verdict, the table, how each was made.

Single series and panels alike, for every variant that made a distribution: M4's MSIS and
the coverage of the 80% and 95% intervals (and ACD), fev's SQL and WQL, SQL relative to
seasonal naive's, and on a single series the tests of the per-origin quantile loss
(Diebold-Mariano against naive, Holm-adjusted, and the model confidence set) that the
point forecasts' absolute errors get. A panel shows the published MSIS and ACD beside ours
where its catalog entry carries them. The numbers are ``table``'s (``ql_*`` columns from
``analysis.significance``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis, metrics
from bench.report.formatting import SIGNIFICANCE, fmt, fmt3, fmt_p, fmt_rank, fmt_time, p_phrase
from bench.report.published import PUBLISHED_DISTRIBUTION
from bench.report.table import NAIVE_MODEL


def with_distribution(rows: pd.DataFrame) -> pd.DataFrame:
    """The honest rows that made a forecast distribution (a finite SQL), best SQL first (the unranked last: on a
    panel, those that did not finish on every series)."""
    mine = rows[analysis.honest(rows) & np.isfinite(rows[analysis.DISTRIBUTION_SCORE].astype(float))]
    return mine.sort_values("dist_rank", kind="stable")


def distribution_lines(rows: pd.DataFrame, panel: bool) -> list[str]:
    """The section's part on distributions: its verdict, its table, and how each model made its quantiles."""
    mine = with_distribution(rows)
    if mine.empty:
        return ["No model made a forecast distribution here.", ""] if (rows["n_ok"] > 0).any() else []
    lines = ["**Forecast distributions.** " + distribution_verdict(rows), "",
             panel_distribution_table(rows) if panel else series_distribution_table(rows), ""]
    if not panel and mine["ql_mcs_p"].notna().any():
        lines += ["*p vs naive (Holm)* and *MCS p* test the per-origin quantile loss (over the levels 0.1 ... 0.9, "
                  "averaged over the horizon and seeds) as the point table tests the absolute error.", ""]
    return lines + method_lines(rows)


def distribution_verdict(rows: pd.DataFrame) -> str:
    """The best distribution by SQL, how its intervals covered, how it compares with naive's and the point winner's."""
    mine = with_distribution(rows)
    best = mine.iloc[0]
    panel = analysis.is_panel(rows).any()
    n = int(best["n_origins"] * best["horizon"] * (best.get("n_series_ok", 1) if panel else 1))
    head = (f"Best by SQL: **{best['variant']}**, SQL {fmt(best['sql'])} (MSIS {fmt(best['msis'])}); its 95% "
            f"interval held {_share(best['coverage_95'])} and its 80% interval {_share(best['coverage_80'])} of the "
            f"{n:,} forecast targets.")
    parts = [head]
    naive = analysis.reference_row(mine, NAIVE_MODEL, analysis.distribution_scores)
    if naive is not None and naive.name != best.name:
        ratio = f"{fmt(best['sql'] / naive['sql'])} x naive's SQL"
        p, raw = best["ql_dm_p_vs_naive_holm"], best["ql_dm_p_vs_naive"]
        if panel or np.isnan(p):
            parts.append(f"It scores {ratio}.")
        else:
            family = int(rows["ql_dm_p_vs_naive_holm"].notna().sum())
            how = f"DM test of the quantile loss, Holm-adjusted over {family} models: {p_phrase(p)}, unadjusted {p_phrase(raw)}"
            better = p < SIGNIFICANCE and best["ql_dm_stat_vs_naive"] < 0
            parts.append(f"It scores {ratio}; " + ("**significantly better than naive's distribution**" if better else
                                                    "not significantly better than naive's distribution at 5%")
                         + f" ({how}).")
    kept = mine[(mine["ql_mcs_p"] >= SIGNIFICANCE) & (mine.index != best.name)] if not panel else mine.iloc[:0]
    if not panel and mine["ql_mcs_p"].notna().sum() >= 2:
        parts.append("The 95% model confidence set of the quantile loss keeps "
                     + (", ".join(f"{r.variant} ({p_phrase(r.ql_mcs_p)})" for r in kept.itertuples()) + " beside it."
                        if len(kept) else "it alone."))
    point = analysis.best_of(rows[analysis.honest(rows)])
    if point is not None and point.name != best.name and point.name in mine.index:
        parts.append(f"The most accurate point forecaster, {point['variant']}, ranks {fmt_rank(point['dist_rank'])} "
                     f"by SQL ({fmt(point['sql'])}); its 95% interval held {_share(point['coverage_95'])}.")
    elif point is not None and point.name not in mine.index:
        parts.append(f"The most accurate point forecaster, {point['variant']}, made no distribution.")
    return " ".join(parts)


def series_distribution_table(rows: pd.DataFrame) -> str:
    mine = with_distribution(rows)
    body = [[fmt_rank(r.dist_rank), r.label, fmt(r.msis, r.msis_std), _cover(r.coverage_80, r.coverage_80_std),
             _cover(r.coverage_95, r.coverage_95_std), fmt(r.sql, r.sql_std), fmt(r.wql, r.wql_std),
             fmt(r.sql_vs_seasonal_naive), fmt_p(r.ql_dm_p_vs_naive_holm), fmt_p(r.ql_mcs_p),
             fmt_time(r.quantile_time_s)]
            for r in mine.itertuples()]
    headers = ["rank (SQL)", "model", "MSIS", "cover 80%", "cover 95%", "SQL", "WQL", "SQL / seasonal naive",
               "p vs naive (Holm)", "MCS p", "quantiles_s"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def panel_distribution_table(rows: pd.DataFrame) -> str:
    mine = with_distribution(rows)
    shown = [m for m in PUBLISHED_DISTRIBUTION if f"published_{m}" in rows and rows[f"published_{m}"].notna().any()]
    body = [[fmt_rank(r.dist_rank), r.label, fmt3(r.msis, r.msis_std), fmt3(r.acd), _cover(r.coverage_80),
             _cover(r.coverage_95), fmt3(r.sql, r.sql_std), fmt3(r.wql, r.wql_std), fmt(r.sql_vs_seasonal_naive),
             *(fmt3(getattr(r, f"published_{m}")) for m in shown), fmt_time(r.quantile_time_s)]
            for r in mine.itertuples()]
    headers = ["rank (SQL)", "model", "MSIS mean", "ACD", "cover 80%", "cover 95%", "SQL mean", "WQL (pooled)",
               "SQL / seasonal naive", *(f"published {metrics.BY_NAME[m].header}" for m in shown), "quantiles_s"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def method_lines(rows: pd.DataFrame) -> list[str]:
    """How each model made its quantiles, models sharing a method on one line; and those that made none."""
    ran = rows[rows["n_ok"] > 0]
    methods: dict[str, list[str]] = {}
    for r in ran.itertuples():
        methods.setdefault(r.intervals or "", []).append(r.label)
    lines = [f"- {method}: {', '.join(labels)}" for method, labels in methods.items() if method]
    if "" in methods:
        lines.append(f"- no distribution: {', '.join(methods[''])}")
    return ["How the distributions were made:", "", *lines, ""]


def _cover(value, std=np.nan) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.1%}" if np.isnan(std) else f"{value:.1%} ± {std:.1%}"


def _share(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1%}"
