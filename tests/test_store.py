"""The result store's schema version (older stores are migrated, newer ones refused) and its damage (refused)."""
import sqlite3

import numpy as np
import pytest

from bench import api
from bench.errors import BenchError
from bench.store import SCHEMA_VERSION, Store
from tests.conftest import damage_store

# The schema of stores written before the schema had a version (bench up to stop 10).
VERSION_1 = """
CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
    total_time_s REAL, suite TEXT NOT NULL, suite_source TEXT NOT NULL, git_commit TEXT, environment TEXT NOT NULL);
CREATE TABLE cells (cell_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(run_id),
    dataset TEXT NOT NULL, model TEXT NOT NULL, label TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL,
    split TEXT NOT NULL, season_length INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
    mae REAL, rmse REAL, mape REAL, smape REAL, mase REAL, fit_time_s REAL, fit_cpu_s REAL, update_time_s REAL,
    predict_time_s REAL, predict_cpu_s REAL, n_fits INTEGER, n_updates INTEGER, n_origins INTEGER,
    n_params INTEGER, wall_time_s REAL NOT NULL, cell_key TEXT NOT NULL);
CREATE TABLE forecasts (cell_id INTEGER NOT NULL REFERENCES cells(cell_id), origin_time TEXT NOT NULL,
    step INTEGER NOT NULL, y_true REAL NOT NULL, y_pred REAL NOT NULL, mase_scale REAL,
    PRIMARY KEY (cell_id, origin_time, step));
INSERT INTO runs VALUES (1, '2026-11-01T00:00:00Z', '2026-11-01T00:01:00Z', 60.0, 'old', '', 'abc',
    '{"cpu": "x", "cores": 2, "python": "3.11", "packages": {}}');
INSERT INTO cells VALUES (1, 1, 'air_passengers', 'naive', 'naive', '{}', 0,
    '{"horizon": 1, "test_size": 2, "step": 1, "refit_every": 1, "window": null}', 12, 'ok', '',
    1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.0, 0.1, 0.1, 1, 1, 2, 0, 0.5, 'k1');
INSERT INTO forecasts VALUES (1, '1960-11-01', 1, 508.0, 507.0, 1.0), (1, '1960-12-01', 1, 432.0, 433.0, 1.0);
"""


def old_store(path, version: int) -> None:
    """A store as bench wrote it at schema ``version`` (1 to 4), holding VERSION_1's run."""
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
        if version >= 2:
            for column in ("span TEXT NOT NULL DEFAULT 'test'", "selection TEXT NOT NULL DEFAULT ''",
                           "selection_group TEXT NOT NULL DEFAULT ''", "fit_info TEXT NOT NULL DEFAULT '{}'"):
                db.execute(f"ALTER TABLE cells ADD COLUMN {column}")
        if version >= 3:
            db.execute("ALTER TABLE runs ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}'")
        if version >= 4:
            db.execute("ALTER TABLE cells ADD COLUMN series_id TEXT NOT NULL DEFAULT ''")
        if version >= 2:
            db.execute(f"PRAGMA user_version = {version}")


