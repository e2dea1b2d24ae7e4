import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests read the real datasets from ../shared/data unless the caller points elsewhere;
# they never download and never touch the user's cache.
os.environ.setdefault("BENCH_DATA_DIR", str(SHARED_DATA))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
