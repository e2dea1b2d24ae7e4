"""Reproduce the M4 competition's published benchmark table on its hourly series (issue 16).

Not a pytest file (tests/test_m4_benchmarks.py asserts on ``reproduce()``). The M4
protocol, outside the harness: for each of the 414 series, the registered models
(``bench.forecaster.build``, season 24, seed 0) are fitted on the training row and
forecast the 48 test values; sMAPE and MASE (``bench.metrics``; MASE's scale the
in-sample seasonal-naive MAE at lag 24 of the training row) are averaged over the 48
steps, then over the series, as the organisers' "Benchmarks and Evaluation.R" does.
It prints ours beside the published values and each model's CPU seconds per series
(fit and forecast, ``time.process_time``, one thread).

    python benchmarks/m4_hourly_reproduction.py                          # all eight methods
    python benchmarks/m4_hourly_reproduction.py -m holt -m damped --forecast-version 8.20
    python benchmarks/m4_hourly_reproduction.py --every 10               # every 10th series
    python benchmarks/m4_hourly_reproduction.py --explain                # what Holt depends on (~6 CPU-min)

Reads ``Hourly-train.csv``, ``Hourly-test.csv`` and ``published_hourly_benchmarks.csv``
from ``$BENCH_DATA_DIR/m4_hourly/`` (the layout of the project's data folder, as the
loader finds catalog files): wide files, one row per series, id then values, shorter
rows ending in empty cells. ``--forecast-version`` is passed to holt, damped and com
(``baselines.m4_benchmarks``: 8.2, as M4 ran, or 8.20).

``--explain`` measures what the Holt and Damped scores depend on, on the deseasonalised
series (``baselines.m4_benchmarks`` functions): R's search from forecast 8.2's start (the
models' default) and from 8.20's; the same search with the criterion multiplied by
``1 + eps N(0, 1)`` (seeded) for eps 1e-12, 1e-10 and 1e-8 (R's own tolerance is
1.5e-8), which shows how far rounding may go before a score moves; and a lower minimum
of the same criterion under the same bounds (scipy's Nelder-Mead on rescaled
coordinates from R's answer and from alpha 0.1, 0.5 and 0.9), which shows how far R's
stopping points are from the optimum and what Holt would score there.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from baselines import m4_benchmarks as m4  # noqa: E402
from baselines.theta import SeasonalAdjustment  # noqa: E402
from bench import forecaster, metrics  # noqa: E402

HORIZON, SEASON = 48, 24
# M4's method names (the published file's) and the registry's.
METHODS = {"Naive": "naive", "sNaive": "seasonal_naive", "Naive2": "naive2", "SES": "ses",
           "Holt": "holt", "Damped": "damped", "Theta": "theta", "Com": "com"}
VERSIONED = ("ses", "holt", "damped", "com")
FIRST_ROW = "R's search, forecast 8.2 start (M4)"


class InputError(Exception):
    """Bad input: one line for the user."""


def data_folder() -> Path:
    folder = os.environ.get("BENCH_DATA_DIR")
    if not folder:
        raise InputError("BENCH_DATA_DIR is not set (the folder that holds m4_hourly/)")
    path = Path(folder) / "m4_hourly"
    for name in ("Hourly-train.csv", "Hourly-test.csv", "published_hourly_benchmarks.csv"):
        if not (path / name).is_file():
            raise InputError(f"{path / name} does not exist")
    return path


def load_m4_hourly(folder: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each series id's (training values, the 48 test values), in file order."""
    folder = folder or data_folder()
    train = pd.read_csv(folder / "Hourly-train.csv", index_col=0)
    test = pd.read_csv(folder / "Hourly-test.csv", index_col=0)
    if list(train.index) != list(test.index) or test.shape[1] != HORIZON:
        raise InputError(f"{folder}: the train and test files do not hold the same series "
                         f"with {HORIZON} test values each")
    return {sid: (train.loc[sid].dropna().to_numpy(float), test.loc[sid].to_numpy(float))
            for sid in train.index}


def published(folder: Path | None = None) -> pd.DataFrame:
    """The published sMAPE and MASE of the eight benchmarks, indexed by M4's method name."""
    table = pd.read_csv((folder or data_folder()) / "published_hourly_benchmarks.csv")
    return table.set_index("method").loc[list(METHODS), ["smape", "mase"]]


