"""Panels: many series in one dataset. The M4 hourly files, a user's long-format CSV, one cell per
series, chunks of series sent to workers, resume, timeouts and Dask on panels."""
import contextlib
import functools
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baselines.naive import Naive
from bench import api, cli, data, executor, runner, suite as suites
from bench.errors import BenchError, BenchWarning
from bench.store import Store
from tests.conftest import REPO

M4 = "m4_hourly"
# Published M4 accuracy on the hourly subset (published_hourly_benchmarks.csv beside the data).
PUBLISHED = {"naive": (43.003, 11.608), "seasonal_naive": (13.912, 1.193)}


@pytest.fixture(scope="module")
def m4():
    return data.load_panel(data.get_dataset(M4))


def m4_rows(name: str) -> list[list[str]]:
    """A file of the M4 layout as its rows of text (id first), read without pandas."""
    path = data.locate_file(data.get_dataset(M4), next(f for f in data.get_dataset(M4).files if f.name == name))
    return [[cell.strip('"') for cell in line.split(",")] for line in path.read_text().splitlines()]


# --------------------------------------------------------------------------- the M4 hourly files

def test_m4_hourly_is_414_series_each_its_training_row_then_its_48_test_values_on_a_step_index(m4):
    assert len(m4) == 414 and list(m4)[:3] == ["H1", "H2", "H3"] and list(m4)[-1] == "H414"
    train, test = m4_rows("Hourly-train.csv"), m4_rows("Hourly-test.csv")
    for row, (sid, y) in zip(train[1:], m4.items()):
        assert row[0] == sid
    h1_train = [float(v) for v in train[1][1:] if v]
    h1 = m4["H1"]
    assert len(h1) == len(h1_train) + 48 == 748
    np.testing.assert_array_equal(h1.to_numpy()[:-48], h1_train)
    np.testing.assert_array_equal(h1.to_numpy()[-48:], [float(v) for v in test[1][1:]])
    lengths = sorted(len(y) for y in m4.values())
    assert (lengths[0], lengths[-1]) == (700 + 48, 960 + 48)
    assert h1.index[0] == pd.Timestamp("1970-01-01 00:00") and h1.index.freqstr == "h"
    assert (pd.date_range("1970-01-01", periods=len(h1), freq="h") == h1.index).all()


def test_the_catalog_split_puts_the_one_origin_of_each_series_at_the_end_of_its_training_row(m4):
    split = data.get_dataset(M4).split
    for y in (m4["H1"], m4["H414"]):
        origins = list(split.origins(len(y)))
        assert len(origins) == 1 and origins[0].position == len(y) - 48 and origins[0].train_start == 0


def test_load_refuses_a_panel_and_one_series_of_it_reads_as_a_single_series(m4):
    ds = data.get_dataset(M4)
    with pytest.raises(BenchError, match="'m4_hourly' is a panel of many series: read it with load_panel"):
        data.load(ds)
    one = data.one_series(ds, "H7")
    assert not one.is_panel and data.load_panel(one).keys() == {"H7"}
    pd.testing.assert_series_equal(data.load(one), m4["H7"])
    with pytest.raises(BenchError, match=r"--series: m4_hourly has no series 'H0'; its ids are 'H1', 'H2'"):
        data.load(data.one_series(ds, "H0"))
    with pytest.raises(BenchError, match="'air_passengers' is a single series, not a panel"):
        data.one_series(data.get_dataset("air_passengers"), "x")


def test_a_single_series_dataset_is_a_panel_of_one():
    panel = data.load_panel(data.get_dataset("air_passengers"))
    assert list(panel) == [""]
    pd.testing.assert_series_equal(panel[""], data.load_series("air_passengers"))


def test_naive_and_seasonal_naive_on_every_m4_series_give_the_published_smape_and_mase(m4):
    split = data.get_dataset(M4).split
    for model, (smape, mase) in PUBLISHED.items():
        scores = [runner.evaluate_cell(runner.Cell(M4, model, model, {}, 0, split, 24, series=sid), y).scores
                  for sid, y in m4.items()]
        assert round(np.mean([s["smape"] for s in scores]), 3) == smape
        assert round(np.mean([s["mase"] for s in scores]), 3) == mase


