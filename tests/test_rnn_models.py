"""The six recurrent models (SimpleRNN, LSTM, GRU in Keras and in PyTorch) on real data.

Slow tests (marked) train real networks for a few seconds each or start TensorFlow in a
subprocess; the rest use one or two epochs on short real series. Unless a test says
otherwise, the models run the default preset (logs, STL deseasonalisation, windows
normalised by their last value); ``PLAIN`` is the network of earlier versions.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import forecaster, runner
from bench.forecaster import ModelSkipped
from bench.splits import WalkForward
from rnn_models import torch_rnn, windows
from rnn_models.config import RNNConfig

REPO = Path(__file__).resolve().parent.parent
RNN_NAMES = ["rnn_keras", "lstm_keras", "gru_keras", "rnn_torch", "lstm_torch", "gru_torch"]
TORCH_NAMES = [n for n in RNN_NAMES if n.endswith("_torch")]
TINY = dict(units=4, lookback=12, epochs=1, batch_size=32)
PLAIN = dict(transform="none", deseasonalise=False, window_norm="none", scaler="minmax",
             output="recursive", steps_per_epoch="pass")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # These networks are tiny: a second intra-op thread buys little, and on a loaded
    # machine its spin-waiting makes torch several times slower. The models themselves
    # never change the thread count (a test below checks).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name, seed=0, season_length=12, **params):
    return forecaster.build(name, params, season_length=season_length, seed=seed)


def test_the_registry_maps_six_names_onto_the_right_cell_and_framework():
    for name in RNN_NAMES:
        cls = forecaster.get_entry(name).load()
        cell, framework = name.split("_")
        assert (cls.cell, cls.framework) == (cell, framework)
        assert forecaster.get_entry(name).seeded


def test_importing_the_model_modules_loads_neither_tensorflow_nor_keras():
    code = ("import sys, rnn_models.keras_rnn, rnn_models.torch_rnn; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# -- parameter counts ---------------------------------------------------------------------

def closed_form_n_params(framework, cell, *, units, layers=1, bidirectional=False, n_outputs=1):
    """Trainable weights of [cell] x layers -> Dense(n_outputs), input width 1.

    Per layer and direction: gates * units * (inputs + units + bias vectors), with 1 gate
    for the Elman RNN, 4 for the LSTM, 3 for the GRU. PyTorch keeps two bias vectors per
    gate (b_ih and b_hh) in every cell. Keras keeps one, except in the GRU, whose default
    reset_after=True needs a separate recurrent bias (the cuDNN formulation, as PyTorch).
    """
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    biases = 2 if framework == "torch" or cell == "gru" else 1
    directions = 2 if bidirectional else 1
    total, inputs = 0, 1
    for _ in range(layers):
        total += directions * gates * units * (inputs + units + biases)
        inputs = directions * units
    return total + inputs * n_outputs + n_outputs


@pytest.mark.parametrize("name", RNN_NAMES)
@pytest.mark.parametrize("shape", [
    dict(units=5),
    dict(units=7, layers=3, bidirectional=True, output="direct", horizon=4, dropout=0.1)])
@pytest.mark.slow
def test_n_params_is_the_frameworks_count_and_matches_the_closed_form(name, shape, air):
    model = build(name, **{**TINY, **shape}).fit(air)
    cell, framework = name.split("_")
    expected = closed_form_n_params(
        framework, cell, units=shape["units"], layers=shape.get("layers", 1),
        bidirectional=shape.get("bidirectional", False), n_outputs=shape.get("horizon", 1))
    assert model.n_params() == expected
    # The framework's own count of trainable weights, not our formula.
    if framework == "torch":
        assert expected == sum(p.numel() for p in model.net_.parameters())
    else:
        assert expected == sum(int(np.prod(w.shape)) for w in model.compiled_.model.trainable_weights)


@pytest.mark.slow
def test_keras_and_torch_differ_by_one_bias_vector_per_gate_except_for_the_gru(air):
    counts = {name: build(name, **{**TINY, "units": 10}).fit(air).n_params() for name in RNN_NAMES}
    assert counts["rnn_torch"] - counts["rnn_keras"] == 10          # b_hh: 1 gate x 10 units
    assert counts["lstm_torch"] - counts["lstm_keras"] == 4 * 10    # 4 gates
    assert counts["gru_torch"] == counts["gru_keras"]               # both keep two per gate


def test_n_params_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        build("lstm_torch").n_params()


# -- seeds, threads, random state ---------------------------------------------------------

@pytest.mark.parametrize("name", TORCH_NAMES)
def test_a_fixed_seed_gives_bitwise_identical_torch_results_run_to_run(name, sunspots):
    y = sunspots.iloc[:900]
    params = dict(units=8, layers=2, dropout=0.2, lookback=24, epochs=3, patience=2)
    first, again = (build(name, seed=7, **params).fit(y) for _ in range(2))
    other = build(name, seed=8, **params).fit(y)
    for a, b in zip(first.net_.state_dict().values(), again.net_.state_dict().values()):
        assert torch.equal(a, b)
    assert first.history_ == again.history_
    np.testing.assert_array_equal(first.predict(12), again.predict(12))
    assert not np.array_equal(first.predict(12), other.predict(12))


def test_torch_fit_leaves_the_callers_threads_and_random_state_alone(air):
    torch.set_num_threads(2)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build("lstm_torch", **TINY, dropout=0.5, layers=2).fit(air)
    assert torch.get_num_threads() == 2
    assert torch.equal(torch.rand(3), expected)


def test_keras_models_sharing_a_compiled_network_train_and_forecast_as_if_alone(air):
    # Keras models of one architecture reuse one traced network per thread; the order in
    # which seeds and instances use it must not change any result.
    params = dict(units=8, lookback=12, epochs=2, dropout=0.2)
    first = build("lstm_keras", seed=0, **params).fit(air)
    first_forecast = first.predict(3)
    other = build("lstm_keras", seed=1, **params).fit(air)
    other_forecast = other.predict(3)
    again = build("lstm_keras", seed=0, **params).fit(air)
    np.testing.assert_array_equal(again.predict(3), first_forecast)
    assert not np.array_equal(other_forecast, first_forecast)
    # Interleaved use: each model forecasts with its own trained weights.
    np.testing.assert_array_equal(other.predict(3), other_forecast)
    np.testing.assert_array_equal(first.predict(3), first_forecast)


def test_keras_initial_weights_come_from_the_seed_alone(monkeypatch):
    # Keras draws an unseeded initializer's seed from Python's global `random`, which other
    # threads share (a Dask worker's event loop): such draws must not reach the weights.
    import random

    from rnn_models.config import RNNConfig
    from rnn_models.keras_rnn import _initial_variables
    cfg = RNNConfig(cell="lstm", units=4, layers=2, bidirectional=True, dropout=0.1, lookback=12, seed=5)
    expected = _initial_variables(cfg)
    monkeypatch.setattr(random, "randint", lambda a, b: 7)   # as if another thread drew first
    for got, want in zip(_initial_variables(cfg), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    other_seed = _initial_variables(RNNConfig(cell="lstm", units=4, layers=2, bidirectional=True,
                                              dropout=0.1, lookback=12, seed=6))
    assert not np.array_equal(other_seed[0], expected[0])


def _in_new_thread(fn):
    # The compiled-network pool is per thread: a new thread starts with no network.
    import threading
    out = {}
    thread = threading.Thread(target=lambda: out.update(value=fn()))
    thread.start()
    thread.join()
    return out["value"]


@pytest.mark.slow
def test_the_untimed_keras_warm_up_changes_no_result(air):
    # load_libraries traces the network on zeros (so that no cell's fit time includes
    # tracing); the real fit must start from the same weights and optimizer state.
    params = dict(units=8, lookback=12, epochs=3, dropout=0.2, patience=2, val_fraction=0.2)

    def fit_and_forecast(warm):
        model = build("gru_keras", seed=3, **params)
        if warm:
            model.load_libraries()
        model.fit(air)
        return model.predict(6), model.history_

    cold_forecast, cold_history = _in_new_thread(lambda: fit_and_forecast(warm=False))
    warm_forecast, warm_history = _in_new_thread(lambda: fit_and_forecast(warm=True))
    np.testing.assert_array_equal(warm_forecast, cold_forecast)
    assert warm_history == cold_history


def test_a_warm_up_after_a_fit_leaves_that_models_weights_alone(air):
    params = dict(units=8, lookback=12, epochs=2)

    def fit_then_warm_another():
        fitted = build("rnn_keras", **params).fit(air)
        before = fitted.predict(3)
        build("rnn_keras", seed=1, **params).load_libraries()    # same architecture
        return before, fitted.predict(3)

    before, after = _in_new_thread(fit_then_warm_another)
    np.testing.assert_array_equal(after, before)
# -- walk-forward: fit, update, predict -------------------------------------------------

@pytest.mark.parametrize("name", ["gru_torch", "lstm_keras"])
def test_update_reveals_values_without_training(name, air):
    model = build(name, **TINY).fit(air.iloc[:-12])
    weights = _weights(model)
    transform, before = model.transform_, model.predict(1)
    model.update(air.iloc[-12:])
    assert model.transform_ is transform
    for a, b in zip(weights, _weights(model)):
        np.testing.assert_array_equal(a, b)
    # The forecast now starts from the latest true values.
    assert len(model.y_) == len(air)
    assert model.predict(1)[0] != before[0]


def _weights(model):
    if model.framework == "torch":
        return [p.detach().numpy().copy() for p in model.net_.parameters()]
    return [w.numpy().copy() for w in model.compiled_.model.trainable_weights]


@pytest.mark.parametrize("name", ["rnn_torch", "gru_keras"])
@pytest.mark.parametrize("diff,pipeline", [(0, {}), (2, {}), (0, PLAIN), (2, PLAIN)])
def test_recursive_forecasts_feed_each_step_back_as_if_observed(name, diff, pipeline, air):
    model = build(name, **{**TINY, **pipeline, "output": "recursive"}, diff=diff).fit(air.iloc[:-3])
    path = model.predict(3)
    # Revealing the first forecast as an observation must give the second forecast.
    model.update(air.iloc[-3:-2] * 0 + path[0])
    np.testing.assert_allclose(model.predict(2), path[1:], rtol=1e-5)


def test_a_direct_head_forecasts_its_width_at_once_and_chains_blocks_beyond_it(air):
    model = build("lstm_torch", **TINY, output="direct", horizon=4, diff=1).fit(air.iloc[:-8])
    four = model.predict(4)
    np.testing.assert_array_equal(model.predict(2), four[:2])
    eight = model.predict(8)
    np.testing.assert_array_equal(eight[:4], four)
    # The second block is the forecast after revealing the first one.
    model.update(air.iloc[-8:-4] * 0 + four)
    np.testing.assert_allclose(model.predict(4), eight[4:], rtol=1e-5)


@pytest.mark.parametrize("name", ["rnn_torch", "gru_keras"])
def test_a_series_too_short_for_the_lookback_and_validation_is_skipped(name, air):
    with pytest.raises(ModelSkipped, match="too short"):
        build(name, lookback=60, val_fraction=0.1).fit(air.iloc[:61])


def test_bad_hyperparameters_are_stored_and_rejected_in_fit(air):
    model = build("gru_torch", units=0)        # the constructor only stores
    assert model.units == 0
    with pytest.raises(ValueError, match="units"):
        model.fit(air)


@pytest.mark.parametrize("name", TORCH_NAMES + ["lstm_keras"])
def test_perturbing_values_after_the_origin_never_changes_its_forecasts(name, air):
    split = WalkForward(horizon=12, test_size=24, refit_every=6)
    params = dict(TINY, diff=1, output="direct", horizon=12)
    base = runner.walk_forward(build(name, **params), air, split)
    cut = int(base.origin_positions[6])             # a refit origin: the 2nd fit
    perturbed = air.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 2.0 - 50.0
    other = runner.walk_forward(build(name, **params), perturbed, split)
    np.testing.assert_array_equal(other.forecasts[:7], base.forecasts[:7])
    assert not np.array_equal(other.forecasts[7:], base.forecasts[7:])


def test_keras_and_torch_train_on_identical_arrays_in_identical_order(air):
    from rnn_models import keras_rnn

    configs = [build(name, horizon=12, epochs=4).config() for name in ("lstm_torch", "lstm_keras")]
    assert configs[0] == configs[1]
    cfg = configs[0]
    prepared = windows.prepare(air.to_numpy()[:108], cfg)
    torch_batches = [(x.numpy(), y.numpy()) for epoch in torch_rnn.training_batches(prepared, cfg)
                     for x, y in epoch]
    dataset, steps_per_epoch = keras_rnn.training_dataset(prepared, cfg)
    keras_batches = [(x.numpy(), y.numpy()) for x, y in dataset.take(cfg.epochs * steps_per_epoch)]
    assert len(torch_batches) == len(keras_batches) == cfg.epochs * cfg.steps_per_epoch
    for (tx, ty), (kx, ky) in zip(torch_batches, keras_batches, strict=True):
        np.testing.assert_array_equal(tx, kx)
        np.testing.assert_array_equal(ty, ky)
    # A short series trains on all of its windows at once, in varying orders.
    assert len(torch_batches[0][0]) == len(prepared.x_train)
    assert not np.array_equal(torch_batches[0][0], torch_batches[1][0])


@pytest.mark.parametrize("name", ["lstm_torch", "rnn_keras"])
def test_the_runner_passes_the_splits_horizon_and_the_head_is_that_wide(name, air):
    split = WalkForward(horizon=6, test_size=12, refit_every=6)
    cell = runner.Cell(dataset="air_passengers", model=name, label=name,
                       params=dict(units=4, epochs=2), seed=0, split=split, season_length=12)
    result = runner.evaluate_cell(cell, air)
    assert result.status == "ok", result.reason
    cell_type, framework = name.split("_")
    assert result.walk.n_params == closed_form_n_params(framework, cell_type, units=4, n_outputs=6)
    assert result.walk.n_fits == 2 and len(result.walk.fit_infos) == 2
    info = result.walk.fit_info()
    assert info["transform"] == "log" and info["deseasonalised"] == "True"
    assert info["lookback"] == 15                     # floor(1.25 x max(6, 12))
    assert 1 <= info["epochs_run"] <= 2


def test_fit_info_reports_what_the_fit_chose_and_how_long_it_trained(google):
    model = build("gru_torch", season_length=5, **TINY).fit(google.iloc[:-20])
    assert model.fit_info() == {"epochs_run": 1, "transform": "log", "deseasonalised": False,
                                "lookback": 12, "batch_size": 32}


# -- training ------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", ["lstm_torch", "gru_keras"])
def test_early_stopping_stops_and_keeps_the_best_validation_epoch(name, sunspots):
    y = sunspots.iloc[:1500]
    model = build(name, units=16, lookback=24, epochs=60, patience=2, learning_rate=0.01)
    model.fit(y)
    val_losses = model.history_["val_loss"]
    assert model.epochs_run_ < 60
    assert np.argmin(val_losses) == model.epochs_run_ - 1 - 2       # then `patience` worse ones
    prepared = windows.prepare(y.to_numpy(), model.config_)
    if model.framework == "torch":
        with torch.no_grad():
            out = model.net_(torch.from_numpy(prepared.x_val)).numpy()
    else:
        out = model.compiled_.model.predict(prepared.x_val, verbose=0)
    restored = float(np.mean((out - prepared.y_val) ** 2))
    assert restored == pytest.approx(min(val_losses), rel=1e-4)
    assert restored < val_losses[-1]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lstm_torch", "lstm_keras"])
@pytest.mark.parametrize("dataset,horizon,window", [("air_passengers", 12, None),
                                                    ("energy_aep_hourly", 24, 17520)])
def test_the_default_preset_trains_until_early_stopping_ends_it(name, dataset, horizon, window,
                                                                request):
    # The first fit of the dataset's walk, on the values before its validation span.
    y = request.getfixturevalue({"air_passengers": "air", "energy_aep_hourly": "energy"}[dataset])
    y = y.iloc[:-{"air_passengers": 72, "energy_aep_hourly": 1344}[dataset]]
    y = y.iloc[-window:] if window else y
    model = forecaster.build(name, {}, season_length=24 if window else 12, seed=0, horizon=horizon)
    model.fit(y)
    cfg = model.config_
    assert model.epochs_run_ < cfg.epochs
    assert model.fit_info()["epochs_run"] == model.epochs_run_
    val_losses = model.history_["val_loss"]
    assert len(val_losses) == model.epochs_run_
    assert np.argmin(val_losses) == model.epochs_run_ - 1 - cfg.patience
    # The forecasts are levels of the series, as wide as the split's horizon.
    forecast = model.predict(horizon)
    assert forecast.shape == (horizon,) and np.all(forecast > 0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lstm_torch", "gru_torch", "lstm_keras"])
def test_one_step_ahead_on_google_stock_is_in_the_range_of_the_naive_forecast(name, google):
    # The workshop protocol: fit on 2012-2016, then update through January 2017.
    split = WalkForward(horizon=1, test_size=20, refit_every=20)
    result = runner.walk_forward(build(name, units=32, lookback=60, epochs=30, diff=1),
                                 google, split)
    assert result.n_fits == 1 and result.n_updates == 19
    naive_mae = float(np.mean(np.abs(np.diff(google.to_numpy()[-21:]))))
    assert naive_mae == pytest.approx(5.94, abs=0.01)
    assert result.mae() < 2 * naive_mae


# -- TensorBoard and a quiet, self-contained TensorFlow -----------------------------------

def _epoch_losses(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    if "epoch_loss" in tags["scalars"]:                    # torch SummaryWriter.add_scalar
        return [e.value for e in acc.Scalars("epoch_loss")]
    return [float(tensor_util.make_ndarray(e.tensor_proto))  # Keras writes tensor summaries
            for e in acc.Tensors("epoch_loss")]


@pytest.mark.slow
# Keras's TensorBoard callback converts tensors with np.array(x, copy=False) (Keras 3.15).
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
@pytest.mark.parametrize("name", ["lstm_torch", "gru_keras"])
def test_tensorboard_receives_training_and_validation_loss_per_epoch_and_fit(name, air, tmp_path):
    split = WalkForward(horizon=1, test_size=12, refit_every=6)
    model = build(name, **dict(TINY, epochs=3, patience=0), tensorboard_dir=str(tmp_path))
    runner.walk_forward(model, air, split)
    runs = sorted(p.name for p in tmp_path.iterdir())
    # One run per fit, named after its last training observation.
    last_seen = [air.index[-12 - 1], air.index[-6 - 1]]
    assert runs == [f"fit_to_{t:%Y%m%dT%H%M%S}" for t in last_seen]
    last = tmp_path / runs[-1]
    np.testing.assert_allclose(_epoch_losses(last / "train"), model.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(_epoch_losses(last / "validation"), model.history_["val_loss"],
                               rtol=1e-5)


QUIET_SCRIPT = """
import json, os, sys
from bench import data
from rnn_models.keras_rnn import KerasLSTM
from rnn_models.torch_rnn import TorchGRU
y = data.load_series("air_passengers")
out = {}
for cls in (KerasLSTM, TorchGRU):
    model = cls(units=4, lookback=12, epochs=1, tensorboard_dir=sys.argv[1])
    out[cls.__name__] = model.fit(y).predict(3).tolist()
out["KERAS_BACKEND"] = os.environ["KERAS_BACKEND"]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_tensorflow_stays_quiet_and_keras_writes_nothing_in_the_home_directory(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_HOME", "KERAS_BACKEND", "XDG_CACHE_HOME", "TF_CPP_MIN_LOG_LEVEL")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", QUIET_SCRIPT, str(tmp_path / "tb")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""                   # no TensorFlow start-up lines, no warnings
    out = json.loads(done.stdout)
    assert out["KERAS_BACKEND"] == "tensorflow"
    assert len(out["KerasLSTM"]) == len(out["TorchGRU"]) == 3
    assert not (home / ".keras").exists()
    assert (home / ".cache" / "bench" / "keras" / "keras.json").is_file()
