"""Panel reports: M4-style tables, OWA, the comparison over series, and what a panel leaves unchanged."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from bench import analysis, metrics, report, stats
from bench import quantiles as qs
from bench.runner import params_text
from tests.test_report import RUN, cell_rows

SEASON, HORIZON = 4, 4


def panel_frames(dataset, series, models, seeds=(0,)):
    """Cells and forecasts frames shaped as the store returns them for a panel: one origin per series.

    ``series`` maps an id to (training values, test actuals); ``models`` maps a label to
    (model, forecast(train, seed) -> array or a failure reason, params).
    """
    split = json.dumps({"horizon": HORIZON, "test_size": HORIZON, "step": 1, "refit_every": 1, "window": None})
    cells, forecasts = [], []
    for label, (model, forecast, params) in models.items():
        for sid, (train, actual) in series.items():
            for seed in seeds:
                cell_id = len(cells) + 1
                row = dict(cell_id=cell_id, dataset=dataset, model=model, label=label, params=json.dumps(params),
                           params_text=params_text(params), seed=seed, split=split, season_length=SEASON,
                           series_id=sid, fit_cpu_s=0.0, update_time_s=0.0, predict_cpu_s=0.0, n_updates=0,
                           wall_time_s=1.0)
                pred = forecast(train, seed)
                if isinstance(pred, str):
                    cells.append({**row, "status": "failed", "reason": pred})
                    continue
                pred, q = pred if isinstance(pred, tuple) else (pred, None)     # (forecast, its quantiles)
                scale = metrics.seasonal_naive_scale(train, SEASON)
                scores = metrics.score(y_true=actual, y_pred=pred, scales=[scale], q_pred=q)
                cells.append({**row, "status": "ok", "reason": "", **scores, "fit_time_s": 0.2,
                              "predict_time_s": 0.01, "n_fits": 1, "n_origins": 1, "n_params": 3,
                              "intervals": "" if q is None else "normal (test)", "quantile_time_s": 0.0,
                              "actual_abs_mean": float(np.mean(np.abs(actual)))})
                origin = str(pd.Timestamp("1970-01-01") + pd.Timedelta(hours=len(train)))
                forecasts += [dict(cell_id=cell_id, origin_time=origin, step=s + 1, y_true=actual[s], y_pred=pred[s],
                                   mase_scale=scale,
                                   **dict(zip(qs.COLUMNS, q[s] if q is not None else [np.nan] * len(qs.LEVELS))))
                              for s in range(HORIZON)]
    return pd.DataFrame(cells), pd.DataFrame(forecasts)


def make_series(n_series, seed=0):
    """Seasonal series of different scales: a season of 4, noise, 5 seasons of history and one to forecast."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_series):
        level = 10.0 ** rng.uniform(1, 4)
        values = level * (1 + 0.3 * np.tile([0.0, 1.0, 0.5, -0.5], 6)) + rng.normal(0, 0.05 * level, 24)
        out[f"S{i + 1}"] = (values[:20], values[20:])
    return out


def naive(train, seed):
    return np.repeat(train[-1], HORIZON)


def seasonal_naive(train, seed):
    return train[-SEASON:].copy()


def naive_with_intervals(train, seed):
    """Naive with R's random-walk intervals: sigma from the one-step changes, times sqrt(h)."""
    sigma = np.sqrt(np.mean(np.diff(train) ** 2))
    point = naive(train, seed)
    return point, qs.normal(point, sigma * np.sqrt(np.arange(1, HORIZON + 1)))


def naive2(train, seed):            # here only a third forecaster between the two naives
    return 0.5 * (naive(train, seed) + seasonal_naive(train, seed))


def noisy(train, seed):             # seasonal naive with seed noise: a seeded model
    return seasonal_naive(train, seed) * (1 + 0.02 * np.random.default_rng([seed, int(train[0])]).normal(size=HORIZON))


MODELS = {"naive": ("naive", naive, {}), "seasonal_naive": ("seasonal_naive", seasonal_naive, {}),
          "naive2": ("naive2", naive2, {}), "noisy": ("noisy", noisy, {"scale": 0.02})}


@pytest.fixture(scope="module")
def panel():
    series = make_series(40)
    cells, forecasts = panel_frames("m4_hourly", series, MODELS, seeds=(0, 1))
    return series, cells, forecasts, report.aggregate(cells, forecasts, RUN)


