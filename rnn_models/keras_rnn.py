"""Recurrent forecasters in Keras 3 on TensorFlow: SimpleRNN, LSTM and GRU.

The windows, scaler, walk-forward logic and feedback of forecasts are shared with the
PyTorch models (rnn_models.base, rnn_models.windows); this file holds only the network
and the Keras training call.

TensorFlow and Keras are imported on first use, not with this module, because importing
them takes seconds, prints C++ start-up lines that TF_CPP_MIN_LOG_LEVEL cannot silence,
and creates ~/.keras. ``_keras()`` sets KERAS_BACKEND=tensorflow and KERAS_HOME, and
imports with file descriptor 2 pointed at /dev/null.
"""
from __future__ import annotations

import sys
import threading
import weakref
from dataclasses import replace

import numpy as np

from rnn_models import windows
from rnn_models.base import RNNForecaster, prepare_tensorflow_environment, stderr_silenced
from rnn_models.config import RNNConfig
from rnn_models.windows import TrainingData

_LIBS: tuple | None = None


def _keras():
    """(keras, tensorflow), imported once, quietly."""
    global _LIBS
    if _LIBS is None:
        loaded = sys.modules.get("keras")
        if loaded is not None and loaded.backend.backend() != "tensorflow":
            raise RuntimeError(f"keras is already imported with the {loaded.backend.backend()!r} "
                               "backend; the Keras models need the tensorflow backend")
        prepare_tensorflow_environment()
        with stderr_silenced():
            import keras
            import tensorflow as tf
            # Device discovery logs too (a failed cuInit on machines without a GPU):
            # do it now, while stderr is still redirected.
            tf.config.list_physical_devices()
        _LIBS = (keras, tf)
    return _LIBS


def build_network(cfg: RNNConfig, compile: bool = True):
    """Sequential: [recurrent layer -> Dropout] x layers -> Dense(n_outputs).

    Every random initializer and dropout layer gets its own seed, drawn from a private
    generator seeded with ``cfg.seed``. Unseeded, Keras draws them from Python's global
    ``random``, which other threads of the process use too: on a Dask worker the event
    loop's draws changed the initial weights of some cells, and so their results.
    """
    keras, _ = _keras()
    cell = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
            "gru": keras.layers.GRU}[cfg.cell]
    seeds = np.random.default_rng(cfg.seed)
    seed = lambda: int(seeds.integers(2**31 - 1))

    def recurrent(**kwargs):
        # Keras's default initializers, seeded.
        return cell(cfg.units, kernel_initializer=keras.initializers.GlorotUniform(seed()),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=seed()), seed=seed(), **kwargs)

    stack = [keras.Input(shape=(cfg.lookback, 1))]
    for i in range(cfg.layers):
        # Every layer but the top one hands its whole sequence to the next.
        sequences = i < cfg.layers - 1
        if cfg.bidirectional:
            # An explicit backward layer: a copy of the forward one would copy its seeds.
            stack.append(keras.layers.Bidirectional(
                recurrent(return_sequences=sequences),
                backward_layer=recurrent(return_sequences=sequences, go_backwards=True)))
        else:
            stack.append(recurrent(return_sequences=sequences))
        if cfg.dropout > 0:
            stack.append(keras.layers.Dropout(cfg.dropout, seed=seed()))
    stack.append(keras.layers.Dense(cfg.n_outputs, kernel_initializer=keras.initializers.GlorotUniform(seed())))
    model = keras.Sequential(stack)
    if not compile:
        return model
    # jit_compile=False: XLA tripled the first-fit time (compilation) for no measurable
    # gain in steady-state speed of these small recurrent layers on CPU.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
                  loss="mse", jit_compile=False)
    return model


class _Compiled:
    """A built and compiled network with its traced functions, reusable across fits.

    Building, compiling and tracing the train, validation and forecast functions costs
    about a second per network, more than many fits themselves (a walk refits up to 25
    times, a suite runs one cell per dataset and seed). So each thread keeps one compiled
    network per architecture, and every fit starts it from the initial weights (dropout
    seed states included) that a new network built under the fit's seed has, with a fresh
    optimizer state: the same training as a new network, without the tracing.

    A fitted model keeps its trained weights; if another model has trained the shared
    network since, ``claim`` puts them back before forecasting.
    """

    def __init__(self, cfg: RNNConfig):
        keras, tf = _keras()
        self.model = build_network(cfg)
        self.model.optimizer.build(self.model.trainable_variables)
        self.initial_optimizer = [v.numpy() for v in self.model.optimizer.variables]
        self.initial_by_seed: dict[int, list[np.ndarray]] = {}
        self.owner = None
        self.warmed = False
        model = self.model
        self.forecast = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec((1, cfg.lookback, 1), tf.float32)])

    def start(self, cfg: RNNConfig, owner) -> None:
        """Initial weights for ``cfg.seed`` (as a new network would get), fresh optimizer."""
        if cfg.seed not in self.initial_by_seed:
            self.initial_by_seed[cfg.seed] = _initial_variables(cfg)
        for variable, value in zip(self.model.variables, self.initial_by_seed[cfg.seed]):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self.initial_optimizer):
            variable.assign(value)
        self.owner = weakref.ref(owner)

    def warm_up(self, cfg: RNNConfig) -> None:
        """Trace the train, validation and forecast functions now, on zeros.

        The runner calls this untimed (through ``load_libraries``), so that tracing is
        not counted in whichever cell happens to fit this architecture first in a worker.
        ``start`` resets every weight and optimizer variable before a real fit, so the
        warm-up changes no result.
        """
        if self.warmed:
            return
        _, tf = _keras()
        zeros = (np.zeros((2, cfg.lookback, 1), np.float32), np.zeros((2, cfg.n_outputs), np.float32))
        batches = tf.data.Dataset.from_tensor_slices(zeros).batch(2)
        self.model.fit(batches, epochs=1, validation_data=batches if cfg.val_fraction > 0 else None,
                       shuffle=False, verbose=0)
        self.forecast(zeros[0][:1])
        self.warmed = True
        self.owner = None       # a model fitted before the warm-up must put its weights back

    def claim(self, owner, trained: list[np.ndarray]) -> None:
        if self.owner is None or self.owner() is not owner:
            self.model.set_weights(trained)
            self.owner = weakref.ref(owner)


