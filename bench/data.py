"""Load a dataset from its catalog entry, or from a user's own CSV, into a regular pd.Series.

Where a catalog file comes from, in order: ``$BENCH_DATA_DIR/<dataset>/<file>``, the user
cache (``$BENCH_CACHE_DIR``, default ``~/.cache/bench``), else a download from the
catalog URL into the cache. ``$BENCH_MIRROR`` replaces the catalog URLs with
``$BENCH_MIRROR/<dataset>/<file>``, the layout of ``BENCH_DATA_DIR``, so that a web
server in a data folder is a mirror. Every file is checked against the catalog's sha256
before it is parsed; a download goes to a temporary file that is renamed into place only
once its hash is right, so a bad file never sits in the cache. ``fetch`` fills the cache
ahead of time.

A user's series is a ``Dataset`` too (``origin="user"``): its file is a local ``path``
instead of a URL, and ``user_dataset`` builds it from command-line style options. The
same reader, ``regularize`` and checks serve both, so a catalog file and a user file
fail in the same clear way. Registered user datasets live as catalog-format TOML files
in the user catalog (``$BENCH_USER_CATALOG``, default ``~/.config/bench/catalog``),
where ``get_dataset`` looks after the project catalog.
"""
from __future__ import annotations

import csv
import json
import os
import re
import tomllib
import urllib.parse
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from bench.errors import BenchError, BenchWarning
# download, remove_stale_parts, sha256_of and make_readable are re-exported: callers know them as bench.data's.
from bench.files import (cache_dir, check_sha256, download, make_readable, remove_stale_parts,  # noqa: F401
                         sha256_of, write_atomic)
from bench.splits import MIN_TRAIN_POINTS, WalkForward

CATALOG_DIR = Path(__file__).resolve().parent.parent / "datasets"
DUPLICATE_POLICIES = ("error", "mean", "sum", "last")
GAP_POLICIES = ("error", "interpolate", "ffill")
CALENDARS = ("regular", "observed")
LAYOUTS = ("long", "m4_wide")
# Series without timestamps (the M4 layout) are indexed by step from this instant, at the
# dataset's frequency: calendar features then say where a step lies in the day and the week.
STEP_INDEX_START = "1970-01-01"
# How a user sets each policy, for the hints in error messages about a user file.
USER_OPTIONS = {"duplicates": "--duplicates", "gaps": "--fill", "frequency": "--freq",
                "time_column": "--time-col", "value_column": "--value-col", "time_format": "--time-format",
                "id_column": "--id-col"}
_SEPARATORS = (",", ";", "\t", "|")
# The largest magnitude a series may hold. RMSE squares errors of up to twice the largest
# value and sums one square per forecast; below 1e100 that stays far inside the float range
# (1.8e308) for any number of forecasts, while a value such as 1e308 makes MAE infinite.
MAX_ABS_VALUE = 1e100
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class CatalogFile:
    name: str
    url: str = ""
    sha256: str = ""
    path: str | None = None      # a local file (user datasets): read in place, hash-checked if sha256 is set
    # A file with no download URL of its own (a transcription, such as a published results
    # table): where its content comes from. It is found in BENCH_DATA_DIR, the cache or a mirror.
    source: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    unit: str
    frequency: str
    season_length: int
    files: tuple[CatalogFile, ...]
    split: WalkForward
    time_column: str = ""            # "long" layout: the columns read; "m4_wide" has neither
    value_column: str = ""
    time_format: str | None = None
    calendar: str = "regular"        # "observed": closed weekdays become holidays
    thousands: str | None = None
    duplicates: str = "error"        # or "mean", "sum", "last"
    gaps: str = "error"              # or "interpolate", "ffill"
    origin: str = "catalog"          # "catalog" (datasets/) or "user" (the user catalog, --csv)
    # A panel holds many series, each with an id: rows (id, time, value) of a "long" file with an
    # id_column, or the M4 layout ("m4_wide": one row per series, no timestamps; see read_wide).
    layout: str = "long"
    id_column: str | None = None
    # One series of a panel (``one_series``): the dataset then reads as that series alone (describe).
    series: str | None = None
    # Accuracy published for this dataset (CSVs with a ``method`` column), shown beside ours.
    published: tuple[CatalogFile, ...] = ()

    @property
    def is_panel(self) -> bool:
        """Whether the dataset holds many series (a panel not narrowed to one of them)."""
        return (self.layout == "m4_wide" or self.id_column is not None) and self.series is None


def one_series(ds: Dataset, series_id: str) -> Dataset:
    """The panel ``ds`` narrowed to its series ``series_id``: ``load`` and ``read_raw`` give that series."""
    if not (ds.layout == "m4_wide" or ds.id_column is not None):
        raise BenchError(f"--series: dataset {ds.name!r} is a single series, not a panel; leave --series out")
    return replace(ds, series=series_id, description=f"series {series_id!r} of {ds.description}")


# --------------------------------------------------------------------------- catalogs

