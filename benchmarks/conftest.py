import os
from pathlib import Path

os.environ.setdefault("BENCH_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
