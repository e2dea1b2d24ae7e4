"""Leaderboards: what they say about hand-made runs, and that they are a pure function of the store."""
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bench import api, data, metrics, report, stats
from bench.runner import params_text
from bench.store import Store
from tests.conftest import REPO

HORIZON, N_ORIGINS = 2, 10


def cell_rows(dataset, actual, models):
    """Cells and forecasts frames shaped as the store returns them, from forecasts given per model and seed.

    ``models`` maps a label to (model, {seed: forecasts (n_origins, horizon)} or a failure reason, params);
    ``actual`` is (n_origins, horizon), origins one point apart.
    """
    n_origins, horizon = actual.shape
    split = json.dumps({"horizon": horizon, "test_size": n_origins + horizon - 1, "step": 1,
                        "refit_every": 1, "window": None})
    times = pd.date_range("2000-01-01", periods=n_origins, freq="D").astype(str)
    cells, forecasts = [], []
    for label, (model, runs, params) in models.items():
        for seed, run in (runs.items() if isinstance(runs, dict) else [(0, runs)]):
            cell_id = len(cells) + 1000 * (dataset != "toy")
            row = dict(cell_id=cell_id, dataset=dataset, model=model, label=label, params=json.dumps(params),
                       params_text=params_text(params), seed=seed, split=split, season_length=1,
                       fit_cpu_s=0.0, update_time_s=0.0, predict_cpu_s=0.0, n_updates=0, wall_time_s=1.0)
            if isinstance(run, str):
                cells.append({**row, "status": "failed", "reason": run})
                continue
            scores = {name: float(fn(y_true=actual, y_pred=run)) for name, fn in metrics.METRICS.items()
                      if name != "mase"}
            cells.append({**row, "status": "ok", "reason": "", **scores, "mase": scores["mae"],
                          "fit_time_s": 0.5 * n_origins, "predict_time_s": 0.01 * n_origins, "n_fits": n_origins,
                          "n_origins": n_origins, "n_params": 7 if model == "good" else 0})
            forecasts += [dict(cell_id=cell_id, origin_time=t, step=s + 1, y_true=actual[i, s], y_pred=run[i, s],
                               mase_scale=1.0) for i, t in enumerate(times) for s in range(horizon)]
    return pd.DataFrame(cells), pd.DataFrame(forecasts)


RUN = {"run_id": 3, "suite": "toy", "started_at": "2026-01-02T03:04:05Z", "total_time_s": 12.5,
       "git_commit": "abc123", "environment": {"cpu": "Test CPU", "cores": 2, "python": "3.11",
                                               "packages": {"numpy": "2"}, "calibration_s": 0.25}}


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    actual = 100 + rng.normal(0, 1, (N_ORIGINS, HORIZON))
    sign = np.where(np.arange(N_ORIGINS) % 2, 1.0, -1.0)[:, None]
    models = {
        "naive": ("naive", actual + 3 * sign + rng.normal(0, 0.5, actual.shape), {}),
        "seasonal_naive": ("seasonal_naive", actual - 2 + rng.normal(0, 0.5, actual.shape), {}),
        # Two seeds that err by +1 and -1 about the same path: their mean forecast would be
        # perfect, but a user of either seed sees an absolute error of 1 at every step.
        "good": ("good", {0: actual + 1 + rng.normal(0, 0.1, actual.shape),
                          1: actual - 1 + rng.normal(0, 0.1, actual.shape)}, {"units": 8}),
        "broken": ("broken", {0: "RuntimeError: boom [broken.py:3]", 1: "RuntimeError: boom [broken.py:3]"}, {}),
    }
    return actual, *cell_rows("toy", actual, models)


