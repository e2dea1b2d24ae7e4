"""The command line as a user runs it: a real subprocess, real data, real files."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def bench(*args, cwd=REPO):
    env = {**os.environ}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_run_writes_leaderboard_and_csv_and_report_reproduces_them_byte_for_byte(tmp_path):
    out = tmp_path / "out"
    done = bench("run", "--all", "-m", "naive", "-m", "seasonal_naive", "--out", str(out))
    assert done.returncode == 0, done.stderr
    board = (out / "LEADERBOARD.md").read_text()
    csv = (out / "results.csv").read_text()
    for dataset in ("google_stock", "air_passengers", "sunspots_monthly", "energy_aep_hourly"):
        assert f"## {dataset}" in board
    assert "| 38.61 " in board and "| 5.944 " in board        # the reference naive values
    (out / "LEADERBOARD.md").unlink()
    (out / "results.csv").unlink()
    assert bench("report", "--out", str(out)).returncode == 0
    assert (out / "LEADERBOARD.md").read_text() == board
    assert (out / "results.csv").read_text() == csv


@pytest.mark.slow
def test_a_second_run_starts_a_new_run_and_the_report_shows_the_latest(tmp_path):
    out = tmp_path / "out"
    for _ in range(2):
        assert bench("run", "--all", "-d", "air_passengers", "-m", "naive", "--out", str(out)).returncode == 0
    assert "Run 2 of suite `default`" in (out / "LEADERBOARD.md").read_text()


def test_list_commands_start_fast_without_loading_deep_learning_libraries():
    code = ("import sys, time; t=time.perf_counter(); from bench.cli import main; main(['list','models']); "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules, 'heavy import'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "lstm_torch" in done.stdout and "arima" in done.stdout


@pytest.mark.parametrize("args, needle", [
    (["run"], "one of the arguments --all --suite is required"),
    (["run", "--suite", "nope"], "no suite 'nope'"),
    (["run", "--all", "-d", "nope"], "--dataset: nope not in suite"),
    (["run", "--all", "-m", "nope"], "--model: nope is neither a registered model nor in suite"),
    (["run", "--all", "--seeds", "0"], "--seeds must be a positive integer"),
    (["report", "--out", "/nonexistent/dir"], "no result store"),
    (["list", "things"], "invalid choice"),
])
def test_usage_errors_exit_2_with_one_line_and_no_traceback(args, needle, tmp_path):
    done = bench(*args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_bad_suite_file_is_named_in_the_error(tmp_path):
    suite = tmp_path / "mine.toml"
    suite.write_text('[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "naive"\nparams = {bogus = 1}\n')
    done = bench("run", "--suite", str(suite), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "bogus" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_tensorboard_gets_loss_curves_of_both_frameworks_one_directory_per_cell(tmp_path):
    logs = tmp_path / "tb"
    done = bench("run", "--suite", "quick", "-d", "air_passengers", "-m", "lstm_torch", "-m", "lstm_keras",
                 "-m", "naive", "--seeds", "1", "--no-plots", "--out", str(tmp_path / "out"), "--tensorboard", str(logs))
    assert done.returncode == 0, done.stderr
    for model in ("lstm_torch", "lstm_keras"):
        events = list((logs / "air_passengers" / model / "seed0").rglob("events.out.tfevents.*"))
        assert events, f"no TensorBoard events for {model}"
    assert not (logs / "air_passengers" / "naive").exists()
    board = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "tensorboard" not in board       # a logging option is not a model parameter
    assert not list((tmp_path / "out").glob("*.png")) and ".png)" not in board     # --no-plots


@pytest.mark.slow
def test_a_run_without_cells_is_refused_by_report_and_compare_with_one_line(tmp_path):
    from bench.store import Store

    out = tmp_path / "out"
    store = Store(out / "bench.sqlite")     # as a suite with an empty grid list once left it
    store.start_run(started_at="2026-01-01T00:00:00Z", suite="empty", suite_source="", git_commit=None,
                    environment={"calibration_s": 0.02})
    store.close()
    for args, needle in ((["report", "--out", str(out)], "--run: run 1 in"),
                         (["compare", str(out), str(out)], "run 1 has no cells on the test span")):
        done = bench(*args)
        assert done.returncode == 2 and needle in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
