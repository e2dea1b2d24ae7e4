"""What forecast distributions add to each family's walk time.

Not a pytest file. For each model, on one catalog dataset with its default split (air
passengers: horizon 12, 36 test points, a refit at every origin), one compute thread:

- the walk of point forecasts alone (``walk_forward(..., quantiles=False)``): fits, updates
  and predicts, wall seconds;
- the walk with the model's own quantiles: the same plus ``predict_quantiles`` at every
  origin (``quantile_time_s``);
- for a model without its own (conformal intervals, ``bench.conformal``): the walk over the
  validation span that calibrates them, plus the wrapped walk's quantile time.

Each is repeated ``--repeats`` times, alternating, and the median reported. *added* is what
the distribution costs relative to the point walk: the ``predict_quantiles`` time plus the
calibration walk's, over the point walk's time (the difference of two whole walks' times would
mostly measure the machine's noise). The issue's target is at
most 25% for the classical families. Conformal intervals cost a second walk, over the
validation span (as long as the test span by default): about 100% for every model that
needs them, which the table says.

    python benchmarks/quantile_cost.py                  # every per-series registered model
    python benchmarks/quantile_cost.py -m arima -m ets --repeats 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
_SHARED_DATA = REPO.parent / "shared" / "data"
if _SHARED_DATA.is_dir():
    os.environ.setdefault("BENCH_DATA_DIR", str(_SHARED_DATA))

from bench import conformal, data, forecaster, runner, suite as suites  # noqa: E402

QUICK_NETWORK_PARAMS = {"epochs": 2}     # the networks as the quick suite trains them


def models() -> list[str]:
    return [n for n, e in forecaster.REGISTRY.items() if not e.global_model]


def built(name: str, season: int, horizon: int):
    params = QUICK_NETWORK_PARAMS if forecaster.get_entry(name).family == "rnn" else {}
    model = forecaster.build(name, params, season_length=season, seed=0, horizon=horizon)
    getattr(model, "load_libraries", lambda: None)()
    return model


def timed_walk(model, y, split, season, span="test", quantiles=True) -> tuple[float, runner.WalkResult]:
    started = time.perf_counter()
    result = runner.walk_forward(model, y, split, season, span=span, quantiles=quantiles)
    return time.perf_counter() - started, result


def measure(name: str, y, split, season: int) -> dict:
    point = timed_walk(built(name, season, split.horizon), y, split, season, quantiles=False)[0]
    if forecaster.has_quantiles(name):
        total, walk = timed_walk(built(name, season, split.horizon), y, split, season)
        return {"point_s": point, "calibration_s": 0.0, "quantile_s": walk.quantile_time_s,
                "distribution_s": total, "method": walk.intervals}
    calibration_s, validation = timed_walk(built(name, season, split.horizon), y, split, season,
                                           span="validation", quantiles=False)
    calibration = conformal.Calibration.from_residuals(validation.actuals, validation.forecasts,
                                                       validation.mase_scales)
    wrapped = conformal.Conformal(built(name, season, split.horizon), calibration, season_length=season,
                                  window=split.window)
    total, walk = timed_walk(wrapped, y, split, season)
    return {"point_s": point, "calibration_s": calibration_s, "quantile_s": walk.quantile_time_s,
            "distribution_s": total + calibration_s, "method": walk.intervals}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", action="append", help="a registered model (default: every per-series one)")
    parser.add_argument("-d", "--dataset", default="air_passengers")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    ds, split = suites.load_suite("default").datasets.get(args.dataset) or (data.get_dataset(args.dataset), None)
    split = split or ds.split
    y = data.load_series(args.dataset)
    print(f"{args.dataset}: {split.describe()}, median of {args.repeats} repeats, wall seconds per walk\n")
    print("| model | point walk | + quantiles | + calibration walk | with distribution | added | method |")
    print("|---|---|---|---|---|---|---|")
    for name in args.model or models():
        runs = [measure(name, y, split, ds.season_length) for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("point_s", "calibration_s", "quantile_s",
                                                                      "distribution_s")}
        added = 100.0 * (med["quantile_s"] + med["calibration_s"]) / med["point_s"]
        print(f"| {name} | {med['point_s']:.3f} | {med['quantile_s']:.3f} | {med['calibration_s']:.3f} | "
              f"{med['distribution_s']:.3f} | {added:+.0f}% | {runs[0]['method']} |", flush=True)


if __name__ == "__main__":
    main()