def test_a_store_written_before_schema_versions_is_migrated_and_still_reads(tmp_path):
    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
    Store(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    res = api.load(path)
    cell = res.cells.iloc[0]
    assert (cell["span"], cell["selection"], cell["fit_info"], cell["series_id"]) == ("test", "", "{}", "")
    assert res.table.set_index("variant").loc["naive", "mae"] == 1.0


def test_a_store_of_a_newer_bench_is_refused_with_one_line(tmp_path):
    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(BenchError, match="newer bench"):
        Store(path)


def test_reading_an_older_store_migrates_a_private_copy_and_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
    before = path.read_bytes()
    res = api.load(path)
    assert res.table.set_index("variant").loc["naive", "mae"] == 1.0
    assert path.read_bytes() == before


def test_a_version_2_store_gains_the_run_inputs_and_the_once_per_run_index(tmp_path):
    path = tmp_path / "bench.sqlite"
    old_store(path, version=2)
    store = Store(path)
    try:
        assert store.run_inputs(1) == {}
        with pytest.raises(sqlite3.IntegrityError):
            with store.db:
                store.db.execute("UPDATE cells SET cell_key = 'k1'")
                store.db.execute("INSERT INTO cells (run_id, dataset, model, label, params, seed, split, "
                                 "season_length, status, reason, wall_time_s, cell_key) "
                                 "SELECT run_id, dataset, model, label, params, seed, split, season_length, status, "
                                 "reason, wall_time_s, cell_key FROM cells")
    finally:
        store.close()


def test_a_file_that_is_not_a_store_is_refused_with_one_line(tmp_path):
    path = tmp_path / "bench.sqlite"
    path.write_text("not a database at all, just text that is long enough to look like a header" * 20)
    with pytest.raises(BenchError, match="not a usable result store"):
        Store(path)
    with pytest.raises(BenchError, match="not a usable result store|not a result store"):
        Store(path, read_only=True)


def migrated(path, version: int):
    """An old store read (migrated in memory, the file untouched), then opened for writing (migrated in place)."""
    old_store(path, version)
    before = path.read_bytes()
    read = api.load(path)
    assert path.read_bytes() == before
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    return read, db


def test_a_version_3_store_gains_the_series_id_of_single_series_and_reads_as_before(tmp_path):
    read, db = migrated(tmp_path / "bench.sqlite", version=3)
    assert list(read.cells["series_id"]) == [""] and read.table.set_index("variant").loc["naive", "mae"] == 1.0
    with db:
        assert db.execute("SELECT series_id FROM cells").fetchall() == [("",)]


def test_a_version_4_store_of_point_forecasts_gains_empty_quantiles_and_reads_as_before(tmp_path):
    read, db = migrated(tmp_path / "bench.sqlite", version=4)
    naive = read.table.set_index("variant").loc["naive"]
    assert naive["mae"] == 1.0 and np.isnan(naive["msis"]) and np.isnan(naive["coverage_95"])
    with db:
        assert SCHEMA_VERSION == 5
        assert db.execute("SELECT q025, q500, q975 FROM forecasts").fetchall() == [(None, None, None)] * 2
        assert db.execute("SELECT intervals, quantile_time_s, msis FROM cells").fetchall() == [("", None, None)]


def test_a_metric_added_to_the_metric_table_gets_its_column_in_an_existing_store(tmp_path, monkeypatch):
    from bench import metrics, store as store_module

    path = tmp_path / "bench.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
    Store(path).close()
    monkeypatch.setattr(metrics, "STORED", (*metrics.STORED, "mdae"))
    assert store_module.missing_metric_columns(sqlite3.connect(path)) == ["mdae"]
    before = path.read_bytes()
    api.load(path)                      # reading migrates a private copy only
    assert path.read_bytes() == before
    Store(path).close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(cells)")}
        assert "mdae" in columns
        assert db.execute("SELECT mae, mdae FROM cells").fetchone() == (1.0, None)


def a_damaged_store(path):
    """A store of the current schema with a run of a few hundred pages, then damaged in its middle."""
    old_store(path, version=4)
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO forecasts (cell_id, origin_time, step, y_true, y_pred) VALUES (1, ?, 1, ?, ?)",
                       ((f"t{i:05d}", float(i), float(i + 1)) for i in range(20_000)))
    db.close()
    damage_store(path)
    return path.read_bytes()


def test_a_damaged_store_is_refused_before_anything_is_written_with_how_to_go_on(tmp_path):
    path = tmp_path / "bench.sqlite"
    before = a_damaged_store(path)
    with pytest.raises(BenchError) as info:
        Store(path)
    message = str(info.value)
    assert message.startswith(f"{path}: the result store is damaged (") and "\n" not in message
    assert "another --out" in message and "results.csv and the reports beside it" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.sqlite"]     # no journal left either


def test_a_damaged_store_is_not_read_either(tmp_path):
    path = tmp_path / "bench.sqlite"
    before = a_damaged_store(path)
    for read in (lambda: Store(path, read_only=True), lambda: api.load(path)):
        with pytest.raises(BenchError, match=r": the result store is damaged \("):
            read()
    assert path.read_bytes() == before
