import os
from pathlib import Path

# One BLAS/OpenMP thread, as in the harness's workers: OpenBLAS reads this once, when numpy
# is first imported, and multi-threaded BLAS on a shared 2-core machine measures contention.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest

from bench import data

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests read the real datasets from ../shared/data unless the caller points elsewhere;
# they never download and never touch the user's cache. The path is made absolute
# because some tests run the CLI from another working directory.
os.environ["BENCH_DATA_DIR"] = str(Path(os.environ.get("BENCH_DATA_DIR", SHARED_DATA)).resolve())


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
