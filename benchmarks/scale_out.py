"""Wall time and peak memory of a whole suite run: local workers and a Dask LocalCluster.

Not a pytest-benchmark test: one configuration takes tens of minutes, so each is run
once, in sequence, on the same machine, and compared within that one invocation.

    python benchmarks/scale_out.py --suite default --seeds 1 --workers 1 2 --dask 2

Each configuration runs ``python -m bench run`` in a fresh output folder (so every one
starts with the same cell order: no timing history) while this script samples, every
half second, the resident set of the main process and of every worker process (local
workers are its children; Dask workers are children of this script's LocalCluster).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench import api

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# As the pytest benchmarks: the datasets come from ../shared/data when it exists, unless told
# otherwise; without it, from the loader's cache or a verified download.
if (REPO.parent / "shared" / "data").is_dir():
    os.environ.setdefault("BENCH_DATA_DIR", str(REPO.parent / "shared" / "data"))


def peak_rss_mb(proc: psutil.Process) -> float:
    """The kernel's high-water mark of the process's resident set (VmHWM), in MiB."""
    with open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return proc.memory_info().rss / MB


class PeakRss:
    """Polls the kernel's peak RSS of the main process and of each worker process.

    The kernel keeps each process's peak (VmHWM), so polling misses only what a worker
    reaches in its last half second.
    """

    def __init__(self, main: psutil.Process, workers_of: psutil.Process):
        self.main, self.workers_of = main, workers_of
        self.main_mb = self.worker_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.main_mb = max(self.main_mb, peak_rss_mb(self.main))
                workers = [p for p in self.workers_of.children(recursive=True) if p.pid != self.main.pid]
            except (psutil.NoSuchProcess, FileNotFoundError):
                continue
            for proc in workers:
                try:
                    self.worker_mb = max(self.worker_mb, peak_rss_mb(proc))
                except (psutil.NoSuchProcess, FileNotFoundError):
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_once(label: str, bench_args: list[str], out: Path, cluster=None) -> dict:
    cmd = [sys.executable, "-m", "bench", "run", *bench_args, "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    main = psutil.Process(proc.pid)
    # Local workers are the run's children; Dask workers belong to this script's cluster.
    sampler = PeakRss(main, psutil.Process() if cluster else main)
    _, stderr = proc.communicate()
    wall_s = time.perf_counter() - started
    sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{label}: `{' '.join(cmd)}` exited {proc.returncode}:\n{stderr[-2000:]}")
    statuses = api.load(out).cells["status"]
    return {"config": label, "wall_s": wall_s, "cells": len(statuses),
            "ok": int((statuses == "ok").sum()), "main_mb": sampler.main_mb, "worker_mb": sampler.worker_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="local worker counts to time")
    parser.add_argument("--dask", type=int, nargs="*", default=[2], help="LocalCluster worker counts to time")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each configuration's store and reports in DIR/<configuration>")
    args = parser.parse_args()
    if not args.workers and not args.dask:
        parser.error("nothing to time: give --workers N... and/or --dask N...")
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty (an old store would change the cell order)")
    base = ["--suite", args.suite, *(["--seeds", str(args.seeds)] if args.seeds else [])]
    rows = []
    with tempfile.TemporaryDirectory(prefix="scale_out_") as tmp:
        tmp = args.keep or tmp
        for n in args.workers:
            rows.append(run_once(f"--workers {n}", [*base, "--workers", str(n)], Path(tmp) / f"w{n}"))
            print(rows[-1], file=sys.stderr, flush=True)
        for n in args.dask:
            from distributed import LocalCluster

            # Dask's nanny gives its workers OMP/MKL/OPENBLAS_NUM_THREADS=1; the harness
            # limits torch and TensorFlow itself on each worker.
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster:
                rows.append(run_once(f"Dask LocalCluster, {n} workers",
                                     [*base, "--cluster", cluster.scheduler_address], Path(tmp) / f"d{n}",
                                     cluster=cluster))
            print(rows[-1], file=sys.stderr, flush=True)
    first = rows[0]["wall_s"]
    print(f"\nsuite {args.suite}, seeds {args.seeds or 'as the suite'}, {os.cpu_count()} cores\n")
    print("| configuration | cells ok | wall time | speed-up vs first | peak RSS main | peak RSS worker |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['ok']}/{r['cells']} | {r['wall_s']:.0f} s | {first / r['wall_s']:.2f}x "
              f"| {r['main_mb']:.0f} MB | {r['worker_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