def _wide_entry(tmp_path, train: str, test: str) -> data.Dataset:
    (tmp_path / "train.csv").write_text(train)
    (tmp_path / "test.csv").write_text(test)
    (tmp_path / "wide.toml").write_text(
        'name = "wide"\ndescription = "d"\nunit = ""\nfrequency = "h"\nseason_length = 2\nlayout = "m4_wide"\n'
        '[[files]]\nname = "train.csv"\npath = "train.csv"\n[[files]]\nname = "test.csv"\npath = "test.csv"\n'
        '[split]\nhorizon = 2\ntest_size = 2\n')
    return data.parse_catalog_entry(tmp_path / "wide.toml")


HEADER = '"V1","V2","V3","V4","V5","V6"\n'
TEST = '"V1","V2","V3"\n"A","7","8"\n"B","9","9"\n'


@pytest.mark.parametrize("train, test, needle", [
    (HEADER + '"A","1","2","3","4","5"\n"B","1","x","3","",""\n', TEST,
     r"train.csv: series 'B' has a value that is not a finite number \(line 3, column 'V3' is 'x'\)"),
    (HEADER + '"A","1","2","3","4","5"\n"B","1","","3","",""\n', TEST,
     r"train.csv: series 'B' has an empty cell before its last value \(line 3, column 'V3'\)"),
    (HEADER + '"A","1","2","3","4","5"\n"A","1","2","3","",""\n', TEST,
     r"train.csv: series id 'A' appears on lines 2 and 3"),
    (HEADER + '"A","1","2","3","4","5"\n"","1","2","3","",""\n', TEST, r"train.csv: line 3 has no series id"),
    (HEADER + '"A","1","2","3","4","5"\n"C","1","2","3","",""\n', TEST,
     r"wide: series 'C' is in train.csv but not in test.csv"),
    (HEADER + '"A","1","2","3","4","5"\n"B","1","2","3","",""\n', '"V1","V2","V3"\n"A","7","8"\n',
     r"wide: series 'B' is in train.csv but not in test.csv"),
    (HEADER + '"A","1","2","3","4","5"\n"B","3","3","3","",""\n', '"V1","V2","V3"\n"A","7","8"\n"B","3","3"\n',
     r"wide: series 'B': the series is constant"),
    (HEADER + '"A","1","2","3","4","1e300"\n"B","1","2","3","",""\n', TEST,
     r"wide: series 'A': 1 value beyond \+-1e\+100 \(first: 1e\+300 at step 5\)"),
])
def test_a_bad_file_of_the_m4_layout_is_one_error_naming_the_series_and_the_line(tmp_path, train, test, needle):
    ds = _wide_entry(tmp_path, train, test)
    with pytest.raises(BenchError, match=needle):
        data.load_panel(ds)


