"""Command line: ``python -m bench list|run|report``.

A usage or input error prints one line on stderr and exits 2, with no traceback and
nothing written.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import data, forecaster, suite as suites
from bench.errors import BenchError

DEFAULT_OUT = Path("results")
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "results" / "reference"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; we want one line
        raise BenchError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description="Walk-forward forecasting benchmark harness.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lst = sub.add_parser("list", help="list the catalog's datasets, the registered models, or the suites")
    lst.add_argument("what", choices=["datasets", "models", "suites"])

    run = sub.add_parser("run", help="evaluate a suite and write the leaderboard")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="run the default suite")
    which.add_argument("--suite", metavar="NAME|FILE", help="a suite name (see `list suites`) or a TOML file")
    run.add_argument("-d", "--dataset", action="append", metavar="NAME", help="only this dataset (repeatable)")
    run.add_argument("-m", "--model", action="append", metavar="NAME",
                     help="only this model, by registry name or label (repeatable)")
    run.add_argument("--seeds", type=int, metavar="N", help="seeds per seeded model (default: the suite's)")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="local worker processes, one thread each (default: one per core; "
                          "0 runs cells in this process)")
    run.add_argument("--cluster", metavar="ADDRESS", help="run cells on a Dask scheduler, e.g. tcp://host:8786")
    run.add_argument("--cell-timeout", type=float, metavar="SECONDS",
                     help="stop a cell after this long and record it as timeout")
    run.add_argument("--resume", action="store_true",
                     help="continue the latest run of this suite: skip cells already finished with the "
                          "same code, data and parameters")
    run.add_argument("--update-reference", action="store_true",
                     help="after the run, copy results.csv to results/reference/<suite>.csv, the "
                          "reference that `compare` checks in CI")
    _add_out(run)

    cmp = sub.add_parser("compare", help="compare two runs of one suite; exit 1 on a regression",
                         description="Compare NEW against BASE (results.csv files or result stores). "
                                     "Exit 1 when a cell regressed, 0 otherwise, 2 on unusable input.")
    cmp.add_argument("base", metavar="BASE")
    cmp.add_argument("new", metavar="NEW")
    cmp.add_argument("--mae-tolerance", type=float, default=0.01, metavar="FRACTION",
                     help="allowed relative MAE increase (default 0.01 = 1%%)")
    cmp.add_argument("--time-ratio", type=float, default=1.5, metavar="RATIO",
                     help="allowed growth of calibrated fit/predict time (default 1.5)")

    rep = sub.add_parser("report", help="re-render the reports of a stored run without re-running it")
    rep.add_argument("--run", type=int, metavar="ID", help="run id in the store (default: the latest)")
    _add_out(rep)
    return parser


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help="output directory for the store and reports (default: results/)")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"list": cmd_list, "run": cmd_run, "report": cmd_report,
                "compare": cmd_compare}[args.command](args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def cmd_list(args) -> int:
    if args.what == "datasets":
        for name in data.catalog_names():
            ds = data.get_dataset(name)
            print(f"{name:20s} {ds.frequency:3s} season {ds.season_length:<4d} {ds.description}")
    elif args.what == "models":
        for name, entry in forecaster.REGISTRY.items():
            seeded = "seeded" if entry.seeded else ""
            print(f"{name:16s} {entry.family:13s} {seeded:7s} {entry.summary}")
    else:
        for name in suites.suite_names():
            print(f"{name:12s} {suites.load_suite(name).description}")
    return 0


def cmd_run(args) -> int:
    from bench import api

    progress = Progress()
    started = time.perf_counter()
    res = api.run("default" if args.all else args.suite, datasets=args.dataset, models=args.model,
                  seeds=args.seeds, out=args.out, workers=args.workers, cluster=args.cluster,
                  cell_timeout_s=args.cell_timeout, resume=args.resume, on_cell=progress)
    print(f"done in {time.perf_counter() - started:.1f} s; wrote {args.out / 'LEADERBOARD.md'}, "
          f"{args.out / 'results.csv'}", file=sys.stderr)
    if args.update_reference:
        from bench.report import write_atomic
        reference = REFERENCE_DIR / f"{res.run['suite']}.csv"
        write_atomic(reference, (args.out / "results.csv").read_text())
        print(f"updated the reference {reference}", file=sys.stderr)
    return 0


def cmd_compare(args) -> int:
    from bench import compare

    if args.mae_tolerance < 0 or args.time_ratio < 1:
        raise BenchError("--mae-tolerance must be >= 0 and --time-ratio >= 1")
    return compare.main(args.base, args.new, compare.Tolerances(mae_tolerance=args.mae_tolerance,
                                                                time_ratio=args.time_ratio))


def cmd_report(args) -> int:
    from bench import report
    from bench.store import Store

    db = args.out / "bench.sqlite"
    if not db.is_file():
        raise BenchError(f"--out: no result store at {db}; run `python -m bench run` first")
    store = Store(db)
    run_id = args.run if args.run is not None else store.latest_run_id()
    try:
        store.run(run_id)
    except KeyError:
        raise BenchError(f"--run: no run {run_id} in {db}") from None
    paths = report.write_reports(store, run_id, args.out)
    print(f"run {run_id}: wrote {', '.join(map(str, paths))}", file=sys.stderr)
    return 0


class Progress:
    """One permanent line per finished cell; on a terminal, a live line for the running one."""

    def __init__(self):
        self.total, self.count = 0, 0
        self.live = sys.stderr.isatty()

    def __call__(self, event: str, **info) -> None:
        if event == "start_run":
            self.total = info["n_cells"]
            reused = f" ({info['n_skipped']} already finished, reused)" if info["n_skipped"] else ""
            print(f"run {info['run_id']}: suite {info['suite'].name!r}, {self.total} cells to run{reused}, "
                  f"store {info['store']}", file=sys.stderr)
            self.bar()
        elif event == "done":
            self.done(info["result"])
            self.bar()

    def bar(self) -> None:
        if self.live and self.count < self.total:
            filled = "#" * (30 * self.count // max(self.total, 1))
            print(f"[{filled:<30s}] {self.count}/{self.total} cells", end="", file=sys.stderr, flush=True)

    def done(self, result) -> None:
        self.count += 1
        c = result.cell
        detail = (f"MAE {result.scores['mae']:.4g}" if result.status == "ok" else result.reason)[:100]
        prefix = "\r\033[K" if self.live else ""
        print(f"{prefix}[{self.count:>{len(str(self.total))}}/{self.total}] {result.status:7s} "
              f"{c.dataset:18s} {c.label:16s} seed {c.seed}  {detail}  ({result.wall_time_s:.1f} s)",
              file=sys.stderr, flush=True)