def forecast(model: str, train: np.ndarray, forecast_version: str = "8.2") -> np.ndarray:
    """The 48 forecasts of a registered model fitted on one training row."""
    params = {"forecast_version": forecast_version} if model in VERSIONED else {}
    fitted = forecaster.build(model, params, season_length=SEASON, seed=0, horizon=HORIZON)
    # No timestamps in M4: a step index, as the harness gives such series.
    y = pd.Series(train, index=pd.date_range("1970-01-01", periods=len(train), freq="h"))
    return np.asarray(fitted.fit(y).predict(HORIZON), dtype=float)


def reproduce(methods: list[str] | None = None, *, every: int = 1, forecast_version: str = "8.2",
              folder: Path | None = None) -> pd.DataFrame:
    """Ours and the published sMAPE and MASE, and CPU seconds per series, per M4 method."""
    folder = folder or data_folder()
    methods = methods or list(METHODS)
    series = list(load_m4_hourly(folder).values())[::every]
    rows = []
    for method in methods:
        model = METHODS[method]
        smapes, mases, cpu_s = [], [], 0.0
        for train, test in series:
            start = time.process_time()
            f = forecast(model, train, forecast_version)
            cpu_s += time.process_time() - start
            smapes.append(float(metrics.smape(y_true=test, y_pred=f)))
            mases.append(float(metrics.mase(y_true=test, y_pred=f, y_train=train, season_length=SEASON)))
        rows.append({"method": method, "model": model, "smape": np.mean(smapes), "mase": np.mean(mases),
                     "cpu_s_per_series": cpu_s / len(series)})
    table = pd.DataFrame(rows).set_index("method")
    reference = published(folder)
    table["published_smape"] = reference["smape"]
    table["published_mase"] = reference["mase"]
    table.attrs["n_series"] = len(series)
    return table


# -- what Holt's score depends on ------------------------------------------------------


def _search(x: np.ndarray, trend: str, version: str = "8.2", noise: float = 0.0, seed: int = 0) -> m4.SmoothingFit:
    """R's search (``m4.fit_smoothing``), optionally on a criterion perturbed by relative noise."""
    objective = m4.trend_objective(x, trend)
    if noise:
        rng = np.random.default_rng(seed)

        def perturbed(params):
            value = objective(params)
            return value * (1.0 + noise * rng.standard_normal()) if np.isfinite(value) else value
        found = m4.nelder_mead(perturbed, m4.starting_point(x, trend, version))
    else:
        found = m4.nelder_mead(objective, m4.starting_point(x, trend, version))
    return m4.SmoothingFit(trend, *m4.unpack(found.x, trend), found.converged)


def _lower_minimum(x: np.ndarray, trend: str) -> tuple[m4.SmoothingFit, float]:
    """A lower minimum of R's criterion under R's bounds, and how far above it R's stops (relative)."""
    from scipy.optimize import minimize

    objective = m4.trend_objective(x, trend)
    r_fit = _search(x, trend)
    r_point = np.array([r_fit.alpha, r_fit.beta] + ([r_fit.phi] if trend == "damped" else [])
                       + [r_fit.initial_level, r_fit.initial_slope])
    scale = np.abs(r_point) + 1e-3
    best_value, best_point = objective(r_point), r_point
    for alpha in (None, 0.1, 0.5, 0.9):
        start = r_point.copy()
        if alpha is not None:
            start[0], start[1] = alpha, min(0.05, alpha / 2)
        found = minimize(lambda z: objective(z * scale), start / scale, method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000})
        if found.fun < best_value:
            best_value, best_point = float(found.fun), found.x * scale
    fit = m4.SmoothingFit(trend, *m4.unpack(best_point, trend), True)
    return fit, objective(r_point) / best_value - 1.0