def _initial_variables(cfg: RNNConfig) -> list[np.ndarray]:
    """The initial variables of a network built for ``cfg.seed`` (an uncompiled twin:
    building is cheap, tracing is what costs)."""
    return [v.numpy() for v in build_network(cfg, compile=False).variables]


_POOL: dict[tuple, _Compiled] = {}


def _compiled_for(cfg: RNNConfig) -> _Compiled:
    # One per thread and architecture: the seed only changes the initial weights.
    key = (threading.get_ident(), replace(cfg, seed=0))
    if key not in _POOL:
        _POOL[key] = _Compiled(cfg)
    return _POOL[key]


def training_dataset(data: TrainingData, cfg: RNNConfig):
    """(the training batches of every epoch as one tf.data pipeline, batches per epoch).

    Every epoch's batches are drawn up front by the same seeded NumPy generator as
    torch's (windows.batch_orders), so no TensorFlow global seed is involved, and one
    pipeline serves the whole fit; ``steps_per_epoch`` makes Keras read it on across
    epochs. (fit() on NumPy arrays rebuilds its own shuffling pipeline every epoch:
    ~0.1 s each, 3x a whole fit on a short series.)
    """
    _, tf = _keras()
    batch_size = data.batch_size
    x_train, y_train = tf.constant(data.x_train), tf.constant(data.y_train)
    orders = windows.batch_orders(len(data.x_train), batch_size, cfg)
    dataset = (tf.data.Dataset.from_tensor_slices(orders)
               .flat_map(lambda o: tf.data.Dataset.from_tensor_slices(o).batch(batch_size))
               .map(lambda batch: (tf.gather(x_train, batch), tf.gather(y_train, batch))))
    return dataset, windows.steps_in(orders.shape[1], batch_size)


class KerasRNN(RNNForecaster):
    framework = "keras"

    def load_libraries(self) -> None:
        _keras()
        try:
            cfg = self.config()
        except (TypeError, ValueError):
            return          # fit reports the invalid setting
        _compiled_for(cfg).warm_up(cfg)

    def _train(self, data: TrainingData, cfg: RNNConfig, tensorboard_run_dir: str | None):
        keras, tf = _keras()
        compiled = _compiled_for(cfg)
        compiled.start(cfg, owner=self)

        train, steps_per_epoch = training_dataset(data, cfg)
        # The same validation windows as torch (not validation_split).
        val = (tf.data.Dataset.from_tensor_slices((data.x_val, data.y_val)).batch(data.batch_size)
               if data.has_validation else None)

        callbacks = []
        if cfg.early_stopping:
            # Keras 3 restores the best epoch's weights at the end of training, also when
            # all epochs ran; the torch loop does the same.
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=cfg.patience, restore_best_weights=True))
        if tensorboard_run_dir:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=tensorboard_run_dir,
                                                         write_graph=False))
        # shuffle=False: the pipeline is shuffled already (fit's default True only warns).
        fitted = compiled.model.fit(
            train, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch,
            validation_data=val, shuffle=False, callbacks=callbacks, verbose=0)

        self.compiled_ = compiled
        self.weights_ = compiled.model.get_weights()
        return {"loss": [float(v) for v in fitted.history["loss"]],
                "val_loss": [float(v) for v in fitted.history.get("val_loss", [])]}

    def _forward(self, window: np.ndarray) -> np.ndarray:
        self.compiled_.claim(self, self.weights_)
        # A traced tf.function: an eager model call costs ~60 ms, this ~1 ms.
        return self.compiled_.forecast(window.reshape(1, -1, 1)).numpy()[0]

    def _count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.compiled_.model.trainable_weights)


class KerasSimpleRNN(KerasRNN):
    """Elman RNN (keras.layers.SimpleRNN, tanh)."""
    cell = "rnn"


class KerasLSTM(KerasRNN):
    cell = "lstm"


class KerasGRU(KerasRNN):
    cell = "gru"
