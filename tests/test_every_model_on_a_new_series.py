"""Every registered model, given no parameters, on a monthly series the project has never seen.

A user's ``run --csv FILE -m NAME ...`` must write one row per model named: ``ok``, or
``skipped`` with its reason. Nothing named on the command line is dropped.
"""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench.forecaster import REGISTRY
from tests.conftest import REPO


def _monthly_sales(path):
    """Ten years of a made-up monthly series: a trend, a season whose size grows with it, noise."""
    rng = np.random.default_rng(7)
    months = pd.date_range("2014-01-01", periods=120, freq="MS")
    level = 200 + 1.5 * np.arange(120)
    season = 1 + 0.15 * np.sin(2 * np.pi * np.arange(120) / 12)
    values = level * season * np.exp(rng.normal(0, 0.03, 120))
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "sales": values.round(1)}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_every_registered_model_named_with_m_gets_a_row_on_a_new_csv(tmp_path):
    csv = _monthly_sales(tmp_path / "sales.csv")
    models = [arg for name in REGISTRY for arg in ("-m", name)]
    # One origin (a test span of one horizon): every family still fits, forecasts and gets its
    # calibration walk, at half the cost of two origins (this test took 4 minutes of CI).
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--csv", str(csv), "--horizon", "6",
                           "--test-size", "6", "--seeds", "1", "--workers", "2", "--no-plots", "--out", str(tmp_path / "out"),
                           *models], cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert sorted(table["model"]) == sorted(REGISTRY)
    assert set(table["status"]) <= {"ok", "skipped"}, table[["model", "status", "reason"]]
    assert table.loc[table["status"] == "skipped", "reason"].astype(bool).all()
    ok = table[table["status"] == "ok"]
    assert len(ok) >= len(REGISTRY) - 1     # a monthly series with a season is every family's home ground
