import numpy as np
import pandas as pd
import pytest

from bench import data
from bench.errors import BenchError


def test_google_stock_steps_one_trading_day_and_invents_no_holiday_prices():
    y = data.load_series("google_stock")
    assert len(y) == 1258 + 20
    assert y.index[0] == pd.Timestamp("2012-01-03") and y.index[-1] == pd.Timestamp("2017-01-31")
    assert pd.Timestamp("2016-12-26") not in y.index      # Christmas, observed
    assert pd.Timestamp("2017-01-16") not in y.index      # Martin Luther King day
    # the index is regular at its own trading-day frequency
    assert (pd.date_range(y.index[0], periods=len(y), freq=y.index.freq) == y.index).all()
    assert y["2017-01-03"] == 778.81 and y.iloc[-1] == 796.86


def test_the_last_20_google_points_are_the_january_2017_test_file():
    y = data.load_series("google_stock")
    split = data.get_dataset("google_stock").split
    assert (y.index[-split.test_size:].year == 2017).all()
    assert (y.index[:-split.test_size].year <= 2016).all()


def test_energy_is_sorted_hourly_with_duplicates_averaged_and_gaps_interpolated():
    y = data.load_series("energy_aep_hourly")
    raw = pd.read_csv(data.locate_file(*_entry("energy_aep_hourly")), parse_dates=["Datetime"])
    assert y.index.is_monotonic_increasing and y.index.freqstr == "h"
    assert len(y) == (y.index[-1] - y.index[0]) / pd.Timedelta("1h") + 1
    assert raw["Datetime"].duplicated().sum() == 4
    dup_time = raw.loc[raw["Datetime"].duplicated(), "Datetime"].iloc[0]
    assert y[dup_time] == pytest.approx(raw.loc[raw["Datetime"] == dup_time, "AEP_MW"].mean())
    assert not y.isna().any()


def test_air_passengers_and_sunspots_are_regular_monthly_series():
    air = data.load_series("air_passengers")
    assert len(air) == 144 and air.index.freqstr == "MS" and air.iloc[0] == 112
    sun = data.load_series("sunspots_monthly")
    assert len(sun) == 3265 and sun.index.freqstr == "ME" and sun.max() == pytest.approx(398.2)


def test_a_catalog_file_with_the_wrong_hash_is_refused(tmp_path, monkeypatch):
    (tmp_path / "air_passengers").mkdir()
    (tmp_path / "air_passengers" / "AirPassengers.csv").write_text("Month,#Passengers\n1949-01,112\n")
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(BenchError, match="sha256 mismatch"):
        data.load_series("air_passengers")


def test_regularize_reports_gaps_and_duplicates_unless_a_policy_is_chosen():
    idx = pd.to_datetime(["2020-01-01", "2020-03-01", "2020-03-01", "2020-04-01"])
    raw = pd.Series([1.0, 3.0, 5.0, 4.0], index=idx)
    with pytest.raises(BenchError, match="1 duplicate timestamps"):
        data.regularize(raw, frequency="MS", source="x")
    with pytest.raises(BenchError, match="1 missing timestamps.*2020-02-01"):
        data.regularize(raw, frequency="MS", duplicates="last", source="x")
    y = data.regularize(raw, frequency="MS", duplicates="mean", gaps="interpolate", source="x")
    np.testing.assert_allclose(y.to_numpy(), [1.0, 2.5, 4.0, 4.0])


def _entry(name):
    ds = data.get_dataset(name)
    return ds, ds.files[0]