def catalog_names() -> list[str]:
    """The project catalog (``datasets/*.toml``)."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.toml"))


def user_catalog_dir() -> Path:
    if os.environ.get("BENCH_USER_CATALOG"):
        return Path(os.environ["BENCH_USER_CATALOG"])
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "bench" / "catalog"


def user_catalog_names() -> list[str]:
    names = {p.stem for p in user_catalog_dir().glob("*.toml")} - set(catalog_names())
    return sorted(names)


def is_plain_name(name) -> bool:
    """A name that is safe as a file name: letters, digits, '_', '.', '-', starting with a letter or digit.

    Dataset names become report file names (``<dataset>.md``) and catalog file names, so a
    name such as ``../datasets/x`` must never reach a path.
    """
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def get_dataset(name: str) -> Dataset:
    """A dataset by name: the project catalog first, then the user catalog."""
    if not is_plain_name(name):
        raise BenchError(f"{name!r} is not a dataset name (letters, digits, '_', '.', '-', starting with a "
                         f"letter or digit); the catalog has: {', '.join(catalog_names())}")
    path = CATALOG_DIR / f"{name}.toml"
    if path.is_file():
        return parse_catalog_entry(path)
    user = user_catalog_dir() / f"{name}.toml"
    if user.is_file():
        return parse_catalog_entry(user, origin="user")
    mine = user_catalog_names()
    raise BenchError(f"unknown dataset {name!r}; the catalog has: {', '.join(catalog_names())}"
                     + (f"; your catalog ({user_catalog_dir()}) has: {', '.join(mine)}" if mine else ""))


def parse_catalog_entry(path: Path, origin: str = "catalog") -> Dataset:
    try:
        entry = tomllib.loads(path.read_text())
        split = entry.pop("split")
        files = tuple(_catalog_file(f, path) for f in entry.pop("files"))
        published = entry.pop("published", [])             # [published] (one file) or [[published]]
        published = tuple(CatalogFile(**p) for p in ([published] if isinstance(published, dict) else published))
        for f in published:
            if not (f.sha256 and (f.url or f.source)):
                raise ValueError(f"published file {f.name!r} needs a sha256 and a url or a source")
        ds = Dataset(files=files, published=published, split=WalkForward(**split), time_format=entry.pop("time_format", None),
                     origin=origin, **entry)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, OSError) as exc:
        raise BenchError(f"{path}: invalid catalog entry ({_one_line(exc)})") from None
    for field, allowed in (("duplicates", DUPLICATE_POLICIES), ("gaps", GAP_POLICIES), ("calendar", CALENDARS),
                           ("layout", LAYOUTS)):
        if getattr(ds, field) not in allowed:
            raise BenchError(f"{path}: invalid catalog entry ({field} must be one of {', '.join(allowed)}, "
                             f"got {getattr(ds, field)!r})")
    if ds.layout == "long" and not (ds.time_column and ds.value_column):
        raise BenchError(f"{path}: invalid catalog entry (time_column and value_column are required)")
    if ds.series is not None:
        raise BenchError(f"{path}: invalid catalog entry (unknown key 'series')")
    return ds


def _catalog_file(raw: dict, entry: Path) -> CatalogFile:
    f = CatalogFile(**raw)
    if f.path is not None:
        local = Path(f.path).expanduser()
        return replace(f, path=str(local if local.is_absolute() else entry.parent / local))
    if not (f.url and f.sha256):
        raise ValueError(f"file {f.name!r} needs a url and a sha256, or a local path")
    return f


def register_user_dataset(ds: Dataset) -> Path:
    """Write ``ds`` into the user catalog (atomically) so that suites can name it; returns the file."""
    if ds.origin != "user":
        raise ValueError(f"{ds.name!r} is not a user dataset")
    return write_atomic(user_catalog_dir() / f"{ds.name}.toml", _entry_toml(ds))


def _entry_toml(ds: Dataset) -> str:
    q = lambda v: json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    lines = ["# A user dataset, registered by `python -m bench run --csv`. Edit freely; re-running",
             "# `run --csv` with the same --name replaces it.",
             f"name = {q(ds.name)}", f"description = {q(ds.description)}", f"unit = {q(ds.unit)}",
             f"frequency = {q(ds.frequency)}", f"season_length = {ds.season_length}",
             f"time_column = {q(ds.time_column)}", f"value_column = {q(ds.value_column)}"]
    if ds.id_column is not None:
        lines.append(f"id_column = {q(ds.id_column)}")
    if ds.time_format:
        lines.append(f"time_format = {q(ds.time_format)}")
    lines += [f"calendar = {q(ds.calendar)}", f"duplicates = {q(ds.duplicates)}", f"gaps = {q(ds.gaps)}"]
    for f in ds.files:
        lines += ["", "[[files]]", f"name = {q(f.name)}", f"path = {q(f.path)}"]
    s = ds.split
    lines += ["", "[split]", f"horizon = {s.horizon}", f"test_size = {s.test_size}", f"step = {s.step}",
              f"refit_every = {s.refit_every}"]
    if s.window is not None:
        lines.append(f"window = {s.window}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- a user's CSV

def user_dataset(csv: str | Path, *, time_col: str | None = None, value_col: str | None = None,
                 freq: str | None = None, season: int | None = None, horizon: int | None = None,
                 test_size: int | None = None, step: int | None = None, duplicates: str = "error",
                 fill: str = "error", calendar: str = "regular", time_format: str | None = None,
                 name: str | None = None, unit: str = "", with_split: bool = True,
                 id_col: str | None = None) -> Dataset:
    """A user's CSV as a ``Dataset``, checked end to end; errors name the file or the option.

    Defaults: the time column is the first column and the value column the only other one;
    the frequency is inferred from the timestamps; the season follows the frequency
    (``default_season``); the split is ``default_split``. ``with_split=False`` (for
    ``describe``) skips the split, which then is a placeholder.

    ``id_col`` makes the file a panel in long format, one row per (id, time, value): the
    time column is then the first column other than the id, the value column the only one
    left; each series is checked and regularised on its own, errors name the series, and the
    default split is the one of the shortest series, which every series must hold.
    """
    path = Path(csv).expanduser()
    columns = read_header(path, where="--csv")
    if id_col is not None and id_col not in columns:
        raise BenchError(f"--id-col: {path} has no column {id_col!r}; its columns are {_listing(columns)}")
    candidates = [c for c in columns if c != id_col]
    time_given = time_col is not None
    time_col = time_col if time_given else (candidates[0] if candidates else columns[0])
    if time_col not in columns:
        raise BenchError(f"--time-col: {path} has no column {time_col!r}; its columns are {_listing(columns)}")
    if value_col is None:
        others = [c for c in candidates if c != time_col]
        if len(others) != 1:
            panel = ("; a panel in long format (one row per series id, time and value) also needs --id-col C"
                     if id_col is None and len(others) > 1 else "")
            raise BenchError(f"--value-col is required: {path} has columns {_listing(columns)}{panel}")
        value_col = others[0]
    if value_col not in columns:
        raise BenchError(f"--value-col: {path} has no column {value_col!r}; its columns are {_listing(columns)}")
    if time_col == value_col:
        raise BenchError(f"--time-col and --value-col are both {time_col!r}")
    if id_col is not None and id_col in (time_col, value_col):
        raise BenchError(f"--id-col {id_col!r} is also the {'time' if id_col == time_col else 'value'} column; "
                         f"the three columns must differ")
    if name is None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("_.-") or "series"
        option = f"the name {name!r} taken from the file name; pass --name"
    else:
        option = "--name"
    check_user_name(name, option)
    if duplicates not in DUPLICATE_POLICIES:
        raise BenchError(f"--duplicates must be one of {', '.join(DUPLICATE_POLICIES[1:])}, got {duplicates!r}")
    if fill not in GAP_POLICIES:
        raise BenchError(f"--fill must be one of {', '.join(GAP_POLICIES[1:])}, got {fill!r}")
    if calendar not in CALENDARS:
        raise BenchError(f"--calendar must be one of {', '.join(CALENDARS)}, got {calendar!r}")
    if season is not None and season < 1:
        raise BenchError(f"--season must be a positive integer, got {season}")
    if freq is not None:
        freq = check_frequency(freq, option="--freq")

    placeholder = WalkForward(horizon=1, test_size=1)
    what = "panel" if id_col is not None else "series"
    ds = Dataset(name=name, description=f"user {what} {path.name} ({value_col})", unit=unit,
                 frequency=freq or "", season_length=season or 1,
                 files=(CatalogFile(name=path.name, path=str(path.resolve())),),
                 time_column=time_col, value_column=value_col, time_format=time_format, split=placeholder,
                 calendar=calendar, duplicates=duplicates, gaps=fill, origin="user", id_column=id_col)
    if not time_given and time_format is None and len(columns) > 2:
        _check_the_first_column_holds_times(path, columns, time_col, value_col, id_col)
    unnamed_panel = id_col is None and duplicates == "error" and len(columns) > 2
    raw = read_raw(ds) if freq is None or unnamed_panel else None
    if unnamed_panel and raw.index.has_duplicates:
        _refuse_an_unnamed_panel(path, columns, time_col, value_col, raw)
    if freq is None:
        freq = _infer_panel_frequency(raw) if id_col is not None else infer_frequency(raw.index)
        if freq is None:
            index = raw.index.get_level_values("time") if id_col is not None else raw.index
            raise BenchError(f"--freq: cannot infer a regular frequency from the timestamps of {path} "
                             f"(steps seen: {_steps_seen(index)}); pass --freq, e.g. D, B, W-SUN, MS, h")
        ds = replace(ds, frequency=freq)
    if calendar == "observed" and freq != "B":
        raise BenchError(f"--calendar observed needs trading days (--freq B); {path} has frequency {freq!r}")
    ds = replace(ds, season_length=season or default_season(freq))
    if not with_split:
        return ds
    if id_col is None:
        n, source = len(load(ds, warn=False)), str(path)
    else:
        lengths = {sid: len(y) for sid, y in load_panel(ds, warn=False).items()}
        shortest = min(lengths, key=lengths.get)
        n, source = lengths[shortest], f"{path}: series {shortest!r} (the shortest)"
    return replace(ds, split=default_split(n, ds.season_length, horizon=horizon, test_size=test_size,
                                           step=step, source=source))


def _refuse_an_unnamed_panel(path: Path, columns: list[str], time_col: str, value_col: str, raw: pd.Series) -> None:
    """A file read as one series whose timestamps repeat, and which has a column that tells the repeats
    apart (each of its values holds each timestamp once, and at least three rows: a series, not a note
    on one row): a panel in long format given without --id-col. Its error says so, where
    ``--duplicates`` would merge the series."""
    others = [c for c in columns if c not in (time_col, value_col)]
    sep, encoding = _sniff(path, "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(path, sep=sep, usecols=[time_col, *others], dtype=str, keep_default_na=False,
                                encoding=encoding)
    except (ValueError, OSError):
        return                      # the file read as one series; its duplicates are reported as such
    times = frame[time_col].str.strip()
    for column in others:
        ids = frame[column].str.strip()
        sizes = ids.value_counts()
        n_ids = len(sizes)
        if n_ids >= 2 and sizes.min() >= 3 and not pd.DataFrame({"id": ids, "time": times}).duplicated().any() \
                and not _all_timestamps(ids.head(50)):
            dup = raw.index.duplicated(keep=False)
            shown = ", ".join(_stamp(t) for t in raw.index[dup].unique()[:2])
            raise BenchError(f"{path}: {int(raw.index.duplicated().sum())} duplicate timestamps (first: {shown}), "
                             f"and column {column!r} tells them apart: {n_ids} ids, each with a timestamp once. "
                             f"That is a panel in long format (one row per series id, time and value): pass "
                             f"--id-col {column}")


def _all_timestamps(text: pd.Series) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(len(text)) and bool(pd.to_datetime(text, errors="coerce").notna().all())


def _check_the_first_column_holds_times(path: Path, columns: list[str], time_col: str, value_col: str,
                                        id_col: str | None) -> None:
    """The time column by default is the first: where it holds no timestamp at all in its first rows and
    another column does, the error names that column (``--time-col``), and the first one as a likely
    series id (``--id-col``), rather than asking for a ``--time-format``."""
    sep, encoding = _sniff(path, "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = pd.read_csv(path, sep=sep, dtype=str, nrows=50, keep_default_na=False, encoding=encoding)
    except (ValueError, OSError):
        return                              # read_table reports an unreadable file
    head = head.apply(lambda c: c.str.strip())
    sample = head[time_col][head[time_col] != ""]
    if sample.empty or _year_month(sample) is not None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.to_datetime(sample, errors="coerce").notna().any():
            return
    others = [c for c in columns if c not in (time_col, value_col, id_col) and _all_timestamps(head[c][head[c] != ""])]
    if others:
        panel = f" (and --id-col {time_col} if it names the series of a panel)" if id_col is None else ""
        raise BenchError(f"--time-col: the first column of {path}, {time_col!r}, holds no timestamps (first value "
                         f"{sample.iloc[0]!r}), and column {others[0]!r} does: pass --time-col {others[0]}{panel}")


def _infer_panel_frequency(raw: pd.Series) -> str | None:
    """The frequency most series of a long-format panel follow (each inferred on its own)."""
    found = [infer_frequency(part.index.droplevel(0)) for _, part in raw.groupby(level=0, sort=False)]
    found = [f for f in found if f is not None]
    return max(dict.fromkeys(found), key=found.count) if found else None


def check_user_name(name: str, option: str = "--name") -> None:
    if not _NAME_RE.fullmatch(name) or name.endswith(".toml"):
        raise BenchError(f"{option}: {name!r} is not a usable dataset name (letters, digits, '_', '.', '-'; "
                         f"starting with a letter or digit)")
    if name in catalog_names():
        raise BenchError(f"{option}: {name!r} is a dataset of the project catalog; choose another name")


def check_frequency(freq: str, *, option: str = "--freq") -> str:
    """The canonical pandas alias of ``freq``; a one-line error naming ``option`` otherwise."""
    hints = {"M": "ME (month end) or MS (month start)", "Q": "QE or QS", "Y": "YE or YS", "A": "YE or YS",
             "H": "h", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return to_offset(freq).freqstr
    except (ValueError, TypeError):
        hint = hints.get(freq.upper() if freq.upper() in ("M", "Q", "Y", "A") else freq)
        raise BenchError(f"{option}: unknown frequency {freq!r} "
                         + (f"(use {hint})" if hint else "(pandas aliases such as D, B, W-SUN, MS, ME, "
                                                         "QS, YS, h, 15min)")) from None


def infer_frequency(index: pd.DatetimeIndex) -> str | None:
    """The frequency of the timestamps, tolerating duplicates, disorder and gaps.

    ``pd.infer_freq`` needs a perfectly regular index; when it fails, the answer is the
    coarsest regular grid that holds every timestamp (calendar grids first, then the
    most common step), so that gaps are reported as gaps rather than as "no frequency".
    """
    idx = pd.DatetimeIndex(index).unique().sort_values()
    if len(idx) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = pd.infer_freq(idx)
        if found is not None:
            return to_offset(found).freqstr
        candidates = ["YS", "YE", "QS-JAN", "QS-FEB", "QS-MAR", "QE-DEC", "QE-JAN", "QE-FEB", "MS", "ME",
                      *(f"W-{d}" for d in ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")), "B"]
        step = pd.Series(idx[1:] - idx[:-1]).mode().iloc[0]
        if step > pd.Timedelta(0):
            days = step / pd.Timedelta(days=1)
            candidates.append(("D" if days == 1 else f"{int(days)}D") if days == int(days)
                              else to_offset(step).freqstr)
        for freq in candidates:
            grid = pd.date_range(idx[0], idx[-1], freq=freq)
            if len(grid) <= 2 * len(idx) and idx.isin(grid).all():
                return freq
    return None


def default_season(freq: str) -> int:
    """The conventional season for a frequency: 12 for monthly, 7 for daily, 24 for hourly..."""
    off = to_offset(freq)
    kind, n = type(off).__name__, max(int(off.n), 1)
    per = {"MonthBegin": 12, "MonthEnd": 12, "QuarterBegin": 4, "QuarterEnd": 4, "Week": 52, "Day": 7,
           "BusinessDay": 5, "CustomBusinessDay": 5, "Hour": 24, "Minute": 1440, "Second": 60}.get(kind, 1)
    if kind == "Day" and n > 1:
        return 1
    return per // n if per % n == 0 and per // n > 1 else 1


# Forecasts one cell of a default split may make (about 100 bytes each in the store, and every
# table and test reads them all): one origin per point of a one-minute series' ten-day test
# span would make 18.7 million.
MAX_DEFAULT_FORECASTS = 100_000


def default_split(n: int, season: int, *, horizon: int | None = None, test_size: int | None = None,
                  step: int | None = None, source: str = "the series") -> WalkForward:
    """The walk-forward split for a user series of ``n`` points.

    horizon: one season ahead (1 without a season); test_size: the last 10% of the
    series, at least two horizons and at most ten; origins every point, refit at each,
    unless that makes more than ``MAX_DEFAULT_FORECASTS`` forecasts per cell: then the
    default step is the horizon (origins that do not overlap), with a warning saying so.
    """
    for option, value in (("--horizon", horizon), ("--test-size", test_size), ("--step", step)):
        if value is not None and value < 1:
            raise BenchError(f"{option} must be a positive integer, got {value}")
    h = horizon if horizon is not None else max(season, 1)
    test = test_size if test_size is not None else min(max(n // 10, 2 * h), 10 * h)
    if h > test:
        raise BenchError(f"--horizon {h} is longer than --test-size {test}")
    if n < test + MIN_TRAIN_POINTS:
        chosen = f"--test-size {test}" if test_size is not None else f"the default split (horizon {h}, test size {test})"
        raise BenchError(f"{source}: the series has {n} points; {chosen} needs at least {test + MIN_TRAIN_POINTS} "
                         f"(the test span + {MIN_TRAIN_POINTS} to train on): pass a smaller --test-size"
                         + ("" if horizon is not None or test_size is not None else " and --horizon"))
    if step is None:
        step = 1
        every_point = (test - h + 1) * h
        if every_point > MAX_DEFAULT_FORECASTS:
            step = h
            origins = (test - h) // h + 1
            _warn(f"{source}: an origin at every point would make {test - h + 1:,} origins x {h} steps = "
                  f"{every_point:,} forecasts per model; the default step is the horizon instead, {h} "
                  f"({origins} origins, {origins * h:,} forecasts); --step or --test-size choose otherwise")
    return WalkForward(horizon=h, test_size=test, step=step)


# --------------------------------------------------------------------------- reading

def load_series(name: str) -> pd.Series:
    return load(get_dataset(name))


def load(ds: Dataset, *, warn: bool = True) -> pd.Series:
    """Read, check and regularize a single-series dataset (or one series of a panel, ``one_series``):
    a float Series on a regular DatetimeIndex. A panel is read with ``load_panel``."""
    if ds.is_panel:
        raise BenchError(f"dataset {ds.name!r} is a panel of many series: read it with load_panel, or narrow "
                         f"it to one series (describe --series ID)")
    if ds.layout == "m4_wide":
        return load_panel(replace(ds, series=None), warn=warn, only=ds.series)[ds.series]
    raw = read_raw(ds)
    source = source_of(ds)
    if warn and ds.origin == "user" and year_month_note(raw, ds):
        _warn(year_month_note(raw, ds))
    if warn and ds.origin == "user" and not raw.index.is_monotonic_increasing:
        at = int(np.argmax(np.diff(raw.index.asi8) < 0))
        _warn(f"{source}: timestamps are not in time order (first: {_stamp(raw.index[at + 1])} after "
              f"{_stamp(raw.index[at])}); sorted them")
    y = regularize(raw, frequency=ds.frequency, calendar=ds.calendar, duplicates=ds.duplicates, gaps=ds.gaps,
                   source=source, options=USER_OPTIONS if ds.origin == "user" else None, warn=warn)
    check_not_constant(y, source)
    return y.rename(ds.name)


def load_panel(ds: Dataset, *, warn: bool = True, only: str | None = None) -> dict[str, pd.Series]:
    """Every series of a dataset by id, in the order of the file: each read, checked and regularized
    on its own, and every error names the series. A single-series dataset is a panel of one, ``{"": y}``.

    Series without timestamps (``m4_wide``) are indexed by step from ``STEP_INDEX_START`` at the
    dataset's frequency. ``only`` keeps one series (its checks alone run).
    """
    if not ds.is_panel:
        return {ds.series or "": load(ds, warn=warn)}
    source = source_of(ds)
    if ds.layout == "m4_wide":
        values = read_wide_panel(ds)
        if only is not None:
            values = {only: _pick(values, only, source)}
        longest = max(len(v) for v in values.values())
        steps = pd.date_range(STEP_INDEX_START, periods=longest, freq=ds.frequency, name="time")
        panel = {}
        for sid, v in values.items():
            where = f"{source}: series {sid!r}"
            _check_magnitude(v, lambda i: f"step {i + 1}", where)
            panel[sid] = pd.Series(v, index=steps[:len(v)], name=sid)
            check_not_constant(panel[sid], where)
        return panel
    raw = read_raw(ds)
    if warn and ds.origin == "user" and year_month_note(raw, ds):
        _warn(year_month_note(raw, ds))
    parts = {sid: part.droplevel(0) for sid, part in raw.groupby(level=0, sort=False)}
    if only is not None:
        parts = {only: _pick(parts, only, source)}
    unsorted = [sid for sid, part in parts.items() if not part.index.is_monotonic_increasing]
    if warn and ds.origin == "user" and unsorted:
        _warn(f"{source}: the timestamps of {len(unsorted)} series are not in time order (first: series "
              f"{unsorted[0]!r}); sorted them")
    options = USER_OPTIONS if ds.origin == "user" else None
    panel = {}
    for sid, part in parts.items():
        where = f"{source}: series {sid!r}"
        y = regularize(part, frequency=ds.frequency, calendar=ds.calendar, duplicates=ds.duplicates, gaps=ds.gaps,
                       source=where, options=options, warn=warn)
        check_not_constant(y, where)
        panel[sid] = y.rename(sid)
    return panel


def _pick(by_id: dict, series_id: str, source: str):
    if series_id not in by_id:
        raise BenchError(f"--series: {source} has no series {series_id!r}; its ids are "
                         f"{_listing(list(by_id), limit=8)}")
    return by_id[series_id]


def source_of(ds: Dataset) -> str:
    """How messages name a dataset: a user's file by its path, a catalog entry by its name; one series
    of a panel by that and its id."""
    if ds.origin == "user" and len(ds.files) == 1 and ds.files[0].path:
        where = ds.files[0].path
    else:
        where = ds.name
    return where if ds.series is None else f"{where}: series {ds.series!r}"


def check_not_constant(y: pd.Series, source: str) -> None:
    if len(y) and y.nunique() <= 1:
        raise BenchError(f"{source}: the series is constant (every value is {y.iloc[0]:g}); "
                         f"there is nothing to forecast")


def read_raw(ds: Dataset) -> pd.Series:
    """The observations of every file as read: not sorted, duplicates and gaps untouched.

    Missing values (empty cells) become missing timestamps when the dataset has a gap
    policy; otherwise they are an error, as are values that are not numbers. A panel's
    observations are indexed by (id, time); one narrowed to a series (``one_series``) gives
    that series' alone, indexed by time.
    """
    if ds.layout == "m4_wide":
        if ds.series is not None:
            return load(ds, warn=False)
        panel = load_panel(ds, warn=False)
        return pd.concat(panel, names=["id", "time"])
    frames = [read_table(locate_file(ds, f), ds) for f in ds.files]
    raw = pd.concat(frames) if len(frames) > 1 else frames[0]
    year_month = next((f.attrs["year_month"] for f in frames if "year_month" in f.attrs), None)
    if ds.series is not None:
        ids = raw.index.get_level_values("id")
        if not (ids == ds.series).any():
            _pick(dict.fromkeys(ids), ds.series, source_of(replace(ds, series=None)))
        raw = raw[ids == ds.series].droplevel("id")
    raw.attrs.pop("year_month", None)
    if year_month is not None:
        raw.attrs["year_month"] = year_month
    return raw


def read_wide_panel(ds: Dataset) -> dict[str, np.ndarray]:
    """The series of an ``m4_wide`` dataset by id: each id's values in every file, concatenated in the
    catalog's file order (M4: the training values, then the test values)."""
    per_file = [(f.name, read_wide(locate_file(ds, f))) for f in ds.files]
    first_name, first = per_file[0]
    for name, values in per_file[1:]:
        for a, b, names in ((first, values, (first_name, name)), (values, first, (name, first_name))):
            missing = [sid for sid in a if sid not in b]
            if missing:
                raise BenchError(f"{ds.name}: series {missing[0]!r} is in {names[0]} but not in {names[1]}"
                                 + (f" ({len(missing)} such series)" if len(missing) > 1 else ""))
    return {sid: np.concatenate([values[sid] for _, values in per_file]) for sid in first}