def by_label(table):
    return table.set_index("label")


def test_panel_means_average_each_series_over_seeds_first_then_over_series(panel):
    _, cells, _, table = panel
    row = by_label(table).loc["noisy"]
    mine = cells[cells["label"] == "noisy"]
    per_series = mine.groupby("series_id")[["smape", "mase", "mae"]].mean()
    assert row["smape"] == pytest.approx(per_series["smape"].mean())
    assert row["mase"] == pytest.approx(per_series["mase"].mean())
    assert row["smape_median"] == pytest.approx(per_series["smape"].median())
    per_seed = mine.groupby("seed")["mase"].mean()                 # each seed's panel mean
    assert row["mase_std"] == pytest.approx(per_seed.std(ddof=1)) and row["mase_std"] > 0
    assert (row["n_seeds"], row["n_series"], row["n_series_ok"], row["n_ok"]) == (2, 40, 40, 80)


def test_owa_is_m4s_ratio_of_panel_means_to_naive2s(panel):
    _, _, _, table = panel
    t = by_label(table)
    ref = t.loc["naive2"]
    for label in ("naive", "seasonal_naive", "noisy"):
        expected = 0.5 * (t.loc[label, "smape"] / ref["smape"] + t.loc[label, "mase"] / ref["mase"])
        assert t.loc[label, "owa"] == pytest.approx(expected)
    assert t.loc["naive2", "owa"] == pytest.approx(1.0)
    # The published M4 Hourly values: sNaive's OWA from its sMAPE and MASE and Naive2's.
    assert metrics.owa({"smape": 13.912, "mase": 1.193}, {"smape": 18.383, "mase": 2.395}) == pytest.approx(0.627,
                                                                                                        abs=5e-4)


def test_without_naive2_there_is_no_owa_and_the_table_says_so():
    series = make_series(6)
    cells, forecasts = panel_frames("toy_panel", series, {k: v for k, v in MODELS.items() if k != "naive2"})
    table = report.aggregate(cells, forecasts, RUN)
    assert table["owa"].isna().all()
    board = report.leaderboard(RUN, table, cells)
    assert "OWA is relative to naive2's panel means, and naive2 did not run here" in board


def test_a_panel_is_ranked_by_mean_mase_and_compared_over_series_by_smape_ranks(panel):
    _, cells, _, table = panel
    t = by_label(table)
    assert list(table.sort_values("rank")["label"][:1]) == [analysis.best_of(table)["label"]]
    assert t["rank"].sort_values().index[0] == t["mase"].idxmin()
    assert t.loc["naive", "mae_vs_naive"] == 1.0
    assert t.loc["seasonal_naive", "mae_vs_naive"] == pytest.approx(t.loc["seasonal_naive", "mase"] / t.loc["naive", "mase"])
    # The mean ranks over series, by hand: seeds averaged per series, ranked within each series.
    wide = cells.groupby(["series_id", "label"])["smape"].mean().unstack("label")
    expected = wide.rank(axis=1).mean()
    for label in MODELS:
        assert t.loc[label, "series_mean_rank"] == pytest.approx(expected[label])
    comparison = stats.rank_comparison(wide)
    assert t["nemenyi_cd"].iloc[0] == pytest.approx(stats.nemenyi_critical_difference(4, 40))
    assert t["friedman_p"].iloc[0] == pytest.approx(comparison.friedman_p)
    assert (t["series_compared"] == 40).all()
    # No per-origin tests on a panel: one origin per series.
    assert table[analysis.SIGNIFICANCE_COLUMNS].isna().all().all()


def test_the_verdict_names_what_the_comparison_over_series_can_and_cannot_tell_apart(panel):
    _, _, _, table = panel
    text = report.panel_verdict(table)
    t = by_label(table)
    best = t["mase"].idxmin()
    assert text.startswith(f"**Lowest mean MASE: {best}**")
    assert "Ranked by sMAPE within each of the 40 series (as M4 ranks)" in text
    assert "Friedman's test rejects equal mean ranks (p < 0.001)" in text
    assert re.search(r"significantly worse: .*naive \(", text)           # naive is far behind
    # seasonal naive and its seeded copy differ by 2% noise: the data cannot tell them apart.
    top = t["series_mean_rank"].idxmin()
    other = {"seasonal_naive", "noisy"} - {top}
    assert f"cannot tell it apart from {other.pop()}" in text


