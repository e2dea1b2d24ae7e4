"""Is the Keras/PyTorch global-GRU gap the weight initialisation? Not a pytest file.

The global GRU twins share windows, batch order, loss, optimiser and early stopping; what
differs is each library's default initialisation. This trains the PyTorch global GRU on
M4 hourly (the m4_hourly suite's configuration, lookback 168) with Keras's initialisers
instead of torch's: input kernel Glorot-uniform over the whole (inputs x 3 units) matrix,
recurrent kernel orthogonal over the whole (units x 3 units) matrix, biases zero. If the
gap is the initialisation, its sMAPE moves from torch's towards Keras's.

    python benchmarks/global_gru_init.py --seed 0 [--init keras|torch]

One seed per process, one thread; prints one JSON line: seed, init, sMAPE, MASE (means over
the 414 series' test spans, M4's definitions) and the fit's CPU seconds.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def keras_initialisation(net) -> None:
    import torch
    from torch import nn

    for name, weight in net.rnn.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_ih"):                    # (3 units, inputs): Keras's (inputs, 3 units)
                limit = math.sqrt(6.0 / (weight.shape[0] + weight.shape[1]))
                weight.uniform_(-limit, limit)
            elif name.startswith("weight_hh"):                  # (3 units, units): Keras's (units, 3 units)
                nn.init.orthogonal_(weight)
            else:
                weight.zero_()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", choices=["keras", "torch"], default="keras")
    args = parser.parse_args()

    from bench.executor import limit_threads

    limit_threads()
    from bench import data, forecaster, metrics, runner
    from rnn_models import global_torch

    if args.init == "keras":
        original = global_torch.GlobalNet.__init__

        def patched(self, cfg):
            original(self, cfg)
            keras_initialisation(self)
        global_torch.GlobalNet.__init__ = patched

    ds = data.get_dataset("m4_hourly")
    panel = data.load_panel(ds)
    model = forecaster.build("global_gru_torch", {"lookback": 168}, season_length=ds.season_length,
                             seed=args.seed, horizon=ds.split.horizon)
    started = time.process_time()
    walks = runner.walk_global(model, panel, ds.split, ds.season_length)
    cpu_s = time.process_time() - started
    smapes, mases = [], []
    for sid, walk in walks.items():
        history = panel[sid].to_numpy(float)[:walk.origin_positions[0]]
        smapes.append(float(metrics.smape(y_true=walk.actuals, y_pred=walk.forecasts)))
        mases.append(float(metrics.mase(y_true=walk.actuals, y_pred=walk.forecasts, y_train=history,
                                        season_length=ds.season_length)))
    print(json.dumps({"seed": args.seed, "init": args.init, "smape": np.mean(smapes), "mase": np.mean(mases),
                      "cpu_s": cpu_s}))


if __name__ == "__main__":
    main()