def test_seeded_models_are_tested_on_absolute_errors_averaged_over_seeds(toy):
    actual, cells, forecasts = toy
    table = report.aggregate(cells, forecasts).set_index("label")
    good = forecasts[forecasts["cell_id"].isin(cells.loc[cells["label"] == "good", "cell_id"])]
    per_origin = (good.assign(e=(good["y_true"] - good["y_pred"]).abs())
                  .groupby("origin_time")["e"].mean().to_numpy())           # over seeds and steps
    naive = forecasts[forecasts["cell_id"] == cells.loc[cells["label"] == "naive", "cell_id"].iloc[0]]
    naive_loss = (naive.assign(e=(naive["y_true"] - naive["y_pred"]).abs())
                  .groupby("origin_time")["e"].mean().to_numpy())
    expected = stats.diebold_mariano(per_origin, naive_loss, HORIZON)
    assert table.loc["good", "dm_stat_vs_naive"] == pytest.approx(expected.stat)
    assert table.loc["good", "dm_p_vs_naive"] == pytest.approx(expected.p_value)
    assert per_origin.mean() == pytest.approx(1.0, abs=0.1)       # not the ~0 of the mean forecast
    assert table.loc["good", "mae"] == pytest.approx(per_origin.mean())
    assert table.loc["good", "dm_stat_vs_naive"] < 0 and table.loc["good", "dm_p_vs_naive"] < 0.05
    assert np.isnan(table.loc["good", "dm_p_vs_best"])           # the best is not tested against itself
    assert table.loc["seasonal_naive", "dm_p_vs_best"] < 0.05


def test_the_leaderboard_names_the_winner_its_significance_against_naive_and_its_cost(toy):
    _, cells, forecasts = toy
    board = report.leaderboard(RUN, report.aggregate(cells, forecasts, RUN), cells)
    assert "**Winner: good**" in board
    assert "**significantly better than naive** (DM test, Holm-adjusted for the 2 models compared with naive" in board
    assert "Cost: 0.5 s per fit, 0.01 s per forecast, 7 fitted parameters." in board
    assert "Run 3 of suite `toy`, started 2026-01-02T03:04:05Z, took 12.5 s. Commit `abc123`." in board
    assert "Machine: Test CPU, 2 cores" in board
    # The overall table comes first, with the seeded variant on top.
    overall = board[board.index("## Overall"):board.index("## toy")]
    rows = [line for line in overall.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].split("|")[1].strip() == "good"


def test_failed_cells_are_listed_with_their_reason_and_seeds_never_hidden(toy):
    _, cells, forecasts = toy
    table = report.aggregate(cells, forecasts, RUN)
    for text in (report.leaderboard(RUN, table, cells), report.dataset_page(RUN, table, "toy", cells)):
        assert "- broken: **failed** on seeds 0, 1 of 2: RuntimeError: boom [broken.py:3]" in text
        assert re.search(r"\| +\| broken +\|", text)          # still a row of the table, without a rank
    assert "2 failed" in report.leaderboard(RUN, table, cells)
    assert report.overall(table).set_index("variant").loc["broken", "datasets_ok"] == 0


def test_overall_table_ranks_and_relative_mae_across_datasets(toy):
    actual, cells_a, forecasts_a = toy
    # A second dataset where seasonal naive is twice as good as "good": good's relative MAE
    # is then about 1/2 on toy and 2 on "other", a geometric mean near 1.
    models = {"naive": ("naive", actual + 4, {}), "seasonal_naive": ("seasonal_naive", actual + 0.5, {}),
              "good": ("good", {0: actual + 1.0, 1: actual - 1.0}, {"units": 8})}
    cells_b, forecasts_b = cell_rows("other", actual, models)
    table = report.aggregate(pd.concat([cells_a, cells_b]), pd.concat([forecasts_a, forecasts_b]))
    overall = report.overall(table).set_index("variant")
    mae = table.set_index(["dataset", "label"])["mae"]
    expected = np.sqrt(mae["toy", "good"] / mae["toy", "seasonal_naive"] * 1.0 / 0.5)
    assert overall.loc["good", "geomean_mae_vs_seasonal_naive"] == pytest.approx(expected)
    assert overall.loc["good", "mean_rank"] == pytest.approx((1 + 2) / 2)
    assert overall.loc["seasonal_naive", "mean_rank"] == pytest.approx((2 + 1) / 2)
    assert overall.loc["naive", "mean_rank"] == pytest.approx(3)
    assert overall.loc["seasonal_naive", "geomean_mae_vs_seasonal_naive"] == pytest.approx(1.0)
    assert overall.loc["good", "wins"] == 1 and overall.loc["seasonal_naive", "wins"] == 1
    assert list(report.overall(table)["variant"])[-1] == "broken"      # ran nowhere: last
    # The order is the verdict the caption names: relative MAE first, the mean rank only breaks ties.
    ran = report.overall(table).dropna(subset=["geomean_mae_vs_seasonal_naive"])
    assert ran["geomean_mae_vs_seasonal_naive"].is_monotonic_increasing


