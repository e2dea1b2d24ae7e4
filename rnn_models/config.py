"""One configuration for every recurrent model, in both frameworks.

The model constructors take these fields as scalar keyword arguments (suite files expand
lists into grids) and build an ``RNNConfig`` in ``fit``, where it is validated. Keras and
PyTorch models read the same config, so a variant means the same network in both.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

CELLS = ("rnn", "lstm", "gru")
SCALERS = ("minmax", "standard")
OUTPUTS = ("recursive", "direct")


@dataclass(frozen=True)
class RNNConfig:
    cell: str = "lstm"            # "rnn" (Elman, tanh), "lstm" or "gru"; set by the model class
    units: int = 32               # hidden units per layer (per direction)
    layers: int = 1               # stacked recurrent layers
    dropout: float = 0.0          # dropout after every recurrent layer (the course's Dropout(0.2))
    bidirectional: bool = False
    lookback: int = 24            # input window length, in steps of the (differenced) series
    epochs: int = 20              # upper bound; early stopping usually ends training sooner
    batch_size: int = 64
    learning_rate: float = 1e-3   # Adam
    patience: int = 3             # epochs without a better validation loss; 0 disables stopping
    val_fraction: float = 0.1     # last fraction of the training windows, for early stopping
    scaler: str = "minmax"        # "minmax" to [0, 1] or "standard" (zero mean, unit variance)
    diff: int = 0                 # differencing order 0, 1 or 2, undone after forecasting
    output: str = "recursive"     # "recursive": one-step head fed back; "direct": `horizon` outputs
    horizon: int = 1              # width of the direct head; ignored when output="recursive"
    seed: int = 0

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"RNNConfig: {message}")

        need(self.cell in CELLS, f"cell must be one of {CELLS}, got {self.cell!r}")
        need(self.scaler in SCALERS, f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        need(self.output in OUTPUTS, f"output must be one of {OUTPUTS}, got {self.output!r}")
        for name in ("units", "layers", "lookback", "epochs", "batch_size", "horizon"):
            value = getattr(self, name)
            need(_is_int(value) and value >= 1, f"{name} must be an integer >= 1, got {value!r}")
        need(_is_int(self.patience) and self.patience >= 0,
             f"patience must be an integer >= 0, got {self.patience!r}")
        need(_is_int(self.diff) and self.diff in (0, 1, 2),
             f"diff (differencing order) must be 0, 1 or 2, got {self.diff!r}")
        need(_is_int(self.seed), f"seed must be an integer, got {self.seed!r}")
        need(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout!r}")
        need(0.0 <= self.val_fraction < 1.0,
             f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        need(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate!r}")
        need(isinstance(self.bidirectional, bool),
             f"bidirectional must be a bool, got {self.bidirectional!r}")

    @property
    def n_outputs(self) -> int:
        """Width of the network's output layer."""
        return self.horizon if self.output == "direct" else 1

    @property
    def early_stopping(self) -> bool:
        return self.patience > 0 and self.val_fraction > 0

    def as_dict(self) -> dict:
        return asdict(self)


def _is_int(value: object) -> bool:
    # bool is an int subclass; `layers = true` in a suite file is a mistake, not 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


DEFAULTS = RNNConfig()
