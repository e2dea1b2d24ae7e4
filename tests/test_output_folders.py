"""Where a run writes when no --out is given, and what a run that replaces reports says.

The committed leaderboards are ``results/`` (the default suite) and ``results/m4_hourly/``:
only the whole suite that made each writes there by default; a part of a suite, another
suite and a run on your own data each get a folder of their own. A run that replaces the
reports of another run says so in one line, with the command that brings them back.
"""
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bench import api, cli, data, suite as suites
from bench.errors import BenchWarning
from tests.conftest import REPO, catalog_file

AIR = catalog_file("air_passengers", "AirPassengers.csv")
M4_BENCHMARKS = ["naive", "seasonal_naive", "naive2", "ses", "holt", "damped", "theta", "com"]


def test_each_kind_of_run_has_a_default_folder_of_its_own(tmp_path):
    default, m4 = suites.load_suite("default"), suites.load_suite("m4_hourly")
    assert api.default_out(default) == Path("results")
    every_model = suites.select(default, models=[m.name for m in default.models])
    assert api.default_out(default, every_model, seeds=3) == Path("results")          # the suite as written
    assert api.default_out(default, seeds=5) == Path("results/default_partial")
    # The README's filtered run and M4's benchmark table: parts of their suites.
    part = suites.select(default, datasets=["air_passengers"], models=["naive", "arima"])
    assert api.default_out(default, part) == Path("results/default_partial")
    assert api.default_out(m4) == Path("results/m4_hourly")
    assert api.default_out(m4, suites.select(m4, models=M4_BENCHMARKS)) == Path("results/m4_hourly_partial")
    assert api.default_out(suites.load_suite("quick")) == Path("results/quick")
    # Your own data: its name's folder, whatever the suite and the selection.
    shutil.copy(AIR, tmp_path / "sales.csv")
    mine = data.user_dataset(tmp_path / "sales.csv")
    with_mine = suites.select(api._with_datasets(default, [mine]), datasets=["sales"], models=["naive"])
    assert api.default_out(default, with_mine, extra_datasets=[mine]) == Path("results/sales")


def _clone_results(root: Path) -> Path:
    """A fresh clone's results/: the committed leaderboards, no store."""
    for name in ("LEADERBOARD.md", "results.csv", "m4_hourly/LEADERBOARD.md", "m4_hourly/results.csv"):
        (root / "results" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "results" / name, root / "results" / name)
    return root / "results"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_the_readmes_csv_example_writes_beside_the_committed_leaderboard_not_over_it(tmp_path):
    committed = _clone_results(tmp_path)
    before = _files(committed)
    shutil.copy(AIR, tmp_path / "sales.csv")
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--csv", "sales.csv", "-m", "naive", "--workers", "0"],
                          cwd=tmp_path, env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert {k: v for k, v in _files(committed).items() if not k.startswith("sales/")} == before
    assert (committed / "sales" / "LEADERBOARD.md").is_file()
    assert "wrote results/sales/LEADERBOARD.md, results/sales/results.csv" in done.stderr
    assert "replaced" not in done.stderr


def test_a_run_that_replaces_reports_says_so_and_report_brings_them_back(tmp_path):
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as first_warnings:
        warnings.simplefilter("always")
        api.run("default", datasets=["air_passengers"], models=["naive"], out=out, progress=False)
    assert not [w for w in first_warnings if "replaced" in str(w.message)]       # nothing there to replace
    first = (out / "LEADERBOARD.md").read_text()
    started = api.reports_in(out)["started_at"]
    with pytest.warns(BenchWarning) as said:
        api.run("default", datasets=["air_passengers"], models=["drift"], out=out, progress=False)
    replaced = [str(w.message) for w in said if "replaced" in str(w.message)]
    assert replaced == [f"replaced the reports in {out}/, those of run 1 of suite 'default', started {started}; "
                        f"`python -m bench report --run 1 --out {out}` brings them back"]
    assert "Run 2 of suite" in (out / "LEADERBOARD.md").read_text()
    assert cli.main(["report", "--run", "1", "--out", str(out)]) == 0
    assert (out / "LEADERBOARD.md").read_text() == first


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_replacing_the_committed_leaderboard_of_a_clone_says_git_brings_it_back(tmp_path):
    committed = _clone_results(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "results"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "results"], cwd=tmp_path, check=True)
    made_by = api.reports_in(committed)
    assert made_by["run_id"] is not None and made_by["suite"] == "default"
    with pytest.warns(BenchWarning) as said:
        api.run("default", datasets=["air_passengers"], models=["naive"], out=committed, progress=False)
    replaced = [str(w.message) for w in said if "replaced" in str(w.message)]
    assert replaced == [f"replaced the reports in {committed}/, those of run {made_by['run_id']} of suite 'default', "
                        f"started {made_by['started_at']}, which are committed to git and not in its store: "
                        f"`git checkout -- {committed}` brings them back"]
    subprocess.run(["git", "checkout", "--", str(committed)], cwd=tmp_path, check=True)
    assert (committed / "LEADERBOARD.md").read_bytes() == (REPO / "results" / "LEADERBOARD.md").read_bytes()
