"""Parallel cells, isolation of misbehaving models, Dask, and resume after a crash."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench import api, executor
from tests.conftest import REPO

SUITE = """
name = "t"
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
name = "tests.faulty_models:Noisy"
label = "noisy"
"""


def _suite(tmp_path, text=SUITE):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


def _maes(res):
    return res.cells.set_index(["dataset", "label", "seed"])["mae"].sort_index()


@pytest.mark.slow
def test_two_local_workers_give_exactly_the_serial_results(tmp_path):
    serial = api.run(_suite(tmp_path), out=tmp_path / "serial", workers=0, plots=False)
    parallel = api.run(_suite(tmp_path), out=tmp_path / "parallel", workers=2, plots=False)
    assert len(serial.cells) == 8 and (serial.cells["status"] == "ok").all()
    pd.testing.assert_series_equal(_maes(serial), _maes(parallel))


# Keras too: its initial weights once depended on Python's global random, which a Dask
# worker's event loop draws from while a cell runs.
WITH_KERAS = SUITE + """
[[models]]
name = "gru_keras"
params = { units = 4, lookback = 12, epochs = 2, dropout = 0.1 }
"""


@pytest.mark.slow
def test_dask_local_cluster_gives_exactly_the_serial_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = api.run(_suite(tmp_path, WITH_KERAS), out=tmp_path / "serial", workers=0, plots=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        on_dask = api.run(_suite(tmp_path, WITH_KERAS), out=tmp_path / "dask", cluster=cluster.scheduler_address, plots=False)
        with distributed.Client(cluster) as client:
            # The nanny starts workers with MALLOC_TRIM_THRESHOLD_ set; the cells undid it.
            assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {"65536"}
            assert set(client.run(_large_mallocs_mmapped).values()) == {(0, 0)}
    pd.testing.assert_series_equal(_maes(serial), _maes(on_dask))


def _large_mallocs_mmapped() -> tuple[int, int]:
    """For two 1 MiB malloc/free in a row: whether each was served by a fresh mmap."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    libc.malloc.restype = ctypes.c_void_p

    def one():
        before = libc.mallinfo2().hblks
        block = libc.malloc(1 << 20)
        mmapped = libc.mallinfo2().hblks - before
        libc.free(ctypes.c_void_p(block))
        return mmapped
    return one(), one()


def test_workers_undo_eager_malloc_trimming_which_makes_every_large_buffer_an_mmap():
    # With MALLOC_TRIM_THRESHOLD_ set glibc stops adapting: every 1 MiB buffer is mmapped
    # and unmapped again (page faults on each; torch trained 2.2x slower). Without the
    # variable glibc adapts after the first free, which is what the workers restore.
    script = ("from tests.test_executor import _large_mallocs_mmapped as probe\n"
              "from bench.executor import undo_eager_trimming\n"
              "print(probe(), end=' '); undo_eager_trimming(); print(probe())")
    run = lambda env: subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                                     env={**os.environ, **env}, check=True).stdout.strip()
    assert run({"MALLOC_TRIM_THRESHOLD_": "65536"}) == "(1, 1) (0, 0)"


MISBEHAVING = SUITE.replace('seeds = 2', 'seeds = 1') + """
[[models]]
name = "tests.faulty_models:Raises"
label = "raises"
[[models]]
name = "tests.faulty_models:SleepsForever"
label = "sleeps"
[[models]]
name = "tests.faulty_models:ExitsInFit"
label = "exits"
"""


@pytest.mark.slow
def test_failing_hanging_and_dying_models_are_recorded_and_the_run_goes_on(tmp_path):
    res = api.run(_suite(tmp_path, MISBEHAVING), out=tmp_path / "out", workers=2, cell_timeout_s=3, plots=False)
    status = res.cells.groupby("label")["status"].agg(set).to_dict()
    assert status == {"naive": {"ok"}, "seasonal_naive": {"ok"}, "noisy": {"ok"},
                      "raises": {"failed"}, "sleeps": {"timeout"}, "exits": {"crashed"}}
    reasons = res.cells.set_index(["label", "dataset"])["reason"]
    assert "deliberate failure in fit" in reasons["raises", "air_passengers"]
    assert "cell-timeout of 3 s" in reasons["sleeps", "air_passengers"]
    assert "exit code 3" in reasons["exits", "air_passengers"]
    board = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "sleeps" in board and "timeout" in board and "crashed" in board