def explain(*, every: int = 1, folder: Path | None = None) -> list[str]:
    """The measurements behind the Holt benchmark's score, as printable lines."""
    data = []
    for train, test in list(load_m4_hourly(folder).values())[::every]:
        season = SeasonalAdjustment.fit(train, SEASON)
        data.append((train / season.indices(0, len(train)), season.indices(len(train), HORIZON), train, test))

    def forecasts(fitter) -> dict[str, list[np.ndarray]]:
        out = {"add": [], "damped": []}
        for x, future, _, _ in data:
            for trend in out:
                fit = fitter(x, trend)
                level, slope = m4.run_states(x, fit, fit.initial_level, fit.initial_slope)
                out[trend].append(m4.smoothing_forecast(fit, level, slope, HORIZON) * future)
        return out

    def score(fs: list[np.ndarray]) -> str:
        smapes = [metrics.smape(y_true=test, y_pred=f) for f, (_, _, _, test) in zip(fs, data)]
        mases = [metrics.mase(y_true=test, y_pred=f, y_train=train, season_length=SEASON)
                 for f, (_, _, train, test) in zip(fs, data)]
        return f"{np.mean(smapes):7.3f} / {np.mean(mases):6.3f}"

    def moved(fs: list[np.ndarray], reference: list[np.ndarray]) -> int:
        return sum(not np.allclose(a, b, rtol=1e-6, atol=0) for a, b in zip(fs, reference))

    base = forecasts(lambda x, t: _search(x, t))
    variants = [("R's search, forecast 8.20 start", forecasts(lambda x, t: _search(x, t, "8.20")))]
    for noise in (1e-12, 1e-10, 1e-8):
        variants.append((f"criterion x (1 + {noise:.0e} N(0,1))", forecasts(lambda x, t: _search(x, t, noise=noise))))
    excess = {"add": [], "damped": []}

    def lower(x, trend):
        fit, above = _lower_minimum(x, trend)
        excess[trend].append(above)
        return fit
    variants.append(("lower minimum of the criterion", forecasts(lower)))

    lines = [f"Holt and Damped on {len(data)} M4 hourly series, sMAPE / MASE; 'moved': series whose "
             f"forecasts differ from the first row's by more than 1e-6",
             f"{'variant':40s} {'holt':>16s} {'damped':>16s} {'moved (holt, damped)':>22s}",
             f"{FIRST_ROW:40s} {score(base['add']):>16s} {score(base['damped']):>16s}"]
    for name, fs in variants:
        lines.append(f"{name:40s} {score(fs['add']):>16s} {score(fs['damped']):>16s} "
                     f"{moved(fs['add'], base['add']):>10d} {moved(fs['damped'], base['damped']):>10d}")
    for trend, name in (("add", "Holt"), ("damped", "Damped")):
        above = np.array(excess[trend])
        lines.append(f"{name}: R's stopping point's MSE above the lower minimum: median {np.median(above):.1e}, "
                     f"more than 1% in {(above > 0.01).sum()} series, more than 10% in {(above > 0.1).sum()}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--method", action="append", choices=list(METHODS),
                        help="an M4 method name (repeatable; default: all eight)")
    parser.add_argument("--every", type=int, default=1, help="use every n-th series (default 1: all 414)")
    parser.add_argument("--forecast-version", default="8.2", choices=("8.2", "8.20"),
                        help="R forecast release whose search holt, damped and com follow (default 8.2, as M4)")
    parser.add_argument("--explain", action="store_true",
                        help="instead of the table, measure what Holt's and Damped's scores depend on")
    args = parser.parse_args(argv)
    if args.every < 1:
        print(f"error: --every must be at least 1, got {args.every}", file=sys.stderr)
        return 2
    try:
        if args.explain:
            print("\n".join(explain(every=args.every)))
            return 0
        table = reproduce(args.method, every=args.every, forecast_version=args.forecast_version)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"M4 hourly, {table.attrs['n_series']} series, horizon {HORIZON}, "
          f"forecast {args.forecast_version} search for holt, damped, com")
    print(f"{'method':8s} {'model':15s} {'sMAPE':>8s} {'published':>9s} {'MASE':>7s} "
          f"{'published':>9s} {'CPU s/series':>12s}")
    for method, row in table.iterrows():
        print(f"{method:8s} {row.model:15s} {row.smape:8.3f} {row.published_smape:9.3f} "
              f"{row.mase:7.3f} {row.published_mase:9.3f} {row.cpu_s_per_series:12.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
