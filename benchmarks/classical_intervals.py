"""What the forecast distributions of ARIMA, ETS, Holt-Winters and Prophet cost, and a sanity look at them.

Not a pytest file. Each family, with no parameters (its automatic defaults), walks air
passengers (monthly, 144 points, season 12) with a refit at every origin over the last
24 points, horizon 12 (``WalkForward(horizon=12, test_size=24, step=1, refit_every=1)``:
13 origins). At each origin it times ``fit``, ``predict(12)`` and then
``predict_quantiles(12, LEVELS)`` (after one untimed round, so no call pays for an
import; wall clock, and the process's CPU time: Prophet's
CmdStan runs in a child process that CPU time misses), and prints their means and what
the quantiles add to the walk's fit + predict time.

It also prints, as a sanity figure only (this is the test span: nothing may be tuned on
it), the share of the 12 x 13 held-out values inside the 95% and 80% intervals, the mean
95% interval width, and M4's MSIS (95% interval score over the in-sample seasonal-naive
MAE of the history before each origin), averaged over origins.

    python benchmarks/classical_intervals.py                 # all four families
    python benchmarks/classical_intervals.py -f ets -f arima
    python benchmarks/classical_intervals.py --span validation
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_SHARED_DATA = REPO.parent / "shared" / "data"
if _SHARED_DATA.is_dir():
    os.environ.setdefault("BENCH_DATA_DIR", str(_SHARED_DATA))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

FAMILIES = ("arima", "ets", "holt_winters", "prophet")
HORIZON, TEST_SIZE, SEASON = 12, 24, 12


def walk(name: str, y, span: str) -> dict:
    from bench import forecaster, metrics, quantiles
    from bench.splits import WalkForward

    model = forecaster.build(name, {}, season_length=SEASON, seed=0)
    if hasattr(model, "load_libraries"):
        model.load_libraries()
    split = WalkForward(horizon=HORIZON, test_size=TEST_SIZE, step=1, refit_every=1)
    values = y.to_numpy(dtype=float)
    levels = quantiles.LEVELS
    lo95, hi95 = (quantiles.index_of(v) for v in quantiles.INTERVALS[95])
    lo80, hi80 = (quantiles.index_of(v) for v in quantiles.INTERVALS[80])
    wall = {"fit": [], "predict": [], "quantiles": []}
    cpu = {"fit": [], "predict": [], "quantiles": []}
    # One untimed round first, so that no timed call pays for importing a library.
    first = next(iter(split.origins(len(y), span)))
    model.fit(y.iloc[:first.position - HORIZON].copy())
    model.predict(HORIZON)
    model.predict_quantiles(HORIZON, levels)
    in95 = in80 = n = 0
    widths, msis, infos = [], [], []
    for origin in split.origins(len(y), span):
        train = y.iloc[origin.train_start:origin.position].copy()
        actual = values[origin.position:origin.position + HORIZON]
        for key, call in (("fit", lambda: model.fit(train)), ("predict", lambda: model.predict(HORIZON)),
                          ("quantiles", lambda: model.predict_quantiles(HORIZON, levels))):
            w0, c0 = time.perf_counter(), time.process_time()
            out = call()
            wall[key].append(time.perf_counter() - w0)
            cpu[key].append(time.process_time() - c0)
        q = quantiles.checked(out, HORIZON, levels)
        infos.append(model.fit_info() if hasattr(model, "fit_info") else {})
        in95 += int(np.sum((actual >= q[:, lo95]) & (actual <= q[:, hi95])))
        in80 += int(np.sum((actual >= q[:, lo80]) & (actual <= q[:, hi80])))
        n += HORIZON
        lo, hi, a = q[:, lo95], q[:, hi95], 0.05
        score = (hi - lo) + 2 / a * (lo - actual) * (actual < lo) + 2 / a * (actual - hi) * (actual > hi)
        widths.append(float(np.mean(hi - lo)))
        msis.append(float(np.mean(score)) / metrics.seasonal_naive_scale(train.to_numpy(), SEASON))
    mean = lambda xs: float(np.mean(xs))
    return {"wall": {k: mean(v) for k, v in wall.items()}, "cpu": {k: mean(v) for k, v in cpu.items()},
            "cover95": in95 / n, "cover80": in80 / n, "width95": mean(widths), "msis": mean(msis),
            "n_origins": len(wall["fit"]), "info": infos[-1], "intervals": type(model).intervals}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--family", action="append", choices=FAMILIES)
    parser.add_argument("--span", default="test", choices=("test", "validation"))
    args = parser.parse_args(argv)
    from bench import data

    y = data.load_series("air_passengers")
    print(f"air passengers, {args.span} span: last {TEST_SIZE} points, refit at every origin, "
          f"horizon {HORIZON}; mean seconds per origin (wall / CPU)")
    print(f"{'family':<13} {'fit':>15} {'predict':>15} {'quantiles':>15} {'added':>7} "
          f"{'cov95':>6} {'cov80':>6} {'width95':>8} {'MSIS':>6}")
    for name in args.family or FAMILIES:
        r = walk(name, y, args.span)
        w, c = r["wall"], r["cpu"]
        added = w["quantiles"] / (w["fit"] + w["predict"])
        cell = lambda k: f"{w[k]:.4f}/{c[k]:.4f}"
        print(f"{name:<13} {cell('fit'):>15} {cell('predict'):>15} {cell('quantiles'):>15} {added:>7.1%} "
              f"{r['cover95']:>6.1%} {r['cover80']:>6.1%} {r['width95']:>8.1f} {r['msis']:>6.2f}"
              f"   ({r['n_origins']} origins; last fit {r['info']})")


if __name__ == "__main__":
    main()