def test_rendering_twice_gives_the_same_bytes_for_every_file(toy):
    _, cells, forecasts = toy
    first, second = report.render(RUN, cells, forecasts), report.render(RUN, cells, forecasts)
    assert set(first) == {"LEADERBOARD.md", "results.csv", "toy.md", "toy_forecasts.png", "toy_cost.png",
                          "toy_steps.png", "cost_vs_accuracy.png", "rank_heatmap.png"}
    assert first == second
    assert all(first[name][:8] == b"\x89PNG\r\n\x1a\n" for name in first if name.endswith(".png"))


def test_the_winner_against_naive_is_holm_adjusted_over_every_model_compared_with_naive(toy):
    _, cells, forecasts = toy
    table = report.aggregate(cells, forecasts).set_index("label")
    family = ["good", "seasonal_naive"]                        # naive is the reference; broken did not run
    expected = stats.holm(table.loc[family, "dm_p_vs_naive"].to_numpy())
    np.testing.assert_allclose(table.loc[family, "dm_p_vs_naive_holm"], expected)
    assert np.isnan(table.loc["naive", "dm_p_vs_naive_holm"]) and np.isnan(table.loc["broken", "mcs_p"])
    assert (table.loc[family, "dm_df"] == 2).all()             # 10 origins, h = 2: floor(10 / 4)


def _dataset(actual, errors, seed=0):
    """A one-dataset run: each model forecasts ``actual`` plus its error level times |noise| of one sign."""
    rng = np.random.default_rng(seed)
    models = {label: (label, actual + level * (1 + rng.normal(0, 0.3, actual.shape)), {})
              for label, level in errors.items()}
    return cell_rows("toy", actual, models)


def test_with_too_few_windows_the_verdict_gives_no_p_value_and_says_why():
    # 5 origins with a 4-step horizon: 8 test points, 2 non-overlapping windows.
    actual = 100 + np.random.default_rng(1).normal(0, 1, (5, 4))
    cells, forecasts = _dataset(actual, {"naive": 5.0, "seasonal_naive": 4.0, "good": 1.0})
    table = report.aggregate(cells, forecasts, RUN)
    board = report.leaderboard(RUN, table, cells)
    rows = table[table["dataset"] == "toy"]
    sentence = ("no test against naive: 8 test points with a 4-step horizon hold 2 non-overlapping windows: "
                "too few to call a difference significant (a test here needs at least 16 origins; there are 5)")
    assert sentence in report.verdict(rows)
    assert not re.search(r"p [=<]", report.verdict(rows))
    assert rows[["dm_p_vs_naive", "dm_p_vs_naive_holm", "mcs_p"]].isna().all().all()
    assert "No p-values: too few non-overlapping windows (see the verdict)." in board
    assert "model confidence set: none, too few" in report.dataset_page(RUN, table, "toy", cells)
    naive_wins = _dataset(actual, {"naive": 1.0, "seasonal_naive": 4.0, "good": 5.0})
    rows = report.aggregate(*naive_wins)
    assert "no model beats repeating the last value. " in report.verdict(rows)
    assert f"No p-values: {sentence.split(': ', 1)[1]}." in report.verdict(rows)


