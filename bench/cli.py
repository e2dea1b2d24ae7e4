"""Command line: ``python -m bench list|run|report|compare|describe|fetch``.

A usage or input error, and an environment fault (an output folder that cannot be
written, a full disk, a locked store), prints one ``error:`` line on stderr and exits 2,
with no traceback; inputs and output folders are checked before anything is written.
Exit 1 is kept for what ``compare`` finds: a regression. Ctrl-C and SIGTERM stop a run
the same way (workers stopped, finished cells kept) and exit 130 and 143.
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

from bench import data, files, forecaster, progress, suite as suites
from bench.errors import BenchError, print_warnings_as_one_line

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
    which = run.add_mutually_exclusive_group()   # one of --all, --suite or --csv: checked in cmd_run
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
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the latest run of this suite: skip cells already finished with the "
                            "same code, data and parameters")
    again.add_argument("--force", action="store_true",
                       help="start a new run and compute every cell (the default; resuming is opt-in)")
    run.add_argument("--tensorboard", type=Path, metavar="DIR",
                     help="write training and validation loss curves of the neural models to DIR "
                          "(one sub-directory per dataset, model and seed)")
    run.add_argument("--update-reference", action="store_true",
                     help="after the run, copy results.csv to results/reference/<suite>.csv, the "
                          "reference that `compare` checks in CI")
    run.add_argument("--no-references", action="store_true",
                     help="leave out seasonal_naive and naive, which otherwise join every run (every table "
                          "is relative to them)")
    run.add_argument("--no-plots", action="store_true",
                     help="write the tables and pages without the PNG plots (quicker, for a gate that reads "
                          "results.csv; `report` draws them later)")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="output directory for the store and reports (default: results/ for the whole default "
                          "suite, results/SUITE/ for another whole suite, results/SUITE_partial/ for part of a "
                          "suite (-d, -m, --seeds), results/NAME/ for --csv)")
    _add_csv_options(run, split=True)

    desc = sub.add_parser("describe", help="study a series before modelling it: stationarity, season, STL",
                          description="Length, range, frequency, duplicates, gaps and statistics; ADF and "
                                      "KPSS tests on the series and its differences; the season read from "
                                      "the autocorrelation; an STL plot and an ACF/PACF plot.")
    desc.add_argument("dataset", nargs="?", metavar="NAME", help="a catalog dataset (see `list datasets`)")
    desc.add_argument("--out", type=Path, default=Path("results") / "describe", metavar="DIR",
                      help="where the plots go (default: results/describe/)")
    desc.add_argument("--last", type=int, metavar="N",
                      help="analyse the last N points (default: all, at most 10000)")
    desc.add_argument("--series", metavar="ID",
                      help="the series of a panel to study (a panel is described one series at a time)")
    _add_csv_options(desc, split=False)

    cmp = sub.add_parser("compare", help="compare two runs of one suite; exit 1 on a regression",
                         description="Compare NEW against BASE (results.csv files or result stores). "
                                     "Exit 1 when a cell regressed, 0 otherwise, 2 on unusable input.")
    cmp.add_argument("base", metavar="BASE")
    cmp.add_argument("new", metavar="NEW")
    cmp.add_argument("--mae-tolerance", type=float, default=0.01, metavar="FRACTION",
                     help="allowed relative MAE increase (default 0.01 = 1%%)")
    cmp.add_argument("--time-ratio", type=float, default=1.5, metavar="RATIO",
                     help="allowed growth of calibrated fit/predict time (default 1.5)")
    cmp.add_argument("--coverage-tolerance", type=float, default=0.02, metavar="SHARE",
                     help="allowed growth of an interval coverage's distance from nominal (default 0.02); "
                          "MSIS is judged as MAE, by --mae-tolerance")
    cmp.add_argument("--allow-data-change", action="store_true",
                     help="accept a dataset whose data differ between the runs (another set of series, or other "
                          "values): its cells are shown as 'data changed' and judged on their status only, not "
                          "failed (without it they regress, whatever their numbers)")

    rep = sub.add_parser("report", help="re-render the reports of a stored run without re-running it")
    rep.add_argument("--run", type=int, metavar="ID", help="run id in the store (default: the latest)")
    rep.add_argument("--no-plots", action="store_true", help="write the tables and pages without the PNG plots")
    _add_out(rep)

    fetch = sub.add_parser("fetch", help="download, verify and cache the catalog's data files ahead of time",
                           description="Download every file of the named datasets (default: the whole "
                                       "catalog) into the cache (BENCH_CACHE_DIR, default ~/.cache/bench), "
                                       "check its sha256, and print one line per file. Files already in "
                                       "BENCH_DATA_DIR or the cache are verified, not downloaded again; a "
                                       "cached file that fails its sha256 is downloaded again and replaced "
                                       "once the new one is verified. "
                                       "BENCH_MIRROR=URL downloads URL/<dataset>/<file> instead of the "
                                       "catalog's public URLs.")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="a dataset (see `list datasets`)")
    return parser


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help="output directory for the store and reports (default: results/)")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that a run stops the same way."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    in_main_thread = threading.current_thread() is threading.main_thread()   # where signal handlers live
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        print_warnings_as_one_line()
        args = build_parser().parse_args(argv)
        return {"list": cmd_list, "run": cmd_run, "report": cmd_report,
                "compare": cmd_compare, "describe": cmd_describe, "fetch": cmd_fetch}[args.command](args)
    except BenchError as exc:
        # One line, whatever a library's text inside the message held (pandas ends some with a newline).
        print("error: " + " ".join(part.strip() for part in str(exc).splitlines() if part.strip()), file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, BrokenPipeError):    # stdout closed early (`| head`): nothing left to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(f"error: {environment_fault(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        how = "by SIGTERM" if isinstance(exc, Terminated) else ""
        print(f"interrupted {how}".strip() + "; finished cells are stored (`run --resume` continues a run)",
              file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def environment_fault(exc: OSError | sqlite3.Error) -> str:
    """One line for a fault of the machine rather than of the input: a full disk, a locked store."""
    text = " ".join(str(exc).split())
    if isinstance(exc, sqlite3.Error):
        return (f"the result store could not be read or written ({text}: a full disk, a file size limit or "
                f"another process); every cell finished before is kept, and `run --resume` continues the run")
    where = f"{exc.filename}: " if exc.filename else ""
    hint = "; free some space and try again" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else ""
    return f"{where}{exc.strerror or text or type(exc).__name__}{hint}"


def cmd_list(args) -> int:
    if args.what == "datasets":
        for name in data.catalog_names():
            ds = data.get_dataset(name)
            print(f"{name:20s} {ds.frequency:3s} season {ds.season_length:<4d} {ds.description}")
        for name in data.user_catalog_names():
            ds = data.get_dataset(name)
            print(f"{name:20s} {ds.frequency:3s} season {ds.season_length:<4d} (yours) {ds.description}")
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

    if args.update_reference:
        # The reference is what CI compares whole runs of the suite with: a part of it would
        # make every cell it lacks "new", never a regression.
        narrowed = [o for o, given in (("-d", args.dataset), ("-m", args.model), ("--csv", args.csv),
                                       ("--seeds", args.seeds is not None)) if given]
        if narrowed:
            raise BenchError(f"--update-reference needs the whole suite as written; {', '.join(narrowed)} "
                             f"would make a reference of part of it")
    if args.out is not None:
        files.check_output_dir(args.out, "--out")
    user = _csv_dataset(args, split=True)
    if not (args.all or args.suite or user):
        raise BenchError("python -m bench run: one of the arguments --all --suite is required (or --csv FILE)")
    progress = Progress()
    started = time.perf_counter()
    res = api.run(args.suite or "default", datasets=[user.name, *(args.dataset or [])] if user else args.dataset,
                  models=args.model, seeds=args.seeds, out=args.out, workers=args.workers, cluster=args.cluster,
                  cell_timeout_s=args.cell_timeout, resume=args.resume, tensorboard_dir=args.tensorboard,
                  on_cell=progress, references=not args.no_references, plots=not args.no_plots,
                  extra_datasets=[user] if user else None)
    out = res.store_path.parent
    print(f"done in {time.perf_counter() - started:.1f} s; wrote {out / 'LEADERBOARD.md'}, "
          f"{out / 'results.csv'}", file=sys.stderr)
    if user:
        print(f"registered your series as {user.name!r} in {data.user_catalog_dir() / (user.name + '.toml')}; "
              f"suites can name it: [[datasets]] name = \"{user.name}\"", file=sys.stderr)
    if args.update_reference:
        from bench.files import write_atomic
        reference = REFERENCE_DIR / f"{res.run['suite']}.csv"
        write_atomic(reference, (out / "results.csv").read_text())
        print(f"updated the reference {reference}", file=sys.stderr)
    return 0


def cmd_describe(args) -> int:
    from bench import describe

    user = _csv_dataset(args, split=False)
    if (args.dataset is None) == (user is None):
        raise BenchError("describe: name a dataset (NAME) or a file (--csv FILE), not both")
    files.check_output_dir(args.out, "--out")
    if user:
        frequency_basis = "--freq" if args.freq else "inferred"
        season_basis = "--season" if args.season else f"default for {user.frequency}"
    else:
        frequency_basis = season_basis = "catalog" if args.dataset in data.catalog_names() else "your catalog"
    ds = user or data.get_dataset(args.dataset)
    if args.series is not None:
        ds = data.one_series(ds, args.series)
    elif ds.is_panel:
        ids = list(data.load_panel(ds, warn=False))
        shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
        raise BenchError(f"describe: {data.source_of(ds)} is a panel of {len(ids)} series ({shown}); describe "
                         f"studies one series: name it with --series ID")
    result = describe.describe(ds, out_dir=args.out, last=args.last,
                               frequency_basis=frequency_basis, season_basis=season_basis)
    print(result.text, end="")
    return 0


# --- your own series: the --csv options of `run` and `describe` -------------------------------

CSV_OPTIONS = ("id_col", "time_col", "value_col", "freq", "season", "horizon", "test_size", "step", "duplicates", "fill",
               "calendar", "time_format", "name")


def _add_csv_options(p: argparse.ArgumentParser, *, split: bool) -> None:
    g = p.add_argument_group("your own series", "Read a CSV file instead of a catalog dataset"
                             + (" and register it in your catalog (BENCH_USER_CATALOG, default "
                                "~/.config/bench/catalog) so that suites can name it." if split else "."))
    g.add_argument("--csv", type=Path, metavar="FILE", help="a CSV file with a time column and a value column")
    g.add_argument("--id-col", metavar="C",
                   help="the series id column of a panel in long format (rows of id, time, value): each id is a "
                        "series of its own")
    g.add_argument("--time-col", metavar="C", help="the time column (default: the first column, the id column aside)")
    g.add_argument("--value-col", metavar="V", help="the value column (default: the only other column)")
    g.add_argument("--freq", metavar="F", help="pandas frequency: D, B, W-SUN, MS, ME, QS, h, 15min... "
                                               "(default: inferred from the timestamps)")
    g.add_argument("--season", type=int, metavar="M",
                   help="season length (default from the frequency: 12 monthly, 7 daily, 24 hourly...)")
    if split:
        g.add_argument("--horizon", type=int, metavar="H", help="steps forecast at each origin (default: the season)")
        g.add_argument("--test-size", type=int, metavar="N",
                       help="points forecast at the end (default: 10%% of the series, 2 to 10 horizons)")
        g.add_argument("--step", type=int, metavar="N",
                       help=f"origins every N points (default: 1, or the horizon where one origin per point "
                            f"would make more than {data.MAX_DEFAULT_FORECASTS:,} forecasts per model)")
    g.add_argument("--duplicates", choices=["mean", "sum", "last"], default="error",
                   help="combine repeated timestamps (default: error)")
    g.add_argument("--fill", choices=["interpolate", "ffill"], default="error",
                   help="fill missing timestamps and empty values (default: error)")
    g.add_argument("--calendar", choices=["regular", "observed"], default="regular",
                   help="observed: with --freq B, weekdays absent from the file are market holidays")
    g.add_argument("--time-format", metavar="FMT", help="strptime format of the time column, e.g. %%d/%%m/%%Y")
    g.add_argument("--name", metavar="NAME", help="the dataset's name (default: the file name)")


def _csv_dataset(args, *, split: bool):
    """The user's series from --csv and its options; None without --csv."""
    if args.csv is None:
        given = [o for o in CSV_OPTIONS if getattr(args, o, None) not in (None, "error", "regular")]
        if given:
            raise BenchError(f"--{given[0].replace('_', '-')} needs --csv FILE")
        return None
    return data.user_dataset(args.csv, time_col=args.time_col, value_col=args.value_col, freq=args.freq,
                             season=args.season, horizon=getattr(args, "horizon", None),
                             test_size=getattr(args, "test_size", None), step=getattr(args, "step", None),
                             duplicates=args.duplicates,
                             fill=args.fill, calendar=args.calendar, time_format=args.time_format,
                             name=args.name, with_split=split, id_col=args.id_col)


