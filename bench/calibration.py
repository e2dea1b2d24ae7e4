"""A fixed workload timed in every run, so timings from different machines can be compared.

Fit and predict times are divided by this run's calibration time before two runs are
compared: a machine twice as fast halves both. The workload mixes what models spend
their time on: array arithmetic (numpy, as statsmodels' filters do) and a small
recurrent network's forward and backward pass (torch, as the neural models do). Both
run on one thread, as cells do in the harness's workers; multi-threaded BLAS on a busy
machine measures the contention, not the machine.
"""
from __future__ import annotations

import functools
import time

import numpy as np

REPEATS = 9


def _numpy_workload() -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1 << 16)
    for _ in range(4):
        x = np.sort(np.abs(np.fft.fft(x).real)) / len(x)
    return float(x.sum())


def _torch_workload() -> float:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size=1, hidden_size=32, batch_first=True)
    x = torch.randn(32, 24, 1)
    for _ in range(10):
        out, _ = lstm(x)
        out.sum().backward()
    torch.set_num_threads(threads)
    return float(out.detach().sum())


@functools.cache
def calibration_s() -> float:
    """Fastest wall seconds of the workload over several repeats (after one warm-up).

    The minimum, not the median: other processes can only slow a repeat down, so the
    fastest one is the best estimate of the machine's own speed. Measured once per process:
    the machine does not change between two runs of one notebook (or test session), and each
    measurement cost 1-2 s of every run.
    """
    try:
        import torch  # noqa: F401  (only: is it installed?)
        workloads = (_numpy_workload, _torch_workload)
    except ImportError:
        workloads = (_numpy_workload,)
    for work in workloads:
        work()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for work in workloads:
            work()
        times.append(time.perf_counter() - start)
    return min(times)
