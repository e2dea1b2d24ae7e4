"""What the Keras and PyTorch recurrent models share: everything but the network.

``RNNForecaster`` holds the constructor (which only stores scalars), the walk-forward
logic (``fit`` prepares windows and trains once, ``update`` appends revealed values,
``predict`` forecasts from the latest ``lookback`` true values) and the way forecasts
are fed back and mapped to the series' units. A framework subclass supplies three
methods:

    _train(data, cfg, tensorboard_run_dir) -> history   build the network and train it
    _forward(window) -> np.ndarray                       one forward pass, (n_outputs,)
    _count_params() -> int                               the framework's own count

What is shared and what is not. Both frameworks train on the same windows, scaled the
same way, in the same shuffled order (windows.batch_orders), with Adam on the mean
squared error, the same early stopping and the same layer stack. Weight initialisation
is each library's own default, as a user of either gets it: Keras draws input kernels
Glorot-uniform, recurrent kernels orthogonal, biases zero (LSTM forget-gate bias one);
PyTorch draws every weight and bias from U(-1/sqrt(units), 1/sqrt(units)).

Multi-step forecasts. ``output="direct"`` (default): a head of ``horizon`` outputs
trained on the next ``horizon`` values (MIMO); the runner passes the split's horizon to
the constructor, so the head is as wide as the forecasts asked for. A shorter request
returns the first values; a longer one chains blocks, feeding each block back.
``output="recursive"``: a one-step head whose forecast is appended to the input window
and fed back, ``horizon`` times. Every forward pass sees its window normalised as in
training (windows.normalise), and the outputs are mapped back to levels through the
fitted series transform (preprocessing.SeriesTransform.inverse).
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from rnn_models import windows
from rnn_models.config import DEFAULTS, RNNConfig


class RNNForecaster:
    cell: ClassVar[str]          # "rnn", "lstm" or "gru", fixed by each concrete class
    framework: ClassVar[str]     # "keras" or "torch"

    def __init__(
        self,
        *,
        season_length: int = 1,
        seed: int = 0,
        units: int = DEFAULTS.units,
        layers: int = DEFAULTS.layers,
        dropout: float = DEFAULTS.dropout,
        bidirectional: bool = DEFAULTS.bidirectional,
        lookback: int | str = DEFAULTS.lookback,
        epochs: int = DEFAULTS.epochs,
        steps_per_epoch: int | str = DEFAULTS.steps_per_epoch,
        batch_size: int | str = DEFAULTS.batch_size,
        learning_rate: float = DEFAULTS.learning_rate,
        patience: int = DEFAULTS.patience,
        val_fraction: float = DEFAULTS.val_fraction,
        transform: str = DEFAULTS.transform,
        deseasonalise: bool | str = DEFAULTS.deseasonalise,
        window_norm: str = DEFAULTS.window_norm,
        scaler: str = DEFAULTS.scaler,
        diff: int = DEFAULTS.diff,
        output: str = DEFAULTS.output,
        horizon: int = DEFAULTS.horizon,
        tensorboard_dir: str | None = None,
    ):
        # Only store: validation happens in fit (RNNConfig.__post_init__).
        self.season_length = season_length
        self.seed = seed
        self.units = units
        self.layers = layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.lookback = lookback
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.val_fraction = val_fraction
        self.transform = transform
        self.deseasonalise = deseasonalise
        self.window_norm = window_norm
        self.scaler = scaler
        self.diff = diff
        self.output = output
        self.horizon = horizon
        self.tensorboard_dir = tensorboard_dir

    def config(self) -> RNNConfig:
        """The validated configuration, lookback resolved (the network's input shape)."""
        return RNNConfig(
            cell=self.cell, units=self.units, layers=self.layers, dropout=self.dropout,
            bidirectional=self.bidirectional, lookback=self.lookback, epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch, batch_size=self.batch_size,
            learning_rate=self.learning_rate, patience=self.patience,
            val_fraction=self.val_fraction, transform=self.transform,
            deseasonalise=self.deseasonalise, window_norm=self.window_norm,
            scaler=self.scaler, diff=self.diff, output=self.output, horizon=self.horizon,
            season_length=self.season_length, seed=self.seed).resolved()

    # -- the Forecaster protocol -------------------------------------------------------

    def fit(self, y: pd.Series):
        cfg = self.config()
        values = np.asarray(y, dtype=float)
        data = windows.prepare(values, cfg)          # may raise ModelSkipped
        history = self._train(data, cfg, self._tensorboard_run_dir(y))
        if not np.isfinite(history["loss"][-1]):
            raise RuntimeError(f"training diverged: final training loss {history['loss'][-1]}")
        self.config_ = cfg
        self.transform_ = data.transform             # frozen until the next fit
        self.batch_size_ = data.batch_size
        self.history_ = history                      # per-epoch "loss" and "val_loss"
        self.epochs_run_ = len(history["loss"])
        self.y_ = values.copy()                      # context: true values seen so far
        return self

    @property
    def scaler_(self) -> windows.Scaler:
        return self.transform_.scaler

    def fit_info(self) -> dict:
        """What the last fit chose and how long it trained (the runner records it)."""
        self._check_fitted()
        return {"epochs_run": self.epochs_run_, **self.transform_.describe(),
                "lookback": self.config_.lookback, "batch_size": self.batch_size_}

    def update(self, y_new: pd.Series):
        self._check_fitted()
        # Reveal observations without training: the transform and weights stay as fitted.
        self.y_ = np.concatenate([self.y_, np.asarray(y_new, dtype=float)])
        return self

    def predict(self, horizon: int) -> np.ndarray:
        self._check_fitted()
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
        cfg = self.config_
        # The input is the latest `lookback` true values, through the training transform.
        need = cfg.lookback + cfg.diff
        if len(self.y_) < need:
            raise ValueError(f"context of {len(self.y_)} points is shorter than lookback + diff = {need}")
        window = self.transform_.forward(self.y_[-need:], start=len(self.y_) - need)
        z_future = np.empty(horizon)
        filled = 0
        while filled < horizon:
            x, reference = windows.normalise(window, cfg)
            step = windows.denormalise(self._forward(x), reference)
            take = min(len(step), horizon - filled)
            z_future[filled:filled + take] = step[:take]
            filled += take
            # Feed the forecasts back as if they had been observed.
            window = np.concatenate([window, step])[-cfg.lookback:]
        levels = self.transform_.inverse(z_future, self.y_)
        if not np.all(np.isfinite(levels)):
            raise RuntimeError("the network produced a non-finite forecast")
        return levels

    def n_params(self) -> int:
        self._check_fitted()
        return int(self._count_params())

    def load_libraries(self) -> None:
        """Import the framework now; the runner calls this untimed, before the first fit."""

    # -- for subclasses ----------------------------------------------------------------

    def _train(self, data: windows.TrainingData, cfg: RNNConfig,
               tensorboard_run_dir: str | None) -> dict[str, list[float]]:
        raise NotImplementedError

    def _forward(self, window: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _count_params(self) -> int:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "y_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")

    def _tensorboard_run_dir(self, y: pd.Series) -> str | None:
        """One sub-directory per fit, named after the last training timestamp.

        The harness passes one directory per cell, and a cell refits at several origins;
        separate runs keep their epoch axes from overwriting each other.
        """
        if self.tensorboard_dir is None:
            return None
        index = getattr(y, "index", None)
        if isinstance(index, pd.DatetimeIndex) and len(index):
            name = f"fit_to_{index[-1]:%Y%m%dT%H%M%S}"
        else:
            name = f"fit_n{len(y)}"
        return str(Path(self.tensorboard_dir) / name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()!r})" if _valid(self) else type(self).__name__


def _valid(model: RNNForecaster) -> bool:
    try:
        model.config()
    except (ValueError, TypeError):
        return False
    return True


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration (C++ start-up logging included).

    TensorFlow writes start-up lines from C++ (absl logging before initialisation) that
    TF_CPP_MIN_LOG_LEVEL does not reach; redirecting the descriptor is the only way to
    keep them off the user's terminal. Python's own stderr is restored with it.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def prepare_tensorflow_environment() -> None:
    """Environment for a quiet, self-contained TensorFlow/Keras; call before importing them."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    # Importing keras creates ~/.keras; keep its config in a cache directory instead.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("KERAS_HOME", str(cache / "bench" / "keras"))
    # INFO lines after start-up (XLA, oneDNN notes); warnings and errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
