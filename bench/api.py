"""The Python API for notebooks: everything the CLI does, from a cell.

    >>> import bench
    >>> res = bench.run("quick", datasets=["air_passengers"])
    >>> res.table            # one row per dataset x model variant (a DataFrame)
    >>> res = bench.load("results/bench.sqlite")     # a past run
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from bench import data, executor, forecaster, provenance, report, runner, schedule, selection, suite as suites
from bench.errors import BenchError
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
            store = Store(self.store_path)
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
        cells = self.cells[self.cells["status"] == "ok"]
        if dataset is not None:
            cells = cells[cells["dataset"] == dataset]
        if model is not None:
            names = pd.Series([report.variant_name(label, params) for label, params
                               in zip(cells["label"], cells["params_text"])], index=cells.index)
            cells = cells[(cells["model"] == model) | (cells["label"] == model) | (names == model)]
        if mean_over_seeds:
            rows = report.mean_forecasts(cells, raw)
        else:
            rows = raw.merge(cells[["cell_id", *report.VARIANT_KEYS, "seed"]], on="cell_id", how="inner")
            rows = rows.assign(abs_error=(rows["y_true"] - rows["y_pred"]).abs())
        rows = rows.assign(origin_time=pd.to_datetime(rows["origin_time"]),
                           variant=[report.variant_name(label, params) for label, params
                                    in zip(rows["label"], rows["params_text"])])
        first = ["dataset", "variant", *(["seed"] if "seed" in rows else []), "origin_time", "step",
                 "y_true", "y_pred", "abs_error"]
        return rows[first + [c for c in rows.columns if c not in first]].reset_index(drop=True)

    def plot_forecasts(self, dataset: str, top: int = report.N_PLOTTED):
        """Figure: actual values and the forecasts of the dataset's best ``top`` models and naive."""
        per_step = report.mean_forecasts(self.cells, self._stored_forecasts())
        return report.forecasts_plot(self.table, per_step, dataset, top=top)

    def plot_cost(self, dataset: str | None = None):
        """Figure: accuracy against fit time (log scale), Pareto front marked; all datasets by default."""
        return report.cost_plot(self.table, dataset)

    def plot_ranks(self):
        """Figure: rank by MAE of every model on every dataset."""
        return report.ranks_plot(self.table)

    def leaderboard(self) -> str:
        return report.leaderboard(self.run, self.table, self.cells)

    def write_reports(self, out_dir: str | Path) -> list[Path]:
        """Write LEADERBOARD.md, results.csv, the dataset pages and the plots of this run into ``out_dir``."""
        store = Store(self.store_path)
        try:
            return report.write_reports(store, self.run["run_id"], Path(out_dir))
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
    store = Store(path)
    try:
        run_id = run_id if run_id is not None else store.latest_run_id()
        try:
            run = store.run(run_id)
        except KeyError:
            raise BenchError(f"no run {run_id} in {path}") from None
        cells, forecasts = store.cells(run_id), store.forecasts(run_id)
        results = Results(run, cells, report.aggregate(cells, forecasts, run), path)
        results._forecasts = forecasts
        return results
    finally:
        store.close()


