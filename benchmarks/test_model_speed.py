"""Fit and predict time of every registered model on one fixed series.

The series is air_passengers' first 120 months; each model uses its settings from the
quick suite. To catch a slowdown, save a baseline and compare against it:

    pytest benchmarks/test_model_speed.py --benchmark-autosave
    pytest benchmarks/test_model_speed.py --benchmark-compare --benchmark-compare-fail=median:50%

(docs/benchmarks.md gives the spread measured on a 2-core machine.)
"""
import pytest

from bench import data, forecaster, suite as suites

QUICK = suites.load_suite("quick")
HORIZON = 12


def quick_params(name):
    spec = next((m for m in QUICK.models if m.name == name), None)
    return suites.expand_grid(spec.params)[0] if spec else {}


@pytest.fixture(scope="module")
def train():
    return data.load_series("air_passengers").iloc[:120]


@pytest.mark.parametrize("name", sorted(forecaster.REGISTRY))
def test_fit(benchmark, name, train):
    benchmark.group = "fit"
    def fresh_model():
        model = forecaster.build(name, quick_params(name), season_length=12, seed=0, horizon=HORIZON)
        # As in the runner: importing a framework is a cost of the process, not of fit.
        getattr(model, "load_libraries", lambda: None)()
        return (model,), {}

    # Most fits here take 5-80 ms, where one slow round moves a median of 5: with 5 rounds
    # the medians of unchanged runs spread up to 1.84x, hence 15 rounds after a warm-up.
    benchmark.pedantic(lambda m: m.fit(train), setup=fresh_model, rounds=15, warmup_rounds=1, iterations=1)


@pytest.mark.parametrize("name", sorted(forecaster.REGISTRY))
def test_predict(benchmark, name, train):
    benchmark.group = "predict"
    model = forecaster.build(name, quick_params(name), season_length=12, seed=0, horizon=HORIZON).fit(train)
    benchmark(model.predict, HORIZON)
