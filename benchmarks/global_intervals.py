"""How should the global networks forecast a distribution? Measured on a pseudo-test, never the test span.

Not a pytest file. Reads M4 hourly's **training rows only** (``Hourly-train.csv``; the test
file ``Hourly-test.csv`` is never opened): each series' last 48 training hours (the real
validation span) play the test span, and the 48 hours before them the validation span
that conformal calibration reads. Every fit here sees only hours before its origin, and
early stopping reads the last 48 hours of each fit's own training part.

    python benchmarks/global_intervals.py --model global_gru_torch --seed 0 >> intervals.jsonl

One network and seed per process, one thread; prints one JSON line per method. The methods:

- ``conformal``: the default. The registered point network walked over
  the pseudo-validation span (a fit of its own), its residuals scaled by each origin's MASE
  scale and pooled over the 414 series per horizon step (``bench.conformal``), then the
  pseudo-test walk (a second fit) wrapped in ``GlobalConformal``, as the runner does.
- ``quantile_head``: one fit of the network's twin with the quantile head (``...Quantiles``):
  point outputs with the point loss (MAE) plus 13 quantile outputs per step with the pinball
  loss, early stopping on their sum, quantiles sorted at prediction time. The point forecast
  is the point output.
- ``quantile_head, median as point``: the same fit, its median output scored as the point
  forecast (does the point output earn its place?).
- ``quantile_head + CQR``: the quantile head's quantiles shifted per step and level by the
  ``tau`` rank of the scaled residuals ``(y - q_tau) / scale`` of a second fit walked over
  the pseudo-validation span, pooled over series (conformalised quantile regression, one-sided
  per level, Romano, Patterson and Candes 2019), then sorted.
- ``quantile_head point + conformal``: conformal intervals (as the first method) around the
  quantile-head network's point output, calibrated on that same second fit's validation walk.

The scores are the harness's (``WalkResult.score``), means over the 414 series: MSIS (M4,
95% interval), coverage of the 80% and 95% intervals (pooled: every series has 48 targets),
ACD = |coverage95 - 0.95|, SQL (fev, levels 0.1..0.9), sMAPE and MASE of the point
forecast. CPU and wall seconds: every fit and walk the method needs, the calibration walk
included; ``crossing`` is the share of (series, step) whose raw quantile outputs were out
of order before sorting.

Pseudo-test (M4 hourly training rows, last 48 hours as the test span; suite configuration:
lookback 168, everything else each network's default; the networks trained on one thread,
two or three processes side by side on a 2-core machine shared with other work, so CPU
seconds are 2-3x a quiet core's and wall times include waiting). The runs used the networks
of commit 868bd52 as first written, with the head switched by a constructor parameter instead
of the ...Quantiles twins: the same computation (a small panel's forecasts and quantiles
checked equal bit for bit), and NumPy's BLAS not yet held to one thread in this script.
Means over the 414 series; ACD from the series' mean coverage of the 95% interval. The
quantile head's and the twin's rows of a seed share one fit (seed 2's twin and CQR rows: a
second run of that seed, which reproduced the quantile head's scores to the last digit):

    network    | method                |seed | MSIS   | ACD   | cov80 | SQL   | WQL    | sMAPE  | MASE  | CPU s | wall s
    --------------------------------------------------------------------------------------------------------------------
    gru_torch  | conformal             |  0  |  9.945 | 0.021 | 0.745 | 0.800 | 0.0893 | 10.063 | 0.929 |   397 |   1037
    gru_torch  | conformal             |  1  |  9.827 | 0.024 | 0.768 | 0.776 | 0.0899 | 10.098 | 0.909 |   446 |    821
    gru_torch  | conformal             |  2  |  9.657 | 0.020 | 0.746 | 0.797 | 0.0880 |  9.981 | 0.926 |   421 |    596
    gru_torch  | quantile head         |  0  | 10.384 | 0.014 | 0.766 | 0.750 | 0.0830 | 10.028 | 0.893 |   254 |    487
    gru_torch  | quantile head         |  1  |  9.275 | 0.010 | 0.792 | 0.759 | 0.0835 | 10.042 | 0.909 |   207 |    323
    gru_torch  | quantile head         |  2  |  9.751 | 0.016 | 0.769 | 0.729 | 0.0822 |  9.889 | 0.884 |   291 |    394
    gru_torch  | head, median as point |  0  | 10.384 | 0.014 | 0.766 | 0.750 | 0.0830 | 10.024 | 0.890 |   254 |    487
    gru_torch  | head, median as point |  1  |  9.275 | 0.010 | 0.792 | 0.759 | 0.0835 | 10.043 | 0.909 |   207 |    323
    gru_torch  | head, median as point |  2  |  9.751 | 0.016 | 0.769 | 0.729 | 0.0822 |  9.887 | 0.882 |   291 |    394
    gru_torch  | quantile head + CQR   |  0  | 10.457 | 0.011 | 0.748 | 0.766 | 0.0851 | 10.028 | 0.893 |   494 |   1004
    gru_torch  | quantile head + CQR   |  1  |  9.397 | 0.021 | 0.736 | 0.775 | 0.0868 | 10.042 | 0.909 |   453 |    871
    gru_torch  | quantile head + CQR   |  2  |  9.907 | 0.030 | 0.694 | 0.760 | 0.0858 |  9.889 | 0.884 |   502 |   1027
    gru_torch  | twin + conformal      |  0  |  9.101 | 0.021 | 0.755 | 0.759 | 0.0883 | 10.028 | 0.893 |   494 |   1004
    gru_torch  | twin + conformal      |  1  |  9.669 | 0.023 | 0.753 | 0.776 | 0.0899 | 10.042 | 0.909 |   453 |    871
    gru_torch  | twin + conformal      |  2  |  8.998 | 0.017 | 0.761 | 0.763 | 0.0882 |  9.889 | 0.884 |   502 |   1027
    lstm_keras | conformal             |  0  |  9.387 | 0.030 | 0.743 | 0.763 | 0.0908 | 10.257 | 0.885 |   498 |   1274
    lstm_keras | conformal             |  1  |  9.244 | 0.016 | 0.760 | 0.765 | 0.0906 | 10.245 | 0.914 |   452 |    910
    lstm_keras | conformal             |  2  |  9.413 | 0.019 | 0.769 | 0.763 | 0.0893 | 10.249 | 0.907 |   342 |    502
    lstm_keras | quantile head         |  0  |  9.490 | 0.036 | 0.761 | 0.758 | 0.0854 | 10.244 | 0.909 |   339 |    756
    lstm_keras | quantile head         |  1  |  9.914 | 0.011 | 0.793 | 0.744 | 0.0841 | 10.211 | 0.890 |   296 |    673
    lstm_keras | quantile head         |  2  | 11.552 | 0.003 | 0.841 | 0.805 | 0.0838 | 10.110 | 0.893 |   305 |    350
    lstm_keras | head, median as point |  0  |  9.490 | 0.036 | 0.761 | 0.758 | 0.0854 | 10.242 | 0.907 |   339 |    756
    lstm_keras | head, median as point |  1  |  9.914 | 0.011 | 0.793 | 0.744 | 0.0841 | 10.211 | 0.890 |   296 |    673
    lstm_keras | head, median as point |  2  | 11.552 | 0.003 | 0.841 | 0.805 | 0.0838 | 10.110 | 0.892 |   305 |    350
    lstm_keras | quantile head + CQR   |  0  |  9.340 | 0.017 | 0.771 | 0.770 | 0.0875 | 10.244 | 0.909 |   534 |   1011
    lstm_keras | quantile head + CQR   |  1  | 10.113 | 0.027 | 0.738 | 0.781 | 0.0894 | 10.211 | 0.890 |   564 |   1108
    lstm_keras | quantile head + CQR   |  2  | 11.710 | 0.006 | 0.823 | 0.827 | 0.0871 | 10.110 | 0.893 |   590 |    958
    lstm_keras | twin + conformal      |  0  |  9.377 | 0.018 | 0.773 | 0.766 | 0.0913 | 10.244 | 0.909 |   534 |   1011
    lstm_keras | twin + conformal      |  1  |  9.353 | 0.025 | 0.746 | 0.781 | 0.0927 | 10.211 | 0.890 |   564 |   1108
    lstm_keras | twin + conformal      |  2  |  9.210 | 0.023 | 0.754 | 0.767 | 0.0903 | 10.110 | 0.893 |   590 |    958
    snaive     | reference, own        |  -  |  9.414 | 0.005 | 0.822 | 1.019 | 0.1334 | 14.570 | 1.228 |     1 |      4
    theta      | reference, own        |  -  | 21.329 | 0.026 | 0.808 | 2.066 | 0.1946 | 19.040 | 2.508 |     5 |     20
    naive2     | reference, own        |  -  | 21.382 | 0.014 | 0.836 | 2.074 | 0.2112 | 19.225 | 2.455 |     2 |      6

Means over seeds (MSIS ± standard deviation over seeds): conformal 9.81 ± 0.15 (GRU) and
9.35 ± 0.09 (LSTM); quantile head 9.80 ± 0.56 and 10.32 ± 1.09; quantile head + CQR 9.92
and 10.39; twin + conformal 9.26 ± 0.36 and 9.31 ± 0.09. The choice (conformal intervals stay
the registered networks'; the quantile twins are an option) and its reasons:
docs/global_models.md, "Forecast distributions".
"""
from __future__ import annotations