def test_a_file_of_the_m4_layout_with_shorter_rows_reads_each_series_to_its_last_value(tmp_path):
    ds = _wide_entry(tmp_path, HEADER + '"A","1","2","3","4","5"\n"B","1","2","3","",""\n', TEST)
    panel = data.load_panel(ds)
    np.testing.assert_array_equal(panel["A"].to_numpy(), [1, 2, 3, 4, 5, 7, 8])
    np.testing.assert_array_equal(panel["B"].to_numpy(), [1, 2, 3, 9, 9])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(folder: Path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_m4_hourly_is_fetched_from_a_mirror_verified_and_read_from_the_cache(tmp_path, monkeypatch):
    ds = data.get_dataset(M4)
    assert [f.url for f in ds.files] == [
        "https://raw.githubusercontent.com/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/"
        f"Dataset/{part}/Hourly-{part.lower()}.csv" for part in ("Train", "Test")]
    data_dir = Path(os.environ["BENCH_DATA_DIR"])
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with serving(data_dir) as url:
        monkeypatch.setenv("BENCH_MIRROR", url)
        fetched = [(f.name, how) for _, f, _, how in data.fetch([M4])]
        files = [*ds.files, *ds.published]      # the published accuracy, beside the data
        assert fetched == [(f.name, f"downloaded from {url}/m4_hourly/{f.name}") for f in files]
        assert [how for *_, how in data.fetch([M4])] == ["cached"] * 4
    panel = data.load_panel(ds)          # the mirror is gone: the cache serves
    assert len(panel) == 414
    assert sorted(p.name for p in (tmp_path / "cache" / M4).iterdir()) == [
        "Hourly-test.csv", "Hourly-train.csv", "published_hourly_benchmarks.csv", "published_hourly_intervals.csv"]


# --------------------------------------------------------------------------- a user's panel, long format

def long_panel(path: Path, m4: dict, ids=("H1", "H2", "H3"), length=120, starts=None) -> Path:
    """A long-format CSV (id, time, value) of the last ``length`` hours of some M4 series, each from its own start."""
    rows = []
    for k, sid in enumerate(ids):
        start = pd.Timestamp(starts[k] if starts else "2024-01-01") + pd.Timedelta(hours=5 * k)
        times = pd.date_range(start, periods=length, freq="h")
        rows += [(sid, t.strftime("%Y-%m-%d %H:%M"), f"{v:g}") for t, v in zip(times, m4[sid].to_numpy()[-length:])]
    pd.DataFrame(rows, columns=["store", "hour", "sales"]).to_csv(path, index=False)
    return path


def test_a_long_format_csv_is_a_panel_in_file_order_each_series_on_its_own_grid(tmp_path, m4):
    csv = long_panel(tmp_path / "p.csv", m4, ids=("H9", "H2", "H5"))
    ds = data.user_dataset(csv, id_col="store")
    assert (ds.id_column, ds.time_column, ds.value_column, ds.frequency, ds.season_length) == \
        ("store", "hour", "sales", "h", 24)
    assert ds.is_panel and (ds.split.horizon, ds.split.test_size) == (24, 48)     # the shortest: 120 points
    panel = data.load_panel(ds)
    assert list(panel) == ["H9", "H2", "H5"]
    np.testing.assert_array_equal(panel["H2"].to_numpy(), m4["H2"].to_numpy()[-120:])
    assert panel["H2"].index[0] == pd.Timestamp("2024-01-01 05:00") and panel["H2"].index.freqstr == "h"


def test_rows_of_a_panel_in_any_order_are_sorted_per_series_with_one_warning(tmp_path, m4):
    csv = long_panel(tmp_path / "p.csv", m4)
    frame = pd.read_csv(csv)
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "shuffled.csv", index=False)
    ds = data.user_dataset(tmp_path / "shuffled.csv", id_col="store")
    with pytest.warns(BenchWarning, match=r"the timestamps of 3 series are not in time order .*sorted them"):
        panel = data.load_panel(ds)
    assert sorted(panel) == ["H1", "H2", "H3"]
    np.testing.assert_array_equal(panel["H3"].to_numpy(), m4["H3"].to_numpy()[-120:])


def _edit(csv: Path, change) -> Path:
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    changed = change(frame)            # a new frame, or None when ``change`` edited this one
    (frame if changed is None else changed).to_csv(csv, index=False)
    return csv


@pytest.mark.parametrize("change, options, needle", [
    (lambda f: f.drop(f.index[(f["store"] == "H2")][:100]), {},
     r"p.csv: series 'H2' \(the shortest\): the series has 20 points; the default split \(horizon 24, test size 48\) "
     r"needs at least 50"),
    (lambda f: None, {"test_size": 200}, r"series 'H1' \(the shortest\): the series has 120 points; --test-size 200"),
    (lambda f: f.loc.__setitem__((f.index[125], "hour"), f.loc[f.index[124], "hour"]), {},
     r"p.csv: series 'H2': 1 duplicate timestamps \(first: 2024-01-01 09:00:00\); choose --duplicates mean\|sum\|last"),
    (lambda f: f.loc.__setitem__((f.index[130], "sales"), "n/a?"), {},
     r"p.csv: column 'sales' \(--value-col\) has 1 non-numeric value \(line 132, series 'H2', is 'n/a\?'\)"),
    (lambda f: f.loc.__setitem__((f.index[130], "sales"), ""), {},
     r"has 1 missing value \(first on line 132, series 'H2'\); --fill interpolate\|ffill"),
    (lambda f: f.drop(f.index[130]), {},
     r"p.csv: series 'H2': 1 missing timestamps at frequency 'h' \(first gap at 2024-01-01 15:00:00\); choose --fill"),
    (lambda f: f.loc.__setitem__((f.index[130], "store"), ""), {},
     r"p.csv: column 'store' \(--id-col\) is empty on line 132; every row needs its series id"),
    (lambda f: f.loc.__setitem__((f["store"] == "H3", "sales"), "5"), {},
     r"p.csv: series 'H3': the series is constant \(every value is 5\)"),
])
def test_a_bad_panel_csv_is_one_error_naming_the_series(tmp_path, m4, change, options, needle):
    csv = _edit(long_panel(tmp_path / "p.csv", m4), change)
    with pytest.raises(BenchError, match=needle):
        data.user_dataset(csv, id_col="store", **options)


