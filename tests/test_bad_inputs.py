"""A catalogue of bad inputs: files, suites and command lines, each refused the same way.

Every case runs ``python -m bench`` in a subprocess, in a folder of its own that holds
a result store from an earlier run, a download cache, a user catalog and the working
directory. Each must exit with code 2 and print exactly one line, ``error: ...``, that
names the problem and the file or option, with no traceback; nothing in its folder may
change (store, cache, user catalog, plots, working directory).

The cases run in parallel subprocesses (a module fixture) so the catalogue stays fast.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlite3

import numpy as np
import pandas as pd
import pytest

from bench import api
from tests.conftest import REPO, catalog_file, damage_store

pytestmark = pytest.mark.slow          # ~50 subprocesses; each case takes a second or two

AIR = catalog_file("air_passengers", "AirPassengers.csv")
AIR_SHA = "5f8b316b84545d9cfb05612298df8415ce4c44421c7012d109465564b07ebc06"


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]          # {files} and {case} are replaced by the shared and the case folder
    needles: tuple[str, ...]       # what the one line must say: the problem, and the file or option
    env: dict = field(default_factory=dict, hash=False)
    read_only: str = ""            # a folder made unwritable while the case runs ({case}/...)


def run(*args, needles, env=None, id):
    """A `run` that would write into the case's store if it got that far."""
    return Case(id, ("run", *args, "--out", "{case}/store", "--workers", "0"), tuple(needles), env or {})


def desc(*args, needles, id):
    return Case(id, ("describe", *args, "--out", "{case}/plots"), tuple(needles))


def fetch(*args, needles, env=None, id):
    return Case(id, ("fetch", *args), tuple(needles), env or {})


def suite(name, needles, id):
    return run("--suite", "{files}/" + name, id=id, needles=[f"{name}:", *needles])


def compare(*args, needles, id):
    return Case(id, ("compare", *args), tuple(needles))


AIR_NAIVE = ("--all", "-d", "air_passengers", "-m", "naive")


