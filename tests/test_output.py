"""What a run leaves behind when the disk fills up or the process dies: one line, a whole store,
and the report set of one run, never half of two; and how much a default split writes."""
import hashlib
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from bench import api, files, suite as suites
from bench.errors import BenchWarning
from tests.conftest import REPO

SUITE = '[[datasets]]\nname = "air_passengers"\ntest_size = 24\n[[models]]\nname = "naive"\n'


def _suite(tmp_path, text=SUITE):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


def _snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _bench_with_file_size_limit(limit_bytes, *args):
    """``python -m bench`` in a process that cannot make a file larger than ``limit_bytes``: as on a
    full disk, a write past it fails (EFBIG instead of ENOSPC; SIGXFSZ is ignored, as a shell would)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                          preexec_fn=limit, timeout=300)


def _one_error_line(done):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.slow
def test_a_full_disk_while_reports_are_written_leaves_the_previous_set_whole(tmp_path):
    out = tmp_path / "out"
    api.run(_suite(tmp_path), out=out)
    api.run(_suite(tmp_path, SUITE + '[[models]]\nname = "drift"\n'), out=out)
    before = _snapshot(out)
    # Re-rendering run 1: the markdown fits under the limit, the plots do not.
    line = _one_error_line(_bench_with_file_size_limit(25_000, "report", "--out", str(out), "--run", "1"))
    assert f"{out}: could not write the reports (File too large); the files there are unchanged" in line
    assert _snapshot(out) == before
    assert not list(out.glob(".*.part"))


@pytest.mark.slow
def test_a_full_disk_while_a_cell_is_stored_is_one_line_and_the_store_stays_whole(tmp_path):
    out = tmp_path / "out"
    api.run(_suite(tmp_path), out=out, references=False)
    before = _snapshot(out)
    size = (out / "bench.sqlite").stat().st_size
    line = _one_error_line(_bench_with_file_size_limit(size, "run", "--suite", _suite(tmp_path), "--workers", "0",
                                                       "--out", str(out), "--no-references"))
    assert "the result store could not be read or written" in line and "`run --resume` continues" in line
    with sqlite3.connect(out / "bench.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert api.load(out, 1).cells["status"].tolist() == ["ok"]
    assert {k: v for k, v in _snapshot(out).items() if k != "bench.sqlite"} == \
        {k: v for k, v in before.items() if k != "bench.sqlite"}


KILLED_BETWEEN_RENAMES = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from bench import files
    folder = Path(sys.argv[1])
    files.replace_set(folder, {"a.md": "A", "b.md": "A", "c.png": b"A"})
    real = os.replace
    def replace_then_die(src, dst):
        real(src, dst)
        if Path(dst).name == "a.md":          # the first file of the new set is in place
            os.kill(os.getpid(), signal.SIGKILL)
    files.os.replace = replace_then_die
    files.replace_set(folder, {"a.md": "B", "b.md": "B"})
""")


def test_a_kill_between_the_renames_of_a_report_set_is_finished_by_the_next_writer(tmp_path):
    folder = tmp_path / "reports"
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_RENAMES, str(folder)], cwd=REPO)
    assert killed.returncode == -signal.SIGKILL
    assert (folder / files.JOURNAL).is_file()           # the renames it had yet to make
    assert ((folder / "a.md").read_text(), (folder / "b.md").read_text()) == ("B", "A")
    files.replace_set(folder, {"a.md": "C"})
    assert sorted(p.name for p in folder.iterdir()) == sorted([".bench.lock", files.MANIFEST, "a.md"])
    assert (folder / "a.md").read_text() == "C"


@pytest.mark.slow
def test_files_of_the_previous_report_set_are_removed_with_it(tmp_path):
    out = tmp_path / "out"
    api.run("default", datasets=["air_passengers", "google_stock"], models=["naive", "seasonal_naive"], out=out)
    assert (out / "google_stock.md").is_file() and (out / "cost_vs_accuracy.png").is_file()
    # Without seasonal naive there is no relative MAE, so no overall cost plot; google is not run.
    api.run("default", datasets=["air_passengers"], models=["naive"], out=out, references=False)
    present = {p.name for p in out.iterdir()} - {"bench.sqlite", files.LOCK_FILE, files.MANIFEST}
    assert "google_stock.md" not in present and "cost_vs_accuracy.png" not in present
    assert "Run 2 of suite `default`" in (out / "LEADERBOARD.md").read_text()
    assert present == set(__import__("json").loads((out / files.MANIFEST).read_text()))


OVERFLOWS = SUITE + '[[models]]\nname = "tests.faulty_models:Overflows"\nlabel = "overflows"\n'


def test_a_forecast_whose_errors_overflow_is_a_failed_cell_and_the_report_renders(tmp_path):
    res = api.run(_suite(tmp_path, OVERFLOWS), out=tmp_path / "out")
    cells = res.cells.set_index("label")
    assert cells.loc["overflows", "status"] == "failed"
    assert "the forecast errors cannot be represented: MAE = inf" in cells.loc["overflows", "reason"]
    assert cells.loc["naive", "status"] == "ok"
    table = pd.read_csv(tmp_path / "out" / "results.csv").select_dtypes("number")
    assert not np.isinf(table.to_numpy()).any()
    assert "overflows" in (tmp_path / "out" / "LEADERBOARD.md").read_text()


def test_a_split_that_makes_millions_of_forecasts_is_announced_before_it_runs(tmp_path):
    suite = suites.load_suite(_suite(tmp_path, '[[datasets]]\nname = "energy_aep_hourly"\ntest_size = 50000\n'
                                               'step = 1\n[[models]]\nname = "naive"\n'))
    series = {"energy_aep_hourly": __import__("bench").data.load_series("energy_aep_hourly")}
    with pytest.warns(BenchWarning, match=r"makes 1,199,448 forecasts per cell.*--step.*--test-size"):
        api._warn_about_volume(suite, series, suites.cells(suite))
    small = suites.load_suite(_suite(tmp_path, SUITE))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api._warn_about_volume(small, {"air_passengers": __import__("bench").data.load_series("air_passengers")},
                               suites.cells(small))


def test_a_series_that_repeats_its_season_exactly_reports_without_a_relative_mae(tmp_path):
    """Seasonal naive's MAE is then 0, every ratio to it infinite: the run still writes its reports and says why."""
    from bench import data

    months = pd.date_range("2000-01-01", periods=120, freq="MS")
    values = np.tile([10, 20, 30, 25, 15, 12, 18, 22, 28, 35, 30, 20], 10)
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "value": values}).to_csv(tmp_path / "periodic.csv",
                                                                                    index=False)
    out = tmp_path / "out"
    api.run("quick", datasets=["periodic"], models=["theta"], out=out, workers=0, progress=False,
            extra_datasets=[data.user_dataset(tmp_path / "periodic.csv", name="periodic")])
    board = (out / "LEADERBOARD.md").read_text()
    assert "seasonal_naive's MAE is 0 wherever it ran" in board
    assert not (out / "cost_vs_accuracy.png").exists() and (out / "periodic_cost.png").is_file()
