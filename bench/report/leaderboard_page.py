"""LEADERBOARD.md: the run's header, how to read the tables, the overall table, and every dataset's section.

The overall table (``overall_table``) has one row per variant across the datasets, from
``table.overall``, with the bootstrap's word on how sure it is (``certainty_lines``);
each dataset's section is the one its page opens with (``dataset_pages.dataset_body``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import analysis
from bench.report.dataset_pages import dataset_body
from bench.report.formatting import OVERALL_FILES, dataset_files, fmt, fmt_interval, fmt_params, fmt_share, fmt_time
from bench.report.sections import run_header
from bench.report.table import REFERENCE_MODEL, has_relative_mae, overall

HOW_TO_READ = """How to read:

- Every model is walked forward over the last points of each series and never sees a value at or
  after the origin it forecasts from. Errors are averaged over every origin and horizon step.
- **Overall**: rows are ordered by *MAE / seasonal naive*, the geometric mean over datasets of a
  variant's MAE divided by seasonal naive's (below 1: better than repeating the last season; fev orders
  its leaderboard by the same ratio), so the first row is the overall verdict; its *95% interval* comes
  from a bootstrap of each dataset's origins, and *lowest in* is the share of bootstrap draws in which it
  has the lowest relative MAE of the variants that ran everywhere. *mean rank* is the mean over datasets
  of a variant's rank by MAE (1 = most accurate; it orders the table where seasonal naive did not run);
  *wins* counts the datasets where its MAE is the lowest. Variants that ran on fewer datasets are listed
  after those that ran on all.
- **Per dataset**: MAE and RMSE are in the series' unit, MAPE and sMAPE in percent (MAPE reads n/a where
  test actuals come near zero, with the reason under the table); MASE divides each error by the
  in-sample seasonal-naive MAE of the history at its origin; *MAE / naive* above 1 means worse than
  repeating the last observed value. Seeded models show mean ± standard deviation over seeds.
