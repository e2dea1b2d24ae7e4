"""Load a dataset from its catalog entry into a regular pd.Series.

Where a file comes from, in order: ``$BENCH_DATA_DIR/<dataset>/<file>``, the user
cache (``$BENCH_CACHE_DIR``, default ``~/.cache/bench``), else a download from the
catalog URL into the cache. Every file is checked against the catalog's sha256 before
it is parsed; a download goes to a temporary file that is renamed into place only
once its hash is right, so a bad file never sits in the cache.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.splits import WalkForward

CATALOG_DIR = Path(__file__).resolve().parent.parent / "datasets"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class CatalogFile:
    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    unit: str
    frequency: str
    season_length: int
    files: tuple[CatalogFile, ...]
    time_column: str
    value_column: str
    time_format: str | None
    split: WalkForward
    calendar: str = "regular"        # "observed": closed weekdays become holidays
    thousands: str | None = None
    duplicates: str = "error"        # or "mean", "sum", "last"
    gaps: str = "error"              # or "interpolate", "ffill"


def catalog_names() -> list[str]:
    return sorted(p.stem for p in CATALOG_DIR.glob("*.toml"))


def get_dataset(name: str) -> Dataset:
    path = CATALOG_DIR / f"{name}.toml"
    if not path.is_file():
        raise BenchError(f"unknown dataset {name!r}; the catalog has: {', '.join(catalog_names())}")
    return parse_catalog_entry(path)


def parse_catalog_entry(path: Path) -> Dataset:
    try:
        entry = tomllib.loads(path.read_text())
        split = entry.pop("split")
        files = tuple(CatalogFile(**f) for f in entry.pop("files"))
        return Dataset(files=files, split=WalkForward(**split), time_format=entry.pop("time_format", None),
                       **entry)
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise BenchError(f"{path}: invalid catalog entry ({exc})") from None


def load_series(name: str) -> pd.Series:
    return load(get_dataset(name))


def load(ds: Dataset) -> pd.Series:
    frames = [_read_csv(locate_file(ds, f), ds) for f in ds.files]
    raw = pd.concat(frames) if len(frames) > 1 else frames[0]
    return regularize(raw, frequency=ds.frequency, calendar=ds.calendar, duplicates=ds.duplicates,
                      gaps=ds.gaps, source=ds.name).rename(ds.name)


def _read_csv(path: Path, ds: Dataset) -> pd.Series:
    usecols = [ds.time_column, ds.value_column]
    try:
        frame = pd.read_csv(path, usecols=usecols, thousands=ds.thousands)
    except ValueError as exc:
        raise BenchError(f"{path}: {exc}") from None
    times = pd.to_datetime(frame[ds.time_column], format=ds.time_format)
    values = pd.to_numeric(frame[ds.value_column], errors="coerce")
    return pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(times, name="time"))


def regularize(raw: pd.Series, *, frequency: str, calendar: str = "regular",
               duplicates: str = "error", gaps: str = "error", source: str) -> pd.Series:
    """Sort, resolve duplicate timestamps, and put the series on a regular step.

    Every repair is an explicit policy; the default for each is an error that says
    what was found, so nothing is silently invented or dropped.
    """
    if raw.isna().any():
        first = raw.index[raw.isna()][0]
        raise BenchError(f"{source}: {int(raw.isna().sum())} missing or non-numeric values "
                         f"(first at {first})")
    y = raw.sort_index(kind="stable")
    dup = y.index.duplicated(keep=False)
    if dup.any():
        if duplicates == "error":
            shown = ", ".join(str(t) for t in y.index[dup].unique()[:3])
            raise BenchError(f"{source}: {int(y.index.duplicated().sum())} duplicate timestamps "
                             f"(first: {shown})")
        y = y.groupby(level=0).agg(duplicates)
    if calendar == "observed":
        return _on_observed_calendar(y, frequency)
    full = pd.date_range(y.index[0], y.index[-1], freq=frequency, name="time")
    if not y.index.isin(full).all():
        odd = y.index[~y.index.isin(full)][0]
        raise BenchError(f"{source}: timestamp {odd} is not on the {frequency!r} grid "
                         f"starting at {y.index[0]}")
    missing = full.difference(y.index)
    if len(missing):
        if gaps == "error":
            raise BenchError(f"{source}: {len(missing)} missing timestamps at frequency "
                             f"{frequency!r} (first gap at {missing[0]})")
        y = y.reindex(full)
        y = y.interpolate(method="linear") if gaps == "interpolate" else y.ffill()
    y.index = full
    return y


def _on_observed_calendar(y: pd.Series, frequency: str) -> pd.Series:
    weekdays = pd.date_range(y.index[0], y.index[-1], freq=frequency)
    stray = y.index.difference(weekdays)
    if len(stray):
        raise BenchError(f"observation on a non-trading day {stray[0]}")
    closed = weekdays.difference(y.index)
    freq = pd.offsets.CustomBusinessDay(holidays=list(closed))
    return pd.Series(y.to_numpy(), index=pd.DatetimeIndex(y.index, freq=freq, name="time"))


def locate_file(ds: Dataset, f: CatalogFile) -> Path:
    data_dir = os.environ.get("BENCH_DATA_DIR")
    if data_dir:
        candidate = Path(data_dir) / ds.name / f.name
        if candidate.is_file():
            _check_sha256(candidate, f.sha256, origin=str(candidate))
            return candidate
    cached = cache_dir() / ds.name / f.name
    if cached.is_file():
        _check_sha256(cached, f.sha256, origin=str(cached))
        return cached
    download(f.url, cached, f.sha256)
    return cached


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "bench")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, *, origin: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise BenchError(f"{origin}: sha256 mismatch (expected {expected}, got {actual})")


def download(url: str, dest: Path, sha256: str) -> None:
    """Fetch ``url`` into ``dest`` atomically; ``dest`` exists afterwards only if its hash is right."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            expected_bytes = resp.headers.get("Content-Length")
            n_bytes = 0
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
                n_bytes += len(block)
        if expected_bytes is not None and n_bytes != int(expected_bytes):
            raise BenchError(f"{url}: truncated download ({n_bytes} of {expected_bytes} bytes)")
        _check_sha256(tmp, sha256, origin=url)
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        raise BenchError(f"{url}: download failed ({exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def describe_index(y: pd.Series) -> str:
    """One line for listings: length, range and step."""
    return f"{len(y)} points, {y.index[0]} .. {y.index[-1]}, step {y.index.freqstr}"


def as_array(y: pd.Series) -> np.ndarray:
    return np.asarray(y, dtype=float)
