"""`describe`: what a series is before it is modelled, on the real catalog data and on a user's CSV."""
import os
import subprocess
import sys

import pytest

from bench import data, describe
from tests.conftest import catalog_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _private_user_catalog(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BENCH_USER_CATALOG", str(tmp_path_factory.mktemp("user_catalog")))


def assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 10_000


def assert_only_pngs(folder):
    """Plots are written atomically: no temporary file is left beside them."""
    assert all(p.suffix == ".png" and not p.name.startswith(".") for p in folder.iterdir())


def test_air_passengers_needs_differencing_and_its_acf_finds_the_catalog_season(tmp_path):
    res = describe.describe(data.get_dataset("air_passengers"), out_dir=tmp_path)
    text = res.text
    assert "length                144 points" in text and "range                 1949-01-01 .. 1960-12-01" in text
    assert "frequency             MS (catalog); from the timestamps: MS" in text
    assert "duplicate timestamps  none" in text and "missing timestamps    none" in text
    assert "unit                  thousands of passengers" in text
    assert "  series                     0.992     <0.01  not stationary" in text
    assert res.suggested_d in (1, 2) and res.season_estimate == 12
    assert "season (catalog)      12 (r = 0.83 at lag 12): agrees with the ACF" in text
    assert res.stl_png == tmp_path / "air_passengers_stl.png" and str(res.stl_png) in text
    assert_png(res.stl_png)
    assert_png(res.acf_png)
    assert_only_pngs(tmp_path)


def test_google_is_a_random_walk_on_trading_days_with_no_weekly_season(tmp_path):
    res = describe.describe(data.get_dataset("google_stock"), out_dir=tmp_path)
    assert res.suggested_d == 1 and res.season_estimate is None
    assert "48 closed weekdays are holidays of the trading calendar" in res.text
    assert "season (catalog)      5 (r = -0.05 at lag 5): the ACF shows no season to confirm it" in res.text


@pytest.mark.slow
def test_sunspots_are_stationary_and_their_cycle_is_close_to_132_months(tmp_path):
    res = describe.describe(data.get_dataset("sunspots_monthly"), out_dir=tmp_path)
    assert res.suggested_d == 0
    assert abs(res.season_estimate - 132) <= 13 and "close to the ACF's" in res.text
    assert "non-positive values   67" in res.text            # months without sunspots
    assert_png(res.stl_png)


@pytest.mark.slow
def test_energy_is_described_on_its_last_points_and_says_so(tmp_path):
    # How long it takes: benchmarks/test_panel_and_describe_speed.py.
    res = describe.describe(data.get_dataset("energy_aep_hourly"), out_dir=tmp_path)
    text = res.text
    assert "rows                  121273 (not in time order: sorted)" in text
    assert "duplicate timestamps  4 (first: 2014-11-02 02:00:00" in text and "catalog policy: mean" in text
    assert "missing timestamps    27 (first: 2004-10-31 02:00:00); catalog policy: interpolate" in text
    assert "Analysis window: the last 10000 of 121296 points" in text
    assert "(period 24, catalog; last 2000 points)" in text
    assert res.season_estimate == 24 and res.suggested_d == 1
    assert_png(res.stl_png)
    assert_png(res.acf_png)


def test_last_n_moves_the_analysis_window(tmp_path):
    res = describe.describe(data.get_dataset("air_passengers"), out_dir=tmp_path, last=60)
    assert "Analysis window: the last 60 of 144 points (1956-01-01 .. 1960-12-01)" in res.text


def test_a_short_user_series_is_described_with_what_cannot_be_tested(tmp_path):
    csv = tmp_path / "short.csv"
    csv.write_text("month,value\n" + "".join(f"2020-{m:02d}-01,{v}\n" for m, v in
                                              zip(range(1, 13), [5, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17])))
    ds = data.user_dataset(csv, with_split=False)
    res = describe.describe(ds, out_dir=tmp_path / "plots", frequency_basis="inferred", season_basis="default")
    assert "too short to test" in res.text
    assert "STL decomposition     skipped: STL needs more than two seasons (25 points), the series has 12" in res.text
    assert res.stl_png is None
    assert_png(res.acf_png)


def test_the_season_comparison_reads_as_a_sentence():
    c = describe._compare
    assert c(12, 12) == "agrees with the ACF"
    assert c(128, 132) == "close to the ACF's 128"
    assert c(168, 24) == "the ACF's 168 is a multiple of it"
    assert c(7, 14) == "the ACF's 7 divides it"
    assert c(10, 12) == "differs from the ACF's 10"
    assert c(None, 5) == "the ACF shows no season to confirm it"
    assert c(12, 1) == "the ACF suggests 12"


@pytest.mark.slow
def test_cli_describes_a_catalog_dataset_and_a_user_csv_with_its_flaws(tmp_path):
    header, *rows = catalog_file("air_passengers", "AirPassengers.csv").read_text().splitlines()
    rows = rows[:30] + rows[31:]                                   # a missing month
    rows = rows[70:] + rows[:70]                                   # out of order
    csv = tmp_path / "my passengers.csv"
    csv.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "plots"
    env = {**os.environ}
    mine = subprocess.run([sys.executable, "-m", "bench", "describe", "--csv", str(csv), "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert mine.returncode == 0, mine.stderr
    assert mine.stderr == ""
    text = mine.stdout
    assert text.startswith("my_passengers: user series my passengers.csv (#Passengers)")
    assert "rows                  143 (not in time order: sorted)" in text
    assert "frequency             MS (inferred from the timestamps)" in text
    assert "missing timestamps    1 (first: 1951-07-01); interpolated for this analysis; `run` needs --fill" in text
    assert "season (default for MS) 12 (r = 0.8" in text
    assert_png(out / "my_passengers_stl.png")
    assert_png(out / "my_passengers_acf.png")
    assert not list(data.user_catalog_dir().glob("*.toml"))       # describe registers nothing

    catalog = subprocess.run([sys.executable, "-m", "bench", "describe", "air_passengers"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert catalog.returncode == 0, catalog.stderr
    assert "results/describe/air_passengers_stl.png" in catalog.stdout
    assert_png(tmp_path / "results" / "describe" / "air_passengers_acf.png")
    assert_only_pngs(tmp_path / "results" / "describe")


def _year_month_csv(path, n=36):
    """Air passengers labelled '1-01', '1-02', ... (year 1, month 1), as a course's table labels them."""
    values = data.load_series("air_passengers").to_numpy()[:n]
    path.write_text("month,value\n" + "".join(f"{1 + i // 12}-{i % 12 + 1:02d},{v:g}\n" for i, v in enumerate(values)))
    return path


def test_year_month_labels_are_described_as_months_with_both_plots(tmp_path):
    ds = data.user_dataset(_year_month_csv(tmp_path / "monthly.csv"), with_split=False)
    res = describe.describe(ds, out_dir=tmp_path, frequency_basis="inferred", season_basis="default for MS")
    text = res.text
    assert "length                36 points" in text and "range                 0001-01-01 .. 0003-12-01" in text
    assert "frequency             MS (inferred from the timestamps)" in text
    assert "time labels           years and months ('1-01': month 1 of year 1)" in text
    assert "missing timestamps    none" in text
    # Year 1 is the first year matplotlib can place: the STL plot has no margin before it.
    assert_png(res.stl_png)
    assert_png(res.acf_png)


def test_gaps_too_many_to_fill_are_described_without_suggesting_a_fill(tmp_path):
    ds = data.user_dataset(_year_month_csv(tmp_path / "monthly.csv"), freq="D", with_split=False)
    text = describe.describe(ds, out_dir=tmp_path, frequency_basis="--freq", season_basis="--season").text
    assert ("missing timestamps    1029 (first: 0001-01-02), 97% of the 1065 points at 'D': interpolated for this "
            "analysis, but that many invented values are no series to forecast; check that the timestamps are read "
            "right (--freq, --time-format)") in text
    assert "--fill" not in text


def test_a_plot_matplotlib_cannot_draw_is_a_line_of_the_report_not_a_traceback(tmp_path):
    def cannot():
        raise ValueError("Date ordinal -719165.5 converts to 0000-12-28T12:00:00.000000, but Matplotlib dates "
                         "must be between year 0001 and 9999.")
    note = describe._drawn(cannot, tmp_path / "x_stl.png")
    assert note.startswith("not drawn (matplotlib: Date ordinal -719165.5") and not (tmp_path / "x_stl.png").exists()


@pytest.mark.slow
def test_cli_describe_of_year_month_labels_exits_0_without_a_traceback(tmp_path):
    csv = _year_month_csv(tmp_path / "monthly.csv")
    done = subprocess.run([sys.executable, "-m", "bench", "describe", "--csv", str(csv), "--out", str(tmp_path / "p")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "frequency             MS (inferred from the timestamps)" in done.stdout
    assert_png(tmp_path / "p" / "monthly_stl.png")
    assert not list(data.user_catalog_dir().glob("*.toml"))       # describe registers nothing
