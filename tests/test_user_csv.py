"""A user's own CSV: read, checked and regularized by the same code as the catalog, runnable and registrable."""
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench import api, data
from bench.errors import BenchError, BenchWarning
from tests.conftest import REPO, catalog_file

AIR = catalog_file("air_passengers", "AirPassengers.csv").resolve()   # the CLI stores resolved paths


@pytest.fixture(autouse=True)
def _private_user_catalog(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BENCH_USER_CATALOG", str(tmp_path_factory.mktemp("user_catalog")))


def air_rows():
    header, *rows = AIR.read_text().splitlines()
    return header, rows


def write(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_the_catalog_file_read_as_a_user_csv_is_the_catalog_series(tmp_path):
    ds = data.user_dataset(AIR)
    assert (ds.time_column, ds.value_column) == ("Month", "#Passengers")      # defaults: first + the other
    assert (ds.frequency, ds.season_length, ds.origin) == ("MS", 12, "user")
    assert (ds.split.horizon, ds.split.test_size) == (12, 24)
    y = data.load(ds)
    catalog = data.load_series("air_passengers")
    np.testing.assert_array_equal(y.to_numpy(), catalog.to_numpy())
    assert y.index.equals(catalog.index) and y.index.freqstr == "MS"


def test_rows_out_of_time_order_are_sorted_with_one_warning(tmp_path):
    header, rows = air_rows()
    rng = np.random.default_rng(0)
    shuffled = write(tmp_path / "shuffled.csv", header, list(rng.permutation(rows)))
    ds = data.user_dataset(shuffled)
    with pytest.warns(BenchWarning, match=r"shuffled.csv: timestamps are not in time order .*sorted them"):
        y = data.load(ds)
    np.testing.assert_array_equal(y.to_numpy(), data.load_series("air_passengers").to_numpy())


def test_frequency_is_inferred_through_gaps_duplicates_disorder_and_holidays():
    energy = data.read_raw(data.get_dataset("energy_aep_hourly"))        # unsorted, 4 duplicates, 27 gaps
    assert data.infer_frequency(energy.index) == "h"
    google = data.read_raw(data.get_dataset("google_stock"))             # trading days, holidays absent
    assert data.infer_frequency(google.index) == "B"
    sun = data.read_raw(data.get_dataset("sunspots_monthly"))
    assert data.infer_frequency(sun.index) == "ME"
    air = data.read_raw(data.get_dataset("air_passengers")).index
    assert data.infer_frequency(air.delete([10, 11, 50])) == "MS"
    weekly = pd.date_range("2020-01-05", periods=40, freq="W-SUN").delete([3, 17])
    assert data.infer_frequency(weekly) == "W-SUN"
    daily = pd.date_range("2020-01-01", periods=60, freq="D").delete([5, 6, 30])
    assert data.infer_frequency(daily) == "D"
    assert data.infer_frequency(pd.DatetimeIndex(["2020-01-01", "2020-01-02 07:00", "2020-01-05 01:00",
                                                  "2020-01-05 02:13"])) is None


def test_duplicates_are_an_error_naming_them_and_the_option_unless_a_policy_is_chosen(tmp_path):
    header, rows = air_rows()
    path = write(tmp_path / "dup.csv", header, rows + ["1949-06,200", "1949-08,100"])
    with pytest.raises(BenchError, match=r"dup.csv: 2 duplicate timestamps \(first: 1949-06-01.*1949-08-01.*\); "
                                         r"choose --duplicates mean\|sum\|last"):
        data.user_dataset(path)
    with pytest.warns(BenchWarning, match="not in time order"):      # the repeats are at the end
        y = data.load(data.user_dataset(path, duplicates="mean"))
        last = data.load(data.user_dataset(path, duplicates="last"))
    assert y["1949-06-01"] == (135 + 200) / 2 and len(y) == 144
    assert last["1949-08-01"] == 100


def test_gaps_and_empty_values_are_errors_unless_filled(tmp_path):
    header, rows = air_rows()
    gappy = write(tmp_path / "gappy.csv", header, rows[:10] + rows[12:])
    with pytest.raises(BenchError, match=r"gappy.csv: 2 missing timestamps at frequency 'MS' \(first gap at "
                                         r"1949-11-01.*choose --fill interpolate\|ffill"):
        data.user_dataset(gappy)
    y = data.load(data.user_dataset(gappy, fill="interpolate"))
    assert len(y) == 144 and y["1949-11-01"] == pytest.approx(119 + (115 - 119) / 3)
    assert data.load(data.user_dataset(gappy, fill="ffill"))["1949-12-01"] == 119
    blank = rows[:]
    blank[4] = "1949-05,"
    empty = write(tmp_path / "empty_value.csv", header, blank)
    with pytest.raises(BenchError, match=r"empty_value.csv: column '#Passengers' \(--value-col\) has 1 missing "
                                         r"value \(first on line 6\); --fill"):
        data.user_dataset(empty)
    assert data.load(data.user_dataset(empty, fill="interpolate"))["1949-05-01"] == pytest.approx((129 + 135) / 2)


def test_trading_days_absent_from_the_file_become_holidays_with_the_observed_calendar(tmp_path):
    raw = pd.read_csv(catalog_file("google_stock", "Google_Stock_Price_Train.csv"), thousands=",")
    path = tmp_path / "goog.csv"
    raw[["Date", "Open"]].to_csv(path, index=False)
    with pytest.raises(BenchError, match=r"missing timestamps at frequency 'B'.*--calendar observed"):
        data.user_dataset(path, time_format="%m/%d/%Y")
    y = data.load(data.user_dataset(path, time_format="%m/%d/%Y", calendar="observed"))
    catalog = data.load_series("google_stock").iloc[:-20]
    np.testing.assert_array_equal(y.to_numpy(), catalog.to_numpy())
    assert pd.Timestamp("2016-12-26") not in y.index


def test_semicolons_a_byte_order_mark_and_a_day_first_format_are_read(tmp_path):
    path = tmp_path / "ventes.csv"
    lines = ["date;ventes"] + [f"{d:%d/%m/%Y};{10 + i % 7}" for i, d in
                               enumerate(pd.date_range("2021-01-01", periods=60, freq="D"))]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    ds = data.user_dataset(path, time_format="%d/%m/%Y")
    y = data.load(ds)
    assert ds.value_column == "ventes" and ds.frequency == "D" and ds.season_length == 7
    assert y.index[0] == pd.Timestamp("2021-01-01") and y.index[12] == pd.Timestamp("2021-01-13")


def test_default_season_and_split_follow_the_frequency_and_length():
    assert [data.default_season(f) for f in ("MS", "ME", "QS", "W-SUN", "D", "B", "h", "15min", "YS", "2D")] == \
           [12, 12, 4, 52, 7, 5, 24, 96, 1, 1]
    split = data.default_split(144, 12)
    assert (split.horizon, split.test_size, split.step, split.refit_every) == (12, 24, 1, 1)
    assert data.default_split(121296, 24).test_size == 240          # at most ten horizons
    assert data.default_split(500, 5).test_size == 50                # 10% of the series
    assert data.default_split(500, 1).test_size == 10
    assert data.default_split(144, 12, horizon=6, test_size=36).test_size == 36
    with pytest.raises(BenchError, match=r"has 20 points; the default split \(horizon 12, test size 24\) needs "
                                         r"at least 26"):
        data.default_split(20, 12, source="x.csv")
    with pytest.raises(BenchError, match="--horizon 30 is longer than --test-size 24"):
        data.default_split(144, 12, horizon=30, test_size=24)


def test_a_registered_series_round_trips_and_a_suite_can_name_it(tmp_path, monkeypatch):
    ds = data.user_dataset(AIR, name="my_air", horizon=12, test_size=36)
    path = data.register_user_dataset(ds)
    assert path == data.user_catalog_dir() / "my_air.toml" and path.stat().st_mode & 0o044
    again = data.get_dataset("my_air")
    assert again == ds
    assert "my_air" in data.user_catalog_names() and "my_air" not in data.catalog_names()
    suite = tmp_path / "mine.toml"
    suite.write_text('name = "mine"\n[[datasets]]\nname = "my_air"\n[[models]]\nname = "naive"\n')
    res = api.run(str(suite), out=tmp_path / "out", workers=0, references=False, plots=False)
    assert list(res.cells["dataset"]) == ["my_air"] and list(res.cells["status"]) == ["ok"]


def test_the_user_catalog_lives_under_the_config_home_unless_moved(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_USER_CATALOG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert data.user_catalog_dir() == tmp_path / "bench" / "catalog"


@pytest.mark.slow
def test_run_csv_scores_the_air_passengers_file_exactly_like_the_catalog_dataset(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--csv", str(AIR), "--name", "air_copy",
                           "--horizon", "12", "--test-size", "36", "-d", "air_passengers", "-m", "naive",
                           "-m", "seasonal_naive", "--workers", "0", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    assert "registered your series as 'air_copy'" in done.stderr
    registered = data.get_dataset("air_copy")
    assert registered.files[0].path == str(AIR) and registered.split.test_size == 36
    res = api.load(out)
    mae = res.cells.pivot(index="label", columns="dataset", values="mae")
    np.testing.assert_allclose(mae["air_copy"], mae["air_passengers"])
    assert f"+ dataset 'air_copy': {AIR} (sha256 {data.sha256_of(AIR)})" in res.run["suite_source"]


def test_a_long_one_minute_series_defaults_to_one_origin_per_horizon_and_says_so():
    # One origin per point would make 12,961 origins x 1440 steps = 18.7 million forecasts per model.
    with pytest.warns(BenchWarning, match=r"12,961 origins x 1440 steps = 18,663,840 forecasts.*--step"):
        split = data.default_split(150_000, data.default_season("min"))
    assert (split.horizon, split.test_size, split.step) == (1440, 14400, 1440)
    assert split.n_origins(150_000) * split.horizon <= data.MAX_DEFAULT_FORECASTS
    assert data.default_split(150_000, 1440, step=1).step == 1                 # asked for: kept


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from Linux's /proc")
def test_naive_on_150000_one_minute_points_runs_within_1_gb(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=150_000, freq="min")
    values = 100 + 10 * np.sin(np.arange(150_000) * 2 * np.pi / 1440)
    pd.DataFrame({"time": stamps.strftime("%Y-%m-%d %H:%M"), "value": values.round(3)}).to_csv(
        tmp_path / "minutes.csv", index=False)
    # The CLI in one process that reports its own peak resident memory when it is done. Not
    # getrusage's ru_maxrss: Linux carries it over from the forking parent (pytest, with
    # TensorFlow loaded: 2.3 GB) across exec; VmHWM belongs to the new address space.
    script = ("import re, sys; from bench.cli import main; code = main(sys.argv[1:]); "
              "print(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr); "
              "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, "run", "--csv", str(tmp_path / "minutes.csv"), "-m", "naive",
                           "--no-references", "--workers", "0", "--out", str(tmp_path / "out")], cwd=REPO,
                          capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "the default step is the horizon instead, 1440 (10 origins" in done.stderr
    peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    assert peak_mb < 1024
    with sqlite3.connect(tmp_path / "out" / "bench.sqlite") as db:
        assert db.execute("SELECT count(*) FROM forecasts").fetchone()[0] == 14_400


# --- dates read right, and advice that never corrupts the data ------------------------------------

def year_month_rows(n=None):
    """The air passengers, labelled as a course's table labels them: year 1 month 1 is '1-01'."""
    values = data.load_series("air_passengers").to_numpy()[:n]
    return [f"{1 + i // 12}-{i % 12 + 1:02d},{v:g}" for i, v in enumerate(values)]


def test_year_month_labels_with_a_short_year_are_read_as_months_not_days(tmp_path):
    # dateutil reads '1-01', '1-02' as January 1st and 2nd: three years of months became 36 days
    # with 35 missing ones. They are months, said so in one warning.
    path = write(tmp_path / "monthly.csv", "month,value", year_month_rows(36))
    ds = data.user_dataset(path)
    assert (ds.frequency, ds.season_length, ds.split.horizon) == ("MS", 12, 12)
    with pytest.warns(BenchWarning, match=r"monthly.csv: read column 'month' as years and months \('1-01': month 1 "
                                          r"of year 1\); a two-digit year .* --time-format %y-%m"):
        y = data.load(ds)
    assert len(y) == 36 and y.index.freqstr == "MS"
    assert (y.index[0].year, y.index[0].month, y.index[13].year, y.index[13].month) == (1, 1, 2, 2)
    np.testing.assert_array_equal(y.to_numpy(), data.load_series("air_passengers").to_numpy()[:36])
    # Twelve years of them, past the labels that dateutil cannot read at all ('13-01').
    assert len(data.load(data.user_dataset(write(tmp_path / "long.csv", "month,value", year_month_rows())),
                         warn=False)) == 144
    # Four-digit years, and labels with a day, are read as before.
    assert data.user_dataset(AIR).frequency == "MS"


def test_a_fill_is_suggested_only_where_it_invents_a_small_share_of_the_points(tmp_path):
    header, rows = air_rows()
    few = write(tmp_path / "few_gaps.csv", header, rows[:10] + rows[12:])                  # 2 of 144
    with pytest.raises(BenchError, match=r"2 missing timestamps .*; choose --fill interpolate\|ffill"):
        data.user_dataset(few)
    many = write(tmp_path / "many_gaps.csv", header, [r for i, r in enumerate(rows) if i % 14 != 5])   # 10 of 144
    with pytest.raises(BenchError, match=r"many_gaps.csv: 10 missing timestamps at frequency 'MS' .*filling them "
                                         r"would invent 10 of the 144 points \(7%\): check that the timestamps are "
                                         r"read right .*\(--freq, --time-format\)") as refused:
        data.user_dataset(many)
    assert "--fill" not in str(refused.value)
    # The monthly labels read as days (what --freq D forces): 1029 of 1065 points would be invented.
    labels = write(tmp_path / "monthly.csv", "month,value", year_month_rows(36))
    with pytest.raises(BenchError, match=r"1029 of the 1065 points \(97%\)") as refused:
        data.user_dataset(labels, freq="D")
    assert "--fill" not in str(refused.value)
    # A fill the user chooses still runs; one that invents that much says so.
    with pytest.warns(BenchWarning, match=r"the interpolate fill invents 10 of the 144 points \(7%\)"):
        assert len(data.load(data.user_dataset(many, fill="interpolate"))) == 144


def _long_panel(path, columns=("store", "Month", "#Passengers")):
    header, rows = air_rows()
    frame = pd.DataFrame([[store, *row.split(",")] for store in "ABC" for row in rows],
                         columns=["store", "Month", "#Passengers"])
    frame[list(columns)].to_csv(path, index=False)
    return path


def test_a_long_format_panel_without_id_col_gets_the_id_col_hint_not_a_merge(tmp_path):
    time_first = _long_panel(tmp_path / "time_first.csv", ("Month", "store", "#Passengers"))
    with pytest.raises(BenchError, match=r"time_first.csv: 288 duplicate timestamps \(first: 1949-01-01, "
                                         r"1949-02-01\), and column 'store' tells them apart: 3 ids.*--id-col store") \
            as refused:
        data.user_dataset(time_first, value_col="#Passengers")
    assert "--duplicates" not in str(refused.value)          # mean|sum|last would merge the three stores
    id_first = _long_panel(tmp_path / "id_first.csv")
    with pytest.raises(BenchError, match=r"--value-col is required: .*id_first.csv has columns 'store', 'Month', "
                                         r"'#Passengers'; a panel in long format .* --id-col"):
        data.user_dataset(id_first)
    with pytest.raises(BenchError, match=r"--time-col: the first column of .*id_first.csv, 'store', holds no "
                                         r"timestamps \(first value 'A'\), and column 'Month' does: pass --time-col "
                                         r"Month \(and --id-col store"):
        data.user_dataset(id_first, value_col="#Passengers")
    # With --id-col, both read as the panel they are.
    for path in (time_first, id_first):
        assert list(data.load_panel(data.user_dataset(path, id_col="store"))) == ["A", "B", "C"]
    # A single series with a repeated timestamp and a column that does not tell repeats apart keeps its hint.
    header, rows = air_rows()
    noted = write(tmp_path / "noted.csv", header + ",note", [r + ",x" for r in rows[:6]] + [rows[5] + ",y"]
                  + [r + ",x" for r in rows[6:]])
    with pytest.raises(BenchError, match=r"1 duplicate timestamps .*choose --duplicates mean\|sum\|last"):
        data.user_dataset(noted, value_col="#Passengers")
