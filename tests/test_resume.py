"""A run is one consistent set of results: resume refuses to mix code, data or splits, and
two processes resuming one run store every cell once."""
import sqlite3
import subprocess
import sys

import pytest

from bench import api, data, provenance
from bench.errors import BenchError
from bench.store import Store
from tests.conftest import REPO, catalog_file

NAIVE = '[[datasets]]\nname = "air_passengers"\ntest_size = {test_size}\n[[models]]\nname = "naive"\n'


def _suite(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


def _stored(out):
    with sqlite3.connect(out / "bench.sqlite") as db:
        return db.execute("SELECT run_id, dataset, label, seed, status, mae FROM cells ORDER BY cell_id").fetchall()


def test_resume_after_one_value_of_the_csv_changed_refuses_naming_the_dataset(tmp_path):
    csv = tmp_path / "sales.csv"
    csv.write_text(catalog_file("air_passengers", "AirPassengers.csv").read_text())
    api.run("default", datasets=["sales"], models=["naive"], out=tmp_path / "out", references=False,
            extra_datasets=[data.user_dataset(csv)], plots=False)
    csv.write_text(csv.read_text().replace("1960-12,432", "1960-12,433"))
    with pytest.raises(BenchError, match=r"--resume: the values of dataset 'sales' changed since run 1 started"):
        api.run("default", datasets=["sales"], models=["naive"], out=tmp_path / "out", resume=True,
                references=False, extra_datasets=[data.user_dataset(csv)], plots=False)
    assert len(_stored(tmp_path / "out")) == 1          # nothing added beside the old cell


def test_resume_after_the_code_changed_refuses_naming_the_file(tmp_path, monkeypatch):
    suite = _suite(tmp_path, NAIVE.format(test_size=24))
    api.run(suite, out=tmp_path / "out", references=False, plots=False)
    real = provenance.code_files()
    # As after a one-line comment in bench/metrics.py: its hash changes, nothing else.
    monkeypatch.setattr(provenance, "code_files", lambda: {**real, "bench/metrics.py": "0" * 16})
    with pytest.raises(BenchError, match=r"--resume: the code changed since run 1 started \(bench/metrics.py\)"):
        api.run(suite, out=tmp_path / "out", resume=True, references=False, plots=False)
    assert len(_stored(tmp_path / "out")) == 1


def test_resume_with_another_split_refuses_rather_than_storing_a_second_cell(tmp_path):
    api.run(_suite(tmp_path, NAIVE.format(test_size=24)), out=tmp_path / "out", references=False, plots=False)
    with pytest.raises(BenchError, match=r"run 1 holds air_passengers / naive / seed 0 computed with another split"):
        api.run(_suite(tmp_path, NAIVE.format(test_size=36)), out=tmp_path / "out", resume=True, references=False, plots=False)
    assert len(_stored(tmp_path / "out")) == 1


@pytest.mark.slow
def test_resume_with_the_same_code_and_data_may_add_a_model(tmp_path):
    suite = _suite(tmp_path, NAIVE.format(test_size=24) + '[[models]]\nname = "drift"\n')
    api.run(suite, models=["naive"], out=tmp_path / "out", references=False, plots=False)
    res = api.run(suite, out=tmp_path / "out", resume=True, references=False, plots=False)
    assert res.run["run_id"] == 1
    assert sorted(res.cells["label"]) == ["drift", "naive"]


SLOW = """
name = "slow"
seeds = 4
[[datasets]]
name = "air_passengers"
test_size = 24
refit_every = 24
[[models]]
name = "tests.faulty_models:SlowNaive"
label = "slow"
params = { delay_s = 1.0 }
[[models]]
name = "naive"
"""


@pytest.mark.slow
def test_two_resumes_of_one_run_at_once_store_every_cell_once_and_both_exit_0(tmp_path):
    suite = _suite(tmp_path, SLOW)
    out = tmp_path / "out"
    api.run(suite, models=["naive"], out=out, references=False, plots=False)     # run 1: naive done, the four slow cells not
    command = [sys.executable, "-m", "bench", "run", "--suite", suite, "--workers", "0", "--out", str(out),
               "--resume", "--no-references"]
    both = [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    stderr = [p.communicate(timeout=300)[1] for p in both]
    assert [p.returncode for p in both] == [0, 0], stderr
    assert not any("Traceback" in e for e in stderr)
    # One computed the four cells; the other waited for it, then found nothing left to do.
    assert sorted("4 cells to run" in e for e in stderr) == [False, True], stderr
    assert sum("waiting: another process is computing run 1" in e for e in stderr) == 1, stderr
    cells = _stored(out)
    assert len(cells) == 5 and {c[0] for c in cells} == {1}
    assert len({(c[2], c[3]) for c in cells}) == 5          # every (variant, seed) once


def test_a_cell_key_is_stored_once_per_run_even_by_a_second_writer(tmp_path):
    api.run(_suite(tmp_path, NAIVE.format(test_size=24)), out=tmp_path / "out", references=False, plots=False)
    store = Store(tmp_path / "out" / "bench.sqlite")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            columns = ", ".join(r[1] for r in store.db.execute("PRAGMA table_info(cells)") if r[1] != "cell_id")
            with store.db:
                store.db.execute(f"INSERT INTO cells ({columns}) SELECT {columns} FROM cells")
    finally:
        store.close()
    assert len(_stored(tmp_path / "out")) == 1