def read_wide(path: Path) -> dict[str, np.ndarray]:
    """One file of the M4 layout: a header row, then one row per series, its id and then its values;
    a shorter series' row ends in empty cells. No timestamps. A gap inside a row, a value that is not
    a finite number, an empty or repeated id are errors naming the line."""
    sep, encoding = _sniff(path, "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    except (ValueError, OSError) as exc:
        raise BenchError(f"{path}: not a readable CSV file ({_one_line(exc)})") from None
    if frame.empty or frame.shape[1] < 2:
        raise BenchError(f"{path}: no series rows below the header (one row per series: its id, then its values)")
    ids = frame.iloc[:, 0].fillna("").str.strip().to_numpy()
    text = np.char.strip(frame.iloc[:, 1:].fillna("").to_numpy(dtype=str))
    lines = np.arange(len(frame)) + 2          # file line of each row: the header is line 1
    filled = text != ""
    values = np.full(text.shape, np.nan)
    try:
        values[filled] = text[filled].astype(float)
    except ValueError:
        values[filled] = pd.to_numeric(pd.Series(text[filled]), errors="coerce").to_numpy(dtype=float)
    problems = [(~np.isfinite(values) & filled, "a value that is not a finite number"),
                (np.c_[~filled[:, :-1] & filled[:, 1:], np.zeros(len(filled), bool)], "an empty cell before its last value")]
    empty_id = ids == ""
    if empty_id.any():
        raise BenchError(f"{path}: line {lines[int(np.argmax(empty_id))]} has no series id in its first column")
    repeated = pd.Series(ids).duplicated(keep=False).to_numpy()
    if repeated.any():
        at = lines[repeated]
        raise BenchError(f"{path}: series id {ids[repeated][0]!r} appears on lines {at[0]} and {at[1]}")
    for bad, what in problems:
        if bad.any():
            row, col = map(int, np.argwhere(bad)[0])     # text's column col is the file's column col + 1
            raise BenchError(f"{path}: series {ids[row]!r} has {what} (line {lines[row]}, column "
                             f"{frame.columns[col + 1]!r}" + (f" is {str(text[row, col])!r})" if filled[row, col] else ")"))
    counts = filled.sum(axis=1)
    if (counts == 0).any():
        row = int(np.argmax(counts == 0))
        raise BenchError(f"{path}: series {ids[row]!r} (line {lines[row]}) has no values")
    return {sid: values[i, :counts[i]] for i, sid in enumerate(ids)}


def read_header(path: Path, *, where: str = "") -> list[str]:
    """The column names of a CSV; errors for a missing, empty, binary or headless file."""
    sep, encoding = _sniff(path, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            columns = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding).columns
    except (ValueError, OSError) as exc:
        raise BenchError(f"{path}: not a readable CSV file ({_one_line(exc)})") from None
    # pandas renames a repeated name ("value" twice: "value", "value.1"), so that a column the user
    # never wrote could be read as the one they named; the header as written says which repeats.
    with open(path, encoding=encoding, newline="") as fh:
        written = next(csv.reader(fh, delimiter=sep), [])
    seen: dict[str, int] = {}
    for number, name in enumerate(written, start=1):
        if name.strip() and name in seen:
            raise BenchError(f"{path}: the header names column {name!r} twice (columns {seen[name]} and {number}); "
                             f"rename one of them")
        seen[name] = number
    return [str(c) for c in columns]


def _sniff(path: Path, where: str) -> tuple[str, str]:
    """(separator, encoding) from the first line; a one-line error for an unusable file."""
    label = f"{where}: " if where else ""
    if path.is_dir():
        raise BenchError(f"{label}{path} is a directory, not a CSV file")
    if not path.is_file():
        raise BenchError(f"{label}no file {path}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise BenchError(f"{label}cannot read {path} ({exc.strerror or exc})") from None
    if not head.strip():
        raise BenchError(f"{path}: the file is empty")
    if b"\x00" in head:
        raise BenchError(f"{path}: a binary file, not CSV text")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(head) < 1 << 16 or exc.start < len(head) - 4:  # not a character cut by the block end
            raise BenchError(f"{path}: not UTF-8 text (byte 0x{head[exc.start]:02x} at offset {exc.start}); "
                             f"save it as UTF-8 CSV") from None
        text = head[:exc.start].decode("utf-8-sig")
    first = next(line for line in text.splitlines() if line.strip())
    counts = {s: first.count(s) for s in _SEPARATORS}
    sep = "," if counts[","] else max(counts, key=counts.get) if any(counts.values()) else ","
    return sep, "utf-8-sig"


def read_table(path: Path, ds: Dataset) -> pd.Series:
    """One file's (time, value) pairs as a float Series on a DatetimeIndex named ``time``; a panel's
    (id, time, value) rows on an index of (``id``, ``time``)."""
    opt = (lambda key: f" ({USER_OPTIONS[key]})") if ds.origin == "user" else (lambda key: "")
    columns = read_header(path)
    for key in ("time_column", "value_column") + (("id_column",) if ds.id_column is not None else ()):
        col = getattr(ds, key)
        if col not in columns:
            raise BenchError(f"{path}: no column {col!r}{opt(key)}; the columns are {_listing(columns)}")
    sep, encoding = _sniff(path, "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(path, sep=sep, usecols=[ds.time_column, ds.value_column], dtype=str,
                                encoding=encoding)
    except (ValueError, OSError) as exc:   # ParserError and UnicodeDecodeError are ValueErrors
        raise BenchError(f"{path}: not a readable CSV file ({_one_line(exc)})") from None
    if frame.empty:
        raise BenchError(f"{path}: no data rows below the header")
    lines = np.arange(len(frame)) + 2          # file line of each row: the header is line 1
    ids = None
    if ds.id_column is not None:
        # Read apart, without pandas' missing-value words: "NA" is a fine id (North America).
        try:
            ids = pd.read_csv(path, sep=sep, usecols=[ds.id_column], dtype=str, keep_default_na=False,
                              encoding=encoding)[ds.id_column].str.strip().to_numpy(dtype=object)
        except (ValueError, OSError) as exc:
            raise BenchError(f"{path}: not a readable CSV file ({_one_line(exc)})") from None
        if (ids == "").any():
            raise BenchError(f"{path}: column {ds.id_column!r}{opt('id_column')} is empty on line "
                             f"{lines[int(np.argmax(ids == ''))]}; every row needs its series id")
    at = (lambda i: f"line {lines[i]}") if ids is None else (lambda i: f"line {lines[i]}, series {ids[i]!r},")

    text_t = frame[ds.time_column].str.strip()
    times = None if ds.time_format else _year_month(text_t)
    year_month = None if times is None else text_t.dropna().iloc[0]
    if times is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                times = pd.to_datetime(text_t, format=ds.time_format, errors="coerce")
        except (ValueError, TypeError) as exc:
            raise BenchError(f"{path}: column {ds.time_column!r}{opt('time_column')} cannot be read as "
                             f"timestamps ({_one_line(exc)})") from None
    bad_t = times.isna().to_numpy()
    if bad_t.any():
        i = int(np.argmax(bad_t))
        what = "is empty" if pd.isna(text_t.iloc[i]) else f"is {text_t.iloc[i]!r}"
        fmt = f"format {ds.time_format!r}" if ds.time_format else "the format of the first rows"
        raise BenchError(f"{path}: column {ds.time_column!r}{opt('time_column')} has "
                         f"{'1 value that is not a timestamp' if bad_t.sum() == 1 else f'{int(bad_t.sum())} values that are not timestamps'} in {fmt} ({at(i)} {what})"
                         + ("; pass --time-format, e.g. %d/%m/%Y" if ds.origin == "user" and not ds.time_format
                            else ""))

    text_v = frame[ds.value_column]
    cleaned = text_v.str.replace(ds.thousands, "", regex=False) if ds.thousands else text_v
    values = pd.to_numeric(cleaned.str.strip(), errors="coerce").to_numpy(dtype=float)
    missing = (text_v.isna() | (text_v.str.strip() == "")).to_numpy()
    bad_v = ~np.isfinite(values) & ~missing
    problems = []
    if bad_v.any():
        i = int(np.argmax(bad_v))
        problems.append(f"{_n(int(bad_v.sum()), 'non-numeric value')} ({at(i)} is {text_v.iloc[i]!r})")
    if missing.any() and (bad_v.any() or ds.gaps == "error"):
        hint = " ; --fill interpolate|ffill treats them as gaps" if ds.origin == "user" else ""
        problems.append(f"{_n(int(missing.sum()), 'missing value')} (first on {at(int(np.argmax(missing)))})".replace(",)", ")")
                        + hint.replace(" ;", ";"))
    if problems:
        raise BenchError(f"{path}: column {ds.value_column!r}{opt('value_column')} has {' and '.join(problems)}")
    keep = ~missing
    if ids is not None:
        read = pd.Series(values[keep], index=pd.MultiIndex.from_arrays(
            [ids[keep], pd.DatetimeIndex(times[keep])], names=["id", "time"]))
    else:
        read = pd.Series(values[keep], index=pd.DatetimeIndex(times[keep], name="time"))
    if year_month is not None:
        read.attrs["year_month"] = year_month       # for the note that says so (year_month_note)
    return read


def year_month_note(raw: pd.Series, ds: Dataset) -> str:
    """What a warning says when the time column held year-month labels read as months (``_year_month``); "" otherwise."""
    first = raw.attrs.get("year_month")
    if not first:
        return ""
    year, month = map(int, first.split("-"))
    return (f"{source_of(ds)}: read column {ds.time_column!r} as years and months ({first!r}: month {month} of "
            f"year {year}); a two-digit year such as '98-01' for 1998 needs --time-format %y-%m")


_YEAR_MONTH = re.compile(r"(\d{1,4})-(\d{1,2})")


def _year_month(text: pd.Series) -> pd.Series | None:
    """Labels of a year and a month, ``Y-MM``, with a year of fewer than four digits (``1-01``: month 1
    of year 1), as the first of their months; None for any other column.

    pandas reads ``1949-01`` as January 1949 on its own, but hands ``1-01`` to dateutil, which reads it
    as a month and a day (January 1st, then 2nd, 3rd...): a monthly series becomes days with gaps.
    Every value must be such a label with a month from 1 to 12 (a day-less column); empty values
    stay missing, to be reported as such.
    """
    given = text.dropna()
    if given.empty or not _YEAR_MONTH.fullmatch(given.iloc[0]):       # most columns: one look suffices
        return None
    parts = given.str.extract(_YEAR_MONTH.pattern.join(["^", "$"]))
    if parts.isna().any().any() or not (parts[0].str.len() < 4).any():
        return None
    year, month = parts[0].astype(int), parts[1].astype(int)
    if not month.between(1, 12).all() or not (year >= 1).all():
        return None
    stamps = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
    return stamps.reindex(text.index)


def _stamp(t: pd.Timestamp) -> str:
    return str(t.date()) if t == t.normalize() else str(t)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _listing(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _steps_seen(index: pd.DatetimeIndex) -> str:
    idx = pd.DatetimeIndex(index).unique().sort_values()
    steps = pd.Series(idx[1:] - idx[:-1]).value_counts().head(3)
    return ", ".join(f"{step} x{count}" for step, count in steps.items()) or "none"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _warn(message: str) -> None:
    warnings.warn(message, BenchWarning, stacklevel=3)


# A fill is suggested (and done without a warning) only where it invents at most this share of the
# points: more missing timestamps than that say the timestamps were misread (a monthly "1-01" read as
# days) or the frequency is wrong, not that a few values are missing.
MAX_FILL_SHARE = 0.05


def fill_is_small(n_missing: int, n_points: int) -> bool:
    """Whether filling ``n_missing`` of ``n_points`` timestamps invents at most ``MAX_FILL_SHARE`` of them."""
    return n_missing <= MAX_FILL_SHARE * n_points


def regularize(raw: pd.Series, *, frequency: str, calendar: str = "regular",
               duplicates: str = "error", gaps: str = "error", source: str,
               options: Mapping[str, str] | None = None, warn: bool = True) -> pd.Series:
    """Sort, resolve duplicate timestamps, and put the series on a regular step.

    Every repair is an explicit policy; the default for each is an error that says
    what was found, so nothing is silently invented or dropped. ``options`` names how
    the user sets each policy (e.g. ``{"gaps": "--fill"}``) for the hint in the error.
    A fill is suggested only where it would invent at most ``MAX_FILL_SHARE`` of the points;
    one that invents more, when chosen, is done with a warning (``warn``).
    """
    hint = (lambda key, choices: f"; choose {options[key]} {choices}" if options and key in options else "")
    values = raw.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = raw.index[bad][0]
        raise BenchError(f"{source}: {int(bad.sum())} missing or non-numeric values (first at {first})")
    _check_magnitude(values, lambda i: str(raw.index[i]), source)
    if len(raw) == 0:
        raise BenchError(f"{source}: no observations")
    y = raw.sort_index(kind="stable")
    dup = y.index.duplicated(keep=False)
    if dup.any():
        if duplicates == "error":
            shown = ", ".join(str(t) for t in y.index[dup].unique()[:3])
            raise BenchError(f"{source}: {int(y.index.duplicated().sum())} duplicate timestamps "
                             f"(first: {shown}){hint('duplicates', 'mean|sum|last')}")
        y = y.groupby(level=0).agg(duplicates)
    if calendar == "observed":
        return _on_observed_calendar(y, frequency, source)
    full = pd.date_range(y.index[0], y.index[-1], freq=frequency, name="time")
    if not y.index.isin(full).all():
        odd = y.index[~y.index.isin(full)][0]
        check = f" (check {options['frequency']})" if options and "frequency" in options else ""
        raise BenchError(f"{source}: timestamp {odd} is not on the {frequency!r} grid "
                         f"starting at {y.index[0]}{check}")
    missing = full.difference(y.index)
    if len(missing):
        small = fill_is_small(len(missing), len(full))
        share = f"{len(missing)} of the {len(full)} points ({len(missing) / len(full):.0%})"
        if gaps == "error":
            if small:
                advice = hint("gaps", "interpolate|ffill")
            else:
                check = (f" ({options['frequency']}, {options['time_format']})"
                         if options and "frequency" in options else "")
                advice = (f"; filling them would invent {share}: check that the timestamps are read right "
                          f"and the frequency is theirs{check}")
            calendar_hint = (", or --calendar observed for trading days"
                             if options and frequency in ("B", "C") else "")
            raise BenchError(f"{source}: {len(missing)} missing timestamps at frequency "
                             f"{frequency!r} (first gap at {missing[0]}){advice}{calendar_hint}")
        if warn and not small:
            warnings.warn(f"{source}: the {gaps} fill invents {share} at frequency {frequency!r}; its values "
                          f"are not observations", BenchWarning, stacklevel=3)
        y = y.reindex(full)
        y = y.interpolate(method="linear") if gaps == "interpolate" else y.ffill()
    y.index = full
    return y


def _check_magnitude(values: np.ndarray, where: Callable[[int], str], source: str) -> None:
    """No value beyond ``MAX_ABS_VALUE``; ``where(i)`` names the position of value ``i`` in the error."""
    huge = np.abs(values) > MAX_ABS_VALUE
    if huge.any():
        i = int(np.argmax(huge))
        raise BenchError(f"{source}: {_n(int(huge.sum()), 'value')} beyond +-{MAX_ABS_VALUE:g} (first: {values[i]:g} "
                         f"at {where(i)}), where forecast errors cannot be squared and averaged in floating "
                         f"point; rescale the series (e.g. to thousands or millions of its unit)")


def _on_observed_calendar(y: pd.Series, frequency: str, source: str = "") -> pd.Series:
    weekdays = pd.date_range(y.index[0], y.index[-1], freq=frequency)
    stray = y.index.difference(weekdays)
    if len(stray):
        raise BenchError(f"{source + ': ' if source else ''}observation on a non-trading day {stray[0]}")
    closed = weekdays.difference(y.index)
    freq = pd.offsets.CustomBusinessDay(holidays=list(closed))
    return pd.Series(y.to_numpy(), index=pd.DatetimeIndex(y.index, freq=freq, name="time"))


# --------------------------------------------------------------------------- files and downloads

def locate_file(ds: Dataset, f: CatalogFile) -> Path:
    return find_file(ds, f)[0]


def find_file(ds: Dataset, f: CatalogFile, *, replace_damaged: bool = False) -> tuple[Path, str]:
    """The verified file and where it came from, downloading it into the cache if need be.

    A cached file that fails its sha256 is an error, or with ``replace_damaged`` (``fetch``) is
    downloaded again and replaced once the new one is verified; files of BENCH_DATA_DIR and
    the user's own are never replaced.
    """
    if f.path is not None:
        local = Path(f.path)
        if not local.is_file():
            raise BenchError(f"dataset {ds.name!r}: no file {local}")
        if f.sha256:
            check_sha256(local, f.sha256, origin=str(local))
        return local, "your file"
    data_dir = os.environ.get("BENCH_DATA_DIR")
    if data_dir:
        candidate = Path(data_dir) / ds.name / f.name
        if candidate.is_file():
            check_sha256(candidate, f.sha256, origin=str(candidate))
            return candidate, "in BENCH_DATA_DIR"
    cached = cache_dir() / ds.name / f.name
    damaged = ""
    if cached.is_file():
        actual = sha256_of(cached)
        if actual == f.sha256:
            return cached, "cached"
        damaged = f"{cached}: sha256 mismatch (expected {f.sha256}, got {actual})"
        if not replace_damaged:
            raise BenchError(f"{damaged}; `python -m bench fetch {ds.name}` downloads it again and replaces it")
    if not f.url and mirror_url() is None:
        raise BenchError(f"{damaged + '; ' if damaged else ''}dataset {ds.name!r}: {f.name} has no download URL "
                         f"(it is transcribed from {f.source}); put it in $BENCH_DATA_DIR/{ds.name}/ or serve it "
                         f"with BENCH_MIRROR")
    url = download_url(ds, f)
    try:
        download(url, cached, f.sha256)
    except BenchError as exc:
        if damaged:
            raise BenchError(f"{damaged}; downloading a replacement failed: {exc}; the cached file is left as "
                             f"it was") from None
        raise
    return cached, f"downloaded from {url}" + (f", replacing a cached file that failed its sha256 (got {actual})"
                                               if damaged else "")


def find_published(ds: Dataset) -> list[Path]:
    """The dataset's verified published-results files, less those that are nowhere to be had.

    A file that is found but fails its sha256 is an error, as any data file's is.
    """
    found = []
    for f in ds.published:
        try:
            found.append(find_file(ds, f)[0])
        except BenchError as exc:
            if "sha256 mismatch" in str(exc):
                raise
    return found


def download_url(ds: Dataset, f: CatalogFile) -> str:
    mirror = mirror_url()
    if mirror is None:
        return f.url
    return f"{mirror}/{urllib.parse.quote(ds.name)}/{urllib.parse.quote(f.name)}"


def mirror_url() -> str | None:
    """``$BENCH_MIRROR`` without its trailing slash; None when unset."""
    mirror = os.environ.get("BENCH_MIRROR")
    if not mirror:
        return None
    parts = urllib.parse.urlsplit(mirror)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BenchError(f"BENCH_MIRROR: {mirror!r} is not an http:// or https:// URL "
                         f"(e.g. http://127.0.0.1:8000, serving <dataset>/<file>)")
    return mirror.rstrip("/")


def fetch(names: Iterable[str] | None = None) -> Iterator[tuple[Dataset, CatalogFile, Path, str]]:
    """Verify, and download into the cache if need be, every file of ``names`` (default: the project
    catalog), so that later runs need no network; yields each file with ``find_file``'s answer.
    A cached file that fails its sha256 is downloaded again and replaced."""
    # Every name and the mirror are checked before the first download.
    datasets = [get_dataset(name) for name in (names or catalog_names())]
    mirror_url()
    for ds in datasets:
        for f in ds.files:
            # Even a file already cached: a download killed mid-way may have left a part of it beside it.
            remove_stale_parts(cache_dir() / ds.name / f.name)
            yield ds, f, *find_file(ds, f, replace_damaged=True)
        for f in ds.published:
            remove_stale_parts(cache_dir() / ds.name / f.name)
            try:
                yield ds, f, *find_file(ds, f, replace_damaged=True)
            except BenchError as exc:     # a table shown beside the results: a run does not need it
                yield ds, f, None, f"not fetched ({exc})"

