"""SQLite result store: runs, cells and every per-origin forecast.

Each finished cell is written in its own transaction, so a crash loses at most the
cell in flight. Every table and report is a pure function of these rows.

The schema carries a version (SQLite's ``user_version``). A store written by an older
version of bench is migrated when opened (columns added with their defaults: version 1
stores had no validation span, no selection and no fit_info); a store from a newer
version is refused with one line.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.runner import CellResult, params_text

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,           -- UTC, ISO 8601
    finished_at TEXT,
    total_time_s REAL,
    suite TEXT NOT NULL,
    suite_source TEXT NOT NULL,
    git_commit TEXT,
    environment TEXT NOT NULL           -- JSON: python, packages, cpu, cores
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
    mae REAL, rmse REAL, mape REAL, smape REAL, mase REAL,
    fit_time_s REAL, fit_cpu_s REAL, update_time_s REAL,
    predict_time_s REAL, predict_cpu_s REAL,
    n_fits INTEGER, n_updates INTEGER, n_origins INTEGER, n_params INTEGER,
    wall_time_s REAL NOT NULL,
    cell_key TEXT NOT NULL,             -- hash of what determines the result (see runner.cell_key)
    span TEXT NOT NULL DEFAULT 'test',  -- test | validation (a selection's walk before the test span)
    selection TEXT NOT NULL DEFAULT '', -- '' | validation | test: how the variant is chosen in its group
    selection_group TEXT NOT NULL DEFAULT '',   -- the suite entry whose grid the variant belongs to
    fit_info TEXT NOT NULL DEFAULT '{}' -- JSON: the model's fit_info(), summarised over its fits
);
CREATE TABLE IF NOT EXISTS forecasts (
    cell_id INTEGER NOT NULL REFERENCES cells(cell_id),
    origin_time TEXT NOT NULL,          -- timestamp of the first forecast point
    step INTEGER NOT NULL,              -- 1..horizon
    y_true REAL NOT NULL,
    y_pred REAL NOT NULL,
    mase_scale REAL,
    PRIMARY KEY (cell_id, origin_time, step)
);
"""


_ADDED_IN_2 = ["span TEXT NOT NULL DEFAULT 'test'", "selection TEXT NOT NULL DEFAULT ''",
               "selection_group TEXT NOT NULL DEFAULT ''", "fit_info TEXT NOT NULL DEFAULT '{}'"]


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA foreign_keys = ON")
        self._create_or_migrate()

    def _create_or_migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        has_tables = self.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.db.close()
            raise BenchError(f"{self.path}: result store of a newer bench (schema {version}; this one reads "
                             f"up to {SCHEMA_VERSION}); upgrade bench or use another --out")
        with self.db:
            if has_tables and version < 2:
                for column in _ADDED_IN_2:
                    self.db.execute(f"ALTER TABLE cells ADD COLUMN {column}")
            self.db.executescript(SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def start_run(self, *, started_at: str, suite: str, suite_source: str, git_commit: str | None,
                  environment: dict) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs (started_at, suite, suite_source, git_commit, environment) "
                "VALUES (?, ?, ?, ?, ?)",
                (started_at, suite, suite_source, git_commit, json.dumps(environment, sort_keys=True)))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, finished_at: str, total_time_s: float) -> None:
        """Mark a run finished; a resumed run adds this session's time to the earlier ones."""
        with self.db:
            self.db.execute("UPDATE runs SET finished_at = ?, total_time_s = COALESCE(total_time_s, 0) + ? "
                            "WHERE run_id = ?", (finished_at, total_time_s, run_id))

    def add_cell(self, run_id: int, result: CellResult, cell_key: str) -> int:
        c, w, s = result.cell, result.walk, result.scores
        split = c.split.as_dict()
        with self.db:
            cur = self.db.execute(
                "INSERT INTO cells (run_id, dataset, model, label, params, seed, split, season_length, "
                "status, reason, mae, rmse, mape, smape, mase, fit_time_s, fit_cpu_s, update_time_s, "
                "predict_time_s, predict_cpu_s, n_fits, n_updates, n_origins, n_params, wall_time_s, cell_key, "
                "span, selection, selection_group, fit_info) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, c.dataset, c.model, c.label, json.dumps(c.params, sort_keys=True), c.seed,
                 json.dumps(split), c.season_length, result.status, result.reason,
                 s.get("mae"), s.get("rmse"), s.get("mape"), s.get("smape"), s.get("mase"),
                 *((w.fit_time_s, w.fit_cpu_s, w.update_time_s, w.predict_time_s, w.predict_cpu_s,
                    w.n_fits, w.n_updates, len(w.origin_positions), w.n_params) if w else (None,) * 9),
                 result.wall_time_s, cell_key, c.span, c.selection, c.group,
                 json.dumps(w.fit_info() if w else {}, sort_keys=True)))
            cell_id = int(cur.lastrowid)
            if w is not None:
                rows = [(cell_id, str(t), step + 1, float(w.actuals[i, step]), float(w.forecasts[i, step]),
                         float(w.mase_scales[i]))
                        for i, t in enumerate(w.origin_times) for step in range(w.forecasts.shape[1])]
                self.db.executemany("INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?)", rows)
        return cell_id

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

    def run(self, run_id: int) -> dict:
        cur = self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            raise KeyError(f"no run {run_id} in {self.path}")
        run = dict(zip([d[0] for d in cur.description], row))
        run["environment"] = json.loads(run["environment"])
        return run

    def cells(self, run_id: int) -> pd.DataFrame:
        # In the order of what they are, not of when they ran (longest-first scheduling
        # and worker timing decide that): tables and means over seeds must not depend on it.
        frame = pd.read_sql_query("SELECT * FROM cells WHERE run_id = ? "
                                  "ORDER BY span, dataset, label, model, params, seed, cell_id",
                                  self.db, params=(run_id,))
        frame["params_text"] = [params_text(json.loads(p)) for p in frame["params"]]
        return frame

    def forecasts(self, run_id: int) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT f.* FROM forecasts f JOIN cells c USING (cell_id) WHERE c.run_id = ? "
            "ORDER BY f.cell_id, f.origin_time, f.step", self.db, params=(run_id,))
