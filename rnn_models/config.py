"""One configuration for every recurrent model, in both frameworks.

The model constructors take these fields as scalar keyword arguments (suite files expand
lists into grids) and build an ``RNNConfig`` in ``fit``, where it is validated. Keras and
PyTorch models read the same config, so a variant means the same network in both.

The defaults are the preset of docs/models.md ("Recurrent networks", "The default preset"): logs
where the variance grows with the level, STL deseasonalisation where the season is
strong, windows normalised by their last value, a direct head as wide as the split's
horizon, a lookback of 1.25 x max(horizon, season), and training in rounds of optimiser
steps that early stopping ends. Setting ``transform="none"``, ``deseasonalise=False``,
``window_norm="none"``, ``scaler="minmax"``, ``output="recursive"``,
``steps_per_epoch="pass"`` and explicit sizes gives the plain network of earlier
versions (suites/workshop.toml does).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, replace

from bench.seasonality import usable_season

CELLS = ("rnn", "lstm", "gru")
SCALERS = ("step", "minmax", "standard")
OUTPUTS = ("recursive", "direct")
TRANSFORMS = ("auto", "log", "none")
WINDOW_NORMS = ("last", "none")
AUTO = "auto"
PASS = "pass"

LOOKBACK_PER_PERIOD = 1.25    # Hewamalage et al. (2021): input window 1.25 x max(horizon, season)
AUTO_MAX_BATCH = 256          # larger batches bought no speed per window for LSTM(32) on CPU


@dataclass(frozen=True)
class RNNConfig:
    cell: str = "lstm"            # "rnn" (Elman, tanh), "lstm" or "gru"; set by the model class
    units: int = 32               # hidden units per layer (per direction)
    layers: int = 1               # stacked recurrent layers
    dropout: float = 0.0          # dropout after every recurrent layer (the course's Dropout(0.2))
    bidirectional: bool = False
    lookback: int | str = AUTO    # input window in steps; "auto": 1.25 x max(horizon, season)
    epochs: int = 100             # upper bound on epochs; early stopping ends training sooner
    steps_per_epoch: int | str = 10   # optimiser steps between validation checks; "pass": one pass
    batch_size: int | str = AUTO  # "auto": every training window if at most 256, else 256
    learning_rate: float = 3e-3   # Adam
    patience: int = 5             # epochs without a better validation loss; 0 disables stopping
    val_fraction: float = 0.1     # last fraction of the windows, for early stopping
    transform: str = AUTO         # "log", "none"; "auto": log when the variance grows with the level
    deseasonalise: bool | str = AUTO   # STL seasonal component removed; "auto": where it is strong
    window_norm: str = "last"     # "last": subtract each input window's last value; "none"
    scaler: str = "step"          # "step" (mean absolute one-step change), "minmax", "standard"
    diff: int = 0                 # differencing order 0, 1 or 2, undone after forecasting
    output: str = "direct"        # "direct": `horizon` outputs at once; "recursive": one-step head fed back
    horizon: int = 1              # width of the direct head (the runner passes the split's horizon)
    season_length: int = 1        # the dataset's season; seasons above MAX_SEASON count as none
    seed: int = 0

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"RNNConfig: {message}")

        need(self.cell in CELLS, f"cell must be one of {CELLS}, got {self.cell!r}")
        need(self.scaler in SCALERS, f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        need(self.output in OUTPUTS, f"output must be one of {OUTPUTS}, got {self.output!r}")
        need(self.transform in TRANSFORMS,
             f"transform must be one of {TRANSFORMS}, got {self.transform!r}")
        need(self.window_norm in WINDOW_NORMS,
             f"window_norm must be one of {WINDOW_NORMS}, got {self.window_norm!r}")
        need(isinstance(self.deseasonalise, bool) or self.deseasonalise == AUTO,
             f"deseasonalise must be true, false or {AUTO!r}, got {self.deseasonalise!r}")
        for name in ("units", "layers", "epochs", "horizon", "season_length"):
            value = getattr(self, name)
            need(_is_int(value) and value >= 1, f"{name} must be an integer >= 1, got {value!r}")
        for name, word in (("lookback", AUTO), ("batch_size", AUTO), ("steps_per_epoch", PASS)):
            value = getattr(self, name)
            need(value == word or (_is_int(value) and value >= 1),
                 f"{name} must be an integer >= 1 or {word!r}, got {value!r}")
        need(_is_int(self.patience) and self.patience >= 0,
             f"patience must be an integer >= 0, got {self.patience!r}")
        need(_is_int(self.diff) and self.diff in (0, 1, 2),
             f"diff (differencing order) must be 0, 1 or 2, got {self.diff!r}")
        need(_is_int(self.seed), f"seed must be an integer, got {self.seed!r}")
        need(_is_real(self.dropout) and 0.0 <= self.dropout < 1.0,
             f"dropout must be in [0, 1), got {self.dropout!r}")
        need(_is_real(self.val_fraction) and 0.0 <= self.val_fraction < 1.0,
             f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        need(_is_real(self.learning_rate) and self.learning_rate > 0,
             f"learning_rate must be > 0, got {self.learning_rate!r}")
        need(isinstance(self.bidirectional, bool),
             f"bidirectional must be a bool, got {self.bidirectional!r}")
        need(self.lookback != 1 or self.window_norm != "last",
             "lookback 1 with window_norm='last' leaves the network an input of zeros")

    @property
    def n_outputs(self) -> int:
        """Width of the network's output layer."""
        return self.horizon if self.output == "direct" else 1

    @property
    def season(self) -> int:
        """The season the preprocessing and the lookback use (1: none)."""
        return usable_season(self.season_length)

    @property
    def early_stopping(self) -> bool:
        return self.patience > 0 and self.val_fraction > 0

    def resolved(self) -> RNNConfig:
        """This config with the lookback a number: what the network's input shape needs.

        The data-dependent choices (transform, deseasonalisation, batch size) are made in
        ``fit`` from the training window; the lookback depends only on the horizon and the
        season, so Keras can trace its network before the first fit.
        """
        if self.lookback != AUTO:
            return self
        # At least 2: with window_norm="last" the last input is always 0.
        period = max(self.horizon, self.season)
        return replace(self, lookback=max(2, math.floor(LOOKBACK_PER_PERIOD * period)))

    def as_dict(self) -> dict:
        return asdict(self)


def _is_int(value: object) -> bool:
    # bool is an int subclass; `layers = true` in a suite file is a mistake, not 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


DEFAULTS = RNNConfig()
