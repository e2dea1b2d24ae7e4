import os
from pathlib import Path

# One BLAS/OpenMP thread, as in the harness's workers: OpenBLAS reads this once, when numpy
# is first imported, and multi-threaded BLAS on a shared 2-core machine measures contention.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

os.environ.setdefault("BENCH_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