def cmd_compare(args) -> int:
    from bench import compare

    # NaN compares false with everything: a NaN tolerance would let any change pass.
    if not (math.isfinite(args.mae_tolerance) and args.mae_tolerance >= 0):
        raise BenchError(f"--mae-tolerance must be a finite fraction >= 0 (0.01 = 1%), got {args.mae_tolerance}")
    if not (math.isfinite(args.time_ratio) and args.time_ratio >= 1):
        raise BenchError(f"--time-ratio must be a finite ratio >= 1, got {args.time_ratio}")
    if not (math.isfinite(args.coverage_tolerance) and 0 <= args.coverage_tolerance <= 1):
        raise BenchError(f"--coverage-tolerance must be a finite share between 0 and 1 (0.02 = 2 points), "
                         f"got {args.coverage_tolerance}")
    return compare.main(args.base, args.new, compare.Tolerances(mae_tolerance=args.mae_tolerance,
                                                                time_ratio=args.time_ratio,
                                                                coverage_tolerance=args.coverage_tolerance),
                        allow_data_change=args.allow_data_change)


def cmd_fetch(args) -> int:
    for ds, f, path, how in data.fetch(args.names):
        print(f"{ds.name}/{f.name}: {how}" + (f", sha256 ok: {path}" if path else ""), flush=True)
    return 0


