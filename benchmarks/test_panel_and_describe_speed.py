"""How long two whole-data paths take, which the tests check for results and memory only:
describing the energy series (121,273 hourly rows, analysed on its last 10,000 points) and
running naive and seasonal naive over all 414 series of M4 hourly through the CLI on two
workers (what a new user's first panel run costs: process start-up, loading, 828 cells,
the store and the reports).

    pytest benchmarks/test_panel_and_describe_speed.py --benchmark-columns=median,rounds

On 2026-12-07 (a slow day for the development machine: calibration 0.046 s against 0.0085 s on
a fast one) ``describe`` took 5.7 s (median of 3) and the M4 run 15.9 s (median of 3, 14.9-17.3 s).
"""
import subprocess
import sys
from pathlib import Path

import pytest

from bench import data, describe

REPO = Path(__file__).resolve().parent.parent
SUITE = """
name = "panel_speed"
[[datasets]]
name = "m4_hourly"
[[models]]
name = "naive"
[[models]]
name = "seasonal_naive"
"""


def test_describe_energy(benchmark, tmp_path):
    dataset = data.get_dataset("energy_aep_hourly")
    result = benchmark.pedantic(describe.describe, args=(dataset,), kwargs={"out_dir": tmp_path},
                                rounds=3, iterations=1)
    assert "Analysis window: the last 10000" in result.text


def test_naive_and_seasonal_naive_on_m4_hourly_through_the_cli(benchmark, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)

    def run(round_dir=iter(range(100))):
        out = tmp_path / f"out{next(round_dir)}"
        return subprocess.run([sys.executable, "-m", "bench", "run", "--suite", str(suite), "--workers", "2",
                               "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)

    done = benchmark.pedantic(run, rounds=3, iterations=1)
    assert done.returncode == 0, done.stderr
