"""Training throughput of the global recurrent networks: the harness's fit against a bare loop.

For one global network on the M4 hourly panel (the 414 training parts before the test
span), on one thread:

- **harness**: ``model.fit(panel)`` as the runner calls it (per-series scaling and the
  seasonality test, windowing, the training loop with its validation checks and early
  stopping), CPU seconds by ``time.process_time``; windows per second = optimiser steps
  run x batch size / CPU seconds;
- **bare loop**: the same network, optimiser, loss and batch size on one batch of random
  windows of the same shape, for the same number of steps, nothing else (no windows
  gathered, no validation): the floor any harness can reach.

GFLOP/s counts the forward pass's multiply-adds (``global_base.flops_per_window``) times 3
for forward and backward, the usual estimate for dense layers.

    OMP_NUM_THREADS=1 BENCH_DATA_DIR=../shared/data taskset -c 1 \\
        python benchmarks/global_rnn_throughput.py global_lstm_torch '{"lookback": 168}'
"""
from __future__ import annotations

import json
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
             "TF_NUM_INTEROP_THREADS"):
    os.environ[_var] = "1"

import numpy as np

from bench import data, forecaster
from rnn_models.global_base import chunk_of, flops_per_window


WARM_UP_STEPS = 50


def bare_torch(model, cfg, steps: int, batch: int) -> float:
    import torch
    from rnn_models.global_torch import _LOSS, GlobalNet

    torch.manual_seed(cfg.seed)
    net = GlobalNet(cfg)
    chunk = chunk_of(cfg.season_length)
    x = torch.randn(batch, cfg.lookback // chunk, chunk) * 0.1
    y = torch.randn(batch, cfg.horizon) * 0.1
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, eps=1e-7)
    loss_fn = _LOSS[model.loss]
    net.train()
    cpu = time.process_time()
    for _ in range(steps):
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.process_time() - cpu


def bare_keras(model, cfg, steps: int, batch: int) -> float:
    from rnn_models.global_keras import build_network
    from rnn_models.keras_rnn import _keras

    _, tf = _keras()
    net = build_network(cfg, model.loss)
    chunk = chunk_of(cfg.season_length)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((batch, cfg.lookback // chunk, chunk)) * 0.1).astype(np.float32)
    y = (rng.standard_normal((batch, cfg.horizon)) * 0.1).astype(np.float32)
    batches = tf.data.Dataset.from_tensors((x, y)).repeat()
    net.fit(batches, epochs=1, steps_per_epoch=2, verbose=0)            # tracing, untimed
    cpu = time.process_time()
    net.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.process_time() - cpu


def main(name: str, params: dict) -> dict:
    if "torch" in name:
        import torch
        torch.set_num_threads(1)
    panel = {sid: y.iloc[:-48] for sid, y in data.load_panel(data.get_dataset("m4_hourly"), warn=False).items()}
    model = forecaster.build(name, params, season_length=24, seed=0, horizon=48)
    model.load_libraries()
    cfg = model.config()
    bare = bare_torch if "torch" in name else bare_keras
    # Both measurements warm: the framework's first steps (allocations, kernel selection) cost the
    # same whichever loop runs first, so a short bare loop pays them, untimed.
    bare(model, cfg, WARM_UP_STEPS, 512)
    cpu = time.process_time()
    model.fit(panel)
    harness_s = time.process_time() - cpu
    info = model.fit_info()
    steps, batch = int(info["steps_run"]), int(info["batch_size"])
    bare_s = bare(model, cfg, steps, batch)
    flops = 3 * flops_per_window(cfg)
    windows = steps * batch
    return {"model": name, "params": params, "n_params": model.n_params(), "steps": steps, "batch": batch,
            "harness_cpu_s": round(harness_s, 1), "bare_cpu_s": round(bare_s, 1),
            "harness_windows_per_s": round(windows / harness_s), "bare_windows_per_s": round(windows / bare_s),
            "harness_gflops": round(windows * flops / harness_s / 1e9, 2),
            "bare_gflops": round(windows * flops / bare_s / 1e9, 2),
            "overhead_pct": round(100 * (harness_s / bare_s - 1), 1)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})))