def run(suite: str | suites.Suite = "default", *, datasets: list[str] | None = None,
        models: list[str] | None = None, seeds: int | None = None, out: str | Path = DEFAULT_OUT,
        workers: int = 0, cluster: str | None = None, cell_timeout_s: float | None = None,
        resume: bool = False, tensorboard_dir: str | Path | None = None, on_cell: Callable | None = None,
        extra_datasets: Sequence[data.Dataset] | None = None) -> Results:
    """Run a suite (a name, a TOML path or a Suite), store every cell, write the reports.

    ``extra_datasets`` (e.g. ``data.user_dataset("sales.csv")``) join the suite's datasets,
    each with its own split; ``datasets=[...]`` can then keep only them. Once every input
    has been checked, a user's dataset is registered in the user catalog so suites can name it.

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
    suite = _with_datasets(suite, extra_datasets or ())
    suite = suites.select(suite, datasets=datasets, models=models)
    suites.check_models(suite)
    cells = suites.cells(suite, seeds=seeds)
    if tensorboard_dir is not None:
        cells = [_with_tensorboard(cell, Path(tensorboard_dir)) for cell in cells]
    series = {name: _load_checked(ds, split) for name, (ds, split) in suite.datasets.items()}
    code = provenance.code_version()
    data_hashes = {name: provenance.series_hash(y) for name, y in series.items()}
    keys = {cell: runner.cell_key(cell, code_version=code, data_hash=data_hashes[cell.dataset])
            for cell in cells}
    for ds in extra_datasets or ():
        if ds.origin == "user" and ds.name in suite.datasets:
            data.register_user_dataset(ds)

    out = Path(out)
    store = Store(out / "bench.sqlite")
    try:
        run_id = store.latest_run_id(suite.name) if resume else None
        if run_id is not None:
            store.drop_unfinished(run_id)
            done = store.finished_keys(run_id)
        else:
            run_id = store.start_run(started_at=_now(), suite=suite.name, suite_source=suite.source,
                                     git_commit=provenance.git_commit(), environment=provenance.environment())
            done = set()
        validation = [c for c in cells if c.span == "validation"]
        n_total = len(cells) + len({(c.dataset, c.group, c.seed) for c in validation})   # + one chosen per seed
        if on_cell:
            n_done = sum(keys[c] in done for c in cells)
            on_cell("start_run", run_id=run_id, n_cells=n_total - n_done, n_skipped=n_done,
                    suite=suite, store=store.path)
        started = time.perf_counter()
        lengths = {name: len(y) for name, y in series.items()}
        past = schedule.past_wall_times(store.cell_times())

        def execute(batch: list[runner.Cell]) -> None:
            todo = schedule.longest_first([c for c in batch if keys[c] not in done], past, lengths)
            for result in executor.execute(todo, series, workers=workers, cluster=cluster,
                                           cell_timeout_s=cell_timeout_s):
                store.add_cell(run_id, result, keys[result.cell])
                if on_cell:
                    on_cell("done", result=result)

        # Selections first: the test cells of the variants they choose join the others.
        execute(validation)
        stored = store.cells(run_id)
        chosen, unchosen = selection.chosen_cells(validation, stored[stored["cell_key"].isin(set(keys.values()))])
        for cell in chosen + [r.cell for r in unchosen]:
            keys[cell] = runner.cell_key(cell, code_version=code, data_hash=data_hashes[cell.dataset])
        for result in unchosen:
            if keys[result.cell] not in done:
                store.add_cell(run_id, result, keys[result.cell])
                if on_cell:
                    on_cell("done", result=result)
        execute([c for c in cells if c.span == "test"] + chosen)
        store.finish_run(run_id, finished_at=_now(), total_time_s=time.perf_counter() - started)
        report.write_reports(store, run_id, out)
    finally:
        store.close()
    return load(out / "bench.sqlite", run_id)


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
        notes.append(f"# + dataset {ds.name!r}: {files}; time {ds.time_column!r}, value {ds.value_column!r}, "
                     f"frequency {ds.frequency}, season {ds.season_length}, split {ds.split.describe()}")
    return dataclasses.replace(suite, datasets=merged, source=suite.source.rstrip("\n") + "\n\n" + "\n".join(notes) + "\n")


def _with_tensorboard(cell: runner.Cell, root: Path) -> runner.Cell:
    """Give models that log loss curves one directory per cell; other models are unchanged."""
    if not forecaster.accepts(cell.model, "tensorboard_dir"):
        return cell
    name = f"{cell.dataset}/{cell.label}/seed{cell.seed}".replace(" ", "_")
    return dataclasses.replace(cell, options={"tensorboard_dir": str(root.resolve() / name)})


def _load_checked(ds: data.Dataset, split) -> pd.Series:
    y = data.load(ds)
    if len(y) < split.min_length():
        raise BenchError(f"dataset {ds.name!r} has {len(y)} points; its split ({split.describe()}) "
                         f"needs at least {split.min_length()}")
    return y


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