SLOW = """
name = "slow"
seeds = 6
[[datasets]]
name = "air_passengers"
test_size = 24
refit_every = 24
[[models]]
name = "tests.faulty_models:SlowNaive"
label = "slow"
params = { delay_s = 0.4 }
[[models]]
name = "naive"
"""


@pytest.mark.slow
def test_a_run_killed_part_way_resumes_without_recomputing_finished_cells(tmp_path):
    suite = _suite(tmp_path, SLOW)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", "--suite", suite, "--workers", "1",
                             "--out", str(out), "--no-references"], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    db = out / "bench.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _count(db) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = _count(db)
    assert 3 <= finished_before < 7, "the kill should land part-way through the run"

    resumed = subprocess.run([sys.executable, "-m", "bench", "run", "--suite", suite, "--workers", "1",
                              "--out", str(out), "--resume", "--no-references", "--no-plots"], cwd=REPO,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{7 - finished_before} cells to run ({finished_before} already finished" in resumed.stderr
    after = api.load(out)
    assert after.run["run_id"] == 1
    assert after.cells["cell_key"].is_unique and len(after.cells) == 7

    whole = api.run(suite, out=tmp_path / "whole", workers=0, references=False, plots=False)
    pd.testing.assert_series_equal(_maes(after), _maes(whole))


def _count(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_worker_limits_itself_to_one_thread():
    pool = executor.IsolatedPool(1)
    try:
        threads = pool.submit(_thread_settings).result(timeout=120)
    finally:
        pool.shutdown()
    assert threads == {"OMP_NUM_THREADS": "1", "torch": 1, "openblas": 1}


def _thread_settings():
    import numpy  # noqa: F401  (loads OpenBLAS, which must already see the limit)
    import torch
    return {"OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"], "torch": torch.get_num_threads(),
            "openblas": _openblas_threads()}


def _openblas_threads():
    import ctypes
    import glob
    import numpy
    libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__), "..", "numpy.libs", "libscipy_openblas*.so*"))
    lib = ctypes.CDLL(libs[0])
    for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
        if hasattr(lib, name):
            return getattr(lib, name)()
    raise AssertionError("OpenBLAS thread query not found")


ANNOUNCING = """
name = "announcing"
[[datasets]]
name = "air_passengers"
test_size = 24
refit_every = 24
[[models]]
name = "tests.faulty_models:Announces"
label = "forever"
params = { delay_s = 3600.0 }
[[models]]
name = "tests.faulty_models:Announces"
label = "soon"
params = { delay_s = 1.5 }
"""


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies waiting to be reaped are not)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_when_the_main_process_is_killed_its_workers_end_within_seconds_without_a_traceback(tmp_path, how):
    marks = tmp_path / "marks"
    marks.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", "--suite", _suite(tmp_path, ANNOUNCING),
                             "--workers", "2", "--out", str(tmp_path / "out")], cwd=REPO, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, "BENCH_TEST_MARKS": str(marks)})
    try:
        deadline = time.monotonic() + 120
        while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline:    # both workers in a cell
            time.sleep(0.05)
        assert len(list(marks.iterdir())) == 2, "the workers never started their cells"
        proc.send_signal(how)
        code = proc.wait(timeout=30)
        stopped = time.monotonic()
        while _alive_in_group(proc.pid) and time.monotonic() < stopped + 5:
            time.sleep(0.1)
        assert _alive_in_group(proc.pid) == [], "a worker outlived the main process by 5 s"
        time.sleep(2)       # the "soon" cell would have ended by now and found no one to report to
        stderr = proc.stderr.read()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    if how == signal.SIGTERM:          # as Ctrl-C: one line, the conventional exit status
        assert code == 143
        assert stderr.strip().splitlines()[-1].startswith("interrupted by SIGTERM; finished cells are stored")
    else:
        assert code == -signal.SIGKILL
