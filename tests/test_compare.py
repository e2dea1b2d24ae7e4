"""The regression gate: degraded runs fail with the cell named; an unchanged rerun passes."""
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench import api, compare
from bench.errors import BenchError
from tests.conftest import REPO

SUITE = """
name = "gate"
seeds = 3
[[datasets]]
name = "air_passengers"
test_size = 24
refit_every = 6
[[models]]
name = "seasonal_naive"
[[models]]
name = "tests.faulty_models:Degradable"
label = "degradable"
[[models]]
name = "tests.faulty_models:Noisy"
label = "noisy"
"""


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "gate.toml"
    path.write_text(SUITE)
    return str(path)


def run_into(suite, out, monkeypatch, bias="0", fit_s="0.25", spread="1"):
    monkeypatch.setenv("DEGRADE_BIAS", bias)
    monkeypatch.setenv("DEGRADE_FIT_S", fit_s)
    monkeypatch.setenv("DEGRADE_SPREAD", spread)
    api.run(suite, out=out, workers=0, plots=False)
    return out / "results.csv"


def gate(base, new):
    return subprocess.run([sys.executable, "-m", "bench", "compare", str(base), str(new)], cwd=REPO,
                          capture_output=True, text=True)


@pytest.mark.slow
def test_an_unchanged_rerun_passes(suite, tmp_path, monkeypatch):
    # No sleep here: a sleep does not scale with the calibration workload, so on a machine
    # whose load changes between the two runs it would measure the load, not the code.
    base = run_into(suite, tmp_path / "a", monkeypatch, fit_s="0")
    new = run_into(suite, tmp_path / "b", monkeypatch, fit_s="0")
    done = gate(base, new)
    assert done.returncode == 0, done.stdout
    assert "0 regressions" in done.stdout


@pytest.mark.slow
def test_a_less_accurate_model_fails_the_gate_and_is_named(suite, tmp_path, monkeypatch):
    base = run_into(suite, tmp_path / "a", monkeypatch)
    worse = run_into(suite, tmp_path / "b", monkeypatch, bias="-20")   # naive already lags the trend
    done = gate(base, worse)
    assert done.returncode == 1
    line = next(l for l in done.stdout.splitlines() if "REGRESSION" in l)
    assert "degradable" in line and "MAE" in line
    assert "1 regressions" in done.stdout


@pytest.mark.slow
def test_a_slower_model_fails_the_gate_and_is_named(suite, tmp_path, monkeypatch):
    base = run_into(suite, tmp_path / "a", monkeypatch)
    slower = run_into(suite, tmp_path / "b", monkeypatch, fit_s="1.0")
    done = gate(base, slower)
    assert done.returncode == 1
    line = next(l for l in done.stdout.splitlines() if "REGRESSION" in l)
    assert "degradable" in line and "fit time" in line


@pytest.mark.slow
def test_intervals_made_too_narrow_fail_the_gate_by_coverage_and_msis(suite, tmp_path, monkeypatch):
    base = run_into(suite, tmp_path / "a", monkeypatch, fit_s="0")
    narrow = run_into(suite, tmp_path / "b", monkeypatch, fit_s="0", spread="0.3")   # the same point forecasts
    done = gate(base, narrow)
    assert done.returncode == 1
    line = next(l for l in done.stdout.splitlines() if "REGRESSION" in l)
    assert "degradable" in line and "cover 95%" in line and "MSIS" in line and "MAE" not in line.split("|")[-2]


def _table(**over):
    row = dict(dataset="d", label="m", model="naive", params_text="", suite="s", status="ok", n_seeds=1, mae=10.0,
               mae_std=np.nan, fit_time_s=1.0, predict_time_s=0.001, calibration_s=0.1)
    row.update(over)
    return pd.DataFrame([row])


def test_seed_noise_within_two_standard_errors_is_not_a_regression():
    base = _table(n_seeds=3, mae=10.0, mae_std=1.0)
    # SE of the difference: sqrt(1/3 + 1/3) = 0.816; two SE = 1.63 > 1% of 10
    assert compare.compare(base, _table(n_seeds=3, mae=11.5, mae_std=1.0))["verdict"][0] == "ok"
    assert compare.compare(base, _table(n_seeds=3, mae=11.8, mae_std=1.0))["verdict"][0] == "REGRESSION"


def test_deterministic_models_fail_above_one_percent():
    assert compare.compare(_table(), _table(mae=10.09))["verdict"][0] == "ok"
    assert compare.compare(_table(), _table(mae=10.11))["verdict"][0] == "REGRESSION"


