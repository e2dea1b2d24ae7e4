"""The verdict on a single-series dataset, and every sentence about what its tests rest on.

Which model wins, whether it beats naive significantly (Diebold-Mariano, Holm-adjusted),
which models the 95% model confidence set keeps beside it, and what the winner costs;
where the origins hold too few non-overlapping windows, no p-value at all and why. The
numbers are the table's (``table.aggregate``, tests by ``analysis.significance``).
A panel's verdict is ``panel_page.panel_verdict``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench import analysis, stats
from bench.report.formatting import SIGNIFICANCE, fmt, fmt_params, fmt_time, p_phrase
from bench.report.table import NAIVE_MODEL, best_row


def nominal_dm_horizon(rows: pd.DataFrame) -> int | None:
    """The DM horizon of a dataset's tests: how many consecutive origins share a forecast target."""
    ran = rows[rows["n_ok"] > 0]
    return analysis.overlap_of(ran) if len(ran) else None


def tested_row(rows: pd.DataFrame) -> pd.Series | None:
    """A row that carries the dataset's test layout (dm_df, dm_windows), or None where nothing was tested."""
    tested = rows[rows["dm_df"].notna()]
    return tested.iloc[0] if len(tested) else None


def too_few_windows_text(rows: pd.DataFrame) -> str:
    """The verdict's plain statement where the origins hold too few windows for any test; else ""."""
    r = tested_row(rows)
    if r is None or r["dm_df"] >= stats.MIN_DEGREES_OF_FREEDOM:
        return ""
    h = nominal_dm_horizon(rows)
    n = int(rows.loc[rows["n_ok"] > 0, "n_origins"].max())
    return (f"{int(r['test_size'])} test points with a {int(r['horizon'])}-step horizon hold "
            f"{int(r['dm_windows'])} non-overlapping windows: too few to call a difference significant "
            f"(a test here needs at least {2 * stats.MIN_DEGREES_OF_FREEDOM * h} origins; there are {n})")


def test_layout_text(rows: pd.DataFrame) -> str:
    """What the tests rest on: ``109 origins, each sharing targets with the next 11 (10 non-overlapping
    windows), 4 degrees of freedom``."""
    r = tested_row(rows)
    n = int(rows.loc[rows["n_ok"] > 0, "n_origins"].max())
    h = nominal_dm_horizon(rows)
    overlap = ("whose forecasts share no target" if h == 1 else
               f"each sharing targets with the next {h - 1} ({int(r['dm_windows'])} non-overlapping windows)")
    return f"{n} origins {overlap}, {int(r['dm_df'])} degrees of freedom"


def verdict(rows: pd.DataFrame, unit: str = "") -> str:
    """Which model wins the dataset, whether it beats naive significantly, and what it costs.

    Every claim carries what its p-value rests on: the comparison with naive is
    Holm-adjusted over every model the winner was picked from, "cannot tell apart" and
    "significantly worse" come from the model confidence set, and with too few windows
    no p-value is given at all.
    """
    best = best_row(rows)
    if best is None:
        return "Every model that ran here was chosen on the test span: no honest verdict."
    ran = rows[analysis.honest(rows)]
    unit_text = f" {unit}" if unit else ""
    n = best["n_params"]
    cost = (f"Cost: {fmt_time(best['fit_time_s'])} s per fit, {fmt_time(best['predict_time_s'])} s per "
            f"forecast, {fmt_params(n, n)} fitted parameter{'' if n == 1 else 's'}.")
    naive = analysis.reference_row(ran, NAIVE_MODEL)
    head = f"**Winner: {best['variant']}**, MAE {fmt(best['mae'])}{unit_text}"
    few = too_few_windows_text(rows)
    if naive is None:
        against = "naive was not run, so there is no test against it."
    elif best["model"] == NAIVE_MODEL:
        against = "no model beats repeating the last value."
    else:
        ratio = f"{fmt(best['mae_vs_naive'])} x naive's {fmt(naive['mae'])}"
        p, raw = best["dm_p_vs_naive_holm"], best["dm_p_vs_naive"]
        if few:
            against = f"{ratio}; no test against naive: {few}."
        elif np.isnan(p):
            against = f"{ratio}; the DM test against naive could not be computed."
        else:
            family = int(rows["dm_p_vs_naive_holm"].notna().sum())
            how = (f"DM test, Holm-adjusted for the {family} models compared with naive: {p_phrase(p)}, "
                   f"unadjusted {p_phrase(raw)}; {test_layout_text(rows)}")
            significant = p < SIGNIFICANCE and best["dm_stat_vs_naive"] < 0
            against = (f"{ratio}; **significantly better than naive** ({how})." if significant else
                       f"{ratio}; **not significantly better than naive** at 5% ({how}).")
    close = _confidence_set_text(ran, best)
    if few and few not in against:                 # naive won or did not run: say why no model is tested
        close = f"No p-values: {few}."
    return " ".join(part for part in (f"{head}; {against}", cost, close) if part)


def _confidence_set_text(ran: pd.DataFrame, best: pd.Series) -> str:
    """The models the data cannot tell apart from the winner: the 95% model confidence set."""
    tested = ran[ran["mcs_p"].notna()]
    if len(tested) < 2:
        return ""
    others = tested.drop(index=best.name, errors="ignore")
    kept = others[others["mcs_p"] >= SIGNIFICANCE]
    if kept.empty:
        return (f"Every other model is significantly worse than the winner: the 95% model confidence set over "
                f"all {len(tested)} holds the winner alone.")
    names = ", ".join(f"{r.variant} ({p_phrase(r.mcs_p)})" for r in kept.itertuples())
    return (f"Not significantly worse than the winner (the 95% model confidence set over all {len(tested)} "
            f"models, MCS p-values): {names}.")