def test_the_confidence_set_keeps_what_the_data_cannot_separate_from_the_winner_and_marks_the_rest():
    actual = 100 + np.random.default_rng(2).normal(0, 1, (60, 1))
    cells, forecasts = _dataset(actual, {"naive": 6.0, "seasonal_naive": 5.0, "good": 1.0, "twin": 1.02})
    table = report.aggregate(cells, forecasts, RUN)
    rows = table[table["dataset"] == "toy"].set_index("label", drop=False)
    assert rows.loc["twin", "mcs_p"] >= 0.05 and rows.loc["naive", "mcs_p"] < 0.05
    text = report.verdict(rows)
    assert "Not significantly worse than the winner (the 95% model confidence set over all 4 models" in text
    runner_up = "good" if report.best_row(rows)["label"] == "twin" else "twin"      # the two are equally good
    assert f"{runner_up} (p = " in text and "naive (p" not in text
    assert re.search(r"\| 4 +\| naive .*\| <0\.001\* +\|", report.dataset_table(rows))   # MCS p column, marked

    cells, forecasts = _dataset(actual, {"naive": 6.0, "seasonal_naive": 5.0, "good": 1.0})
    rows = report.aggregate(cells, forecasts, RUN)
    assert ("Every other model is significantly worse than the winner: the 95% model confidence set over all 3 "
            "holds the winner alone.") in report.verdict(rows)


def test_a_model_far_worse_on_average_that_stays_in_the_confidence_set_gets_one_sentence_why():
    # volatile: beats the best on about half of the origins, but loses by a lot on the others;
    # steady: a little worse than the best at nearly every origin.
    rng = np.random.default_rng(4)
    actual = 100 + rng.normal(0, 1, (20, 1))
    best = actual + 1.0
    volatile = actual + np.where(np.arange(20)[:, None] % 7 == 3, 20.0, 0.0)      # 3 large misses, 17 hits
    steady = actual + 1.2 + rng.normal(0, 0.01, (20, 1))
    cells, forecasts = cell_rows("toy", actual, {"best": ("best", best, {}), "volatile": ("volatile", volatile, {}),
                                                 "steady": ("steady", steady, {})})
    table = report.aggregate(cells, forecasts, RUN)
    rows = table.set_index("label", drop=False)
    assert rows.loc["volatile", "mae"] > 1.5 * rows.loc["best", "mae"]
    assert rows.loc["volatile", "mcs_p"] >= 0.05 > rows.loc["steady", "mcs_p"]
    page = report.dataset_page(RUN, table, "toy", cells)
    share = f"{rows.loc['volatile', 'share_below_best']:.0%}"
    assert (f"The confidence set asks whether a model's per-origin losses sit above the best's, not how far apart "
            f"the means are: volatile (MAE +") in page
    assert f"has the smaller loss at {share} of the origins, so the data cannot call it worse, while steady" in page


@pytest.mark.parametrize("smallest, why", [
    (0.2, "1 of the 60 test actuals is below a tenth of their median"),
    (0.0, "1 of the 60 test actuals is 0, where a percentage error is undefined"),
])
def test_mape_reads_n_a_with_its_reason_where_an_actual_comes_near_zero(smallest, why):
    actual = np.linspace(20.0, 80.0, 60)[:, None]
    actual[17, 0] = smallest
    cells, forecasts = _dataset(actual, {"naive": 3.0, "seasonal_naive": 2.0, "good": 1.0})
    table = report.aggregate(cells, forecasts, RUN)
    board = report.leaderboard(RUN, table, cells)
    section = board[board.index("## toy"):]
    assert "| MAPE %   | sMAPE %" in section
    good = next(line for line in section.splitlines() if line.startswith("| 1 "))
    assert good.split("|")[6].strip() == "n/a" and good.split("|")[7].strip() not in ("n/a", "-", "nan")
    assert f"n/a in MAPE %: {why}" in section and "nan" not in section
    assert (table["mape_note"].str.startswith(why.split(" is")[0])).all()
    assert np.isnan(table["mape"]).all() == (smallest == 0.0)          # results.csv keeps the raw value


