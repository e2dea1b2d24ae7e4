"""seasonal_naive and naive, which every table is relative to, join every run unless the user opts out."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench import api, suite as suites
from bench.suite import ModelSpec
from tests.conftest import catalog_file

AIR = catalog_file("air_passengers", "AirPassengers.csv")


def test_a_selection_of_one_model_gets_the_two_references_as_the_suite_lists_them():
    default = suites.load_suite("default")
    chosen, added = suites.with_references(suites.select(default, models=["arima"]))
    assert [m.name for m in chosen.models] == ["arima", "seasonal_naive", "naive"]
    assert added == ["seasonal_naive", "naive"]
    # An added reference is the suite's own entry: the same cells (and cell keys) as in a whole run.
    assert [m for m in default.models if m.name in suites.REFERENCES] == \
           [ModelSpec("naive", None, {}, None), ModelSpec("seasonal_naive", None, {}, None)]
    by_name = lambda cells: sorted((c for c in cells if c.model in suites.REFERENCES), key=lambda c: (c.dataset, c.model))
    assert by_name(suites.cells(chosen)) == by_name(suites.cells(default))
    named, added = suites.with_references(suites.select(default, models=["naive", "ets"]))
    assert [m.name for m in named.models] == ["naive", "ets", "seasonal_naive"] and added == ["seasonal_naive"]


def test_the_suites_that_list_both_are_unchanged_so_ci_and_the_references_are_too():
    for name in ("default", "quick", "m4_hourly", "tuned"):
        suite = suites.load_suite(name)
        assert suites.with_references(suite) == (suite, [])
    workshop, added = suites.with_references(suites.load_suite("workshop"))
    assert added == ["seasonal_naive"] and workshop.models[-1] == ModelSpec("seasonal_naive", None, {}, None)


def test_a_run_of_one_model_has_its_relative_mae_and_cost_plot_unless_references_are_left_out(tmp_path):
    res = api.run("default", datasets=["air_passengers"], models=["drift"], out=tmp_path / "out", progress=False)
    assert sorted(res.table["variant"]) == ["drift", "naive", "seasonal_naive"]
    drift = res.overall.set_index("variant").loc["drift"]
    mae = res.table.set_index("variant")["mae"]
    assert drift["geomean_mae_vs_seasonal_naive"] == pytest.approx(mae["drift"] / mae["seasonal_naive"])
    assert (tmp_path / "out" / "cost_vs_accuracy.png").is_file()
    bare = api.run("default", datasets=["air_passengers"], models=["drift"], out=tmp_path / "bare", progress=False,
                   references=False)
    assert list(bare.table["variant"]) == ["drift"]
    assert bare.overall["geomean_mae_vs_seasonal_naive"].isna().all()


@pytest.mark.slow
def test_a_csv_run_of_one_model_says_the_references_joined_and_no_references_leaves_them_out(tmp_path):
    shutil.copy(AIR, tmp_path / "sales.csv")

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "bench", "run", "--csv", "sales.csv", "-m", "drift", "--workers",
                               "0", *extra], cwd=tmp_path, env={**os.environ}, capture_output=True, text=True,
                              timeout=600)
    done = run()
    assert done.returncode == 0, done.stderr
    assert ("seasonal_naive and naive joined as references, which every table is relative to (--no-references "
            "leaves them out)") in done.stderr
    table = pd.read_csv(tmp_path / "results" / "sales" / "results.csv")
    assert sorted(table["variant"]) == ["drift", "naive", "seasonal_naive"]
    assert np.isfinite(table.set_index("variant").loc["drift", "mae_vs_seasonal_naive"])
    assert (tmp_path / "results" / "sales" / "cost_vs_accuracy.png").is_file()
    bare = run("--no-references", "--out", "bare")
    assert bare.returncode == 0, bare.stderr
    assert "references" not in bare.stderr
    assert list(pd.read_csv(tmp_path / "bare" / "results.csv")["variant"]) == ["drift"]
