"""CPU seconds per series of every model family on M4 Hourly: the cost side of suites/m4_hourly.toml.

Not a pytest file. For each model, in a fresh process with one compute thread (as a
harness worker has), it walks a sample of the 414 M4 hourly series the way the
``m4_hourly`` suite does: train values then the 48 test values, indexed by step on a
synthetic hourly index, one origin, horizon 48, season 24, seed 0
(``bench.runner.walk_forward`` on ``WalkForward(horizon=48, test_size=48)``). It prints one
row per model and configuration: CPU and wall seconds per series (mean, median, max),
the process's peak memory, how many series failed or were skipped, and what the fits
chose (``fit_info``, most frequent value).

    python benchmarks/m4_family_costs.py                       # every model, default vs panel config
    python benchmarks/m4_family_costs.py -m arima -m ets --every 40
    python benchmarks/m4_family_costs.py --span validation     # also accuracy, on the validation span

Configurations: ``default`` is the model with no parameters (its automatic defaults);
``panel`` is the parameters the suite file (``--suite``, default suites/m4_hourly.toml)
gives it, when it gives any.

``--span test`` (default) walks the real origin (what the suite costs) and prints no
accuracy at all. ``--span validation`` walks the validation span instead: the last 48
training values are forecast from the values before them, so no test value is read, and
then it also prints the M4 sMAPE and MASE (scale: in-sample seasonal-naive MAE at lag 24
of the history before the origin), means over the sampled series. That is the only
accuracy a configuration may be chosen by.

CPU time is the process's own (``time.process_time``) plus its children's (Prophet runs
CmdStan in a child process, which the runner's figures miss). The suite's estimate adds
these per-series costs over the models, times 414 series, over 2 workers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BENCH_DATA_DIR", REPO.parent / "shared" / "data")) / "m4_hourly"
HORIZON, SEASON, N_SERIES = 48, 24, 414
MODELS = ["naive", "seasonal_naive", "drift", "naive2", "ses", "holt", "damped", "com", "theta",
          "ets", "holt_winters", "arima", "prophet", "xgboost",
          "rnn_torch", "lstm_torch", "gru_torch", "rnn_keras", "lstm_keras", "gru_keras"]


def load_m4_hourly() -> dict[str, "pd.Series"]:
    """Each id's train values then its test values, on a synthetic hourly index (file order)."""
    import numpy as np
    import pandas as pd

    train = pd.read_csv(DATA / "Hourly-train.csv", index_col=0)
    test = pd.read_csv(DATA / "Hourly-test.csv", index_col=0)
    out = {}
    for sid in train.index:
        values = np.r_[train.loc[sid].dropna().to_numpy(float), test.loc[sid].dropna().to_numpy(float)]
        out[sid] = pd.Series(values, index=pd.date_range("1970-01-01", periods=len(values), freq="h"))
    return out


