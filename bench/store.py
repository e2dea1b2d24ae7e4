"""SQLite result store: runs, cells and every per-origin forecast.

Each finished cell is written in its own transaction, so a crash loses at most the
cell in flight. Every table and report is a pure function of these rows.

The schema carries a version (SQLite's ``user_version``). A store written by an older
version of bench is migrated when opened for writing (columns added with their defaults:
version 1 stores had no validation span, no selection and no fit_info; version 2 stores
did not record a run's code and data; version 3 stores held single series only, and their
cells get the series id ''; version 4 stores held point forecasts only, and their forecasts
get NULL quantiles, their cells no interval method); a store from a newer version is refused
with one line. Commands that only read (``report``, ``compare``, ``bench.load``) open it read-only
and never change it: an older store is migrated in a private copy in memory. A store with
damaged pages is refused by every open, before anything reads or writes it (``check_intact``).

A run is one consistent set of results: a cell's key is stored once per run (a unique
index), and each run records the hash of every source file and of every dataset it was
started with, so that a resume can refuse to mix results of other code or data
(``bench.api``).
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pandas as pd

from bench import metrics
from bench import quantiles as qs
from bench.errors import BenchError
from bench.runner import CellResult, params_text

SCHEMA_VERSION = 5
BUSY_TIMEOUT_S = 60     # another process may be committing a cell; SQLite waits this long for it

# One REAL column per per-cell metric of bench/metrics.py: a metric added there gets its
# column here, and in an existing store on its next write (``migrate``), with no schema edit.
METRIC_COLUMNS = ", ".join(f"{name} REAL" for name in metrics.STORED)
# One REAL column per quantile level of bench/quantiles.py (NULL: the model made no distribution).
QUANTILE_COLUMNS = ", ".join(f"{name} REAL" for name in qs.COLUMNS)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,           -- UTC, ISO 8601
    finished_at TEXT,
    total_time_s REAL,
    suite TEXT NOT NULL,
    suite_source TEXT NOT NULL,
    git_commit TEXT,
    environment TEXT NOT NULL,          -- JSON: python, packages, cpu, cores
    inputs TEXT NOT NULL DEFAULT '{}'   -- JSON: {"code": {file: sha256}, "data": {dataset: hash}} at the start
);
CREATE TABLE IF NOT EXISTS cells (
    cell_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    label TEXT NOT NULL,
    params TEXT NOT NULL,               -- JSON
    seed INTEGER NOT NULL,
    split TEXT NOT NULL,                -- JSON of the WalkForward
    season_length INTEGER NOT NULL,
    status TEXT NOT NULL,               -- ok | failed | skipped
    reason TEXT NOT NULL,
    @METRIC_COLUMNS@,
    fit_time_s REAL, fit_cpu_s REAL, update_time_s REAL,
    predict_time_s REAL, predict_cpu_s REAL,
    n_fits INTEGER, n_updates INTEGER, n_origins INTEGER, n_params INTEGER,
    wall_time_s REAL NOT NULL,
    cell_key TEXT NOT NULL,             -- hash of what determines the result (see runner.cell_key)
    span TEXT NOT NULL DEFAULT 'test',  -- test | validation (a selection's walk before the test span)
    selection TEXT NOT NULL DEFAULT '', -- '' | validation | test: how the variant is chosen in its group
    selection_group TEXT NOT NULL DEFAULT '',   -- the suite entry whose grid the variant belongs to
    fit_info TEXT NOT NULL DEFAULT '{}', -- JSON: the model's fit_info(), summarised over its fits
    series_id TEXT NOT NULL DEFAULT '', -- the series' id in its panel ('' for a single-series dataset)
    quantile_time_s REAL,               -- of predict_time_s, the wall time of predict_quantiles (total over the walk)
    intervals TEXT NOT NULL DEFAULT '', -- how the quantiles were made ('' : none)
    actual_abs_mean REAL                -- mean |actual| over the walk's targets (weights pooled metrics: WQL)
);
CREATE TABLE IF NOT EXISTS forecasts (
    cell_id INTEGER NOT NULL REFERENCES cells(cell_id),
    origin_time TEXT NOT NULL,          -- timestamp of the first forecast point
    step INTEGER NOT NULL,              -- 1..horizon
    y_true REAL NOT NULL,
    y_pred REAL NOT NULL,
    mase_scale REAL,
    @QUANTILE_COLUMNS@,
    PRIMARY KEY (cell_id, origin_time, step)
);
""".replace("@METRIC_COLUMNS@", METRIC_COLUMNS).replace("@QUANTILE_COLUMNS@", QUANTILE_COLUMNS)
# A cell is stored once per run. Stores of bench before schema 3 may hold a cell twice (two
# resumes of one run at once); the index is then left out of that store, whose runs stay as stored.
ONCE_PER_RUN = "CREATE UNIQUE INDEX IF NOT EXISTS cells_stored_once ON cells (run_id, cell_key)"

