"""Harness overhead: seasonal naive through the runner versus a bare loop.

Both walk the default suite's four datasets over the same origins and compute the
same errors; the ratio of their medians is the cost of the harness itself (slicing,
copies, timing, MASE scales, scoring).

    pytest benchmarks/test_harness_overhead.py --benchmark-group-by=group
"""
import numpy as np
import pytest

from baselines.naive import SeasonalNaive
from bench import data, runner, suite as suites

DEFAULT = suites.load_suite("default")


@pytest.fixture(scope="module")
def series():
    return {name: (data.load(ds), split, ds.season_length)
            for name, (ds, split) in DEFAULT.datasets.items()}


def through_runner(series):
    return [runner.walk_forward(SeasonalNaive(season_length=m), y, split, m).score()["mae"]
            for y, split, m in series.values()]


def bare_loop(series):
    maes = []
    for y, split, m in series.values():
        values = y.to_numpy(dtype=float)
        errors = []
        for origin in split.origins(len(values)):
            history = values[origin.train_start:origin.position]
            forecast = np.resize(history[-m:], split.horizon)
            errors.append(np.abs(values[origin.position:origin.position + split.horizon] - forecast))
        maes.append(float(np.mean(errors)))
    return maes


@pytest.mark.benchmark(group="harness-overhead")
def test_seasonal_naive_through_the_runner(benchmark, series):
    maes = benchmark(through_runner, series)
    np.testing.assert_allclose(maes, bare_loop(series))


@pytest.mark.benchmark(group="harness-overhead")
def test_seasonal_naive_bare_loop(benchmark, series):
    benchmark(bare_loop, series)
