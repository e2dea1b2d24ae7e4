import contextlib
import os
from pathlib import Path

# One BLAS/OpenMP thread, as in the harness's workers: OpenBLAS reads this once, when numpy
# is first imported, and multi-threaded BLAS on a shared 2-core machine measures contention.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest

from bench import data
from bench.errors import BenchError

REPO = Path(__file__).resolve().parent.parent
# Only a default for BENCH_DATA_DIR: CI's checkout sits beside this folder, a user's clone
# has nothing beside it. No test names it; tests get files through the loader.
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config):
    if not os.environ.get("BENCH_DATA_DIR") and SHARED_DATA.is_dir():
        os.environ["BENCH_DATA_DIR"] = str(SHARED_DATA)
    if not os.environ.get("BENCH_DATA_DIR"):
        os.environ["BENCH_DATA_DIR"] = str(_fetch_catalog())
    # Absolute, because some tests run the CLI from another working directory.
    os.environ["BENCH_DATA_DIR"] = str(Path(os.environ["BENCH_DATA_DIR"]).resolve())


def _fetch_catalog() -> Path:
    """The cache, filled by the loader (a verified download, from BENCH_MIRROR if set) once
    per session: it has BENCH_DATA_DIR's layout, and per-test caches then stay empty."""
    try:
        for _ in data.fetch():
            pass
    except BenchError as exc:
        pytest.exit(f"no BENCH_DATA_DIR, and the catalog could not be fetched: {exc}", returncode=4)
    return data.cache_dir()


def catalog_file(dataset: str, name: str) -> Path:
    """A catalog file's path as the loader finds it, for tests that craft files from the real data."""
    ds = data.get_dataset(dataset)
    return data.locate_file(ds, next(f for f in ds.files if f.name == name))


def damage_store(path: Path) -> None:
    """Overwrite 512 bytes in the middle of a SQLite file, from the start of a page: damage that
    SQLite's own check finds (asserted here, so that a test of it tests something)."""
    import sqlite3

    def read_only():
        return contextlib.closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True))

    with read_only() as db:
        page_size, n_pages = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    assert n_pages >= 4, "too small a store to damage in its middle"
    with open(path, "r+b") as fh:
        fh.seek(n_pages // 2 * page_size)
        fh.write(bytes(range(256)) * 2)
    with read_only() as db:
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
        except sqlite3.DatabaseError:
            pass        # too damaged to list what is damaged


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _private_user_catalog(tmp_path_factory, monkeypatch):
    # A test that registers a user series must never write into the real ~/.config.
    monkeypatch.setenv("BENCH_USER_CATALOG", str(tmp_path_factory.mktemp("user_catalog")))


# The catalog's series, loaded once per test session (tests must not modify them).
@pytest.fixture(scope="session")
def air():
    return data.load_series("air_passengers")


@pytest.fixture(scope="session")
def sunspots():
    return data.load_series("sunspots_monthly")


@pytest.fixture(scope="session")
def google():
    return data.load_series("google_stock")


@pytest.fixture(scope="session")
def energy():
    return data.load_series("energy_aep_hourly")