def test_bounded_actuals_keep_mape():
    actual = np.linspace(20.0, 80.0, 60)[:, None]
    cells, forecasts = _dataset(actual, {"naive": 3.0, "seasonal_naive": 2.0, "good": 1.0})
    table = report.aggregate(cells, forecasts, RUN)
    assert (table["mape_note"] == "").all()
    assert "n/a" not in report.dataset_table(table)


def test_the_dataset_page_shows_mae_by_horizon_step_of_the_leading_models(toy):
    actual, cells, forecasts = toy
    table = report.aggregate(cells, forecasts, RUN)
    per_step = report.mean_forecasts(report.test_cells(cells), forecasts)
    page = report.dataset_page(RUN, table, "toy", cells, per_step)
    assert "MAE by horizon step of the leading models and naive" in page
    assert "![toy: MAE by horizon step](toy_steps.png)" in page
    naive = forecasts[forecasts["cell_id"] == cells.loc[cells["label"] == "naive", "cell_id"].iloc[0]]
    step2 = (naive.loc[naive["step"] == 2, "y_true"] - naive.loc[naive["step"] == 2, "y_pred"]).abs().mean()
    block = page[page.index("| step"):]
    header = [c.strip() for c in block.splitlines()[0].split("|")[1:-1]]
    row2 = [c.strip() for c in block.splitlines()[3].split("|")[1:-1]]
    assert header[:2] == ["step", "good"] and "naive" in header
    assert row2[0] == "2" and row2[header.index("naive")] == report.fmt(step2)


def test_the_overall_table_says_how_sure_it_is(toy):
    _, cells, forecasts = toy
    table = report.aggregate(cells, forecasts, RUN)
    summary = report.overall(table).set_index("variant")
    ran = summary.loc[["good", "naive", "seasonal_naive"]]
    assert (ran["rel_mae_lo"] <= ran["geomean_mae_vs_seasonal_naive"] + 1e-12).all()
    assert (ran["geomean_mae_vs_seasonal_naive"] <= ran["rel_mae_hi"] + 1e-12).all()
    assert ran.loc["seasonal_naive", ["rel_mae_lo", "rel_mae_hi"]].tolist() == [1.0, 1.0]
    assert ran["lowest_share"].sum() == pytest.approx(1.0)
    board = report.leaderboard(RUN, table, cells)
    assert "| 95% interval" in board and "How sure:" in board