def test_id_col_must_be_a_column_of_its_own(tmp_path, m4):
    csv = long_panel(tmp_path / "p.csv", m4)
    with pytest.raises(BenchError, match=r"--id-col: .*p.csv has no column 'shop'; its columns are 'store'"):
        data.user_dataset(csv, id_col="shop")
    with pytest.raises(BenchError, match=r"--id-col 'hour' is also the time column"):
        data.user_dataset(csv, id_col="hour", time_col="hour", value_col="sales")


def test_a_registered_user_panel_round_trips_with_its_id_column(tmp_path, m4):
    ds = data.user_dataset(long_panel(tmp_path / "p.csv", m4), id_col="store", name="shops")
    data.register_user_dataset(ds)
    again = data.get_dataset("shops")
    assert again == ds
    assert list(data.load_panel(again)) == ["H1", "H2", "H3"]


# --------------------------------------------------------------------------- cells, keys and chunks

def _suite(tmp_path, text: str, name="suite.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_panel_makes_one_cell_per_series_its_series_one_after_another(tmp_path):
    suite = suites.load_suite(_suite(tmp_path, '[[datasets]]\nname = "m4_hourly"\n[[datasets]]\nname = '
                                               '"air_passengers"\n[[models]]\nname = "naive"\n[[models]]\n'
                                               'name = "tests.faulty_models:Noisy"\nlabel = "noisy"\n'))
    cells = suites.cells(suite, seeds=2, series={M4: ["H1", "H2", "H3"]})
    assert [(c.dataset, c.label, c.seed, c.series) for c in cells] == [
        (M4, "naive", 0, "H1"), (M4, "naive", 0, "H2"), (M4, "naive", 0, "H3"),
        (M4, "noisy", 0, "H1"), (M4, "noisy", 0, "H2"), (M4, "noisy", 0, "H3"),
        (M4, "noisy", 1, "H1"), (M4, "noisy", 1, "H2"), (M4, "noisy", 1, "H3"),
        ("air_passengers", "naive", 0, ""), ("air_passengers", "noisy", 0, ""), ("air_passengers", "noisy", 1, "")]
    keys = {runner.cell_key(c, code_version="c", data_hash="d") for c in cells}
    assert len(keys) == len(cells) and len({c.key for c in cells}) == len(cells)


def test_a_single_series_cell_keeps_the_key_it_had_before_panels():
    split = data.get_dataset("air_passengers").split
    cell = runner.Cell("air_passengers", "naive", "naive", {}, 0, split, 12)
    payload = json.dumps(["air_passengers", "naive", "naive", {}, 0, split.as_dict(), 12, "test", "", "", "c", "d"],
                         sort_keys=True, default=str)
    import hashlib
    assert runner.cell_key(cell, code_version="c", data_hash="d") == hashlib.sha256(payload.encode()).hexdigest()[:24]


def _cells(n_series: int, models=("naive", "drift"), dataset=M4) -> list[runner.Cell]:
    split = data.get_dataset(M4).split
    return [runner.Cell(dataset, m, m, {}, 0, split, 24, series=f"H{i}") for m in models for i in range(1, n_series + 1)]


def test_chunks_hold_one_variant_walk_at_most_16_series_and_share_a_short_walk_among_workers():
    sizes = lambda chunks: [(c[0].model, len(c)) for c in chunks]
    assert sizes(executor.chunks(_cells(40), workers=2)) == [("naive", 16), ("naive", 16), ("naive", 8),
                                                            ("drift", 16), ("drift", 16), ("drift", 8)]
    assert sizes(executor.chunks(_cells(20), workers=2)) == [("naive", 10), ("naive", 10), ("drift", 10), ("drift", 10)]
    assert sizes(executor.chunks(_cells(3), workers=1)) == [("naive", 3), ("drift", 3)]
    split = data.get_dataset("air_passengers").split
    single = [runner.Cell("air_passengers", m, m, {}, s, split, 12) for m in ("naive", "drift") for s in (0, 1)]
    assert [len(c) for c in executor.chunks(single, workers=2)] == [1, 1, 1, 1]


def test_in_process_execution_gives_each_cell_its_own_series(m4):
    cells = _cells(3, models=("naive",))
    results = list(executor.execute(cells, {M4: m4}, workers=0))
    assert [r.cell.series for r in results] == ["H1", "H2", "H3"]
    assert [r.walk.actuals[0, 0] for r in results] == [m4[s].iloc[-48] for s in ("H1", "H2", "H3")]


# --------------------------------------------------------------------------- runs on panels

SMALL = """
name = "panel"
[[datasets]]
name = "{name}"
[[models]]
name = "naive"
[[models]]
name = "seasonal_naive"
"""


def _user_panel_run(tmp_path, m4, *, ids=("H1", "H2", "H3", "H4"), out="out", **kwargs):
    ds = data.user_dataset(long_panel(tmp_path / "p.csv", m4, ids=ids), id_col="store", name="shops")
    return api.run(_suite(tmp_path, SMALL.format(name="air_passengers")), datasets=["shops"], out=tmp_path / out,
                   extra_datasets=[ds], **kwargs)


@pytest.mark.slow
def test_a_run_on_a_user_panel_stores_a_cell_per_series_and_the_report_renders(tmp_path, m4, capsys):
    res = _user_panel_run(tmp_path, m4, on_cell=cli.Progress())
    cells = res.cells
    assert sorted(zip(cells["label"], cells["series_id"])) == sorted(
        (m, s) for m in ("naive", "seasonal_naive") for s in ("H1", "H2", "H3", "H4"))
    assert (cells["status"] == "ok").all() and cells["cell_key"].is_unique
    forecasts = res.forecasts("shops", "naive")
    assert set(forecasts["series_id"]) == {"H1", "H2", "H3", "H4"}
    assert len(forecasts) == 4 * 25 * 24                    # 25 origins of 24 steps per series
    assert (tmp_path / "out" / "LEADERBOARD.md").is_file() and (tmp_path / "out" / "shops.md").is_file()
    # Progress: one line per panel walk, not one per series.
    lines = capsys.readouterr().err.strip().splitlines()
    walks = [line for line in lines if "series ok" in line]
    assert len(walks) == 2 and all("4/4 series ok, mean MAE" in line for line in walks), lines
    assert sum(" shops " in line for line in lines) == 2


@pytest.mark.slow
def test_the_user_panel_is_registered_with_its_id_column_after_the_run(tmp_path, m4):
    _user_panel_run(tmp_path, m4)
    assert data.get_dataset("shops").id_column == "store"


@pytest.mark.slow
def test_a_store_lists_series_ids_and_resume_names_the_series(tmp_path, m4):
    from bench.store import SCHEMA_VERSION

    _user_panel_run(tmp_path, m4, ids=("H1", "H2"))
    with sqlite3.connect(tmp_path / "out" / "bench.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert sorted(r[0] for r in db.execute("SELECT DISTINCT series_id FROM cells")) == ["H1", "H2"]
    # Another split for the same series: refused, naming one.
    ds = data.user_dataset(tmp_path / "p.csv", id_col="store", name="shops", test_size=72)
    with pytest.raises(BenchError, match=r"run 1 holds shops / series H[12] / (naive|seasonal_naive) / seed 0 "
                                         r"computed with another split"):
        api.run(_suite(tmp_path, SMALL.format(name="air_passengers")), datasets=["shops"], out=tmp_path / "out",
                extra_datasets=[ds], resume=True, plots=False)


def test_a_series_too_short_for_a_suites_split_is_one_error_naming_it(tmp_path):
    suite = _suite(tmp_path, '[[datasets]]\nname = "m4_hourly"\ntest_size = 800\n[[models]]\nname = "naive"\n')
    with pytest.raises(BenchError, match=r"dataset 'm4_hourly': series 'H\d+' has 748 points; its split "
                                         r"\(h=48 test=800 .*\) needs at least 802"):
        api.run(suite, out=tmp_path / "out", plots=False)
    assert not (tmp_path / "out" / "bench.sqlite").exists()


# Suites name a catalog dataset; the runs keep only the user's panel (datasets=["shops"]).
VALIDATION = """
name = "select"
[[datasets]]
name = "air_passengers"
[[models]]
name = "tests.toy_models:MeanOfLast"
label = "mean_of_last"
params = { window = [1, 24, 96] }
select = "validation"
"""


@pytest.mark.slow
def test_validation_selection_on_a_panel_chooses_by_the_mean_over_series_of_the_validation_mae(tmp_path, m4):
    ds = data.user_dataset(long_panel(tmp_path / "p.csv", m4, ids=("H1", "H30", "H200"), length=240),
                           id_col="store", name="shops")
    res = api.run(_suite(tmp_path, VALIDATION), datasets=["shops"], out=tmp_path / "out", extra_datasets=[ds],
                  references=False, plots=False)
    validation = res.cells[res.cells["span"] == "validation"]
    assert len(validation) == 3 * 3
    best = validation.groupby("label")["mae"].mean().idxmin()
    test = res.cells[res.cells["span"] == "test"]
    assert sorted(test["series_id"]) == ["H1", "H200", "H30"] and set(test["label"]) == {"mean_of_last"}
    chosen = json.loads(validation.loc[validation["label"] == best, "params"].iloc[0])
    assert {json.dumps(json.loads(p)) for p in test["params"]} == {json.dumps(chosen)}


class HangsOnLarge(Naive):
    """Naive, except on a series whose last value exceeds 1e6: it never finishes fitting there."""

    def fit(self, y):
        if y.iloc[-1] > 1e6:
            time.sleep(3600)
        return super().fit(y)


class DiesOnLarge(Naive):
    """Naive, except on a series whose last value exceeds 1e6: its process ends there."""

    def fit(self, y):
        if y.iloc[-1] > 1e6:
            os._exit(3)
        return super().fit(y)


MISBEHAVING = """
name = "misbehaving"
[[datasets]]
name = "air_passengers"
[[models]]
name = "tests.test_panels:HangsOnLarge"
label = "hangs"
[[models]]
name = "tests.test_panels:DiesOnLarge"
label = "dies"
"""


@pytest.mark.slow
def test_a_cell_past_its_timeout_or_crashing_in_a_chunk_is_recorded_and_the_chunks_other_series_still_run(tmp_path, m4):
    csv = long_panel(tmp_path / "p.csv", m4, ids=("H1", "H2", "H3", "H4", "H5"))
    _edit(csv, lambda f: f.loc.__setitem__((f["store"] == "H3", "sales"),
                                           (f.loc[f["store"] == "H3", "sales"].astype(float) + 2e6).astype(str)))
    ds = data.user_dataset(csv, id_col="store", name="shops")
    res = api.run(_suite(tmp_path, MISBEHAVING), datasets=["shops"], out=tmp_path / "out", extra_datasets=[ds],
                  workers=1, cell_timeout_s=3, references=False, plots=False)
    status = res.cells.set_index(["label", "series_id"])["status"].to_dict()
    assert status == {**{(m, s): "ok" for m in ("hangs", "dies") for s in ("H1", "H2", "H4", "H5")},
                      ("hangs", "H3"): "timeout", ("dies", "H3"): "crashed"}
    reasons = res.cells.set_index(["label", "series_id"])["reason"]
    assert "cell-timeout of 3 s" in reasons["hangs", "H3"] and "exit code 3" in reasons["dies", "H3"]


@pytest.mark.slow
def test_two_local_workers_and_a_dask_cluster_give_the_serial_results_on_a_panel(tmp_path, m4):
    distributed = pytest.importorskip("distributed")
    ids = tuple(f"H{i}" for i in range(1, 21))
    maes = lambda res: res.cells.set_index(["label", "series_id"])["mae"].sort_index()
    serial = _user_panel_run(tmp_path, m4, ids=ids, out="serial", workers=0)
    parallel = _user_panel_run(tmp_path, m4, ids=ids, out="parallel", workers=2)
    pd.testing.assert_series_equal(maes(serial), maes(parallel))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        on_dask = _user_panel_run(tmp_path, m4, ids=ids, out="dask", cluster=cluster.scheduler_address)
    pd.testing.assert_series_equal(maes(serial), maes(on_dask))
    assert len(serial.cells) == 40


SLOW = """
name = "slow"
[[datasets]]
name = "air_passengers"
[[models]]
name = "tests.faulty_models:SlowNaive"
label = "slow"
params = {{ delay_s = 0.4 }}
"""


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_a_panel_run_killed_inside_a_chunk_resumes_from_the_next_series(tmp_path, m4):
    ids = [f"H{i}" for i in range(1, 13)]
    csv = long_panel(tmp_path / "p.csv", m4, ids=ids)
    suite = _suite(tmp_path, SLOW.format())
    out = tmp_path / "killed"
    # One origin per series: a cell is one 0.4 s fit.
    command = [sys.executable, "-m", "bench", "run", "--suite", suite, "--csv", str(csv), "--id-col", "store",
               "--name", "shops", "--horizon", "24", "--test-size", "24", "--workers", "1", "--out", str(out),
               "--no-references"]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _count(out / "bench.sqlite") < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _count(out / "bench.sqlite")
    assert 3 <= before < 12, "the kill should land inside the one chunk of 12 series"
    resumed = subprocess.run(command + ["--resume"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{12 - before} cells to run ({before} already finished, reused)" in resumed.stderr
    after = api.load(out)
    assert sorted(after.cells["series_id"]) == sorted(ids) and after.cells["cell_key"].is_unique
    whole = api.run(suite, datasets=["shops"], out=tmp_path / "whole", references=False,
                    extra_datasets=[data.user_dataset(csv, id_col="store", name="shops", horizon=24, test_size=24)], plots=False)
    maes = lambda res: res.cells.set_index("series_id")["mae"].sort_index()
    pd.testing.assert_series_equal(maes(after), maes(whole))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from Linux's /proc")
def test_naive_and_seasonal_naive_on_all_of_m4_hourly_give_the_published_values_within_1_gb(tmp_path):
    # How long it takes: benchmarks/test_panel_and_describe_speed.py.
    suite = _suite(tmp_path, SMALL.format(name=M4))
    # The CLI in one process that reports its own peak resident memory (VmHWM; see test_user_csv).
    script = ("import re, sys; from bench.cli import main; code = main(sys.argv[1:]); "
              "print(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr); "
              "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, "run", "--suite", suite, "--workers", "2",
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert sum("414/414 series ok" in line for line in lines) == 2 and len(lines) < 10, lines
    peak_mb = int(lines[-1]) / 1024
    assert peak_mb < 1024
    with sqlite3.connect(tmp_path / "out" / "bench.sqlite") as db:
        cells = pd.read_sql_query("SELECT label, series_id, smape, mase FROM cells", db)
    assert cells.groupby("label")["series_id"].nunique().to_dict() == {"naive": 414, "seasonal_naive": 414}
    means = cells.groupby("label")[["smape", "mase"]].mean().round(3)
    for model, (smape, mase) in PUBLISHED.items():
        assert (means.loc[model, "smape"], means.loc[model, "mase"]) == (smape, mase)


# --------------------------------------------------------------------------- describe

def test_describe_refuses_a_panel_without_a_series_in_one_line(tmp_path, capsys):
    assert cli.main(["describe", M4, "--out", str(tmp_path / "plots")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: describe: m4_hourly is a panel of 414 series (H1, H2, H3, ...); describe studies one "
                   "series: name it with --series ID"]
    assert not (tmp_path / "plots").exists()


@pytest.mark.slow
def test_describe_studies_one_series_of_a_panel(tmp_path, m4, capsys):
    assert cli.main(["describe", M4, "--series", "H2", "--out", str(tmp_path / "plots")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("m4_hourly: series 'H2' of The M4") and f"length                {len(m4['H2'])} points" in text
    assert (tmp_path / "plots" / "m4_hourly_acf.png").is_file()
    csv = long_panel(tmp_path / "p.csv", m4)
    assert cli.main(["describe", "--csv", str(csv), "--id-col", "store", "--series", "H3",
                     "--out", str(tmp_path / "plots")]) == 0
    assert "length                120 points" in capsys.readouterr().out