def suite_params(suite: Path) -> dict[str, dict]:
    """The parameters the suite gives each model name (the first entry without a grid)."""
    if not suite.exists():
        return {}
    entries = tomllib.loads(suite.read_text())["models"]
    out = {}
    for entry in entries:
        params = entry.get("params", {})
        if entry["name"] not in out and params and not any(isinstance(v, list) for v in params.values()):
            out[entry["name"]] = params
    return out


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(name: str, params: dict, every: int, limit: int | None, span: str) -> dict:
    """Walk ``name`` over every ``every``-th series in this process; per-series figures."""
    from bench.executor import limit_threads

    limit_threads()
    import numpy as np

    from bench import forecaster
    from bench.runner import summarise_fit_infos, walk_forward
    from bench.splits import WalkForward

    try:
        forecaster.get_entry(name)
    except KeyError:
        return {"missing": f"{name} is not registered"}
    panel = load_m4_hourly()
    ids = list(panel)[::every][:limit]
    split = WalkForward(horizon=HORIZON, test_size=HORIZON)
    started = time.perf_counter()
    model = forecaster.build(name, params, season_length=SEASON, seed=0, horizon=HORIZON)
    getattr(model, "load_libraries", lambda: None)()
    import_s = time.perf_counter() - started
    rows, infos = [], []
    for sid in ids:
        y = panel[sid]
        model = forecaster.build(name, params, season_length=SEASON, seed=0, horizon=HORIZON)
        cpu, kids, wall = time.process_time(), children_cpu_s(), time.perf_counter()
        row = {"id": sid}
        try:
            walk = walk_forward(model, y, split, SEASON, span)
        except forecaster.ModelSkipped as exc:
            row["status"], row["reason"] = "skipped", str(exc)
        except Exception as exc:        # recorded, as the runner does; the sample goes on
            row["status"], row["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        else:
            row["status"] = "ok"
            row["fit_info"] = walk.fit_info()
            infos.extend(walk.fit_infos)
            if span == "validation":
                f, a = walk.forecasts[0], walk.actuals[0]
                history = y.to_numpy(float)[:walk.origin_positions[0]]
                scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
                row["smape"] = float(np.mean(200 * np.abs(a - f) / (np.abs(a) + np.abs(f))))
                row["mase"] = float(np.mean(np.abs(a - f)) / scale)
        row["cpu_s"] = time.process_time() - cpu + children_cpu_s() - kids
        row["wall_s"] = time.perf_counter() - wall
        rows.append(row)
    return {"rows": rows, "import_s": import_s, "peak_mb": peak_rss_mb(),
            "fit_info": {k: (round(v, 2) if isinstance(v, float) else v)
                         for k, v in summarise_fit_infos(infos).items()}}


def summary_line(name: str, config: str, params: dict, result: dict, span: str) -> str:
    import numpy as np

    if "missing" in result:
        return f"| {name} | {config} | - | {result['missing']} |"
    rows = result["rows"]
    cpu = np.array([r["cpu_s"] for r in rows])
    wall = np.array([r["wall_s"] for r in rows])
    bad = [r for r in rows if r["status"] != "ok"]
    cells = [name, config, " ".join(f"{k}={v}" for k, v in params.items()) or "-", str(len(rows)),
             f"{cpu.mean():.3f}", f"{np.median(cpu):.3f}", f"{cpu.max():.3f}", f"{wall.mean():.3f}",
             f"{cpu.mean() * N_SERIES / 2 / 60:.1f}", f"{result['import_s']:.1f}", f"{result['peak_mb']:.0f}",
             str(len(bad))]
    if span == "validation":
        ok = [r for r in rows if r["status"] == "ok"]
        cells += [f"{np.mean([r['smape'] for r in ok]):.3f}" if ok else "-",
                  f"{np.mean([r['mase'] for r in ok]):.3f}" if ok else "-"]
    cells.append(", ".join(f"{k} {v}" for k, v in result["fit_info"].items()))
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-m", "--model", action="append", help="a model name (repeatable; default: all)")
    parser.add_argument("--every", type=int, default=20, help="every n-th series of the 414 (default 20: 21 series)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many series of the sample")
    parser.add_argument("--config", choices=["default", "panel", "both"], default="both")
    parser.add_argument("--params", action="append", type=json.loads, default=[],
                        help="a JSON object of parameters to try on every named model (repeatable)")
    parser.add_argument("--suite", type=Path, default=REPO / "suites" / "m4_hourly.toml")
    parser.add_argument("--span", choices=["test", "validation"], default="test")
    parser.add_argument("--json", type=Path, help="also write every per-series row here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:      # one model and configuration, in a process of its own
        spec = json.loads(args.child)
        print(json.dumps(measure(spec["name"], spec["params"], args.every, args.limit, args.span)))
        return

    panel_params = suite_params(args.suite)
    header = ["model", "config", "params", "series", "CPU s mean", "median", "max", "wall s mean",
              "suite min (x414/2)", "import s", "peak MiB", "not ok"]
    if args.span == "validation":
        header += ["val sMAPE", "val MASE"]
    header.append("fit_info (most frequent / mean)")
    print(f"M4 Hourly, every {args.every}th series, span {args.span}, one thread per process", flush=True)
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    everything = []
    for name in args.model or MODELS:
        configs = []
        if args.config in ("default", "both"):
            configs.append(("default", {}))
        if args.config in ("panel", "both") and name in panel_params:
            configs.append(("panel", panel_params[name]))
        configs += [("given", params) for params in args.params]
        for config, params in configs:
            cmd = [sys.executable, __file__, "--child", json.dumps({"name": name, "params": params}),
                   "--every", str(args.every), "--span", args.span]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                print(f"| {name} | {config} | error: {done.stderr.strip().splitlines()[-1:]} |", flush=True)
                continue
            result = json.loads(lines[-1])
            everything.append({"model": name, "config": config, "params": params, **result})
            print(summary_line(name, config, params, result, args.span), flush=True)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=str))


if __name__ == "__main__":
    main()
