"""What a run records about where it ran, so its numbers can be reproduced."""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ["numpy", "pandas", "statsmodels", "prophet", "xgboost-cpu", "xgboost", "torch",
            "tensorflow", "keras"]
REPO = Path(__file__).resolve().parent.parent


def git_commit() -> str | None:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(calibrate: bool = True) -> dict:
    """Versions, machine, and the calibration time that makes timings comparable across machines."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    env = {"python": platform.python_version(), "packages": packages, "cpu": cpu_model(),
           "cores": os.cpu_count(), "platform": platform.platform()}
    if calibrate:
        from bench.calibration import calibration_s
        env["calibration_s"] = round(calibration_s(), 6)
    return env


def code_files() -> dict[str, str]:
    """The sha256 of every source file of the harness and the models, by path: what a run records,
    so that a resume can name the files that changed."""
    return {str(path.relative_to(REPO)): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            for folder in ("bench", "baselines", "rnn_models") for path in sorted((REPO / folder).rglob("*.py"))}


def code_version(files: dict[str, str] | None = None) -> str:
    """A hash of the harness and model sources: a resumed run reuses only cells computed by this code."""
    digest = hashlib.sha256()
    for path, file_hash in sorted((files if files is not None else code_files()).items()):
        digest.update(f"{path} {file_hash}\n".encode())
    return digest.hexdigest()[:16]


def series_hash(y) -> str:
    digest = hashlib.sha256(y.to_numpy(dtype="float64").tobytes())
    digest.update(y.index.asi8.tobytes())
    return digest.hexdigest()[:16]


def series_ids_hash(ids) -> str:
    """A hash of a dataset's set of series ids: sorted, since a file's order of its series is not what changed."""
    return hashlib.sha256("\0".join(sorted(ids)).encode()).hexdigest()[:16]
