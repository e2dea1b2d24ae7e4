"""Panels: many series in one dataset. The M4 hourly files and a user's long-format CSV."""
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
    shared = Path(os.environ["BENCH_DATA_DIR"])
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with serving(shared) as url:
        monkeypatch.setenv("BENCH_MIRROR", url)
        fetched = [(f.name, how) for _, f, _, how in data.fetch([M4])]
        assert fetched == [(f.name, f"downloaded from {url}/m4_hourly/{f.name}") for f in ds.files]
        assert [how for *_, how in data.fetch([M4])] == ["cached", "cached"]
    panel = data.load_panel(ds)          # the mirror is gone: the cache serves
    assert len(panel) == 414
    assert sorted(p.name for p in (tmp_path / "cache" / M4).iterdir()) == ["Hourly-test.csv", "Hourly-train.csv"]


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