import argparse
import json
import os
import time

# One thread for everything, set before NumPy loads its BLAS (bench.executor.limit_threads, called
# in main, sets the same for torch and TensorFlow, which load later).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

SPLIT_HORIZON = 48
# Per-series models with their own intervals, for scale, with the m4_hourly suite's parameters.
REFERENCES = {"seasonal_naive": {}, "theta": {}, "naive2": {}, "arima": {"fit_last": 480, "max_models": 20}}


def pseudo_panel():
    """M4 hourly's training rows by id, on the catalog's synthetic hourly index: nothing from the test file."""
    import pandas as pd

    from bench import data

    ds = data.get_dataset("m4_hourly")
    train_file = next(f for f in ds.files if f.name == "Hourly-train.csv")
    values = data.read_wide(data.locate_file(ds, train_file))
    longest = max(len(v) for v in values.values())
    steps = pd.date_range(data.STEP_INDEX_START, periods=longest, freq=ds.frequency, name="time")
    return {sid: pd.Series(v, index=steps[:len(v)], name=sid) for sid, v in values.items()}, ds.season_length


def timed(call, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = call(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def stacked(walks, attribute):
    return np.concatenate([getattr(w, attribute) for w in walks.values()])


def summary(walks, forecasts=None, quantiles=None) -> dict:
    """Means over series of the harness's scores; ``forecasts``/``quantiles`` by id replace the walk's."""
    from bench import metrics
    from bench import quantiles as qs

    rows = []
    for sid, w in walks.items():
        f = w.forecasts if forecasts is None else forecasts[sid]
        q = w.quantiles if quantiles is None else quantiles[sid]
        rows.append(metrics.score(y_true=w.actuals, y_pred=f, scales=w.mase_scales, q_pred=q, levels=qs.LEVELS))
    mean = {key: float(np.mean([r[key] for r in rows])) for key in ("msis", "coverage_80", "coverage_95", "sql",
                                                                    "wql", "smape", "mase")}
    mean["acd"] = abs(mean["coverage_95"] - 0.95)
    return mean


def raw_crossing(model) -> float:
    """Share of (series, step) whose quantile outputs at the model's current origin are out of order."""
    from rnn_models import global_base as gb

    cfg = model.config_
    L, H, chunk = cfg.lookback, cfg.horizon, gb.chunk_of(cfg.season_length)
    ids = list(model.y_)
    seasonal = np.array([model.scales_[sid].seasonal for sid in ids])
    windows = np.stack([model.scales_[sid].forward(model.y_[sid][-L:]) for sid in ids])
    _, reference = gb.base_and_reference(windows, seasonal, cfg.season, H)
    x = (windows - reference).reshape(len(ids), L // chunk, chunk).astype(np.float32)
    _, q = gb.split_outputs(model._forward(x).astype(float), H, True)
    return float(np.mean(np.any(np.diff(q, axis=2) < 0, axis=2)))


def cqr(validation, test_quantiles, test_walks):
    """The test quantiles shifted per step and level by the validation walk's scaled quantile residuals."""
    from bench import conformal
    from bench import quantiles as qs

    actuals = stacked(validation, "actuals")                      # (series, H)
    q_val = stacked(validation, "quantiles")                      # (series, H, L)
    scales = stacked(validation, "mase_scales")
    usable = np.isfinite(scales) & (scales > 0)
    residuals = (actuals[usable, :, None] - q_val[usable]) / scales[usable, None, None]
    residuals = np.sort(residuals, axis=0)
    n = len(residuals)
    offsets = np.stack([residuals[conformal.rank(n, level) - 1, :, j] for j, level in enumerate(qs.LEVELS)], axis=1)
    out = {}
    for sid, w in test_walks.items():
        scale = w.mase_scales[0] if np.isfinite(w.mase_scales[0]) and w.mase_scales[0] > 0 else 0.0
        out[sid] = np.sort(test_quantiles[sid] + scale * offsets[None], axis=2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="global_gru_torch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="conformal,quantile_head,recalibrated",
                        help="comma-separated: conformal (2 fits), quantile_head (1 fit), recalibrated (with "
                             "quantile_head: +1 fit for its CQR and conformal variants)")
    parser.add_argument("--params", default="{}", help="JSON overriding the suite's parameters (smoke tests)")
    parser.add_argument("--series", type=int, default=0, help="only the first N series (smoke tests); 0: all")
    args = parser.parse_args()

    from bench.executor import limit_threads

    limit_threads()
    from bench import conformal, forecaster, runner
    from bench.splits import WalkForward

    panel, season = pseudo_panel()
    if args.series:
        panel = dict(list(panel.items())[:args.series])
    split = WalkForward(horizon=SPLIT_HORIZON, test_size=SPLIT_HORIZON)

    def build(quantile_head):
        # The registered (point) network, or its twin with the quantile head, by import path.
        name = forecaster.get_entry(args.model).path + "Quantiles" if quantile_head else args.model
        model = forecaster.build(name, {"lookback": 168, **json.loads(args.params)}, season_length=season,
                                 seed=args.seed, horizon=SPLIT_HORIZON)
        getattr(model, "load_libraries", lambda: None)()
        return model

    def emit(method, scores, cpu, wall, **extra):
        print(json.dumps({"model": args.model, "seed": args.seed, "method": method, **scores,
                          "cpu_s": round(cpu, 1), "wall_s": round(wall, 1), **extra}), flush=True)

    def epochs(walks):
        info = next(iter(walks.values())).fit_info()
        return {"epochs_run": info.get("epochs_run"), "best_epoch": info.get("best_epoch"),
                "n_params": next(iter(walks.values())).n_params}

    def calibration_of(validation):
        return conformal.Calibration.from_residuals(stacked(validation, "actuals"), stacked(validation, "forecasts"),
                                                    stacked(validation, "mase_scales"))

    if args.model in REFERENCES:
        def walks_of_every_series():
            return {sid: runner.walk_forward(forecaster.build(args.model, REFERENCES[args.model],
                                                              season_length=season, seed=0), y, split, season)
                    for sid, y in panel.items()}
        walks, wall, cpu = timed(walks_of_every_series)
        emit(f"reference: {next(iter(walks.values())).intervals}", summary(walks), cpu, wall)
        return

    # Untimed warm-up (the framework's first fit pays for lazy initialisation, seconds for Keras).
    small = {sid: y for sid, y in list(panel.items())[:3]}
    warm = forecaster.build(args.model, {"lookback": 168, "epochs": 1, "steps_per_epoch": 2, "units": 8},
                            season_length=season, seed=args.seed, horizon=SPLIT_HORIZON)
    getattr(warm, "load_libraries", lambda: None)()
    runner.walk_global(warm, small, split, season)

    methods = args.methods.split(",")
    if "conformal" in methods:
        validation, w1, c1 = timed(runner.walk_global, build(False), panel, split, season, span="validation",
                                   quantiles=False)
        calibration = calibration_of(validation)
        wrapped = conformal.GlobalConformal(build(False), calibration, season_length=season)
        test, w2, c2 = timed(runner.walk_global, wrapped, panel, split, season)
        emit("conformal", summary(test), c1 + c2, w1 + w2, calibration_cpu_s=round(c1, 1), **epochs(test),
             validation_epochs=epochs(validation)["epochs_run"])

    if "quantile_head" in methods:
        model = build(True)
        test, w1, c1 = timed(runner.walk_global, model, panel, split, season)
        crossing = raw_crossing(model)
        emit("quantile_head", summary(test), c1, w1, crossing=crossing, **epochs(test))
        medians = {sid: w.quantiles[:, :, 6] for sid, w in test.items()}
        emit("quantile_head, median as point", summary(test, forecasts=medians), c1, w1, **epochs(test))
        if "recalibrated" not in methods:
            return
        validation, w2, c2 = timed(runner.walk_global, build(True), panel, split, season, span="validation")
        quantiles = {sid: w.quantiles for sid, w in test.items()}
        emit("quantile_head + CQR", summary(test, quantiles=cqr(validation, quantiles, test)), c1 + c2, w1 + w2,
             **epochs(test))
        calibration = calibration_of(validation)
        around_point = {sid: np.stack([calibration.quantiles(f, w.mase_scales[i]) for i, f in enumerate(w.forecasts)])
                        for sid, w in test.items()}
        emit("quantile_head point + conformal", summary(test, quantiles=around_point), c1 + c2, w1 + w2,
             **epochs(test))


if __name__ == "__main__":
    main()
