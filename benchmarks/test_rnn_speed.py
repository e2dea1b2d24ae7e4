"""Training throughput of the recurrent models: through the model class versus a bare loop.

For each cell (SimpleRNN, LSTM, GRU) in each framework, the same network is trained on the
same windows of monthly sunspots, once through ``Model.fit`` (windowing, scaling, seeding,
the shared training loop) and once as a bare loop (torch: nn.RNN/LSTM/GRU + Linear and
Adam over pre-made tensors; Keras: Sequential.compile + fit on pre-made arrays). Both
include building the network. Validation and early stopping are off, so both do exactly
``EPOCHS`` passes over ``n`` windows.

    pytest benchmarks/test_rnn_speed.py --benchmark-group-by=group
    OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 pytest benchmarks/test_rnn_speed.py

Each benchmark records windows per second and achieved GFLOP/s in ``extra_info``; the
GFLOP count is analytic: per window, time step, layer and direction, a forward pass costs
2 * gates * units * (inputs + units) multiply-adds' FLOPs, and a training step about three
forward passes (forward, and the two products of the backward pass). Element-wise gate
arithmetic and the head are left out, so the figure is a lower bound.

``test_model_class_overhead_is_at_most_10_percent`` runs the two in back-to-back pairs and
takes the median of the per-pair ratios of CPU seconds, which is robust to other load on
the machine.
"""
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench import data
from rnn_models import windows
from rnn_models.config import RNNConfig

