"""Global recurrent forecasters in Keras 3 on TensorFlow: the twins of rnn_models.global_torch.

The same windows, in the same order (rnn_models.keras_rnn.training_dataset reads
windows.batch_orders, as torch does), the same loss, Adam settings and early stopping
(EarlyStopping with restore_best_weights: torch's loop keeps the best check's weights too),
the same layers with a zero-initialised head. Initial recurrent weights are each library's
own defaults (Keras: Glorot-uniform input kernels, orthogonal recurrent kernels, zero biases
with an LSTM forget-gate bias of one; torch: U(-1/sqrt(units), 1/sqrt(units))), seeded.
"""
from __future__ import annotations

import numpy as np

from rnn_models.config import RNNConfig
from rnn_models.global_base import LEVELS, GlobalRNNForecaster, QuantileHead, chunk_of, head_width
from rnn_models.keras_rnn import _keras, training_dataset
from rnn_models.windows import TrainingData


def combined_loss(point_loss: str, horizon: int):
    """torch's ``global_torch.combined_loss`` in keras.ops: the point loss of the first ``horizon``
    outputs plus twice the mean pinball loss of the quantile outputs, per window (Keras averages
    the windows, so the batch's loss is the same mean as torch's)."""
    keras, _ = _keras()
    ops = keras.ops
    tau = np.asarray(LEVELS, dtype=np.float32)

    def loss(y_true, y_pred):
        point = y_pred[:, :horizon]
        quantiles = ops.reshape(y_pred[:, horizon:], (-1, horizon, len(LEVELS)))
        errors = ops.expand_dims(y_true, -1) - quantiles
        pinball = ops.mean(ops.maximum(tau * errors, (tau - 1.0) * errors), axis=(1, 2))
        miss = y_true - point
        point_term = ops.mean(ops.abs(miss) if point_loss == "mae" else ops.square(miss), axis=1)
        return point_term + 2.0 * pinball
    return loss


def build_network(cfg: RNNConfig, loss: str, quantile_head: bool = False):
    keras, _ = _keras()
    cell = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cfg.cell]
    seeds = np.random.default_rng(cfg.seed)
    seed = lambda: int(seeds.integers(2**31 - 1))
    stack = [keras.Input(shape=(cfg.lookback // chunk_of(cfg.season_length), chunk_of(cfg.season_length)))]
    for i in range(cfg.layers):
        stack.append(cell(cfg.units, kernel_initializer=keras.initializers.GlorotUniform(seed()),
                          recurrent_initializer=keras.initializers.Orthogonal(seed=seed()), seed=seed(),
                          return_sequences=i < cfg.layers - 1))
        if cfg.dropout > 0:
            stack.append(keras.layers.Dropout(cfg.dropout, seed=seed()))
    stack.append(keras.layers.Dense(head_width(cfg.horizon, quantile_head), kernel_initializer="zeros",
                                    bias_initializer="zeros"))
    model = keras.Sequential(stack)
    # jit_compile=False as the per-series models (XLA's compile time bought no speed there).
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
                  loss=combined_loss(loss, cfg.horizon) if quantile_head else loss, jit_compile=False)
    return model


class GlobalKerasRNN(GlobalRNNForecaster):
    framework = "keras"

    def load_libraries(self) -> None:
        _keras()

    def _train(self, data: TrainingData, cfg: RNNConfig):
        keras, tf = _keras()
        model = build_network(cfg, self.loss, self.quantile_head)
        train, steps_per_epoch = training_dataset(data, cfg)
        # One batch: the validation loss is the mean over every series' validation window, as torch's.
        val = tf.data.Dataset.from_tensor_slices((data.x_val, data.y_val)).batch(len(data.x_val))
        callbacks = []
        if cfg.early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience,
                                                           restore_best_weights=True))
        fitted = model.fit(train, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch, validation_data=val,
                           shuffle=False, callbacks=callbacks, verbose=0)
        self.model_ = model
        return {"loss": [float(v) for v in fitted.history["loss"]],
                "val_loss": [float(v) for v in fitted.history.get("val_loss", [])]}

    def _forward(self, x: np.ndarray) -> np.ndarray:
        # Eager: one call per origin forecasts every series at once (tens of ms); a tf.function
        # would be traced anew for every fitted network, and TensorFlow warns about retracing.
        return self.model_(x, training=False).numpy()

    def _count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.model_.trainable_weights)


class GlobalKerasSimpleRNN(GlobalKerasRNN):
    """Elman RNN (keras.layers.SimpleRNN) trained across a panel."""
    cell = "rnn"


class GlobalKerasLSTM(GlobalKerasRNN):
    """LSTM trained across a panel."""
    cell = "lstm"


class GlobalKerasGRU(GlobalKerasRNN):
    """GRU trained across a panel."""
    cell = "gru"


# With a quantile head (rnn_models.global_base.QuantileHead): not registered, named by import path
# ("rnn_models.global_keras:GlobalKerasGRUQuantiles"); docs/global_models.md, "Forecast distributions".


class GlobalKerasSimpleRNNQuantiles(QuantileHead, GlobalKerasSimpleRNN):
    """Elman RNN (keras.layers.SimpleRNN) trained across a panel, with a quantile head (its own quantiles)."""


class GlobalKerasLSTMQuantiles(QuantileHead, GlobalKerasLSTM):
    """LSTM trained across a panel, with a quantile head (its own quantiles at the 13 levels)."""


class GlobalKerasGRUQuantiles(QuantileHead, GlobalKerasGRU):
    """GRU trained across a panel, with a quantile head (its own quantiles at the 13 levels)."""