def test_a_model_that_failed_on_some_series_is_named_with_them_and_left_out_of_the_comparison():
    series = make_series(8)
    flaky = lambda train, seed: "RuntimeError: diverged" if train[0] > 1000 else seasonal_naive(train, seed)
    models = {**MODELS, "flaky": ("flaky", flaky, {})}
    cells, forecasts = panel_frames("toy_panel", series, models)
    table = report.aggregate(cells, forecasts, RUN)
    row = by_label(table).loc["flaky"]
    failed = sorted(cells.loc[(cells["label"] == "flaky") & (cells["status"] != "ok"), "series_id"])
    assert 0 < len(failed) < 8
    assert row["status"] == f"ok on {8 - len(failed)} of 8 series" and np.isnan(row["series_mean_rank"])
    board = report.leaderboard(RUN, table, cells)
    assert f"- flaky: **failed** on {len(failed)} of 8 series ({', '.join(failed[:5])}" in board
    assert f"Not compared (did not finish on every series): flaky ({8 - len(failed)} of 8)" in board
    assert f"Means over fewer series (a model that did not finish on every series): flaky ({8 - len(failed)} of 8)" in board


def test_the_published_m4_values_stand_beside_ours_and_the_others_are_listed(panel):
    from bench import data

    if "m4_hourly" not in data.catalog_names():
        pytest.skip("the M4 Hourly catalog entry is not in this tree")
    _, cells, _, table = panel
    t = by_label(table)
    assert t.loc["seasonal_naive", ["published_smape", "published_mase", "published_owa"]].tolist() == [
        13.912, 1.193, 0.627]
    assert t.loc["naive", "published_mase"] == 11.608 and np.isnan(t.loc["noisy", "published_smape"])
    section = report.leaderboard(RUN, table, cells).split("## m4_hourly")[1]
    header = next(line for line in section.splitlines() if line.startswith("| rank"))
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "rank", "model", "params", "sMAPE % mean", "sMAPE % median", "MASE mean", "MASE median", "OWA",
        "published sMAPE %", "published MASE", "published OWA", "mean rank over series (sMAPE)",
        "fit_time_s", "n_params (median)", "status"]
    assert "| Theta " in section and "| Smyl (M4 winner overall" in section       # not run here: listed below
    assert "| sNaive" not in section                                              # run here: in the table


@pytest.mark.slow
def test_the_panel_page_has_the_critical_difference_plot_and_no_per_origin_plots(panel):
    _, cells, forecasts, _ = panel
    files = report.render(RUN, cells, forecasts)
    assert {"m4_hourly_ranks.png", "m4_hourly_cost.png", "m4_hourly.md"} <= set(files)
    assert not {"m4_hourly_forecasts.png", "m4_hourly_steps.png"} & set(files)
    page = files["m4_hourly.md"]
    assert "![m4_hourly: mean ranks over series with Nemenyi's critical difference](m4_hourly_ranks.png)" in page
    assert "Diebold-Mariano" not in page and "MAE by horizon step" not in page
    assert re.search(r"\| model +\| mean rank +\| vs best +\| significantly worse than the best +\|", page)
    assert re.search(r"\| naive +\| 4\.00 +\| \+2\.\d\d +\| yes +\|", page)
    assert "Cells (dataset x variant x seed x series): 320: 320 ok." in files["LEADERBOARD.md"]
    assert files == report.render(RUN, cells, forecasts)                        # a pure function of the rows