CELLS = ["rnn", "lstm", "gru"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# The plain pipeline (the bare loop has no logs, deseasonalisation or per-window
# normalisation) with epochs of one pass, so both paths do the same number of steps.
PLAIN = dict(transform="none", deseasonalise=False, window_norm="none", output="recursive",
             steps_per_epoch="pass")
# The issue's reference shape: LSTM(64) on batches of 64 windows of 60 steps.
SHAPE = dict(units=64, lookback=60, batch_size=64, epochs=3, val_fraction=0.0, patience=0, **PLAIN)
N_POINTS = 1500


@pytest.fixture(scope="module")
def sunspots():
    return data.load_series("sunspots_monthly").iloc[:N_POINTS]


def model_class(framework, cell):
    if framework == "torch":
        from rnn_models import torch_rnn as module
        names = {"rnn": "TorchSimpleRNN", "lstm": "TorchLSTM", "gru": "TorchGRU"}
    else:
        from rnn_models import keras_rnn as module
        names = {"rnn": "KerasSimpleRNN", "lstm": "KerasLSTM", "gru": "KerasGRU"}
    return getattr(module, names[cell])


def through_model(framework, cell, y, **shape):
    model_class(framework, cell)(seed=0, **shape).fit(y)


_KERAS_BARE = {}


def bare_loop(framework, cell, x, t, *, units, batch_size, epochs, pipeline="tf.data", **_):
    """The same network and optimizer, nothing else."""
    if framework == "torch":
        rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](1, units, batch_first=True)
        head = nn.Linear(units, t.shape[1])
        optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-3, eps=1e-7)
        for _ in range(epochs):
            order = torch.randperm(len(x))
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                _, h = rnn(x[batch])
                h = h[0] if isinstance(h, tuple) else h
                loss = F.mse_loss(head(h[-1]), t[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    else:
        from rnn_models.keras_rnn import _keras
        keras, tf = _keras()
        key = (cell, units, x.shape, pipeline)
        if key not in _KERAS_BARE:      # traced once, as the model class's shared network
            layer = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
                     "gru": keras.layers.GRU}[cell]
            _KERAS_BARE[key] = keras.Sequential([keras.Input(shape=x.shape[1:]), layer(units),
                                                 keras.layers.Dense(t.shape[1])])
            _KERAS_BARE[key].compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                                     loss="mse", jit_compile=False)
        model = _KERAS_BARE[key]
        if pipeline == "arrays":        # the common idiom; Keras rebuilds its pipeline per epoch
            model.fit(x, t, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
        else:                           # the input pipeline the model class uses
            train = (tf.data.Dataset.from_tensor_slices((x, t))
                     .shuffle(len(x), reshuffle_each_iteration=True).batch(batch_size))
            model.fit(train, epochs=epochs, shuffle=False, verbose=0)


def prepared_arrays(framework, cell, y, shape):
    prepared = windows.prepare(y.to_numpy(), RNNConfig(cell=cell, **shape))
    x, t = prepared.x_train, prepared.y_train
    if framework == "torch":
        x, t = torch.from_numpy(x), torch.from_numpy(t)
    return x, t


def gflop_per_window(cell, *, units, lookback, **_):
    forward = 2 * GATES[cell] * units * (1 + units) * lookback
    return 3 * forward / 1e9


def record(benchmark, framework, cell, n_windows, shape):
    seconds = benchmark.stats.stats.min
    windows_per_s = shape["epochs"] * n_windows / seconds
    benchmark.extra_info.update(
        windows_per_s=round(windows_per_s),
        gflop_per_s=round(windows_per_s * gflop_per_window(cell, **shape), 2),
        ms_per_step=round(1000 * seconds / (shape["epochs"] * np.ceil(n_windows / shape["batch_size"])), 2),
        torch_threads=torch.get_num_threads(), **shape)


# Each cell's variants run back to back, so that they see the same load on the machine.
CASES = [(framework, cell, path)
         for framework in ("torch", "keras") for cell in CELLS
         for path in ("model_class", "bare_loop") + (("fit_on_arrays",) if framework == "keras" else ())]


@pytest.mark.parametrize("framework,cell,path", CASES)
def test_training_throughput(benchmark, framework, cell, path, sunspots):
    """model_class: Model.fit; bare_loop: the same network and optimizer, nothing else;
    fit_on_arrays (Keras only, for reference): Keras's fit on the arrays, its most common
    idiom, which rebuilds its input pipeline every epoch."""
    benchmark.group = f"train {framework} {cell}"
    x, t = prepared_arrays(framework, cell, sunspots, SHAPE)
    if path == "model_class":
        benchmark.pedantic(through_model, args=(framework, cell, sunspots), kwargs=SHAPE,
                           rounds=5, warmup_rounds=1)
    else:
        pipeline = "arrays" if path == "fit_on_arrays" else "tf.data"
        benchmark.pedantic(bare_loop, args=(framework, cell, x, t),
                           kwargs=dict(SHAPE, pipeline=pipeline), rounds=5, warmup_rounds=1)
    record(benchmark, framework, cell, len(x), SHAPE)


@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("cell", CELLS)
def test_model_class_overhead_is_at_most_10_percent(framework, cell, sunspots):
    # Paired rounds, each pair run back to back (alternating which goes first), CPU
    # seconds of this process, and the median of the per-pair ratios: drifting load from
    # other processes on a shared machine then cancels out. (Both paths use the caller's
    # thread count; with more than one thread, CPU time includes spin-waiting.)
    x, t = prepared_arrays(framework, cell, sunspots, SHAPE)
    paths = {"model": lambda: through_model(framework, cell, sunspots, **SHAPE),
             "bare": lambda: bare_loop(framework, cell, x, t, **SHAPE)}
    for run in paths.values():                                   # warm up both
        run()
    ratios, totals = [], {"model": 0.0, "bare": 0.0}
    for pair in range(9):
        seconds = {}
        for name in (("model", "bare") if pair % 2 == 0 else ("bare", "model")):
            started = time.process_time()
            paths[name]()
            seconds[name] = time.process_time() - started
            totals[name] += seconds[name]
        ratios.append(seconds["model"] / seconds["bare"])
    overhead = float(np.median(ratios)) - 1
    print(f"{framework} {cell}: model {totals['model'] / 9:.3f} s, bare {totals['bare'] / 9:.3f} s "
          f"(CPU, mean), median paired overhead {100 * overhead:+.1f}%")
    assert overhead <= 0.10


def test_torch_lstm_on_sunspots_as_in_the_issue(benchmark):
    """One-layer LSTM(32), lookback 24, 20 epochs, batch 32 on all of monthly sunspots.

    The issue's bare loop took 3.6 s for this on the 2-core machines.
    """
    from rnn_models.torch_rnn import TorchLSTM

    y = data.load_series("sunspots_monthly")
    shape = dict(units=32, lookback=24, batch_size=32, epochs=20, val_fraction=0.0, patience=0, **PLAIN)
    benchmark.group = "issue reference"
    benchmark.pedantic(lambda: TorchLSTM(seed=0, **shape).fit(y), rounds=3, warmup_rounds=0)
    record(benchmark, "torch", "lstm", len(y) - 24, shape)