def test_times_are_compared_after_calibration_and_only_when_measurable():
    # twice the time on a machine twice as slow is no regression
    assert compare.compare(_table(), _table(fit_time_s=2.0, calibration_s=0.2))["verdict"][0] == "ok"
    assert compare.compare(_table(), _table(fit_time_s=2.0))["verdict"][0] == "REGRESSION"
    # a 0.05 s fit is too short to judge
    assert compare.compare(_table(fit_time_s=0.05), _table(fit_time_s=0.5))["verdict"][0] == "ok"


def test_missing_and_failed_cells_are_regressions():
    diff = compare.compare(pd.concat([_table(), _table(label="gone")]), _table(status="failed"))
    assert set(diff["verdict"]) == {"REGRESSION"}
    assert "missing from the new run" in " ".join(diff["why"])


def test_runs_of_different_suites_cannot_be_compared():
    with pytest.raises(BenchError, match="different suites"):
        compare.compare(_table(), _table(suite="other"))


def test_unusable_input_exits_2(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    done = gate(bad, bad)
    assert done.returncode == 2 and "missing columns" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("select", ["validation", "test"])
def test_a_selection_that_chooses_another_variant_is_compared_as_the_same_row(tmp_path, select):
    rows = []
    for window in (3, 12):
        suite = tmp_path / f"s{window}.toml"
        # The same entry; the second run's grid no longer offers the first run's choice.
        grid = "[1, 3, 24]" if window == 3 else "[1, 12, 24]"
        suite.write_text('name = "sel"\n[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "naive"\n'
                         f'[[models]]\nname = "tests.toy_models:MeanOfLast"\nlabel = "mean"\n'
                         f'params = {{ window = {grid} }}\nselect = "{select}"\n')
        api.run(str(suite), out=tmp_path / f"out{window}", workers=0, plots=False)
        rows.append(compare.read_results(tmp_path / f"out{window}" / "results.csv"))
    diff = compare.compare(rows[0], rows[1]).set_index("label")
    assert diff.loc["mean", "verdict"] == "ok"            # the window-12 choice is more accurate
    assert "selection chose window=12 (was window=" in diff.loc["mean", "why"]      # one row, not two


@pytest.mark.parametrize("side", ["base", "new"])
@pytest.mark.parametrize("value", [np.nan, "n/a"], ids=["NaN", "n/a"])
def test_an_ok_row_without_a_finite_mae_fails_the_gate_naming_the_cell(tmp_path, capsys, side, value):
    good, broken = _table(), _table(mae=value)
    paths = {}
    for name, table in (("base", broken if side == "base" else good), ("new", broken if side == "new" else good)):
        paths[name] = tmp_path / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    assert compare.main(paths["base"], paths["new"]) == 1
    line = next(l for l in capsys.readouterr().out.splitlines() if "REGRESSION" in l)
    assert "| d " in line and "| m " in line and f"status ok but {side} MAE is nan: not a finite number" in line


def test_two_models_sharing_a_label_are_two_cells_and_a_file_equals_itself(tmp_path, capsys):
    table = pd.concat([_table(model="naive", mae=10.0), _table(model="drift", mae=20.0)])
    path = tmp_path / "results.csv"
    table.to_csv(path, index=False)
    assert compare.main(path, path) == 0
    assert "2 cells, 0 regressions" in capsys.readouterr().out


def test_compare_reads_stores_without_writing_to_them(tmp_path):
    from tests.test_store import VERSION_1
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.executescript(VERSION_1.replace("'old'", "'gate'").replace('"packages": {}', '"packages": {}, "calibration_s": 0.02'))
    api.run(_gate_suite(tmp_path), out=tmp_path / "new", workers=0, plots=False)
    new = tmp_path / "new" / "bench.sqlite"
    before = {p: p.read_bytes() for p in (old, new)}
    done = gate(old, new)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert "Comparing" in done.stdout
    assert {p: p.read_bytes() for p in (old, new)} == before


def _gate_suite(tmp_path):
    path = tmp_path / "gate.toml"
    path.write_text('name = "gate"\n[[datasets]]\nname = "air_passengers"\ntest_size = 24\n'
                    '[[models]]\nname = "naive"\n')
    return str(path)


def _panel_table(**over):
    return _table(**{"n_series": 414, "smape": 18.0, "smape_std": np.nan, "mase": 2.4, "mase_std": np.nan, **over})


def test_a_panel_row_is_judged_by_its_mean_smape_and_mase_over_series_not_by_mae():
    # The panel mean of MAE is left to the largest series: it may move without a regression.
    assert compare.compare(_panel_table(), _panel_table(mae=12.0))["verdict"][0] == "ok"
    worse = compare.compare(_panel_table(), _panel_table(mase=2.43))
    assert worse["verdict"][0] == "REGRESSION" and worse["why"][0].startswith("MASE 2.4 -> 2.43")
    assert compare.compare(_panel_table(), _panel_table(smape=18.1))["verdict"][0] == "ok"        # within 1%
    assert "sMAPE 18 -> 18.3" in compare.compare(_panel_table(), _panel_table(smape=18.3))["why"][0]
    # Seeds: two standard errors of the difference of the seeds' panel means.
    seeded = dict(n_seeds=3, smape_std=0.3, mase_std=0.01)
    assert compare.compare(_panel_table(**seeded), _panel_table(**{**seeded, "smape": 18.4}))["verdict"][0] == "ok"
    broken = compare.compare(_panel_table(), _panel_table(mase=np.nan))
    assert broken["why"][0] == "status ok but new MASE is nan: not a finite number"
    # A single series beside it keeps the MAE gate.
    assert compare.compare(_table(n_series=1), _table(mae=10.11))["verdict"][0] == "REGRESSION"


def test_a_panel_run_compares_with_itself_and_a_worse_one_from_results_csv(tmp_path, capsys):
    from bench import report
    from tests.test_panel_report import MODELS, make_series, panel_frames
    from tests.test_report import RUN

    cells, forecasts = panel_frames("m4_hourly", make_series(12), MODELS)
    table = report.aggregate(cells, forecasts, RUN)
    base, same, worse = tmp_path / "base.csv", tmp_path / "same.csv", tmp_path / "worse.csv"
    base.write_text(report.results_csv(table))
    same.write_text(report.results_csv(table))
    worse_cells = cells.assign(mase=np.where(cells["label"] == "naive2", cells["mase"] * 1.05, cells["mase"]))
    worse.write_text(report.results_csv(report.aggregate(worse_cells, forecasts, RUN)))
    assert compare.main(base, same) == 0
    assert "4 cells, 0 regressions" in capsys.readouterr().out
    assert compare.main(base, worse) == 1
    line = next(l for l in capsys.readouterr().out.splitlines() if "REGRESSION" in l)
    assert "naive2" in line and "MASE" in line


def _with_distribution(**over):
    return _table(**{"msis": 20.0, "msis_std": np.nan, "coverage_80": 0.78, "coverage_80_std": np.nan,
                     "coverage_95": 0.94, "coverage_95_std": np.nan, **over})


def test_a_worse_msis_fails_the_gate_as_a_worse_mae_does():
    assert compare.compare(_with_distribution(), _with_distribution(msis=20.19))["verdict"][0] == "ok"
    worse = compare.compare(_with_distribution(), _with_distribution(msis=20.3))
    assert worse["verdict"][0] == "REGRESSION" and worse["why"][0].startswith("MSIS 20 -> 20.3")
    seeded = dict(n_seeds=3, msis_std=1.0)
    assert compare.compare(_with_distribution(**seeded), _with_distribution(**seeded, msis=21.5))["verdict"][0] == "ok"


def test_a_coverage_drifting_from_nominal_fails_the_gate_and_one_nearing_it_does_not():
    # 0.94 is 0.01 from 0.95; 0.96 is too: no drift. 0.91 is 0.03 further away than allowed (0.02).
    assert compare.compare(_with_distribution(), _with_distribution(coverage_95=0.96))["verdict"][0] == "ok"
    assert compare.compare(_with_distribution(), _with_distribution(coverage_95=0.925))["verdict"][0] == "ok"
    drift = compare.compare(_with_distribution(), _with_distribution(coverage_95=0.91))
    assert drift["verdict"][0] == "REGRESSION" and "cover 95% 0.940 -> 0.910" in drift["why"][0]
    assert compare.compare(_with_distribution(), _with_distribution(coverage_80=0.90))["verdict"][0] == "REGRESSION"
    looser = compare.Tolerances(coverage_tolerance=0.05)
    assert compare.compare(_with_distribution(), _with_distribution(coverage_95=0.91), looser)["verdict"][0] == "ok"


def test_a_row_that_lost_its_distribution_regresses_and_one_that_never_had_one_is_not_judged_on_it():
    lost = compare.compare(_with_distribution(), _with_distribution(msis=np.nan, coverage_95=np.nan))
    assert lost["verdict"][0] == "REGRESSION" and "the forecast distribution is gone" in lost["why"][0]
    assert compare.compare(_table(), _table())["verdict"][0] == "ok"            # no distribution columns at all
    assert compare.compare(_table(), _with_distribution())["verdict"][0] == "ok"


# --------------------------------------------------------------------------- the data compared

def _fingerprinted(data_hash="h3", n_series=3, ids_hash="ids3", **over):
    return _panel_table(**{"data_hash": data_hash, "data_n_series": n_series, "data_series_ids_hash": ids_hash,
                           **over})


def test_a_panel_of_another_set_of_series_fails_the_gate_even_with_better_numbers_unless_allowed(capsys):
    base = _fingerprinted()
    fewer = _fingerprinted("h2", 2, "ids2", smape=15.0, mase=2.0)         # lost its hardest series
    diff = compare.compare(base, fewer)
    assert diff["verdict"][0] == "REGRESSION"
    assert diff["why"][0].startswith("the data changed: another set of series (3 -> 2 series)")
    allowed = compare.compare(base, fewer, allow_data_change=True)
    assert allowed["verdict"][0] == "data changed" and "not judged" in allowed["why"][0]
    # Allowed or not, a model that stopped working is a regression.
    broken = compare.compare(base, _fingerprinted("h2", 2, "ids2", status="failed"), allow_data_change=True)
    assert broken["verdict"][0] == "REGRESSION"


def test_a_single_series_with_other_values_fails_the_gate():
    base = _table(data_hash="aaaa", data_n_series=1, data_series_ids_hash="one")
    halved = _table(mae=5.0, data_hash="bbbb", data_n_series=1, data_series_ids_hash="one")
    diff = compare.compare(base, halved)
    assert diff["verdict"][0] == "REGRESSION" and "the same single series with other values" in diff["why"][0]
    assert compare.compare(base, base)["verdict"][0] == "ok"


def test_a_reference_without_data_fingerprints_is_judged_and_said_unchecked(tmp_path, capsys):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    _table().to_csv(old, index=False)                        # a results.csv from before the fingerprints
    _table(data_hash="0123456789012345", data_n_series=1, data_series_ids_hash="one").to_csv(new, index=False)
    assert compare.read_results(new)["data_hash"][0] == "0123456789012345"     # text, as a store gives it
    assert compare.main(old, new) == 0
    out = capsys.readouterr().out
    assert "0 regressions" in out
    assert f"cannot tell whether these datasets hold the same data on both sides ({old}: no data_hash): d." in out


@pytest.mark.slow
def test_the_gate_fails_a_panel_run_against_another_set_of_series_naming_the_cells(tmp_path):
    """Issue 24: a single series then a panel under its name, or a panel that lost its hardest series, passed."""
    from bench import data
    from tests.test_panels import long_panel

    m4 = data.load_panel(data.get_dataset("m4_hourly"))
    single = tmp_path / "single.csv"
    pd.DataFrame({"hour": m4["H2"].index[-120:].strftime("%Y-%m-%d %H:%M"),
                  "sales": m4["H2"].to_numpy()[-120:]}).to_csv(single, index=False)
    runs = {"single": data.user_dataset(single, name="shops"),
            "three": data.user_dataset(long_panel(tmp_path / "three.csv", m4, ids=("H1", "H2", "H4")),
                                       id_col="store", name="shops"),
            "two": data.user_dataset(long_panel(tmp_path / "two.csv", m4, ids=("H1", "H4")), id_col="store",
                                     name="shops")}
    for name, ds in runs.items():
        # Seasonal naive alone: on these series its every judged number is no worse after either change.
        api.run("default", datasets=["shops"], models=["seasonal_naive"], references=False, out=tmp_path / name,
                extra_datasets=[ds], plots=False, progress=False)
    for base, new, change in (("single", "three", "1 -> 3 series"), ("three", "two", "3 -> 2 series")):
        for files in ("results.csv", "bench.sqlite"):
            done = gate(tmp_path / base / files, tmp_path / new / files)
            assert done.returncode == 1, done.stdout
            assert "1 cells, 1 regressions" in done.stdout
            line = next(l for l in done.stdout.splitlines() if "| seasonal_naive " in l)
            assert "| shops " in line and f"the data changed: another set of series ({change})" in line
        allowed = subprocess.run([sys.executable, "-m", "bench", "compare", str(tmp_path / base / "results.csv"),
                                  str(tmp_path / new / "results.csv"), "--allow-data-change"], cwd=REPO,
                                 capture_output=True, text=True)
        assert allowed.returncode == 0 and "0 regressions, 1 on changed data (allowed" in allowed.stdout, allowed.stdout
    table = pd.read_csv(tmp_path / "three" / "results.csv")
    assert set(table["data_n_series"]) == {3} and table["data_hash"].nunique() == 1


def test_compare_help_names_the_option_that_accepts_other_data():
    done = subprocess.run([sys.executable, "-m", "bench", "compare", "--help"], cwd=REPO, capture_output=True,
                          text=True)
    assert "--allow-data-change" in done.stdout
