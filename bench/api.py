"""The Python API for notebooks: everything the CLI does, from a cell.

    >>> import bench
    >>> res = bench.run("quick", datasets=["air_passengers"])
    >>> res.table            # one row per dataset x model variant (a DataFrame)
    >>> res = bench.load("results/bench.sqlite")     # a past run
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import re
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from bench import conformal, data, executor, files, forecaster, provenance, report, runner, schedule, selection
from bench import suite as suites
from bench.errors import BenchError, BenchWarning
from bench.progress import ProgressLines
from bench.store import Store

DEFAULT_OUT = Path("results")


@dataclass
class Results:
    """One stored run: its metadata, its cells (one row per seed) and its aggregated tables.

    ``table`` has one row per dataset x model variant (metrics, times, parameter counts,
    the Diebold-Mariano tests against the dataset's best model and naive); ``overall``
    one row per variant across datasets. ``forecasts()`` gives every per-origin forecast,
    and the ``plot_*`` methods return matplotlib Figures, which Jupyter shows inline.
    """
    run: dict
    cells: pd.DataFrame
    table: pd.DataFrame
    store_path: Path
    _forecasts: pd.DataFrame | None = field(default=None, init=False, repr=False)

    def _stored_forecasts(self) -> pd.DataFrame:
        if self._forecasts is None:
            store = Store(self.store_path, read_only=True)
            try:
                self._forecasts = store.forecasts(self.run["run_id"])
            finally:
                store.close()
        return self._forecasts

    @property
    def overall(self) -> pd.DataFrame:
        """One row per model variant across datasets: mean rank, relative MAE, wins, cost."""
        return report.overall(self.table)

    def forecasts(self, dataset: str | None = None, model: str | None = None, *,
                  mean_over_seeds: bool = False) -> pd.DataFrame:
        """Every forecast of the run: one row per cell, origin and horizon step.

        ``model`` matches a registry name, a label or a variant name. With
        ``mean_over_seeds`` seeds are averaged (y_pred and abs_error are each means).
        """
        raw = self._stored_forecasts()
        cells = report.test_cells(self.cells)
        cells = cells[cells["status"] == "ok"]
        if dataset is not None:
            cells = cells[cells["dataset"] == dataset]
        if model is not None:
            names = pd.Series([report.variant_name(label, params) for label, params
                               in zip(cells["label"], cells["params_text"])], index=cells.index)
            cells = cells[(cells["model"] == model) | (cells["label"] == model) | (names == model)]
        if mean_over_seeds:
            rows = report.mean_forecasts(cells, raw)
        else:
            keep = ["cell_id", *report.VARIANT_KEYS, "seed"] + (["series_id"] if "series_id" in cells else [])
            rows = raw.merge(cells[keep], on="cell_id", how="inner")
            rows = rows.assign(abs_error=(rows["y_true"] - rows["y_pred"]).abs())
        rows = rows.assign(origin_time=pd.to_datetime(rows["origin_time"]),
                           variant=[report.variant_name(label, params) for label, params
                                    in zip(rows["label"], rows["params_text"])])
        first = ["dataset", "variant", *(["seed"] if "seed" in rows else []),
                 *(["series_id"] if "series_id" in rows else []), "origin_time", "step", "y_true", "y_pred",
                 "abs_error"]
        return rows[first + [c for c in rows.columns if c not in first]].reset_index(drop=True)

    def plot_forecasts(self, dataset: str, top: int = report.N_PLOTTED, series: str | None = None):
        """Figure: actual values and the forecasts of the dataset's best ``top`` models and naive.

        A panel is drawn one series at a time: ``series`` names it.
        """
        per_step = report.mean_forecasts(report.test_cells(self.cells), self._stored_forecasts())
        return report.forecasts_plot(self.table, per_step, dataset, top=top, series=series)

    def plot_cost(self, dataset: str | None = None):
        """Figure: accuracy against fit time (log scale), Pareto front marked; all datasets by default."""
        return report.cost_plot(self.table, dataset)

    def plot_ranks(self):
        """Figure: rank by MAE of every model on every dataset."""
        return report.ranks_plot(self.table)

    def leaderboard(self) -> str:
        return report.leaderboard(self.run, self.table, self.cells)

    def write_reports(self, out_dir: str | Path, *, plots: bool = True) -> list[Path]:
        """Write LEADERBOARD.md, results.csv, the dataset pages and (unless ``plots=False``) the
        plots of this run into ``out_dir``."""
        files.check_output_dir(Path(out_dir), "out_dir")
        store = Store(self.store_path, read_only=True)
        try:
            return report.write_reports(store, self.run["run_id"], Path(out_dir), plots=plots)
        finally:
            store.close()

    def _repr_html_(self) -> str:
        overall = self.overall.to_html(index=False, float_format="%.4g", na_rep="-")
        table = self.table[report.SUMMARY_COLUMNS].to_html(index=False, float_format="%.4g", na_rep="-")
        return (f"<p>Run {self.run['run_id']} of suite <code>{self.run['suite']}</code>, "
                f"{len(self.cells)} cells</p><h4>Overall</h4>{overall}<h4>By dataset</h4>{table}")

    def __repr__(self) -> str:
        return (f"Results(run {self.run['run_id']} of suite {self.run['suite']!r}, "
                f"{len(self.cells)} cells, store {self.store_path})\n"
                + self.table[report.SUMMARY_COLUMNS].to_string(index=False))


def load(path: str | Path = DEFAULT_OUT / "bench.sqlite", run_id: int | None = None) -> Results:
    """Read a past run (the latest by default) from a result store."""
    path = Path(path)
    if path.is_dir():
        path = path / "bench.sqlite"
    if not path.is_file():
        raise BenchError(f"no result store at {path}")
    store = Store(path, read_only=True)
    try:
        run_id = run_id if run_id is not None else store.latest_run_id()
        if run_id is None:
            raise BenchError(f"{path}: the store holds no run yet")
        try:
            run = store.run(run_id)
        except KeyError:
            raise BenchError(f"no run {run_id} in {path}") from None
        cells, forecasts = store.cells(run_id), store.forecasts(run_id)
        if not (report.test_cells(cells)).shape[0]:
            raise BenchError(f"{path}: run {run_id} has no cells on the test span; there is nothing to read")
        results = Results(run, cells, report.aggregate(cells, forecasts, run), path)
        results._forecasts = forecasts
        return results
    finally:
        store.close()


def run(suite: str | suites.Suite = "default", *, datasets: list[str] | None = None,
        models: list[str] | None = None, seeds: int | None = None, out: str | Path | None = None,
        workers: int = 0, cluster: str | None = None, cell_timeout_s: float | None = None,
        resume: bool = False, tensorboard_dir: str | Path | None = None, on_cell: Callable | None = None,
        extra_datasets: Sequence[data.Dataset] | None = None, references: bool = True,
        progress: bool = True, plots: bool = True) -> Results:
    """Run a suite, store every cell, write the reports; the same as ``python -m bench run``.

    Parameters
    ----------
    suite : a suite name (``"default"``, ``"quick"``, ``"m4_hourly"``..., see ``python -m bench
        list suites``), the path of a suite TOML file, or a ``bench.suite.Suite``.
    datasets : keep only these datasets of the suite (``-d``); ``None``: all of them.
    models : keep only these models, by registry name or label (``-m``); a registered model the
        suite does not list runs with its automatic defaults.
    seeds : seeds per seeded model (``--seeds``); ``None``: the suite's.
    out : the folder of the store (``bench.sqlite``) and the reports; ``None`` picks one by
        ``default_out``: ``results/`` for the whole default suite, ``results/<suite>/`` for
        another whole suite, ``results/<suite>_partial/`` for part of a suite (``datasets``,
        ``models`` or ``seeds`` given), ``results/<name>/`` for a run on your own data
        (``extra_datasets``). A run that replaces another run's reports says so (a
        ``BenchWarning``) and how to get them back.
    workers : 0 (the default here) runs the cells in this process; N runs them in N isolated
        local processes (needed for ``cell_timeout_s`` and to survive a crashing model).
    cluster : the address of a Dask scheduler (``tcp://host:8786``) to run the cells on.
    cell_timeout_s : stop a cell after this many seconds and record it as ``timeout``
        (needs ``workers`` >= 1).
    resume : continue the latest run of the same suite in ``out``, skipping the cells already
        finished; refused (``BenchError``) when the code or the data changed since that run
        started; waits while another process is computing it.
    tensorboard_dir : write the networks' training and validation loss curves there.
    on_cell : called with each progress event (``"wait"``, ``"start_run"``, ``"batch"``,
        ``"done"``, ``"finish_run"``) and its details as keywords, instead of the printed
        progress (``bench.progress.ProgressLines`` is the default).
    extra_datasets : your own datasets, e.g. ``[bench.data.user_dataset("sales.csv")]``: they
        join the suite's, each with its own split; ``datasets=[...]`` can then keep only them.
        Once the run is stored, each is registered in your catalog so that suites can name it.
    references : ``seasonal_naive`` and ``naive``, which every table is relative to, join the
        run on every dataset where the suite (or the selection) lacks them; ``False`` leaves
        them out (``--no-references``).
    progress : print what the run does on stderr: a header, one line per finished model
        variant and dataset (not per seed or series), and a live count of cells on a terminal
        or in Jupyter. Ignored when ``on_cell`` is given.
    plots : draw the PNG plots; ``False`` (``--no-plots``) writes the tables and pages without
        them (and without their image lines): a gate that reads ``results.csv`` needs no
        plots, and each takes about a second to draw. ``report`` draws them later.

    Returns
    -------
    Results : the stored run (``.table``, ``.overall``, ``.forecasts()``, ``.plot_*()``).

    Every argument and the output folder are checked before anything is written; a bad one
    raises ``BenchError`` with one line naming it.
    """
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise BenchError(f"--seeds must be a positive integer, got {seeds}")
    if workers < 0:
        raise BenchError(f"--workers must be 0 or more, got {workers}")
    if cell_timeout_s is not None and (not math.isfinite(cell_timeout_s) or cell_timeout_s <= 0
                                       or cluster or workers == 0):
        raise BenchError(f"--cell-timeout needs a positive, finite number of seconds (got {cell_timeout_s:g}) and "
                         "local --workers >= 1 (a cell can only be stopped in a process of its own)")
    if out is not None:
        files.check_output_dir(Path(out), "--out")
    if tensorboard_dir is not None:
        files.check_output_dir(Path(tensorboard_dir), "--tensorboard")
    if not isinstance(suite, suites.Suite):
        suite = suites.load_suite(suite)
    as_written = suite
    suite = _with_datasets(suite, extra_datasets or ())
    suite = suites.select(suite, datasets=datasets, models=models)
    if out is None:
        out = default_out(as_written, suite, seeds=seeds, extra_datasets=extra_datasets)
        files.check_output_dir(out, "--out")
    out = Path(out)
    added = []
    if references:
        suite, added = suites.with_references(suite)
    suites.check_models(suite)
    if on_cell is None and progress:
        on_cell = ProgressLines()
    cells = suites.cells(suite, seeds=seeds)
    if not cells:
        raise BenchError(f"suite {suite.name!r}: no model runs on the selected dataset(s) "
                         f"{', '.join(suite.datasets)}; nothing to run")
    selecting = {c.dataset for c in cells if c.span == "validation" and c.selection}
    panels = {name: _load_checked(ds, split, "validation" if name in selecting else "test")
              for name, (ds, split) in suite.datasets.items()}
    # A cell per series of a panel; a single-series dataset's one series has the id "".
    cells = suites.cells(suite, seeds=seeds, series={name: list(panel) for name, panel in panels.items()})
    cells = _without_impossible_calibrations(suite, panels, cells)
    if tensorboard_dir is not None:
        cells = [_with_tensorboard(cell, Path(tensorboard_dir)) for cell in cells]
    _warn_about_volume(suite, panels, cells)
    code_files = provenance.code_files()
    code = provenance.code_version(code_files)
    data_hashes = {name: panel_hash(panel) for name, panel in panels.items()}
    inputs = {"code": code_files, "data": data_hashes}
    keys = {cell: runner.cell_key(cell, code_version=code, data_hash=data_hashes[cell.dataset])
            for cell in cells}
    environment = provenance.environment()

    store = Store(out / "bench.sqlite")
    lock = files.FolderLock(out / files.LOCK_FILE)
    try:
        run_id, resumed = _claim_run(store, lock, suite, resume, on_cell, lambda: store.start_run(
            started_at=_now(), suite=suite.name, suite_source=suite.source, git_commit=provenance.git_commit(),
            environment=environment, inputs=inputs))
        if resumed:
            _check_resumable(store, run_id, inputs, keys)
            store.add_data_inputs(run_id, data_hashes)
            store.drop_unfinished(run_id)
            done = store.finished_keys(run_id)
        else:
            done = set()
        validation = [c for c in cells if c.span == "validation"]
        # + the chosen variant's test cell per seed and series
        n_total = len(cells) + len({(c.dataset, c.group, c.seed, c.series) for c in validation if c.selection})
        if on_cell:
            n_done = sum(keys[c] in done for c in cells)
            on_cell("start_run", run_id=run_id, n_cells=n_total - n_done, n_skipped=n_done,
                    suite=suite, store=store.path, references=added)
        started = time.perf_counter()
        lengths = {name: max(len(y) for y in panel.values()) for name, panel in panels.items()}
        past = schedule.past_wall_times(store.cell_times())

        def execute(batch: list[runner.Cell]) -> None:
            todo = schedule.longest_first([c for c in batch if keys[c] not in done], past, lengths)
            if not todo:        # no workers started (nor TensorFlow loaded) for nothing
                return
            if on_cell:
                on_cell("batch", cells=todo)
            # closing: a failure to store a cell (a full disk) stops the workers at once
            with contextlib.closing(executor.execute(todo, panels, workers=workers, cluster=cluster,
                                                     cell_timeout_s=cell_timeout_s)) as results:
                for result in results:
                    store.add_cell(run_id, result, keys[result.cell])
                    if on_cell:
                        on_cell("done", result=result)

        # Selections first: the test cells of the variants they choose join the others.
        execute(validation)
        stored = store.cells(run_id)
        chosen, unchosen = selection.chosen_cells([c for c in validation if c.selection],
                                                  stored[stored["cell_key"].isin(set(keys.values()))])
        # A selection that chose nothing is skipped on every series of its panel.
        unchosen = [dataclasses.replace(r, cell=dataclasses.replace(r.cell, series=sid))
                    for r in unchosen for sid in panels[r.cell.dataset]]
        for cell in chosen + [r.cell for r in unchosen]:
            keys[cell] = runner.cell_key(cell, code_version=code, data_hash=data_hashes[cell.dataset])
        if resumed:
            # A resumed selection may choose anew (a variant that timed out before now ran):
            # the test cells of an earlier choice are not this run's result any more.
            store.drop_stale_choices(run_id, {keys[c] for c in chosen} | {keys[r.cell] for r in unchosen})
        unchosen = [r for r in unchosen if keys[r.cell] not in done]
        if on_cell and unchosen:
            on_cell("batch", cells=[r.cell for r in unchosen])
        for result in unchosen:
            store.add_cell(run_id, result, keys[result.cell])
            if on_cell:
                on_cell("done", result=result)
        calibrations = _calibrations(store.validation_forecasts(run_id), set(keys.values()))
        execute([_calibrated(c, calibrations) for c in [c for c in cells if c.span == "test"] + chosen])
        store.finish_run(run_id, finished_at=_now(), total_time_s=time.perf_counter() - started)
        before = reports_in(out)
        report.write_reports(store, run_id, out, plots=plots)
        replaced = _replaced(before, store, run_id, out)
    finally:
        lock.close()
        store.close()
    # Only now, with the run stored and reported: a run that stopped registers nothing.
    for ds in extra_datasets or ():
        if ds.origin == "user" and ds.name in suite.datasets:
            data.register_user_dataset(ds)
    if on_cell:
        on_cell("finish_run", run_id=run_id, out=out, total_time_s=time.perf_counter() - started)
    if replaced:
        warnings.warn(replaced, BenchWarning, stacklevel=2)
    return load(out / "bench.sqlite", run_id)


def default_out(suite: suites.Suite, selected: suites.Suite | None = None, *, seeds: int | None = None,
                extra_datasets: Sequence[data.Dataset] | None = None) -> Path:
    """Where a run writes when no ``out`` is given, so that no run replaces the reports of another kind of run.

    - ``results/`` for the whole default suite and ``results/<suite>/`` for another whole suite
      (the committed leaderboards are ``results/`` and ``results/m4_hourly/``);
    - ``results/<suite>_partial/`` for part of a suite: ``selected`` (the suite after ``-d`` and
      ``-m``) has other datasets or models than ``suite`` as written, or ``seeds`` differs;
    - ``results/<name>/`` for a run on your own data: ``name`` is the first of
      ``extra_datasets`` that the run keeps (``--csv``'s ``--name``, by default the file's name).
    """
    selected = selected or suite
    mine = [ds.name for ds in extra_datasets or () if ds.origin == "user" and ds.name in selected.datasets]
    if mine:
        return DEFAULT_OUT / mine[0]
    whole = (list(selected.datasets) == list(suite.datasets) and selected.models == suite.models
             and seeds in (None, suite.seeds))
    folder = "" if suite.name == "default" else suite.name
    return DEFAULT_OUT / folder if whole else DEFAULT_OUT / f"{folder or suite.name}_partial"


_REPORT_HEADER = re.compile(r"^- Run (\d+) of suite `([^`]*)`, started (\S+?),", re.MULTILINE)


def reports_in(folder: Path) -> dict | None:
    """What made the reports in ``folder``, read from its LEADERBOARD.md: ``{"run_id", "suite",
    "started_at"}`` (``run_id`` None where the header cannot be read); None where there are none."""
    board = Path(folder) / "LEADERBOARD.md"
    try:
        text = board.read_text(errors="replace")[:4000]
    except OSError:
        return None
    found = _REPORT_HEADER.search(text)
    if found is None:
        return {"run_id": None, "suite": None, "started_at": None}
    return {"run_id": int(found[1]), "suite": found[2], "started_at": found[3]}


def _replaced(before: dict | None, store: Store, run_id: int, out: Path) -> str:
    """One line when the reports just written replaced those of another run, saying how to get them
    back; "" when there were none, or they were this run's own (a resumed run)."""
    if before is None:
        return ""
    mine = store.run(run_id)
    if (before["run_id"], before["started_at"]) == (run_id, mine["started_at"]):
        return ""
    if before["run_id"] is None:
        return (f"replaced the reports in {out}/ (`python -m bench report --run N --out {out}` renders "
                f"run N of its store again)")
    what = f"those of run {before['run_id']} of suite {before['suite']!r}, started {before['started_at']}"
    try:
        stored = store.run(before["run_id"])["started_at"] == before["started_at"]
    except KeyError:
        stored = False
    if stored:
        return (f"replaced the reports in {out}/, {what}; `python -m bench report --run {before['run_id']} "
                f"--out {out}` brings them back")
    if _tracked_by_git(out / "LEADERBOARD.md"):
        return (f"replaced the reports in {out}/, {what}, which are committed to git and not in its store: "
                f"`git checkout -- {out}` brings them back")
    return (f"replaced the reports in {out}/, {what}, which its store does not hold: they cannot be "
            f"rendered again")


def _tracked_by_git(path: Path) -> bool:
    try:
        done = subprocess.run(["git", "ls-files", "--error-unmatch", path.name], cwd=path.parent,
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


# Slots of the output folder's lock file (files.FolderLock); slot 0 is files.SET_SLOT, the report set.
CHOOSING_SLOT = 1            # held while a process picks the run it resumes, or starts one


def _run_slot(run_id: int) -> int:
    return 1 + run_id        # held by the process computing the run, until it ends or dies


def _claim_run(store: Store, lock: files.FolderLock, suite: suites.Suite, resume: bool,
               on_cell: Callable | None, start: Callable[[], int]) -> tuple[int, bool]:
    """The run this process computes, held until it ends: (run id, whether it is resumed).

    A new run is held from the moment it exists. A run being computed by another process
    is waited for, so that two resumes of one run never compute, nor store, a cell twice:
    the second continues after the first, with what the first left to do.
    """
    lock.acquire(CHOOSING_SLOT)
    try:
        run_id = store.latest_run_id(suite.name) if resume else None
        if run_id is None:
            run_id = start()
            lock.acquire(_run_slot(run_id))
            return run_id, False
        free = lock.acquire(_run_slot(run_id), wait=False)
    finally:
        lock.release(CHOOSING_SLOT)
    if not free:
        if on_cell:
            on_cell("wait", run_id=run_id, store=store.path)
        lock.acquire(_run_slot(run_id))
    return run_id, True


def _check_resumable(store: Store, run_id: int, inputs: dict, keys: dict) -> None:
    """Refuse to resume a run whose stored cells were computed by other code or from other data.

    The run records the hash of every source file and dataset it started with; a cell
    stored under the same name (dataset, variant, seed, span) with another key also counts
    (another split or season, or a run of bench before schema 3, which recorded no hashes).
    """
    before = store.run_inputs(run_id)
    start_again = "run without --resume to start a new run"
    if "code" in before:
        changed = sorted(f for f in set(before["code"]) | set(inputs["code"])
                         if before["code"].get(f) != inputs["code"].get(f))
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            raise BenchError(f"--resume: the code changed since run {run_id} started ({shown}); its stored cells "
                             f"were computed by the old code: {start_again}")
    for name, data_hash in inputs["data"].items():
        if before.get("data", {}).get(name, data_hash) != data_hash:
            raise BenchError(f"--resume: the values of dataset {name!r} changed since run {run_id} started; its "
                             f"stored cells were computed from the old values: {start_again}")
    current = {cell.key: key for cell, key in keys.items()}
    stored = store.stored_keys(run_id)
    for row in stored[stored["status"].isin(FINISHED)].itertuples():
        name = (row.dataset, row.label, runner.params_text(json.loads(row.params)), row.seed, row.span,
                row.series_id)
        if current.get(name, row.cell_key) != row.cell_key:
            series = f" / series {row.series_id}" if row.series_id else ""
            raise BenchError(f"--resume: run {run_id} holds {row.dataset}{series} / {row.label} / seed {row.seed} "
                             f"computed with another split, season, code or data: {start_again}")


FINISHED = ("ok", "failed", "skipped")
# A cell's default split may not make more forecasts than this without a warning (~100 bytes
# each in the store, and the tables and tests read them all).
MAX_FORECASTS_PER_CELL = data.MAX_DEFAULT_FORECASTS


def _warn_about_volume(suite: suites.Suite, panels: dict, cells: list[runner.Cell]) -> None:
    """Warn before a run whose cells make more forecasts than ``MAX_FORECASTS_PER_CELL`` each
    (``panels``: each dataset's series by id, or its one Series)."""
    for name, (_, split) in suite.datasets.items():
        panel = panels[name]
        longest = len(panel) if isinstance(panel, pd.Series) else max(len(y) for y in panel.values())
        per_cell = split.n_origins(longest) * split.horizon
        if per_cell > MAX_FORECASTS_PER_CELL:
            n_cells = sum(c.dataset == name for c in cells)
            warnings.warn(f"dataset {name!r}: {split.describe()} makes {per_cell:,} forecasts per cell, "
                          f"{per_cell * n_cells:,} for its {n_cells} cells (about {per_cell * n_cells * 100 / 1e9:.1f} GB "
                          f"in the store); a larger step (--step) or a smaller test span (--test-size) makes fewer",
                          BenchWarning, stacklevel=3)


def _with_datasets(suite: suites.Suite, extra: Sequence[data.Dataset]) -> suites.Suite:
    """The suite plus ``extra`` datasets; the stored suite source says where each came from."""
    if not extra:
        return suite
    merged, notes = dict(suite.datasets), []
    for ds in extra:
        if ds.name in merged:
            raise BenchError(f"--name: suite {suite.name!r} already has a dataset {ds.name!r}; choose another name")
        merged[ds.name] = (ds, ds.split)
        files = ", ".join(f"{f.path} (sha256 {data.sha256_of(Path(f.path))})" if f.path else f.name
                          for f in ds.files)
        ids = f"series id {ds.id_column!r}, " if ds.id_column is not None else ""
        notes.append(f"# + dataset {ds.name!r}: {files}; {ids}time {ds.time_column!r}, value {ds.value_column!r}, "
                     f"frequency {ds.frequency}, season {ds.season_length}, split {ds.split.describe()}")
    return dataclasses.replace(suite, datasets=merged, source=suite.source.rstrip("\n") + "\n\n" + "\n".join(notes) + "\n")


def _without_impossible_calibrations(suite: suites.Suite, panels: dict, cells: list[runner.Cell]) -> list[runner.Cell]:
    """The cells, less the conformal calibration walks of datasets too short for a validation span
    (their models then make point forecasts only), with a warning naming them."""
    short = {name for name, (_, split) in suite.datasets.items()
             if min(len(y) for y in panels[name].values()) < split.min_length("validation")}
    dropped = sorted({c.dataset for c in cells if c.dataset in short and c.span == "validation" and not c.selection})
    if dropped:
        warnings.warn(f"dataset(s) {', '.join(dropped)}: too short for a validation span before the test span, so "
                      "the models without a forecast distribution of their own get no conformal intervals there",
                      BenchWarning, stacklevel=3)
    return [c for c in cells if not (c.dataset in short and c.span == "validation" and not c.selection)]


def _calibrations(rows: pd.DataFrame, current: set[str]) -> dict[tuple, object]:
    """Each variant and seed's conformal calibration from its finished validation walks of this run."""
    rows = rows[rows["cell_key"].isin(current)]
    out = {}
    params = {p: runner.params_text(json.loads(p)) for p in rows["params"].unique()}
    for (dataset, model, p, seed, selection, group, label), mine in rows.groupby(
            ["dataset", "model", "params", "seed", "selection", "selection_group", "label"], sort=False):
        key = runner.calibration_key(dataset, model, params[p], seed, selection, group, label)
        calibration = conformal.from_validation_rows(mine)
        if calibration is not None:
            out[key] = calibration
    return out


def _calibrated(cell: runner.Cell, calibrations: dict[tuple, object]) -> runner.Cell:
    """The test cell with the calibration of its variant's validation walk, where it needs one (and has one)."""
    if not runner.wants_calibration(cell):
        return cell
    return dataclasses.replace(cell, calibration=calibrations.get(runner.cell_calibration_key(cell)))


def _with_tensorboard(cell: runner.Cell, root: Path) -> runner.Cell:
    """Give models that log loss curves one directory per cell; other models are unchanged."""
    if not forecaster.accepts(cell.model, "tensorboard_dir"):
        return cell
    name = f"{cell.dataset}/{cell.label}/seed{cell.seed}".replace(" ", "_")
    if cell.series:     # an id of a user's panel may hold any character
        name += "/" + (re.sub(r"[^A-Za-z0-9_.-]", "_", cell.series).lstrip(".") or "_")
    return dataclasses.replace(cell, options={"tensorboard_dir": str(root.resolve() / name)})


def _load_checked(ds: data.Dataset, split, span: str = "test") -> dict[str, pd.Series]:
    """The dataset's series by id (``{"": y}`` for a single series), each long enough for the split."""
    panel = data.load_panel(ds)
    for sid, y in panel.items():
        if len(y) < split.min_length(span):
            before = (f" and a validation span of {split.validation_points} before it, for a select = "
                      f"\"validation\" entry (a smaller validation_size in the suite's [[datasets]] entry shortens it)"
                      if span == "validation" else "")
            which = f"dataset {ds.name!r}: series {sid!r}" if sid else f"dataset {ds.name!r}"
            raise BenchError(f"{which} has {len(y)} points; its split ({split.describe()}){before} "
                             f"needs at least {split.min_length(span)}")
    return panel


def panel_hash(panel: dict[str, pd.Series]) -> str:
    """The hash of a dataset's values that cell keys carry: a single series' own (``provenance.series_hash``),
    a panel's over its ids and their series, in order."""
    if list(panel) == [""]:
        return provenance.series_hash(panel[""])
    digest = hashlib.sha256()
    for sid, y in panel.items():
        digest.update(f"{sid}\0{provenance.series_hash(y)}\n".encode())
    return digest.hexdigest()[:16]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