- **Tests** compare one loss per origin: the absolute error averaged over the horizon steps (and over
  seeds: the seeds' absolute errors are averaged, not their forecasts). Forecasts from h consecutive
  origins share targets, so their losses are correlated: the Diebold-Mariano statistic's variance is
  the mean of B = floor(n / 2h) squared cosine projections of the loss differences (n origins), and it
  is compared with Student t with B degrees of freedom; this held its 5% size in simulations of these
  protocols, where the usual HAC variance did not. *p vs naive (Holm)* is that test against naive,
  Holm-adjusted over every model compared with naive, because the winner was picked from them. *MCS p*
  is the model confidence set p-value (Hansen, Lunde and Nason 2011, all models at once): below 0.05
  (marked *) a model is outside the 95% set of models the data cannot tell apart from the best.
  Fewer than 4h origins are too few windows for any test, and then no p-value is shown.
- **Forecast distributions**: every model forecasts quantiles at 13 levels (its own, or conformal ones
  calibrated on the validation span before the test span). *MSIS* is M4's scaled interval score of the
  95% interval (width plus 40 times any miss, in units of the in-sample seasonal-naive error); *cover
  80%/95%* is the share of targets inside the interval (nominal: 80%, 95%); *SQL* is fev's scaled
  quantile loss over the levels 0.1 ... 0.9 (with every quantile at the point forecast it equals MASE),
  *WQL* the same loss over the mean |actual|. Lower MSIS, SQL and WQL are better; a coverage is good
  near its nominal value. The per-origin quantile loss gets the same tests as the absolute error.
  *distribution skill (SQL)* is fev's skill score: one minus the geometric mean over datasets of SQL
  divided by seasonal naive's (each ratio clipped to [0.001, 5]); above 0, better than seasonal naive.
- **Cost**: fit_time_s is the mean wall time of one fit, predict_time_s of one predict call (one
  origin, its quantiles included); n_params counts fitted parameters; refit says when the model was
  re-estimated."""
PANEL_HOW_TO_READ = """- **Panels** (a dataset of many series, such as M4 Hourly): every series is walked on its own (M4:
  one origin, the end of its training part); its metrics are averaged over seeds first, then over the
  series (*mean*, as M4 reports) with the *median* beside. sMAPE and MASE are M4's; *OWA* is M4's overall
  weighted average, the mean of sMAPE and MASE each divided by Naive2's, on the panel means (only where
  naive2 ran). A panel's variants are ranked, and its overall *MAE / seasonal naive* is computed, by mean
  MASE (each series' error in units of its own in-sample seasonal-naive error): a mean MAE over series
  would be dominated by the largest series. Only the variants that finished on every series are ranked,
  so that every mean compared is over the same series. The overall table counts a panel as one dataset. Panels get
  no per-origin tests (one origin per series); instead the models are ranked by sMAPE within each
  series (as M4 ranks): Friedman's test says whether the mean ranks differ, and Nemenyi's critical
  difference which pairs do, every pair accounted for (Demsar 2006). *published* columns hold the values
  the dataset's organisers published for the same method, where the catalog carries them. A panel's
  *ACD* is M4's |coverage of the 95% interval - 0.95|, the coverage pooled over series and steps; its
  WQL is pooled as fev pools a task (each series weighted by its mean |actual|)."""


def leaderboard(run: dict, table: pd.DataFrame, cells: pd.DataFrame | None = None) -> str:
    how = HOW_TO_READ + ("\n" + PANEL_HOW_TO_READ if analysis.is_panel(table).any() else "")
    lines = ["# Forecasting leaderboard", "", *(f"- {line}" for line in run_header(run, cells)), "", how,
             "", "## Overall", ""]
    summary = overall(table)
    lines += [overall_table(summary), "", *certainty_lines(summary, analysis.is_panel(table).any())]
    if has_relative_mae(summary):
        lines += [f"![Accuracy against fit time across datasets]({OVERALL_FILES['cost']})", ""]
    elif (table["model"] == REFERENCE_MODEL).any() and (table.loc[table["model"] == REFERENCE_MODEL, "n_ok"] > 0).any():
        lines += [f"{REFERENCE_MODEL}'s MAE is 0 wherever it ran (a series that repeats its season exactly), so no "
                  "MAE relative to it is finite and there is no overall accuracy-versus-cost plot.", ""]
    else:
        lines += [f"{REFERENCE_MODEL} did not run, so there is no relative MAE and no overall "
                  "accuracy-versus-cost plot.", ""]
    lines += [f"![Rank of each model on each dataset]({OVERALL_FILES['ranks']})", ""]
    for dataset, rows in table.groupby("dataset", sort=True):
        files = dataset_files(dataset)
        lines += [f"## {dataset}", ""]
        links = f"[Page]({files['page']})"
        if (rows["n_ok"] > 0).any() and analysis.is_panel(rows).any():
            links += (f" · [mean ranks over series]({files['ranks']}) · "
                      f"[accuracy vs fit time]({files['cost']})")
        elif (rows["n_ok"] > 0).any():
            links += (f" · [forecasts vs actual]({files['forecasts']}) · "
                      f"[accuracy vs fit time]({files['cost']})")
        lines += [links, ""]
        lines += dataset_body(dataset, rows, cells)
    return "\n".join(lines)


def overall_table(frame: pd.DataFrame) -> str:
    body = [[r.variant, f"{r.datasets_ok} of {r.datasets_total}", fmt(r.mean_rank),
             fmt(r.geomean_mae_vs_seasonal_naive), fmt_interval(r.rel_mae_lo, r.rel_mae_hi),
             fmt_share(r.lowest_share), r.wins, _skill(r.sql_skill, r.sql_datasets, r.datasets_ok),
             fmt_time(r.median_fit_time_s), fmt_params(r.n_params_min, r.n_params_max)]
            for r in frame.itertuples()]
    headers = ["model", "ran on", "mean rank (MAE)", "MAE / seasonal naive (geo. mean)", "95% interval",
               "lowest in", "wins", "distribution skill (SQL)", "median fit_time_s", "n_params"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _skill(skill, n_datasets, n_ran) -> str:
    """fev's skill score, with the number of datasets it is over where that is fewer than the variant ran on."""
    if skill is None or not np.isfinite(skill):
        return "-"
    return fmt(skill) + (f" ({int(n_datasets)} of {int(n_ran)})" if n_datasets < n_ran else "")


def certainty_lines(summary: pd.DataFrame, panels: bool = False) -> list[str]:
    """In words: which models the bootstrap cannot order by relative MAE, and how fragile a mean rank is."""
    contenders = summary[summary["lowest_share"] >= 0.025].sort_values("lowest_share", ascending=False,
                                                                       kind="stable")
    if contenders.empty:
        return []
    if len(contenders) == 1:
        claim = (f"{contenders['variant'].iloc[0]} has the lowest relative MAE in "
                 f"{fmt_share(contenders['lowest_share'].iloc[0])} of the draws.")
    else:
        shares = ", ".join(f"{r.variant} {fmt_share(r.lowest_share)}" for r in contenders.itertuples())
        claim = f"The data cannot say which of these has the lowest relative MAE (lowest in: {shares} of the draws)."
    n_datasets = int(summary["datasets_total"].max())
    drawn = ("each dataset's origins (circular blocks as long as the forecasts' overlap; a panel's series, one by "
             "one)" if panels else "each dataset's origins (circular blocks as long as the forecasts' overlap)")
    return [f"How sure: *95% interval* and *lowest in* come from {analysis.BOOTSTRAP_DRAWS} bootstrap draws of "
            f"{drawn}; they show how much "
            f"these test spans pin the numbers down, not how the models would fare on other data. {claim} "
            f"With {n_datasets} dataset{'s' if n_datasets != 1 else ''}, one place gained on one dataset moves a "
            f"mean rank by {1 / n_datasets:.2g}.", ""]