SUITE = """
name = "tiny"
seeds = 2
[[datasets]]
name = "air_passengers"
test_size = 24
[[datasets]]
name = "google_stock"
[[models]]
name = "naive"
[[models]]
name = "seasonal_naive"
[[models]]
name = "drift"
[[models]]
name = "tests.faulty_models:Noisy"
label = "noisy"
[[models]]
name = "tests.faulty_models:Raises"
label = "raises"
datasets = ["air_passengers"]
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    (out / "tiny.toml").write_text(SUITE)
    res = api.run(str(out / "tiny.toml"), out=out / "results", workers=0)
    return res, out / "results"


@pytest.mark.slow
def test_report_reproduces_every_file_of_a_stored_run_byte_for_byte(tiny_run):
    _, out = tiny_run
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "bench.sqlite"}
    for name in written:
        (out / name).unlink()
    done = subprocess.run([sys.executable, "-m", "bench", "report", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "bench.sqlite"}
    assert set(again) == set(written)
    for name in written:
        assert again[name] == written[name], f"{name} differs after re-rendering"


def _report_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".md", ".csv", ".png")}


def test_report_renders_a_stored_run_of_a_series_and_a_panel_as_run_wrote_it_byte_for_byte(tmp_path, air):
    # The guard of bench/report's modules: every page kind (leaderboard, a single series' page
    # with seeds and a failed model, a panel's page with OWA) re-rendered from the store, in this process.
    rows = [(shop, t.strftime("%Y-%m-%d"), f"{v * scale:g}")
            for shop, scale in (("north", 1.0), ("south", 2.5), ("east", 0.3)) for t, v in air.items()]
    pd.DataFrame(rows, columns=["shop", "month", "sales"]).to_csv(tmp_path / "shops.csv", index=False)
    (tmp_path / "tiny.toml").write_text(SUITE)
    out = tmp_path / "results"
    api.run(str(tmp_path / "tiny.toml"), datasets=["air_passengers", "shops"],
            models=["naive", "seasonal_naive", "naive2", "noisy", "raises"], out=out, workers=0,
            extra_datasets=[data.user_dataset(tmp_path / "shops.csv", id_col="shop", name="shops")])
    written = _report_files(out)
    assert {"air_passengers.md", "shops.md", "shops_ranks.png", "LEADERBOARD.md", "results.csv"} <= set(written)
    assert b"- raises: **failed**" in written["air_passengers.md"] and b"| OWA" in written["shops.md"]
    store = Store(out / "bench.sqlite", read_only=True)
    try:
        report.write_reports(store, store.latest_run_id(), tmp_path / "again")
    finally:
        store.close()
    again = _report_files(tmp_path / "again")
    assert set(again) == set(written)
    for name in sorted(written):
        assert again[name] == written[name], f"{name} differs after re-rendering"


def test_every_link_in_the_leaderboard_and_pages_points_at_a_written_file(tiny_run):
    _, out = tiny_run
    board = (out / "LEADERBOARD.md").read_text()
    assert "[Page](air_passengers.md)" in board and "[Page](google_stock.md)" in board
    for page in ("LEADERBOARD.md", "air_passengers.md", "google_stock.md"):
        targets = re.findall(r"\]\(([^)]+)\)", (out / page).read_text())
        assert targets, page
        for target in targets:
            assert (out / target).is_file(), f"{page} links to missing {target}"
    assert "![air_passengers: forecasts vs actual](air_passengers_forecasts.png)" in (
        out / "air_passengers.md").read_text()
    assert "- raises: **failed**: RuntimeError: deliberate failure in fit" in board


def test_reports_without_plots_are_the_same_tables_and_pages_less_their_image_lines(tiny_run, tmp_path):
    _, out = tiny_run
    store = Store(out / "bench.sqlite", read_only=True)
    try:
        report.write_reports(store, store.latest_run_id(), tmp_path / "tables", plots=False)
    finally:
        store.close()
    with_plots, tables = _report_files(out), _report_files(tmp_path / "tables")
    assert not [name for name in tables if name.endswith(".png")]
    assert set(tables) == {name for name in with_plots if not name.endswith(".png")}
    assert tables["results.csv"] == with_plots["results.csv"]
    for page in ("LEADERBOARD.md", "air_passengers.md", "google_stock.md"):
        text = tables[page].decode()
        assert "](" in text and ".png)" not in text, page
        for target in re.findall(r"\]\(([^)]+)\)", text):
            assert (tmp_path / "tables" / target).is_file(), f"{page} links to missing {target}"
        # An image is a paragraph of its own; a plot's link follows the page's link with " · ".
        expected = re.sub(r"!\[[^\]]*\]\([\w.]+\.png\)(\n\n|\n$)|( · )\[[^\]]*\]\([\w.]+\.png\)", "",
                          with_plots[page].decode()).rstrip("\n") + "\n"
        assert text == expected, page


def test_results_csv_carries_the_tests_and_the_run_for_compare(tiny_run):
    _, out = tiny_run
    csv = pd.read_csv(out / "results.csv")
    for column in ("dataset", "label", "params_text", "mae", "mae_std", "smape", "rank", "mae_vs_seasonal_naive",
                   "dm_p_vs_best", "dm_p_vs_naive", "dm_p_vs_naive_holm", "mcs_p", "dm_df", "mape_note",
                   "overall_rel_mae_lo", "overall_rel_mae_hi", "suite", "calibration_s", "n_seeds", "status"):
        assert column in csv.columns, column
    assert set(csv["suite"]) == {"tiny"}
    noisy = csv[(csv["label"] == "noisy") & (csv["dataset"] == "air_passengers")].iloc[0]
    assert noisy["n_seeds"] == 2 and noisy["mae_std"] > 0


def test_the_notebook_api_gives_tables_forecasts_and_figures(tiny_run):
    res, out = tiny_run
    assert res.table["dm_p_vs_naive"].notna().any()
    assert list(res.overall["variant"][:1]) != ["raises"]
    one_seed = res.forecasts("air_passengers", "noisy")
    assert set(one_seed["seed"]) == {0, 1} and len(one_seed) == 2 * 13 * 12    # seeds x origins x steps
    mean = res.forecasts("air_passengers", "noisy", mean_over_seeds=True)
    assert len(mean) == 13 * 12 and "seed" not in mean
    assert mean["abs_error"].mean() == pytest.approx(res.table.set_index(["dataset", "label"])
                                                     .loc[("air_passengers", "noisy"), "mae"])
    for fig in (res.plot_forecasts("air_passengers"), res.plot_cost(), res.plot_cost("google_stock"),
                res.plot_ranks()):
        assert isinstance(fig, Figure)
    html = res._repr_html_()
    assert html.count("<table") == 2 and "Overall" in html
    loaded = api.load(out)
    pd.testing.assert_frame_equal(loaded.table, res.table)


def test_the_dataset_page_judges_the_forecast_distributions_and_shows_their_calibration(tiny_run):
    _, out = tiny_run
    page = (out / "google_stock.md").read_text()
    assert "**Forecast distributions.** Best by SQL: **" in page
    header = next(line for line in page.splitlines() if line.startswith("| rank (SQL)"))
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "rank (SQL)", "model", "MSIS", "cover 80%", "cover 95%", "SQL", "WQL", "SQL / seasonal naive",
        "p vs naive (Holm)", "MCS p", "quantiles_s"]
    assert "- normal, R forecast's naive(): sigma sqrt(h), sigma from the one-step residuals: naive" in page
    assert "![google_stock: interval calibration](google_stock_calibration.png)" in page
    assert (out / "google_stock_calibration.png").is_file()
    # The point table keeps the point metrics only.
    point = next(line for line in page.splitlines() if line.startswith("| rank ") and "MAE" in line)
    assert "MSIS" not in point and "sMAPE %" in point
    csv = pd.read_csv(out / "results.csv")
    for column in ("msis", "msis_std", "coverage_80", "coverage_95", "sql", "wql", "acd", "dist_rank",
                   "sql_vs_seasonal_naive", "ql_dm_p_vs_naive_holm", "ql_mcs_p", "intervals", "quantile_time_s"):
        assert column in csv.columns, column
    google = csv[csv["dataset"] == "google_stock"].set_index("label")
    assert google.loc["seasonal_naive", "sql_vs_seasonal_naive"] == 1.0
    assert google["ql_mcs_p"].notna().sum() >= 2 and google["coverage_95"].between(0, 1).all()
    assert "distribution skill (SQL)" in (out / "LEADERBOARD.md").read_text()


def test_a_users_monthly_series_not_yet_in_the_catalog_gets_its_plot_dates_by_the_month():
    from bench.report.plot_data import target_times

    origins = pd.date_range("1970-01-01", periods=13, freq="MS")
    times = target_times(origins, 1, 24, "not_in_any_catalog")
    assert list(times) == list(pd.date_range("1970-01-01", periods=24, freq="MS"))   # not 30.4-day steps
