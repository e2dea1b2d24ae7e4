"""Recurrent forecasters in PyTorch: nn.RNN (tanh), nn.LSTM and nn.GRU.

The windows, scaler, walk-forward logic and feedback of forecasts are shared with the
Keras models (rnn_models.base, rnn_models.windows); this file holds only the network and
one training loop. The loop is deliberately plain tensor code, no DataLoader: the whole
training set is a few MB, and slicing it directly keeps the per-step overhead near zero.

Threads: torch's intra-op thread count is whatever the caller set
(torch.set_num_threads); nothing here changes it.
"""
from __future__ import annotations

import copy
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnn_models.base import RNNForecaster, prepare_tensorflow_environment, stderr_silenced
from rnn_models.config import RNNConfig
from rnn_models.windows import TrainingData, batch_orders

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentNet(nn.Module):
    """Stacked recurrent layers, dropout after each, then a linear head on the last state.

    Matches the Keras Sequential of rnn_models.keras_rnn layer for layer: nn.RNN's own
    ``dropout`` acts between stacked layers, the extra nn.Dropout after the last one
    (the course's LSTM -> Dropout -> ... -> Dense).
    """

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        self.bidirectional = cfg.bidirectional
        self.rnn = _CELLS[cfg.cell](
            input_size=1, hidden_size=cfg.units, num_layers=cfg.layers, batch_first=True,
            # torch warns about dropout on a single layer: there is no "between" then.
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
            bidirectional=cfg.bidirectional)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.units * (2 if cfg.bidirectional else 1), cfg.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (batch, lookback, 1)
        _, h = self.rnn(x)
        if isinstance(h, tuple):                               # LSTM: (h_n, c_n)
            h = h[0]
        # h_n is (layers * directions, batch, units); the top layer's final states. For a
        # bidirectional layer the backward direction's final state is the one that has
        # read the whole window (as Keras's Bidirectional returns), not output[:, -1].
        last = torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]
        return self.head(self.drop(last))                      # (batch, n_outputs)


def training_batches(data: TrainingData, cfg: RNNConfig):
    """Every epoch's mini-batches ``(inputs, targets)``, in training order: one iterator per epoch.

    The batches of windows.batch_orders, which the Keras side reads too.
    """
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    for order in torch.from_numpy(batch_orders(len(x_train), data.batch_size, cfg)):
        yield ((x_train[batch], y_train[batch]) for batch in order.split(data.batch_size))


def train(net: nn.Module, data: TrainingData, cfg: RNNConfig,
          writers=None) -> dict[str, list[float]]:
    """Adam on the mean squared error of the normalised windows, with early stopping.

    Same semantics as the Keras side: each epoch the mini-batches of training_batches,
    then the validation loss; stop after ``patience`` epochs without improvement, and
    keep the weights of the best validation epoch.
    """
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    # eps as Keras's Adam default (torch's is 1e-8); the rest are both libraries' defaults.
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, eps=1e-7)
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    best_loss, best_state, waited = math.inf, None, 0

    for epoch, batches in enumerate(training_batches(data, cfg)):
        net.train()                                    # dropout on
        loss_sum, n_seen = torch.zeros(()), 0
        for x, y in batches:
            loss = F.mse_loss(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(x)         # no .item(): keep the step lean
            n_seen += len(x)
        history["loss"].append(loss_sum.item() / n_seen)   # sample-weighted, like Keras's

        if not data.has_validation:
            _log(writers, history, epoch)
            continue
        net.eval()                                     # dropout off
        with torch.no_grad():
            val_loss = F.mse_loss(net(x_val), y_val).item()
        history["val_loss"].append(val_loss)
        _log(writers, history, epoch)
        if not cfg.early_stopping:
            continue
        if val_loss < best_loss:
            best_loss, waited = val_loss, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            waited += 1
            if waited >= cfg.patience:
                break

    if best_state is not None:                         # the best epoch, not the last one
        net.load_state_dict(best_state)
    net.eval()
    return history


def _log(writers, history: dict[str, list[float]], epoch: int) -> None:
    # Keras's TensorBoard layout: runs "train" and "validation", tag "epoch_loss", so
    # both frameworks' curves overlay in one chart.
    if writers is None:
        return
    writers["train"].add_scalar("epoch_loss", history["loss"][-1], epoch)
    if history["val_loss"]:
        writers["validation"].add_scalar("epoch_loss", history["val_loss"][-1], epoch)


def _summary_writer_class():
    # torch.utils.tensorboard imports TensorFlow when it is installed (seconds, and
    # start-up lines on stderr), so import it only when asked for, and quietly.
    if "torch.utils.tensorboard" not in sys.modules:
        prepare_tensorflow_environment()
        with stderr_silenced():
            import torch.utils.tensorboard  # noqa: F401
    return sys.modules["torch.utils.tensorboard"].SummaryWriter


def _summary_writers(run_dir: str):
    writer = _summary_writer_class()
    return {name: writer(log_dir=f"{run_dir}/{name}") for name in ("train", "validation")}


class TorchRNN(RNNForecaster):
    framework = "torch"

    def load_libraries(self) -> None:
        if self.tensorboard_dir is not None:
            _summary_writer_class()

    def _train(self, data: TrainingData, cfg: RNNConfig, tensorboard_run_dir: str | None):
        writers = _summary_writers(tensorboard_run_dir) if tensorboard_run_dir else None
        # Initialisation and dropout draw from torch's global generator: seed it inside a
        # fork so the caller's random state is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = RecurrentNet(cfg)
            try:
                history = train(net, data, cfg, writers)
            finally:
                for writer in (writers or {}).values():
                    writer.close()
        self.net_ = net
        return history

    def _forward(self, window: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.net_(torch.from_numpy(window).view(1, -1, 1))[0].numpy()

    def _count_params(self) -> int:
        return sum(p.numel() for p in self.net_.parameters() if p.requires_grad)


class TorchSimpleRNN(TorchRNN):
    """Elman RNN (nn.RNN, tanh)."""
    cell = "rnn"


class TorchLSTM(TorchRNN):
    cell = "lstm"


class TorchGRU(TorchRNN):
    cell = "gru"