def cmd_report(args) -> int:
    from bench import report
    from bench.store import Store

    db = args.out / "bench.sqlite"
    if not db.is_file():
        raise BenchError(f"--out: no result store at {db}; run `python -m bench run` first")
    files.check_output_dir(args.out, "--out")
    store = Store(db, read_only=True)
    try:
        run_id = args.run if args.run is not None else store.latest_run_id()
        try:
            store.run(run_id)
        except KeyError:
            raise BenchError(f"--run: no run {run_id} in {db}") from None
        if report.test_cells(store.cells(run_id)).empty:
            raise BenchError(f"--run: run {run_id} in {db} has no cells; there is nothing to report")
        paths = report.write_reports(store, run_id, args.out, plots=not args.no_plots)
    finally:
        store.close()
    print(f"run {run_id}: wrote {', '.join(map(str, paths))}", file=sys.stderr)
    return 0


class Progress:
    """What a run prints while it runs, on stderr.

    A single series: one permanent line per finished cell. A panel (cells with a series id):
    one line per dataset, variant, seed and span once all its series are done, with how many
    finished ok and an estimate of the time left, instead of a line per series. On a
    terminal, a live line below them shows cells done / total, the series done of the
    panel walk in progress and the time left.

    The time left is the work left over the rate of work: each panel walk's cells still to
    run at its own mean cell time so far (the run's mean cell time before its first one
    finishes, and for every other cell), divided by the cell time finished per second of
    the run (about the number of busy workers).
    """

    def __init__(self):
        self.total, self.count = 0, 0
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.cell_s = 0.0                         # wall time of the finished cells, added up
        self.expected: dict[tuple, int] = {}      # panel walk -> its cells in the work handed out so far
        self.left: dict[tuple, int] = {}          # panel walk -> its cells handed out and not finished
        self.timing: dict[tuple, list] = {}       # panel walk -> [finished cells, their wall time]
        self.walks: dict[tuple, dict] = {}        # panel walk -> what its finished cells said
        self.current: tuple | None = None         # the panel walk that reported last

    def __call__(self, event: str, **info) -> None:
        if event == "wait":
            print(f"waiting: another process is computing run {info['run_id']} of {info['store']}; this one "
                  f"continues it when that one stops (Ctrl-C to give up)", file=sys.stderr, flush=True)
        elif event == "start_run":
            self.total = info["n_cells"]
            self.started = time.perf_counter()
            reused = f" ({info['n_skipped']} already finished, reused)" if info["n_skipped"] else ""
            print(f"run {info['run_id']}: suite {info['suite'].name!r}, {self.total} cells to run{reused}, "
                  f"store {info['store']}", file=sys.stderr)
            if info.get("references"):
                print(f"{' and '.join(info['references'])} joined as references, which every table is relative "
                      f"to (--no-references leaves them out)", file=sys.stderr)
            self.bar()
        elif event == "batch":
            for cell in info["cells"]:
                if cell.series:
                    key = self.walk(cell)
                    self.expected[key] = self.expected.get(key, 0) + 1
                    self.left[key] = self.left.get(key, 0) + 1
        elif event == "done":
            result = info["result"]
            self.cell_s += result.wall_time_s
            if result.cell.series:
                key = self.walk(result.cell)
                timing = self.timing.setdefault(key, [0, 0.0])
                timing[0] += 1
                timing[1] += result.wall_time_s
                self.left[key] = self.left.get(key, 1) - 1
                if self.left[key] <= 0:
                    del self.left[key]
                self.panel_done(result)
            else:
                self.done(result)
            self.bar()

    @staticmethod
    def walk(cell) -> tuple:
        return cell.dataset, cell.label, cell.seed, cell.span

    def time_left(self) -> str:
        """An estimate of the time left (see the class docstring); "" before the first cell and after the last."""
        elapsed = time.perf_counter() - self.started
        if not self.count or self.count >= self.total or elapsed <= 0:
            return ""
        mean_s = self.cell_s / self.count
        work_s = sum(left * (self.timing[key][1] / self.timing[key][0] if key in self.timing else mean_s)
                     for key, left in self.left.items())
        work_s += max(self.total - self.count - sum(self.left.values()), 0) * mean_s
        return f"about {progress.duration(work_s / max(1.0, self.cell_s / elapsed))} left"

    def bar(self) -> None:
        if self.live and self.count < self.total:
            filled = "#" * (30 * self.count // max(self.total, 1))
            parts = [f"[{filled:<30s}] {self.count}/{self.total} cells"]
            if self.current in self.walks:
                dataset, label = self.current[:2]
                parts.append(f"{label} on {dataset}: {self.walks[self.current]['n']}/{self.expected[self.current]} "
                             f"series")
            parts.append(self.time_left())
            print("\r\033[K" + " · ".join(p for p in parts if p), end="", file=sys.stderr, flush=True)

    def done(self, result) -> None:
        self.count += 1
        c = result.cell
        detail = (f"MAE {result.scores['mae']:.4g}" if result.status == "ok" else result.reason)[:100]
        prefix = "\r\033[K" if self.live else ""
        print(f"{prefix}[{self.count:>{len(str(self.total))}}/{self.total}] {result.status:7s} "
              f"{c.dataset:18s} {c.label:16s} seed {c.seed}{'' if c.span == 'test' else f' ({c.span} span)'}  "
              f"{detail}  ({result.wall_time_s:.1f} s)",
              file=sys.stderr, flush=True)

    def panel_done(self, result) -> None:
        self.count += 1
        key = self.current = self.walk(result.cell)
        walk = self.walks.setdefault(key, {"n": 0, "ok": 0, "mae": 0.0, "wall_s": 0.0, "other": {}})
        walk["n"] += 1
        walk["wall_s"] += result.wall_time_s
        if result.status == "ok":
            walk["ok"] += 1
            walk["mae"] += result.scores["mae"]
        else:
            walk["other"].setdefault(result.status, [0, result.reason])[0] += 1
        if walk["n"] < self.expected.get(key, 1):
            return
        del self.walks[key]
        self.expected.pop(key, None)
        dataset, label, seed, span = key
        status = "ok" if not walk["other"] else "partly" if walk["ok"] else next(iter(walk["other"]))
        summary = f"{walk['ok']}/{walk['n']} series ok" + (f", mean MAE {walk['mae'] / walk['ok']:.4g}"
                                                          if walk["ok"] else "")
        for other, (count, reason) in walk["other"].items():
            summary += f"; {count} {other} ({reason[:80]})"
        on = "" if span == "test" else f" ({span} span)"
        prefix = "\r\033[K" if self.live else ""
        left = self.time_left()
        print(f"{prefix}[{self.count:>{len(str(self.total))}}/{self.total}] {status:7s} {dataset:18s} {label:16s} "
              f"seed {seed}{on}  {summary}  ({walk['wall_s']:.1f} s{'; ' + left if left else ''})",
              file=sys.stderr, flush=True)