CASES = [
    # --- files given with --csv ---------------------------------------------------------------
    run("--csv", "{files}/nope.csv", id="missing-file", needles=["--csv: no file", "nope.csv"]),
    run("--csv", "{files}", id="a-directory", needles=["--csv:", "is a directory"]),
    run("--csv", "{files}/empty.csv", id="empty-file", needles=["empty.csv: the file is empty"]),
    run("--csv", "{files}/header_only.csv", id="header-only", needles=["header_only.csv: no data rows"]),
    run("--csv", "{files}/binary.csv", id="binary-file", needles=["binary.csv: a binary file, not CSV text"]),
    run("--csv", "{files}/latin1.csv", id="not-utf8", needles=["latin1.csv: not UTF-8 text (byte 0xe9"]),
    run("--csv", "{files}/air.csv", "--value-col", "Passengers", id="wrong-value-column",
        needles=["--value-col:", "air.csv has no column 'Passengers'", "'Month', '#Passengers'"]),
    run("--csv", "{files}/air.csv", "--time-col", "Date", id="wrong-time-column",
        needles=["--time-col:", "air.csv has no column 'Date'", "'Month', '#Passengers'"]),
    run("--csv", "{files}/three_columns.csv", id="value-column-ambiguous",
        needles=["--value-col is required", "three_columns.csv has columns 'date', 'a', 'b'"]),
    run("--csv", "{files}/bad_date.csv", id="unparseable-date",
        needles=["bad_date.csv: column 'Month' (--time-col) has 1 value that is not a timestamp", "line 8",
                 "'31/02/1949'"]),
    run("--csv", "{files}/non_numeric.csv", id="non-numeric-value",
        needles=["non_numeric.csv: column '#Passengers' (--value-col) has 1 non-numeric value (line 6 is 'n/a?')"]),
    run("--csv", "{files}/infinite.csv", id="infinite-value",
        needles=["infinite.csv:", "non-numeric value (line 4 is 'inf')"]),
    run("--csv", "{files}/empty_value.csv", id="missing-value",
        needles=["empty_value.csv:", "1 missing value (first on line 6)", "--fill interpolate|ffill"]),
    run("--csv", "{files}/fewer_fields.csv", id="row-with-too-few-fields",
        needles=["fewer_fields.csv:", "1 missing value (first on line 3)"]),
    run("--csv", "{files}/repeated_column.csv", id="a-column-name-twice",
        needles=["repeated_column.csv: the header names column '#Passengers' twice (columns 2 and 3)"]),
    run("--csv", "{files}/duplicates.csv", id="duplicate-timestamps",
        needles=["duplicates.csv: 2 duplicate timestamps (first: 1949-06-01", "--duplicates mean|sum|last"]),
    run("--csv", "{files}/gaps.csv", id="missing-timestamps",
        needles=["gaps.csv: 2 missing timestamps at frequency 'MS' (first gap at 1949-11-01",
                 "--fill interpolate|ffill"]),
    run("--csv", "{files}/constant.csv", id="constant-series",
        needles=["constant.csv: the series is constant (every value is 42)"]),
    run("--csv", "{files}/short.csv", id="too-short-for-the-default-split",
        needles=["short.csv: the series has 20 points", "needs at least 26", "--test-size"]),
    run("--csv", "{files}/air.csv", "--test-size", "200", id="too-short-for-test-size",
        needles=["air.csv: the series has 144 points; --test-size 200 needs at least 202"]),
    run("--csv", "{files}/air.csv", "--horizon", "30", "--test-size", "24", id="horizon-longer-than-test",
        needles=["--horizon 30 is longer than --test-size 24"]),
    run("--csv", "{files}/air.csv", "--horizon", "0", id="zero-horizon",
        needles=["--horizon must be a positive integer, got 0"]),
    run("--csv", "{files}/air.csv", "--season", "0", id="zero-season",
        needles=["--season must be a positive integer, got 0"]),
    run("--csv", "{files}/air.csv", "--season", "twelve", id="season-not-an-integer",
        needles=["argument --season: invalid int value: 'twelve'"]),
    run("--csv", "{files}/air.csv", "--freq", "fortnightly", id="unknown-frequency",
        needles=["--freq: unknown frequency 'fortnightly'"]),
    run("--csv", "{files}/air.csv", "--freq", "M", id="retired-frequency-alias",
        needles=["--freq: unknown frequency 'M' (use ME (month end) or MS (month start))"]),
    run("--csv", "{files}/irregular.csv", id="frequency-not-inferable",
        needles=["--freq: cannot infer a regular frequency from the timestamps of", "irregular.csv"]),
    run("--csv", "{files}/air.csv", "--freq", "W-SUN", id="timestamps-off-the-frequency-grid",
        needles=["air.csv: timestamp", "is not on the 'W-SUN' grid", "(check --freq)"]),
    run("--csv", "{files}/air.csv", "--duplicates", "median", id="unknown-duplicates-policy",
        needles=["argument --duplicates: invalid choice: 'median'"]),
    run("--csv", "{files}/air.csv", "--name", "../escape", id="unusable-name",
        needles=["--name: '../escape' is not a usable dataset name"]),
    run("--csv", "{files}/air.csv", "--name", "air_passengers", id="name-of-a-catalog-dataset",
        needles=["--name: 'air_passengers' is a dataset of the project catalog"]),
    run("--csv", "{files}/air_passengers.csv", id="file-name-of-a-catalog-dataset",
        needles=["the name 'air_passengers' taken from the file name; pass --name"]),
    run("--csv", "{files}/air.csv", "-m", "nope", id="unknown-model-with-csv",
        needles=["--model: nope is neither a registered model nor in suite 'default'"]),
    run("--all", "--time-col", "Month", id="csv-option-without-csv", needles=["--time-col needs --csv FILE"]),
    run("--all", "--resume", "--force", id="resume-and-force", needles=["--force", "not allowed with", "--resume"]),
    run("--suite", "{files}/names_my_series.toml", "--csv", "{files}/air.csv", "--name", "my_series",
        id="csv-name-already-in-the-suite",
        needles=["--name: suite 'names_my_series' already has a dataset 'my_series'"]),
    # --- panels in long format (--id-col) ----------------------------------------------------------
    run("--csv", "{files}/panel_short.csv", "--id-col", "store", id="panel-series-too-short",
        needles=["panel_short.csv: series 'C' (the shortest): the series has 10 points; the default split "
                 "(horizon 12, test size 24) needs at least 26"]),
    run("--csv", "{files}/panel.csv", "--id-col", "store", "--test-size", "143", id="panel-too-short-for-test-size",
        needles=["panel.csv: series 'A' (the shortest): the series has 144 points; --test-size 143 needs at least 145"]),
    run("--csv", "{files}/panel_duplicates.csv", "--id-col", "store", id="panel-duplicate-id-and-time",
        needles=["panel_duplicates.csv: series 'B': 1 duplicate timestamps (first: 1949-05-01",
                 "--duplicates mean|sum|last"]),
    run("--csv", "{files}/panel_non_numeric.csv", "--id-col", "store", id="panel-non-numeric-value",
        needles=["panel_non_numeric.csv: column '#Passengers' (--value-col) has 1 non-numeric value "
                 "(line 150, series 'B', is 'lots')"]),
    run("--csv", "{files}/panel_gap.csv", "--id-col", "store", id="panel-missing-timestamp",
        needles=["panel_gap.csv: series 'C': 1 missing timestamps at frequency 'MS' (first gap at 1950-01-01",
                 "--fill interpolate|ffill"]),
    run("--csv", "{files}/panel_empty_id.csv", "--id-col", "store", id="panel-empty-id",
        needles=["panel_empty_id.csv: column 'store' (--id-col) is empty on line 7"]),
    run("--csv", "{files}/panel.csv", "--id-col", "shop", id="panel-unknown-id-column",
        needles=["--id-col:", "panel.csv has no column 'shop'; its columns are 'store', 'Month', '#Passengers'"]),
    run("--all", "--id-col", "store", id="id-col-without-csv", needles=["--id-col needs --csv FILE"]),
    # --- a panel given without --id-col: the hint is --id-col, never --duplicates (which would merge it) -----
    run("--csv", "{files}/panel_time_first.csv", "--value-col", "#Passengers", id="panel-without-id-col",
        needles=["panel_time_first.csv: 288 duplicate timestamps (first: 1949-01-01, 1949-02-01)",
                 "column 'store' tells them apart: 3 ids", "pass --id-col store"]),
    run("--csv", "{files}/panel.csv", id="panel-without-id-col-or-value-col",
        needles=["--value-col is required", "panel.csv has columns 'store', 'Month', '#Passengers'; a panel in "
                 "long format (one row per series id, time and value) also needs --id-col C"]),
    run("--csv", "{files}/panel.csv", "--value-col", "#Passengers", id="panel-id-column-read-as-time",
        needles=["--time-col: the first column of", "panel.csv, 'store', holds no timestamps (first value 'A'), and "
                 "column 'Month' does: pass --time-col Month (and --id-col store"]),
    desc("--csv", "{files}/panel_time_first.csv", "--value-col", "#Passengers", id="describe-panel-without-id-col",
         needles=["panel_time_first.csv: 288 duplicate timestamps", "pass --id-col store"]),
    # --- gaps that a fill would mostly invent: no fill is suggested ------------------------------------
    run("--csv", "{files}/many_gaps.csv", id="too-many-gaps-to-fill",
        needles=["many_gaps.csv: 10 missing timestamps at frequency 'MS'", "filling them would invent 10 of the 144 "
                 "points (7%): check that the timestamps are read right", "(--freq, --time-format)"]),
    run("--csv", "{files}/year_month.csv", "--freq", "D", id="months-forced-to-days",
        needles=["year_month.csv: 1029 missing timestamps at frequency 'D'", "1029 of the 1065 points (97%)"]),
    run("--suite", "{files}/m4_long_test.toml", id="m4-series-too-short-for-the-suites-split",
        needles=["dataset 'm4_hourly': series 'H", "has 748 points; its split (h=48 test=800",
                 "needs at least 802"]),
    desc("--csv", "{files}/panel.csv", "--id-col", "store", id="describe-panel-without-series",
         needles=["describe:", "panel.csv is a panel of 3 series (A, B, C); describe studies one series: "
                  "name it with --series ID"]),
    desc("m4_hourly", id="describe-m4-without-series",
         needles=["describe: m4_hourly is a panel of 414 series (H1, H2, H3, ...)", "--series ID"]),
    desc("--csv", "{files}/panel.csv", "--id-col", "store", "--series", "Z", id="describe-unknown-series",
         needles=["--series:", "panel.csv has no series 'Z'; its ids are 'A', 'B', 'C'"]),
    desc("air_passengers", "--series", "A", id="describe-series-of-a-single-series",
         needles=["--series: dataset 'air_passengers' is a single series, not a panel"]),
    # --- suites ---------------------------------------------------------------------------------
    run("--suite", "{files}/not_toml.toml", id="suite-not-toml", needles=["not_toml.toml: not valid TOML"]),
    run("--suite", "{files}/unknown_dataset.toml", id="suite-unknown-dataset",
        needles=["unknown dataset 'air_pasengers'"]),
    run("--suite", "{files}/unknown_model.toml", id="suite-unknown-model",
        needles=["unknown_model.toml: unknown model 'prophett'"]),
    run("--suite", "{files}/bad_split.toml", id="suite-impossible-split",
        needles=["bad_split.toml: dataset 'air_passengers': split horizon (50) is longer than test_size (36)"]),
    run("--suite", "{files}/unknown_key.toml", id="suite-unknown-key",
        needles=["unknown_key.toml: unknown suite key(s) sedes"]),
    run("--suite", "{files}/names_vanished.toml", id="suite-user-dataset-file-vanished",
        needles=["dataset 'vanished': no file", "vanished.csv"]),
    run("--suite", "{files}/names_broken.toml", id="suite-user-dataset-entry-broken",
        needles=["broken.toml: invalid catalog entry"]),
    # --- malformed suite files: a schema of types, checked before any cell runs -------------------
    suite("utf16.toml", ["UTF-16 text; a suite file must be UTF-8"], id="suite-utf16"),
    suite("latin1.toml", ["not UTF-8 text (byte 0xe9"], id="suite-latin1"),
    suite("binary.toml", ["a binary file, not a TOML suite"], id="suite-binary"),
    suite("datasets_string.toml", ["datasets must be [[datasets]] tables", "got a string"],
          id="suite-datasets-a-string"),
    suite("datasets_list_of_strings.toml", ["datasets must be [[datasets]] tables", "got an array"],
          id="suite-datasets-a-list-of-strings"),
    suite("models_table.toml", ["models must be an array of tables ([[models]], one per entry), not a table"],
          id="suite-models-a-table"),
    suite("params_string.toml", ["model 'arima': params must be a table", "got a string ('p=1')"],
          id="suite-params-a-string"),
    suite("dataset_integer.toml", ["a [[datasets]] name must be a string, got an integer (5)"],
          id="suite-dataset-name-an-integer"),
    suite("label_integer.toml", ["model 'naive': label must be a string, got an integer (5)"],
          id="suite-label-an-integer"),
    suite("empty_grid.toml", ["model 'arima': params.p is an empty list"], id="suite-empty-grid"),
    suite("escaping_name.toml", ["'../datasets/air_passengers' is not a dataset name"],
          id="suite-dataset-name-leaves-the-catalog"),
    suite("split_string.toml", ["dataset 'air_passengers': test_size must be an integer, got a string"],
          id="suite-split-value-a-string"),
    suite("seeds_boolean.toml", ["seeds must be a positive integer, got True"], id="suite-seeds-a-boolean"),
    suite("nested_param.toml", ["params.p: a table is not a parameter value"], id="suite-param-a-table"),
    suite("wrong_type_grid.toml", ["model 'arima': p = '1' is a string; p takes an integer or None"],
          id="suite-grid-value-of-the-wrong-type"),
    suite("not_a_choice.toml", ["model 'holt_winters': trend = 'sideways' is not one of 'none', 'add', 'damped'"],
          id="suite-grid-value-not-a-choice"),
    suite("one_label_two_models.toml", ["dataset 'air_passengers': two model entries make the row 'mine'"],
          id="suite-two-models-one-label"),
    suite("entry_twice.toml", ["two model entries make the row 'naive'"], id="suite-one-entry-twice"),
    run("--suite", "{files}/bad_name.toml", id="suite-name-unusable", needles=["bad_name.toml: name '../x'"]),
    # --- output folders: checked before anything is read or written ------------------------------
    Case("out-is-a-file", ("run", *AIR_NAIVE, "--workers", "0", "--out", "{files}/air.csv"),
         ("--out:", "air.csv is a file, not a folder")),
    Case("out-below-a-file", ("run", *AIR_NAIVE, "--workers", "0", "--out", "{files}/air.csv/results"),
         ("--out:", "air.csv is a file, so", "air.csv/results cannot be made, not a folder")),
    Case("out-is-a-file-with-csv", ("run", "--csv", "{files}/air.csv", "-m", "naive", "--workers", "0",
                                    "--out", "{files}/air.csv"), ("--out:", "air.csv is a file, not a folder")),
    Case("out-read-only", ("run", *AIR_NAIVE, "--workers", "0", "--out", "{case}/store"),
         ("--out: cannot write in", "store"), read_only="{case}/store"),
    Case("out-read-only-with-csv", ("run", "--csv", "{files}/air.csv", "-m", "naive", "--workers", "0",
                                    "--out", "{case}/store"), ("--out: cannot write in",), read_only="{case}/store"),
    Case("report-out-read-only", ("report", "--out", "{case}/store"), ("--out: cannot write in", "store"),
         read_only="{case}/store"),
    Case("report-out-is-a-file", ("report", "--out", "{files}/air.csv"), ("--out: no result store",)),
    Case("describe-out-is-a-file", ("describe", "air_passengers", "--out", "{files}/air.csv"),
         ("--out:", "air.csv is a file, not a folder")),
    Case("describe-out-below-a-read-only-folder", ("describe", "air_passengers", "--out", "{case}/locked/plots"),
         ("--out: cannot write in", "locked"), read_only="{case}/locked"),
    Case("tensorboard-below-a-file", ("run", *AIR_NAIVE, "--workers", "0", "--out", "{case}/store",
                                      "--tensorboard", "{files}/air.csv/tb"), ("--tensorboard:", "air.csv is a file")),
    # --- run options ------------------------------------------------------------------------------
    Case("cell-timeout-nan", ("run", *AIR_NAIVE, "--workers", "1", "--cell-timeout", "nan", "--out", "{case}/store"),
         ("--cell-timeout needs a positive, finite number of seconds (got nan)",)),
    Case("cell-timeout-infinite", ("run", *AIR_NAIVE, "--workers", "1", "--cell-timeout", "inf",
                                   "--out", "{case}/store"), ("--cell-timeout needs a positive, finite",)),
    run(*AIR_NAIVE, "--update-reference", id="update-reference-of-a-filtered-run",
        needles=["--update-reference needs the whole suite as written; -d, -m"]),
    run("--suite", "quick", "--seeds", "1", "--update-reference", id="update-reference-with-other-seeds",
        needles=["--update-reference needs the whole suite as written; --seeds"]),
    run("--csv", "{files}/huge.csv", id="value-too-large-to-score",
        needles=["huge.csv: 1 value beyond +-1e+100 (first: 1e+308", "rescale the series"]),
    run("--csv", "{files}/scaled.csv", id="series-scaled-beyond-scoring",
        needles=["scaled.csv: 144 values beyond +-1e+100"]),
    run("--csv", "{files}/air.csv", "--step", "0", id="zero-step", needles=["--step must be a positive integer, got 0"]),
    # --- the CI gate ------------------------------------------------------------------------------
    compare("{files}/results.csv", "{files}/results.csv", "--mae-tolerance", "nan", id="compare-tolerance-nan",
            needles=["--mae-tolerance must be a finite fraction >= 0 (0.01 = 1%), got nan"]),
    compare("{files}/results.csv", "{files}/results.csv", "--time-ratio", "nan", id="compare-time-ratio-nan",
            needles=["--time-ratio must be a finite ratio >= 1, got nan"]),
    compare("{files}/results.csv", "{files}/results.csv", "--mae-tolerance", "-0.1",
            id="compare-tolerance-negative", needles=["--mae-tolerance must be a finite fraction >= 0"]),
    compare("{files}/results.csv", "{files}/no_calibration.csv", id="compare-calibration-not-a-number",
            needles=["no_calibration.csv: calibration_s is nan"]),
    compare("{files}/results.csv", "{files}/zero_calibration.csv", id="compare-calibration-zero",
            needles=["zero_calibration.csv: calibration_s is 0.0"]),
    compare("{files}/results.csv", "{files}/ragged_results.csv", id="compare-a-ragged-results-csv",
            needles=["ragged_results.csv: not a results.csv (Error tokenizing data", "Expected 2 fields in line 3"]),
    compare("{files}/results.csv", "{files}/row_twice.csv", id="compare-a-row-twice",
            needles=["row_twice.csv: the row air_passengers / naive (naive)", "appears 2 times"]),
    compare("{files}/not_a_store.sqlite", "{files}/results.csv", id="compare-sqlite-that-is-not-a-store",
            needles=["not_a_store.sqlite: not a result store of bench (tables: mine)"]),
    compare("{files}/air.csv", "{files}/results.csv", id="compare-not-a-results-table",
            needles=["air.csv: not a results table of this harness (missing columns:"]),
    # --- a store with damaged pages (template/damaged: the earlier run's store, 512 bytes overwritten) ---
    Case("run-into-a-damaged-store", ("run", *AIR_NAIVE, "--workers", "0", "--out", "{case}/damaged"),
         ("damaged/bench.sqlite: the result store is damaged (", "another --out")),
    Case("resume-a-damaged-store", ("run", *AIR_NAIVE, "--workers", "0", "--resume", "--out", "{case}/damaged"),
         ("damaged/bench.sqlite: the result store is damaged (", "another --out")),
    Case("report-of-a-damaged-store", ("report", "--out", "{case}/damaged"),
         ("damaged/bench.sqlite: the result store is damaged (", "results.csv and the reports beside it")),
    compare("{case}/damaged", "{files}/results.csv", id="compare-a-damaged-store",
            needles=["damaged/bench.sqlite: the result store is damaged ("]),
    # --- catalog data ---------------------------------------------------------------------------
    run("--all", "-d", "air_passengers", "-m", "naive", id="catalog-file-with-the-wrong-hash",
        env={"BENCH_DATA_DIR": "{files}/tampered_data"},
        needles=["AirPassengers.csv: sha256 mismatch (expected " + AIR_SHA, ", got "]),
    # --- describe -------------------------------------------------------------------------------
    desc(id="describe-nothing", needles=["describe: name a dataset (NAME) or a file (--csv FILE)"]),
    desc("air_passengers", "--csv", "{files}/air.csv", id="describe-both",
         needles=["describe: name a dataset (NAME) or a file (--csv FILE), not both"]),
    desc("air_pasengers", id="describe-unknown-dataset", needles=["unknown dataset 'air_pasengers'"]),
    desc("--csv", "{files}/empty.csv", id="describe-empty-file", needles=["empty.csv: the file is empty"]),
    desc("--csv", "{files}/constant.csv", id="describe-constant-series", needles=["constant.csv:", "constant"]),
    desc("air_passengers", "--last", "5", id="describe-last-too-small", needles=["--last must be at least 20"]),
    desc("--csv", "{files}/air.csv", "--horizon", "12", id="describe-has-no-split-options",
         needles=["unrecognized arguments: --horizon"]),
    # --- fetch (the case's cache holds air_passengers only) ----------------------------------------
    fetch("air_passengers", "air_pasengers", id="fetch-unknown-dataset",
          needles=["unknown dataset 'air_pasengers'"]),
    fetch(id="fetch-mirror-not-a-url", env={"BENCH_MIRROR": "127.0.0.1:8000"},
          needles=["BENCH_MIRROR: '127.0.0.1:8000' is not an http:// or https:// URL"]),
    fetch("google_stock", id="fetch-mirror-unreachable",
          env={"BENCH_MIRROR": "http://127.0.0.1:9", "BENCH_DATA_DIR": ""},
          needles=["http://127.0.0.1:9/google_stock/Google_Stock_Price_Train.csv: download failed"]),
    # --- a cached file that fails its sha256 (template/damaged_cache): fetch replaces it, if it can --------
    fetch("air_passengers", id="fetch-cannot-replace-a-damaged-cached-file",
          env={"BENCH_CACHE_DIR": "{case}/damaged_cache", "BENCH_MIRROR": "http://127.0.0.1:9", "BENCH_DATA_DIR": ""},
          needles=["damaged_cache/air_passengers/AirPassengers.csv: sha256 mismatch (expected " + AIR_SHA,
                   "downloading a replacement failed: http://127.0.0.1:9/air_passengers/AirPassengers.csv: "
                   "download failed", "the cached file is left as it was"]),
    run(*AIR_NAIVE, id="run-on-a-damaged-cached-file",
        env={"BENCH_CACHE_DIR": "{case}/damaged_cache", "BENCH_DATA_DIR": ""},
        needles=["damaged_cache/air_passengers/AirPassengers.csv: sha256 mismatch (expected " + AIR_SHA,
                 "`python -m bench fetch air_passengers` downloads it again and replaces it"]),
]


