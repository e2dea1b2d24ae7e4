"""The Python API for notebooks: everything the CLI does, from a cell.

    >>> import bench
    >>> res = bench.run("quick", datasets=["air_passengers"])
    >>> res.table            # one row per dataset x model variant (a DataFrame)
    >>> res = bench.load("results/bench.sqlite")     # a past run
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from bench import data, executor, provenance, report, runner, suite as suites
from bench.errors import BenchError
from bench.store import Store

DEFAULT_OUT = Path("results")


@dataclass
class Results:
    """One stored run: its metadata, its cells (one row per seed) and its aggregated table."""
    run: dict
    cells: pd.DataFrame
    table: pd.DataFrame
    store_path: Path

    def leaderboard(self) -> str:
        return report.leaderboard(self.run, self.table)

    def _repr_html_(self) -> str:
        return self.table[report.SUMMARY_COLUMNS].to_html(index=False, float_format="%.4g", na_rep="-")

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
    store = Store(path)
    try:
        run_id = run_id if run_id is not None else store.latest_run_id()
        try:
            run = store.run(run_id)
        except KeyError:
            raise BenchError(f"no run {run_id} in {path}") from None
        cells = store.cells(run_id)
        return Results(run, cells, report.aggregate(cells), path)
    finally:
        store.close()


def run(suite: str | suites.Suite = "default", *, datasets: list[str] | None = None,
        models: list[str] | None = None, seeds: int | None = None, out: str | Path = DEFAULT_OUT,
        workers: int = 0, cluster: str | None = None, cell_timeout_s: float | None = None,
        resume: bool = False, on_cell: Callable | None = None) -> Results:
    """Run a suite (a name, a TOML path or a Suite), store every cell, write the reports.

    ``workers=0`` runs cells in this process; ``workers=N`` in N isolated local processes
    (needed for ``cell_timeout_s`` and to survive a crashing model); ``cluster`` sends them
    to a Dask scheduler. ``resume`` continues the latest run of the same suite, skipping
    cells already finished with the same code, data and parameters.
    """
    if seeds is not None and seeds < 1:
        raise BenchError(f"--seeds must be a positive integer, got {seeds}")
    if workers < 0:
        raise BenchError(f"--workers must be 0 or more, got {workers}")
    if cell_timeout_s is not None and (cell_timeout_s <= 0 or cluster or workers == 0):
        raise BenchError("--cell-timeout needs a positive number of seconds and local --workers >= 1 "
                         "(a cell can only be stopped in a process of its own)")
    if not isinstance(suite, suites.Suite):
        suite = suites.load_suite(suite)
    suite = suites.select(suite, datasets=datasets, models=models)
    suites.check_models(suite)
    cells = suites.cells(suite, seeds=seeds)
    series = {name: _load_checked(ds, split) for name, (ds, split) in suite.datasets.items()}
    code = provenance.code_version()
    data_hashes = {name: provenance.series_hash(y) for name, y in series.items()}
    keys = {cell: runner.cell_key(cell, code_version=code, data_hash=data_hashes[cell.dataset])
            for cell in cells}

    out = Path(out)
    store = Store(out / "bench.sqlite")
    try:
        run_id = store.latest_run_id(suite.name) if resume else None
        if run_id is not None:
            store.drop_unfinished(run_id)
            done = store.finished_keys(run_id)
            todo = [c for c in cells if keys[c] not in done]
        else:
            run_id = store.start_run(started_at=_now(), suite=suite.name, suite_source=suite.source,
                                     git_commit=provenance.git_commit(), environment=provenance.environment())
            todo = cells
        if on_cell:
            on_cell("start_run", run_id=run_id, n_cells=len(todo), n_skipped=len(cells) - len(todo),
                    suite=suite, store=store.path)
        started = time.perf_counter()
        for result in executor.execute(todo, series, workers=workers, cluster=cluster,
                                       cell_timeout_s=cell_timeout_s):
            store.add_cell(run_id, result, keys[result.cell])
            if on_cell:
                on_cell("done", result=result)
        store.finish_run(run_id, finished_at=_now(), total_time_s=time.perf_counter() - started)
        report.write_reports(store, run_id, out)
    finally:
        store.close()
    return load(out / "bench.sqlite", run_id)


def _load_checked(ds: data.Dataset, split) -> pd.Series:
    y = data.load(ds)
    if len(y) < split.min_length():
        raise BenchError(f"dataset {ds.name!r} has {len(y)} points; its split ({split.describe()}) "
                         f"needs at least {split.min_length()}")
    return y


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
