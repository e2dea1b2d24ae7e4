"""What selection on a validation span costs, per family.

For every grid of ``suites/tuned.toml`` (one grid per family, ``select = "validation"``),
on one dataset with its default split and one seed: each variant is walked over the
validation span, the variant with the lowest validation MAE over the test span. The
benchmark times the whole selection; ``extra_info`` records the CPU and wall seconds of
the validation walks (all variants together) and of the chosen variant's test walk, and
their ratios: roughly the grid's size times the validation span's cost relative to the
test span's (shorter training windows make a validation walk cheaper than a test walk).

    pytest benchmarks/test_selection_cost.py --benchmark-columns=median,rounds \\
        --benchmark-json=selection.json

The air_passengers grids take about two minutes in all on a 2-core machine; set
``BENCH_SELECTION_DATASET`` to time another dataset's.
"""
import os
import time

import numpy as np
import pytest

from bench import data, forecaster, runner, suite as suites

DATASET = os.environ.get("BENCH_SELECTION_DATASET", "air_passengers")
GRIDS = [spec for spec in suites.load_suite("tuned").models if spec.select == "validation"]


def _timed_walk(spec_name, params, y, split, season_length, span):
    """(MAE, CPU seconds, wall seconds) of one walk."""
    model = forecaster.build(spec_name, params, season_length=season_length, seed=0, horizon=split.horizon)
    getattr(model, "load_libraries", lambda: None)()      # untimed, as in the runner
    cpu, wall = time.process_time(), time.perf_counter()
    walk = runner.walk_forward(model, y, split, season_length, span)
    return walk.mae(), time.process_time() - cpu, time.perf_counter() - wall


@pytest.mark.parametrize("spec", GRIDS, ids=[spec.group for spec in GRIDS])
def test_selection_cost(benchmark, spec):
    ds = data.get_dataset(DATASET)
    y, split = data.load(ds), ds.split
    variants = suites.expand_grid(spec.params)

    def select():
        walks = [_timed_walk(spec.name, params, y, split, ds.season_length, "validation") for params in variants]
        chosen = int(np.argmin([mae for mae, _, _ in walks]))
        test = _timed_walk(spec.name, variants[chosen], y, split, ds.season_length, "test")
        validation = np.sum([walk[1:] for walk in walks], axis=0)
        return validation, np.array(test[1:]), variants[chosen]

    (validation_cpu_s, validation_wall_s), (test_cpu_s, test_wall_s), chosen = benchmark.pedantic(
        select, rounds=1, iterations=1)
    # Prophet's optimiser runs in a CmdStan child process, which process_time does not
    # count: for it, the wall-time ratio is the one to read.
    benchmark.extra_info.update(
        dataset=DATASET, variants=len(variants), chosen=suites.params_text(chosen),
        validation_cpu_s=round(validation_cpu_s, 3), test_cpu_s=round(test_cpu_s, 3),
        validation_over_test_cpu=round(validation_cpu_s / test_cpu_s, 2),
        validation_wall_s=round(validation_wall_s, 3), test_wall_s=round(test_wall_s, 3),
        validation_over_test_wall=round(validation_wall_s / test_wall_s, 2))
    assert validation_cpu_s > 0 and test_cpu_s > 0
