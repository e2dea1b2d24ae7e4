import os
from pathlib import Path

# One BLAS/OpenMP thread, as in the harness's workers: OpenBLAS reads this once, when numpy
# is first imported, and multi-threaded BLAS on a shared 2-core machine measures contention.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The data folder beside the checkout, when there is one (as in CI); otherwise the loader's
# cache, or a verified download from the catalog (BENCH_MIRROR, `python -m bench fetch`).
_SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if _SHARED_DATA.is_dir():
    os.environ.setdefault("BENCH_DATA_DIR", str(_SHARED_DATA))