_ADDED_IN_2 = ["span TEXT NOT NULL DEFAULT 'test'", "selection TEXT NOT NULL DEFAULT ''",
               "selection_group TEXT NOT NULL DEFAULT ''", "fit_info TEXT NOT NULL DEFAULT '{}'"]
_ADDED_IN_3 = ["inputs TEXT NOT NULL DEFAULT '{}'"]
_ADDED_IN_4 = ["series_id TEXT NOT NULL DEFAULT ''"]
_ADDED_IN_5 = ["quantile_time_s REAL", "intervals TEXT NOT NULL DEFAULT ''", "actual_abs_mean REAL"]


def check_version(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise BenchError(f"{path}: result store of a newer bench (schema {version}; this one reads "
                         f"up to {SCHEMA_VERSION}); upgrade bench or use another --out")


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create the schema, or bring an older one up to date, in one transaction (``db`` in autocommit mode).

    BEGIN IMMEDIATE takes the write lock before the version is read, so two processes
    opening an old store at once migrate it once.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        check_version(version, path)
        missing = missing_metric_columns(db)
        if version == SCHEMA_VERSION and not missing:
            db.execute("COMMIT")
            return
        for name in missing:
            db.execute(f"ALTER TABLE cells ADD COLUMN {name} REAL")
        has_tables = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
        if has_tables and version < 2:
            for column in _ADDED_IN_2:
                db.execute(f"ALTER TABLE cells ADD COLUMN {column}")
        if has_tables and version < 3:
            for column in _ADDED_IN_3:
                db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
        if has_tables and version < 4:
            for column in _ADDED_IN_4:
                db.execute(f"ALTER TABLE cells ADD COLUMN {column}")
        if has_tables and version < 5:
            for column in _ADDED_IN_5:
                db.execute(f"ALTER TABLE cells ADD COLUMN {column}")
            for name in qs.COLUMNS:
                db.execute(f"ALTER TABLE forecasts ADD COLUMN {name} REAL")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        twice = db.execute("SELECT count(*) FROM (SELECT 1 FROM cells GROUP BY run_id, cell_key "
                           "HAVING count(*) > 1)").fetchone()[0]
        if not twice:
            db.execute(ONCE_PER_RUN)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def check_intact(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a store with damaged pages before anything reads or writes it.

    SQLite stores new rows into a damaged file without a word, and reads from one fail
    midway or give wrong rows; a run that went on would mix its cells with whatever the
    damage left of the old ones.
    """
    # quick_check reads every page and checks its structure and records; integrity_check also
    # checks that each index matches its table. On results/m4_hourly_partial/bench.sqlite (53 MB,
    # 13,070 pages) quick_check took 0.2 s and integrity_check 0.4 to 0.5 s (2026-12-07, beside a
    # run using both cores), and both found the damage in each of 66 copies with 512 bytes
    # overwritten (at random offsets, on table and index pages): quick_check, since every open of a
    # store pays it.
    try:
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
        problem = "" if rows == [("ok",)] else rows[0][0].replace("*** in database main ***", "")
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_NOTADB:    # not a store at all, said as such by the caller
            raise
        problem = str(exc)
    if problem:
        raise BenchError(f"{path}: the result store is damaged ({' '.join(problem.split())}); bench neither "
                         f"reads nor writes it. Start a new store with another --out (or move this file away); "
                         f"results.csv and the reports beside it still hold what its last report wrote")


def missing_metric_columns(db: sqlite3.Connection) -> list[str]:
    """The stored metrics an existing cells table has no column for (a metric added since it was made)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(cells)")}
    return [name for name in metrics.STORED if columns and name not in columns]


class Store:
    """A result store; ``read_only=True`` opens an existing one without ever writing to it."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        try:
            if read_only:
                self.db = self._open_read_only()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                try:
                    check_intact(self.db, self.path)
                except BenchError:
                    self.db.close()
                    raise
                migrate(self.db, self.path)
                self.db.isolation_level = ""      # back to Python's implicit transactions
        except sqlite3.DatabaseError as exc:
            raise BenchError(f"{self.path}: not a usable result store ({' '.join(str(exc).split())})") from None
        self.db.execute("PRAGMA foreign_keys = ON")

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise BenchError(f"no result store at {self.path}")
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"runs", "cells", "forecasts"} <= tables:
            db.close()
            raise BenchError(f"{self.path}: not a result store of bench (tables: {', '.join(sorted(tables)) or 'none'})")
        try:
            check_intact(db, self.path)
        except BenchError:
            db.close()
            raise
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION or (version == SCHEMA_VERSION and missing_metric_columns(db)):
            # Older schema (or a metric added since): migrate a private copy in memory, so that reading never writes.
            copy = sqlite3.connect(":memory:", isolation_level=None)
            db.backup(copy)
            db.close()
            migrate(copy, self.path)
            copy.isolation_level = ""
            return copy
        if version > SCHEMA_VERSION:
            db.close()
            check_version(version, self.path)
        return db

    def close(self) -> None:
        self.db.close()

    def start_run(self, *, started_at: str, suite: str, suite_source: str, git_commit: str | None,
                  environment: dict, inputs: dict | None = None) -> int:
        """A new run; ``inputs`` are the hashes of the code and data it starts with (``run_inputs``)."""
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs (started_at, suite, suite_source, git_commit, environment, inputs) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (started_at, suite, suite_source, git_commit, json.dumps(environment, sort_keys=True),
                 json.dumps(inputs or {}, sort_keys=True)))
        return int(cur.lastrowid)

    def run_inputs(self, run_id: int) -> dict:
        """``{"code": {file: sha256}, "data": {dataset: hash}}`` of a run; {} for runs of bench before schema 3."""
        row = self.db.execute("SELECT inputs FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def add_data_inputs(self, run_id: int, data_hashes: dict[str, str]) -> None:
        """Record the datasets a resumed run adds (the ones it started with are checked, never replaced)."""
        inputs = self.run_inputs(run_id)
        inputs["data"] = {**data_hashes, **inputs.get("data", {})}
        with self.db:
            self.db.execute("UPDATE runs SET inputs = ? WHERE run_id = ?", (json.dumps(inputs, sort_keys=True), run_id))

    def finish_run(self, run_id: int, *, finished_at: str, total_time_s: float) -> None:
        """Mark a run finished; a resumed run adds this session's time to the earlier ones."""
        with self.db:
            self.db.execute("UPDATE runs SET finished_at = ?, total_time_s = COALESCE(total_time_s, 0) + ? "
                            "WHERE run_id = ?", (finished_at, total_time_s, run_id))

    def add_cell(self, run_id: int, result: CellResult, cell_key: str) -> int:
        c, w, s = result.cell, result.walk, result.scores
        split = c.split.as_dict()
        with self.db:
            columns = ["run_id", "dataset", "model", "label", "params", "seed", "split", "season_length",
                       "status", "reason", *metrics.STORED, "fit_time_s", "fit_cpu_s", "update_time_s",
                       "predict_time_s", "predict_cpu_s", "n_fits", "n_updates", "n_origins", "n_params",
                       "wall_time_s", "cell_key", "span", "selection", "selection_group", "fit_info", "series_id",
                       "quantile_time_s", "intervals", "actual_abs_mean"]
            values = (run_id, c.dataset, c.model, c.label, json.dumps(c.params, sort_keys=True), c.seed,
                      json.dumps(split), c.season_length, result.status, result.reason,
                      *(s.get(name) for name in metrics.STORED),
                      *((w.fit_time_s, w.fit_cpu_s, w.update_time_s, w.predict_time_s, w.predict_cpu_s,
                         w.n_fits, w.n_updates, len(w.origin_positions), w.n_params) if w else (None,) * 9),
                      result.wall_time_s, cell_key, c.span, c.selection, c.group,
                      json.dumps(w.fit_info() if w else {}, sort_keys=True), c.series,
                      w.quantile_time_s if w else None, w.intervals if w else "",
                      float(abs(w.actuals).mean()) if w else None)
            cur = self.db.execute(f"INSERT INTO cells ({', '.join(columns)}) "
                                  f"VALUES ({', '.join('?' * len(columns))})", values)
            cell_id = int(cur.lastrowid)
            if w is not None:
                self.db.executemany(f"INSERT INTO forecasts (cell_id, origin_time, step, y_true, y_pred, mase_scale, "
                                    f"{', '.join(qs.COLUMNS)}) VALUES ({', '.join('?' * (6 + len(qs.COLUMNS)))})",
                                    _forecast_rows(cell_id, w))
        return cell_id

    def stored_keys(self, run_id: int) -> pd.DataFrame:
        """What identifies each stored cell of a run in the tables, with its key and status."""
        return pd.read_sql_query("SELECT dataset, label, params, seed, span, series_id, cell_key, status FROM cells "
                                 "WHERE run_id = ?", self.db, params=(run_id,))

    def cell_times(self) -> pd.DataFrame:
        """Every stored cell's identity, status and wall time, across runs (for scheduling)."""
        return pd.read_sql_query("SELECT dataset, model, params, split, span, status, wall_time_s FROM cells",
                                 self.db)

    def latest_run_id(self, suite: str | None = None) -> int | None:
        if suite is None:
            return self.db.execute("SELECT MAX(run_id) FROM runs").fetchone()[0]
        return self.db.execute("SELECT MAX(run_id) FROM runs WHERE suite = ?", (suite,)).fetchone()[0]

    def finished_keys(self, run_id: int) -> set[str]:
        """Keys of the cells of a run that reached a final status (ok, failed, skipped)."""
        rows = self.db.execute("SELECT cell_key FROM cells WHERE run_id = ? AND status IN "
                               "('ok', 'failed', 'skipped')", (run_id,))
        return {r[0] for r in rows}

    def drop_unfinished(self, run_id: int) -> int:
        """Remove a run's timed-out and crashed cells so that a resume retries them once."""
        with self.db:
            ids = [r[0] for r in self.db.execute(
                "SELECT cell_id FROM cells WHERE run_id = ? AND status NOT IN ('ok', 'failed', 'skipped')",
                (run_id,))]
            self.db.executemany("DELETE FROM forecasts WHERE cell_id = ?", [(i,) for i in ids])
            self.db.executemany("DELETE FROM cells WHERE cell_id = ?", [(i,) for i in ids])
        return len(ids)

    def drop_stale_choices(self, run_id: int, current_keys: set[str]) -> int:
        """Remove a run's test cells of validation selections that are not among ``current_keys``."""
        with self.db:
            ids = [r[0] for r in self.db.execute(
                "SELECT cell_id, cell_key FROM cells WHERE run_id = ? AND span = 'test' AND selection = 'validation'",
                (run_id,)) if r[1] not in current_keys]
            self.db.executemany("DELETE FROM forecasts WHERE cell_id = ?", [(i,) for i in ids])
            self.db.executemany("DELETE FROM cells WHERE cell_id = ?", [(i,) for i in ids])
        return len(ids)

    def validation_forecasts(self, run_id: int) -> pd.DataFrame:
        """Every forecast of a run's finished validation walks, with what identifies its cell
        (what conformal calibration reads: ``bench.conformal``)."""
        return pd.read_sql_query(
            "SELECT c.cell_key, c.dataset, c.model, c.params, c.seed, c.selection, c.selection_group, c.label, "
            "c.series_id, f.origin_time, f.step, f.y_true, f.y_pred, f.mase_scale "
            "FROM forecasts f JOIN cells c USING (cell_id) WHERE c.run_id = ? AND c.span = 'validation' "
            "AND c.status = 'ok' ORDER BY f.cell_id, f.origin_time, f.step", self.db, params=(run_id,))

    def run(self, run_id: int) -> dict:
        cur = self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            raise KeyError(f"no run {run_id} in {self.path}")
        run = dict(zip([d[0] for d in cur.description], row))
        run["environment"] = json.loads(run["environment"])
        run["inputs"] = json.loads(run.get("inputs") or "{}")
        return run

    def cells(self, run_id: int) -> pd.DataFrame:
        # In the order of what they are, not of when they ran (longest-first scheduling
        # and worker timing decide that): tables and means over seeds must not depend on it.
        frame = pd.read_sql_query("SELECT * FROM cells WHERE run_id = ? "
                                  "ORDER BY span, dataset, label, model, params, seed, series_id, cell_id",
                                  self.db, params=(run_id,))
        frame["params_text"] = [params_text(json.loads(p)) for p in frame["params"]]
        return frame

    def forecasts(self, run_id: int) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT f.* FROM forecasts f JOIN cells c USING (cell_id) WHERE c.run_id = ? "
            "ORDER BY f.cell_id, f.origin_time, f.step", self.db, params=(run_id,))


def _forecast_rows(cell_id: int, w) -> Iterator[tuple]:
    """One row per origin and step, made as SQLite asks for them: a list of them all would hold
    Python objects for every forecast at once (gigabytes for millions of forecasts)."""
    steps = w.forecasts.shape[1]
    none = (None,) * len(qs.COLUMNS)
    for i, t in enumerate(w.origin_times):
        origin, scale = str(t), float(w.mase_scales[i])
        actual, forecast = w.actuals[i].tolist(), w.forecasts[i].tolist()
        q = w.quantiles[i].tolist() if w.quantiles is not None else None
        for step in range(steps):
            yield cell_id, origin, step + 1, actual[step], forecast[step], scale, *(q[step] if q else none)
