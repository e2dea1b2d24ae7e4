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

Reads ``Hourly-train.csv``, ``Hourly-test.csv`` and ``published_hourly_benchmarks.csv``
from ``$BENCH_DATA_DIR/m4_hourly/`` (the layout of the project's data folder, as the
loader finds catalog files): wide files, one row per series, id then values, shorter
rows ending in empty cells. ``--forecast-version`` is passed to holt, damped and com
(``baselines.m4_benchmarks``: 8.2, as M4 ran, or 8.20).
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

from bench import forecaster, metrics  # noqa: E402

HORIZON, SEASON = 48, 24
# M4's method names (the published file's) and the registry's.
METHODS = {"Naive": "naive", "sNaive": "seasonal_naive", "Naive2": "naive2", "SES": "ses",
           "Holt": "holt", "Damped": "damped", "Theta": "theta", "Com": "com"}
VERSIONED = ("holt", "damped", "com")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--method", action="append", choices=list(METHODS),
                        help="an M4 method name (repeatable; default: all eight)")
    parser.add_argument("--every", type=int, default=1, help="use every n-th series (default 1: all 414)")
    parser.add_argument("--forecast-version", default="8.2", choices=("8.2", "8.20"),
                        help="R forecast release whose search holt, damped and com follow (default 8.2, as M4)")
    args = parser.parse_args(argv)
    if args.every < 1:
        print(f"error: --every must be at least 1, got {args.every}", file=sys.stderr)
        return 2
    try:
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