def test_a_panel_beside_single_series_counts_as_one_dataset_and_leaves_their_sections_as_they_were(panel):
    _, p_cells, p_forecasts, p_table = panel
    rng = np.random.default_rng(3)
    actual = 100 + rng.normal(0, 1, (30, 2))
    single = {"naive": ("naive", actual + 3, {}), "seasonal_naive": ("seasonal_naive", actual + 1, {}),
              "noisy": ("noisy", {0: actual + 0.5, 1: actual - 0.6}, {"scale": 0.02})}
    s_cells, s_forecasts = cell_rows("toy", actual, single)
    alone = report.aggregate(s_cells, s_forecasts, RUN)
    cells = pd.concat([s_cells.assign(cell_id=s_cells["cell_id"] + 10_000), p_cells], ignore_index=True)
    forecasts = pd.concat([s_forecasts.assign(cell_id=s_forecasts["cell_id"] + 10_000), p_forecasts])
    both = report.aggregate(cells, forecasts, RUN)
    toy = both[both["dataset"] == "toy"].reset_index(drop=True)
    pd.testing.assert_frame_equal(toy[alone.columns].drop(columns=analysis.BOOTSTRAP_COLUMNS),
                                  alone.drop(columns=analysis.BOOTSTRAP_COLUMNS))
    assert report.dataset_table(toy) == report.dataset_table(alone.assign(
        **{c: toy[c] for c in analysis.BOOTSTRAP_COLUMNS}))
    summary = report.overall(both).set_index("variant")
    assert (summary.loc[["naive", "seasonal_naive", "noisy"], "datasets_ok"] == 2).all()
    m4 = both[both["dataset"] == "m4_hourly"].set_index("label")
    relative = (alone.set_index("label")["mae"] / alone.set_index("label").loc["seasonal_naive", "mae"])
    panel_relative = m4["mase"] / m4.loc["seasonal_naive", "mase"]
    expected = np.sqrt(relative["noisy"] * panel_relative["noisy"])
    assert summary.loc["noisy", "geomean_mae_vs_seasonal_naive"] == pytest.approx(expected)
    assert summary.loc["naive2", "datasets_ok"] == 1


def test_without_a_panel_the_table_has_no_panel_columns(panel):
    rng = np.random.default_rng(4)
    actual = 50 + rng.normal(0, 1, (12, 2))
    cells, forecasts = cell_rows("toy", actual, {"naive": ("naive", actual + 1, {})})
    table = report.aggregate(cells, forecasts, RUN)
    assert not set(analysis.PANEL_COLUMNS) & set(table.columns)
    assert not any(c.startswith("published_") for c in table.columns)
    assert "Panels" not in report.leaderboard(RUN, table, cells)


def test_nemenyi_cliques_join_the_runs_of_models_within_the_critical_difference():
    from bench import plots

    ranks = [1.2, 1.5, 2.0, 3.4, 3.6, 5.0]
    assert plots.nemenyi_cliques(ranks, 1.0) == [(0, 2), (3, 4)]          # (1.5, 2.0) lies inside the first
    assert plots.nemenyi_cliques(ranks, 0.1) == []
    assert plots.nemenyi_cliques(ranks, 10.0) == [(0, 5)]


def test_a_panels_forecasts_are_plotted_one_named_series_at_a_time(panel):
    _, cells, forecasts, table = panel
    per_step = report.mean_forecasts(report.test_cells(cells), forecasts)
    with pytest.raises(ValueError, match=r"m4_hourly is a panel of 40 series: name one of them with series= "
                                         r"\(S1, S10, S11, S12, S13, \.\.\.\), got None"):
        report.forecasts_plot(table, per_step, "m4_hourly")
    figure = report.forecasts_plot(table, per_step, "m4_hourly", series="S7")
    assert figure.axes[0].get_title().startswith("m4_hourly, series S7: forecasts vs actual")
    actual = next(line for line in figure.axes[0].get_lines() if line.get_label() == "actual").get_ydata()
    np.testing.assert_allclose(actual, make_series(40)["S7"][1])