def make_files(root: Path) -> None:
    header, *rows = AIR.read_text().splitlines()

    def csv(name, body_rows, head=header):
        (root / name).write_text("\n".join([head, *body_rows]) + "\n")

    csv("air.csv", rows)
    csv("air_passengers.csv", rows)
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text(header + "\n")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (root / "latin1.csv").write_bytes("mois;valeur\n2020-01;1\n2020-02;2\n2020-03;3\n2020-04;4\n2020-05;é\n"
                                      .encode("latin-1"))
    (root / "three_columns.csv").write_text("date,a,b\n" + "".join(f"2020-01-{d:02d},{d},{2 * d}\n"
                                                                   for d in range(1, 29)))
    csv("bad_date.csv", rows[:6] + ["31/02/1949,120"] + rows[7:])
    csv("non_numeric.csv", rows[:4] + ["1949-05,n/a?"] + rows[5:])
    csv("infinite.csv", rows[:2] + ["1949-03,inf"] + rows[3:])
    csv("empty_value.csv", rows[:4] + ["1949-05,"] + rows[5:])
    csv("fewer_fields.csv", rows[:1] + ["1949-02"] + rows[2:])
    csv("repeated_column.csv", [f"{row},{row.split(',')[1]}" for row in rows], head=header + ",#Passengers")
    csv("duplicates.csv", rows[:6] + [rows[5].replace(",135", ",200")] + rows[6:8] + [rows[7]] + rows[8:])
    csv("gaps.csv", rows[:10] + rows[12:])
    (root / "constant.csv").write_text("day,value\n" + "".join(f"2021-03-{d:02d},42\n" for d in range(1, 31)))
    csv("short.csv", rows[:20])
    stamps = np.datetime64("2021-01-01T00:00") + np.cumsum([1, 2, 3, 5, 7, 11, 13, 17] * 4).astype("timedelta64[h]")
    (root / "irregular.csv").write_text("time,v\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps)))
    panel = [f"{store},{row}" for store in "ABC" for row in rows]          # A: lines 2-145, B: 146-289, C: 290-433

    def panel_csv(name, body_rows):
        (root / name).write_text("\n".join(["store," + header, *body_rows]) + "\n")

    panel_csv("panel.csv", panel)
    panel_csv("panel_short.csv", panel[:288 + 10])
    panel_csv("panel_duplicates.csv", panel[:150] + [panel[148]] + panel[150:])
    panel_csv("panel_non_numeric.csv", panel[:148] + ["B,1949-05,lots"] + panel[149:])
    panel_csv("panel_gap.csv", panel[:288 + 12] + panel[288 + 13:])
    panel_csv("panel_empty_id.csv", panel[:5] + [",1949-06,135"] + panel[6:])
    (root / "panel_time_first.csv").write_text("\n".join(["Month,store,#Passengers"] + [
        f"{row.split(',')[0]},{store},{row.split(',')[1]}" for store in "ABC" for row in rows]) + "\n")
    csv("many_gaps.csv", [row for i, row in enumerate(rows) if i % 14 != 5])        # 10 of 144 months missing
    (root / "year_month.csv").write_text("month,value\n" + "".join(                  # '1-01': year 1, month 1
        f"{1 + i // 12}-{i % 12 + 1:02d},{row.split(',')[1]}\n" for i, row in enumerate(rows[:36])))
    suites = {
        "m4_long_test.toml": '[[datasets]]\nname = "m4_hourly"\ntest_size = 800\n[[models]]\nname = "naive"\n',
        "not_toml.toml": "name = 'x\n[[datasets]\n",
        "unknown_dataset.toml": '[[datasets]]\nname = "air_pasengers"\n[[models]]\nname = "naive"\n',
        "unknown_model.toml": '[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "prophett"\n',
        "bad_split.toml": '[[datasets]]\nname = "air_passengers"\nhorizon = 50\n[[models]]\nname = "naive"\n',
        "unknown_key.toml": 'sedes = 3\n[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "naive"\n',
        "names_vanished.toml": '[[datasets]]\nname = "vanished"\n[[models]]\nname = "naive"\n',
        "names_broken.toml": '[[datasets]]\nname = "broken"\n[[models]]\nname = "naive"\n',
        "names_my_series.toml": '[[datasets]]\nname = "my_series"\n[[models]]\nname = "naive"\n',
    }
    air = '[[datasets]]\nname = "air_passengers"\n'
    naive = '[[models]]\nname = "naive"\n'
    suites.update({
        "datasets_string.toml": 'datasets = "air_passengers"\n' + naive,
        "datasets_list_of_strings.toml": 'datasets = ["air_passengers"]\n' + naive,
        "models_table.toml": air + '[models]\nname = "naive"\n',
        "params_string.toml": air + '[[models]]\nname = "arima"\nparams = "p=1"\n',
        "dataset_integer.toml": '[[datasets]]\nname = 5\n' + naive,
        "label_integer.toml": air + naive + 'label = 5\n',
        "empty_grid.toml": air + '[[models]]\nname = "arima"\nparams = { p = [] }\n',
        "escaping_name.toml": '[[datasets]]\nname = "../datasets/air_passengers"\n' + naive,
        "split_string.toml": air + 'test_size = "24"\n' + naive,
        "seeds_boolean.toml": 'seeds = true\n' + air + naive,
        "nested_param.toml": air + '[[models]]\nname = "arima"\nparams = { p = { a = 1 } }\n',
        "wrong_type_grid.toml": air + '[[models]]\nname = "arima"\nparams = { p = ["1", "2"] }\n',
        "not_a_choice.toml": air + '[[models]]\nname = "holt_winters"\nparams = { trend = "sideways" }\n',
        "one_label_two_models.toml": air + naive + 'label = "mine"\n[[models]]\nname = "drift"\nlabel = "mine"\n',
        "entry_twice.toml": air + naive + naive,
        "bad_name.toml": 'name = "../x"\n' + air + naive,
    })
    for name, text in suites.items():
        (root / name).write_text(text)
    valid = 'description = "séries mensuelles"\n' + air + naive
    (root / "utf16.toml").write_bytes(valid.encode("utf-16"))
    (root / "latin1.toml").write_bytes(valid.encode("latin-1"))
    (root / "binary.toml").write_bytes(bytes(range(256)) * 4)
    csv("huge.csv", rows[:30] + [rows[30].split(",")[0] + ",1e308"] + rows[31:])
    csv("scaled.csv", [f"{r.split(',')[0]},{float(r.split(',')[1]) * 1e305:g}" for r in rows])
    with sqlite3.connect(root / "not_a_store.sqlite") as db:
        db.execute("CREATE TABLE mine (x INTEGER)")
    tampered = root / "tampered_data" / "air_passengers"
    tampered.mkdir(parents=True)
    (tampered / "AirPassengers.csv").write_text(AIR.read_text().replace("1949-01,112", "1949-01,113"))


def make_results_files(root: Path, results: Path) -> None:
    """Copies of a real results.csv, one with each defect the gate must refuse."""
    table = pd.read_csv(results)
    table.to_csv(root / "results.csv", index=False)
    table.assign(calibration_s=np.nan).to_csv(root / "no_calibration.csv", index=False)
    table.assign(calibration_s=0.0).to_csv(root / "zero_calibration.csv", index=False)
    pd.concat([table, table[table["label"] == "naive"]]).to_csv(root / "row_twice.csv", index=False)
    (root / "ragged_results.csv").write_text("dataset,label\nair,naive\nair,naive,extra\n")   # pandas' error ends in a newline


def make_read_only(folder: Path) -> bool:
    """Make ``folder`` refuse new files, even to root (an immutable folder); whether that worked."""
    folder.chmod(0o555)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    try:
        (folder / ".probe").touch()
    except OSError:
        return True
    (folder / ".probe").unlink()
    make_writable(folder)
    return False


def make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def make_user_catalog(folder: Path, files: Path) -> None:
    folder.mkdir(parents=True)
    entry = ('name = "{name}"\ndescription = "d"\nunit = ""\nfrequency = "MS"\nseason_length = 12\n'
             'time_column = "Month"\nvalue_column = "#Passengers"\n[[files]]\nname = "{file}"\npath = "{path}"\n'
             '[split]\nhorizon = 12\ntest_size = 24\n')
    (folder / "my_series.toml").write_text(entry.format(name="my_series", file="air.csv", path=files / "air.csv"))
    (folder / "vanished.toml").write_text(entry.format(name="vanished", file="vanished.csv",
                                                       path=files / "vanished.csv"))
    (folder / "broken.toml").write_text(entry.format(name="broken", file="air.csv", path=files / "air.csv")
                                        .replace("test_size = 24", "test_size = 'many'"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    files = root / "files"
    files.mkdir()
    make_files(files)
    template = root / "template"
    # A store holding a real earlier run, which no refused command may touch.
    api.run("default", datasets=["air_passengers"], models=["naive"], out=template / "store", workers=0)
    make_results_files(files, template / "store" / "results.csv")
    shutil.copytree(template / "store", template / "damaged")
    damage_store(template / "damaged" / "bench.sqlite")
    (template / "locked").mkdir()
    (template / "cache" / "air_passengers").mkdir(parents=True)
    shutil.copy(AIR, template / "cache" / "air_passengers" / "AirPassengers.csv")
    shutil.copytree(files / "tampered_data", template / "damaged_cache")
    make_user_catalog(template / "ucat", files)
    (template / "cwd").mkdir()
    (root / "home").mkdir()
    return root


def run_case(case: Case, root: Path) -> tuple[subprocess.CompletedProcess, dict, dict]:
    folder = root / "cases" / case.id
    shutil.copytree(root / "template", folder)
    fill = lambda s: s.replace("{files}", str(root / "files")).replace("{case}", str(folder))
    env = {**os.environ, "BENCH_USER_CATALOG": str(folder / "ucat"), "BENCH_CACHE_DIR": str(folder / "cache"),
           "HOME": str(root / "home"), "PYTHONPATH": str(REPO),
           **{k: fill(v) for k, v in case.env.items()}}
    locked = Path(fill(case.read_only)) if case.read_only else None
    if locked is not None and not make_read_only(locked):
        return None, {}, {}             # this machine cannot make a folder read-only
    try:
        before = snapshot(folder)
        done = subprocess.run([sys.executable, "-m", "bench", *map(fill, case.args)], cwd=folder / "cwd",
                              env=env, capture_output=True, text=True, timeout=300)
        return done, before, snapshot(folder)
    finally:
        if locked is not None:
            make_writable(locked)


@pytest.fixture(scope="module")
def outcomes(request, workspace):
    """Run every selected case at once, a few subprocesses at a time."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if item.module.__name__ == __name__ and hasattr(item, "callspec") and "case" in item.callspec.params]
    files_before = snapshot(workspace / "files")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip((c.id for c in selected), pool.map(lambda c: run_case(c, workspace), selected)))
    results["__files_unchanged__"] = snapshot(workspace / "files") == files_before
    return results


def test_the_catalogue_is_large_and_each_case_is_distinct():
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_exits_2_with_one_line_naming_it_and_changes_nothing(case, outcomes):
    done, before, after = outcomes[case.id]
    if done is None:
        pytest.skip("cannot make a folder read-only here")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    for needle in case.needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert after == before, "the store, cache, user catalog or working directory changed"
    assert outcomes["__files_unchanged__"]
