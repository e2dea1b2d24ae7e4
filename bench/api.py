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

from bench import data, provenance, report, runner, suite as suites
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
        on_cell: Callable | None = None) -> Results:
    """Run a suite (a name, a TOML path or a Suite), store every cell, write the reports."""
    if seeds is not None and seeds < 1:
        raise BenchError(f"--seeds must be a positive integer, got {seeds}")
    if not isinstance(suite, suites.Suite):
        suite = suites.load_suite(suite)
    suite = suites.select(suite, datasets=datasets, models=models)
    suites.check_models(suite)
    cells = suites.cells(suite, seeds=seeds)
    series = {name: _load_checked(ds, split) for name, (ds, split) in suite.datasets.items()}

    out = Path(out)
    store = Store(out / "bench.sqlite")
    try:
        run_id = store.start_run(started_at=_now(), suite=suite.name, suite_source=suite.source,
                                 git_commit=provenance.git_commit(), environment=provenance.environment())
        if on_cell:
            on_cell("start_run", run_id=run_id, n_cells=len(cells), suite=suite, store=store.path)
        started = time.perf_counter()
        for cell in cells:
            if on_cell:
                on_cell("start", cell=cell)
            result = runner.evaluate_cell(cell, series[cell.dataset])
            store.add_cell(run_id, result)
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