def test_the_published_m4_interval_scores_stand_beside_ours_in_the_distribution_table():
    from bench import data

    if "m4_hourly" not in data.catalog_names():
        pytest.skip("the M4 Hourly catalog entry is not in this tree")
    models = {**MODELS, "naive": ("naive", naive_with_intervals, {})}
    cells, forecasts = panel_frames("m4_hourly", make_series(12), models)
    table = report.aggregate(cells, forecasts, RUN)
    t = by_label(table)
    assert t.loc["naive", ["published_msis", "published_acd"]].tolist() == [71.245, 0.011]
    assert np.isfinite(t.loc["naive", "msis"]) and t.loc["naive", "acd"] == abs(t.loc["naive", "coverage_95"] - 0.95)
    assert np.isnan(t.loc["seasonal_naive", "msis"])          # no distribution: no interval scores
    section = report.leaderboard(RUN, table, cells).split("## m4_hourly")[1]
    assert "**Forecast distributions.** Best by SQL: **naive**" in section
    header = next(line for line in section.splitlines() if line.startswith("| rank (SQL)"))
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "rank (SQL)", "model", "MSIS mean", "ACD", "cover 80%", "cover 95%", "SQL mean", "WQL (pooled)",
        "SQL / seasonal naive", "published MSIS", "published ACD", "quantiles_s"]
    assert "| ARIMA " in section and "| ETS " in section          # published, not run here: listed below
    assert "- no distribution: seasonal_naive, noisy, naive2" in section           # in the table's order
    files = report.render(RUN, cells, forecasts)
    assert "m4_hourly_calibration.png" in files and "(m4_hourly_calibration.png)" in files["m4_hourly.md"]


def _panel_with_undefined_metrics():
    """Two ordinary series, an intermittent one (a test actual of 0: no MAPE) and one whose history is constant
    (an in-sample seasonal-naive error of 0: no MASE)."""
    series = make_series(2)
    series["S3"] = (np.array([0.0, 4, 0, 7, 0, 3, 0, 6, 0, 5, 0, 8, 0, 4, 1, 6, 0, 2, 0, 7]), np.array([0.0, 5, 1, 6]))
    series["S4"] = (np.full(20, 50.0), np.array([50.0, 52.0, 49.0, 51.0]))
    return series


def test_a_metric_undefined_on_a_series_is_left_out_for_every_model_and_the_page_says_over_how_many_series():
    cells, forecasts = panel_frames("toy_panel", _panel_with_undefined_metrics(), MODELS)
    table = report.aggregate(cells, forecasts, RUN)
    for r in table.itertuples():
        mine = cells[cells["label"] == r.label].set_index("series_id")
        assert (r.n_series, r.n_series_ok, r.mase_n_series, r.mape_n_series) == (4, 4, 3, 3)
        assert r.mase == pytest.approx(mine.loc[["S1", "S2", "S3"], "mase"].mean())      # the same 3 for every model
        assert r.mape == pytest.approx(mine.loc[["S1", "S2", "S4"], "mape"].mean())
        assert np.isfinite(r.overall_rel_mae_lo)          # the bootstrap draws from the same 3 series
    verdict = report.panel_verdict(table)
    assert "over 4 series; MASE over 3 of them" in verdict and "over 4 series." not in verdict
    section = report.leaderboard(RUN, table, cells).split("## toy_panel")[1]
    header = next(line for line in section.splitlines() if line.startswith("| rank"))
    assert "MASE mean (3 of 4 series)" in header and "| sMAPE % mean " in header
    assert ("MASE is undefined on 1 of the 4 series (S4) for every model: its in-sample seasonal-naive error is 0 "
            "(a history that repeats its season exactly, such as a constant one)") in section


def test_a_model_that_did_not_finish_every_series_gets_no_rank_so_that_every_rank_is_over_the_same_series():
    series = make_series(8)
    # Better than seasonal naive wherever it finishes, but it fails on the hardest-to-forecast series.
    lucky = lambda train, seed: "RuntimeError: diverged" if train[0] > 1000 else seasonal_naive(train, seed) * 0.999
    models = {**MODELS, "lucky": ("lucky", lucky, {})}
    cells, forecasts = panel_frames("toy_panel", series, models)
    table = report.aggregate(cells, forecasts, RUN)
    t = by_label(table)
    assert 0 < t.loc["lucky", "n_series_ok"] < 8 and np.isfinite(t.loc["lucky", "mase"])    # its own mean, shown
    assert t.loc["lucky", ["rank", "mae_vs_naive", "mae_vs_seasonal_naive", "owa"]].isna().all()
    assert sorted(t["rank"].dropna()) == [1, 2, 3, 4]
    assert report.best_row(table)["label"] != "lucky"
    assert not report.panel_verdict(table).startswith("**Lowest mean MASE: lucky**")
    summary = report.overall(table).set_index("variant")
    assert summary.loc["lucky", "datasets_ok"] == 0 and np.isnan(summary.loc["lucky", "mean_rank"])
