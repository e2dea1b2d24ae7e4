"""Global recurrent forecasters in PyTorch: one nn.RNN, nn.LSTM or nn.GRU trained across a panel.

Windows, per-series scaling and forecasting: rnn_models.global_base. This file holds the
network and one plain training loop (the same batches as the Keras twin, in the same
order: rnn_models.torch_rnn.training_batches reads windows.batch_orders).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnn_models.config import RNNConfig
from rnn_models.global_base import LEVELS, GlobalRNNForecaster, QuantileHead, chunk_of, head_width
from rnn_models.torch_rnn import _CELLS, training_batches
from rnn_models.windows import TrainingData

_LOSS = {"mae": F.l1_loss, "mse": F.mse_loss}


class GlobalNet(nn.Module):
    """Recurrent layers reading one season per step, then a linear head of the horizon's width
    (with the quantile head, also one output per step and level), initialised at zero so that
    training starts from the base forecast."""

    def __init__(self, cfg: RNNConfig, quantile_head: bool = False):
        super().__init__()
        self.rnn = _CELLS[cfg.cell](input_size=chunk_of(cfg.season_length), hidden_size=cfg.units,
                                    num_layers=cfg.layers, batch_first=True,
                                    dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.units, head_width(cfg.horizon, quantile_head))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:        # (batch, steps, chunk)
        _, h = self.rnn(x)
        if isinstance(h, tuple):                                 # LSTM: (h_n, c_n)
            h = h[0]
        return self.head(self.drop(h[-1]))                       # (batch, head width)


def combined_loss(point_loss, horizon: int):
    """The point loss of the first ``horizon`` outputs plus twice the mean pinball loss of the
    quantile outputs (``global_base.pinball``): the quantile head's training and early-stopping loss."""
    tau = torch.tensor(LEVELS, dtype=torch.float32)

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        errors = y[:, :, None] - out[:, horizon:].reshape(len(out), horizon, len(LEVELS))
        return point_loss(out[:, :horizon], y) + 2.0 * torch.maximum(tau * errors, (tau - 1.0) * errors).mean()
    return loss


def train(net: nn.Module, data: TrainingData, cfg: RNNConfig, loss_name: str,
          quantile_head: bool = False) -> dict[str, list[float]]:
    """Adam on the loss of the normalised windows; the validation loss every ``steps_per_epoch`` steps,
    stopping after ``patience`` checks without improvement and keeping the best check's weights
    (the semantics of Keras's EarlyStopping(restore_best_weights=True), which the twin uses).
    With the quantile head the loss, and so early stopping, is ``combined_loss``."""
    loss_fn = combined_loss(_LOSS[loss_name], cfg.horizon) if quantile_head else _LOSS[loss_name]
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    # eps as Keras's Adam default (torch's is 1e-8).
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, eps=1e-7)
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    best_loss, best_state, waited = math.inf, None, 0
    for batches in training_batches(data, cfg):
        net.train()
        loss_sum, n_seen = torch.zeros(()), 0
        for x, y in batches:
            loss = loss_fn(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(x)
            n_seen += len(x)
        history["loss"].append(loss_sum.item() / n_seen)
        net.eval()
        with torch.no_grad():
            val_loss = loss_fn(net(x_val), y_val).item()
        history["val_loss"].append(val_loss)
        if not cfg.early_stopping:
            continue
        if val_loss < best_loss:
            best_loss, waited = val_loss, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            waited += 1
            if waited >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return history


class GlobalTorchRNN(GlobalRNNForecaster):
    framework = "torch"

    def _train(self, data: TrainingData, cfg: RNNConfig):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = GlobalNet(cfg, self.quantile_head)
            history = train(net, data, cfg, self.loss, self.quantile_head)
        self.net_ = net
        return history

    def _forward(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.net_(torch.from_numpy(x)).numpy()

    def _count_params(self) -> int:
        return sum(p.numel() for p in self.net_.parameters() if p.requires_grad)


class GlobalTorchSimpleRNN(GlobalTorchRNN):
    """Elman RNN (nn.RNN, tanh) trained across a panel."""
    cell = "rnn"


class GlobalTorchLSTM(GlobalTorchRNN):
    """LSTM trained across a panel."""
    cell = "lstm"


class GlobalTorchGRU(GlobalTorchRNN):
    """GRU trained across a panel."""
    cell = "gru"


# With a quantile head (rnn_models.global_base.QuantileHead): not registered, named by import path
# ("rnn_models.global_torch:GlobalTorchGRUQuantiles"); docs/global_models.md, "Forecast distributions".


class GlobalTorchSimpleRNNQuantiles(QuantileHead, GlobalTorchSimpleRNN):
    """Elman RNN (nn.RNN, tanh) trained across a panel, with a quantile head (its own quantiles at the 13 levels)."""


class GlobalTorchLSTMQuantiles(QuantileHead, GlobalTorchLSTM):
    """LSTM trained across a panel, with a quantile head (its own quantiles at the 13 levels)."""


class GlobalTorchGRUQuantiles(QuantileHead, GlobalTorchGRU):
    """GRU trained across a panel, with a quantile head (its own quantiles at the 13 levels)."""
