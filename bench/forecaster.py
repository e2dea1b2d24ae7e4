"""The Forecaster protocol and the model registry.

The harness talks to models only through this protocol. A model class is built as
``Model(season_length=..., seed=..., **params)``, plus ``horizon=`` (the split's
horizon) when its constructor takes a ``horizon`` and the suite does not set one, so a
multi-output model learns the width it will be asked for. The constructor only stores
its arguments; all work and validation happens in ``fit`` (fitted attributes end in
``_``).

The registry maps a model name to an import path; the module is imported only when
that model runs, so ``python -m bench list`` never loads TensorFlow or torch.
"""
from __future__ import annotations

import importlib
import inspect
import sys
import types
import typing
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class Forecaster(Protocol):
    def fit(self, y: pd.Series) -> Self:
        """Estimate the model on ``y`` (a regular DatetimeIndex, oldest first)."""

    def update(self, y_new: pd.Series) -> Self:
        """Reveal the observations that follow the data seen so far, without refitting."""

    def predict(self, horizon: int) -> np.ndarray:
        """Forecast the ``horizon`` steps after the last observation seen."""

    def n_params(self) -> int:
        """Number of fitted, trainable parameters."""

    # Optional: ``load_libraries()`` imports heavy frameworks; the runner calls it before
    # timing, so that an import is not counted as the first fit's training time.
    # Optional: ``fit_info() -> dict`` describes the last fit in a few scalars (the order an
    # automatic search chose, the epochs a network trained); the runner records it after
    # every fit and the dataset pages show it. Numbers are averaged over a walk's fits,
    # text keeps its most frequent value.
    # Optional: ``predict_quantiles(horizon, levels) -> np.ndarray`` forecasts a distribution:
    # a ``(horizon, len(levels))`` array, column j the ``levels[j]`` quantile of every step,
    # from the same state as the ``predict`` call just before it (the runner always asks for
    # ``bench.quantiles.LEVELS``, and times it as part of predict). A class attribute
    # ``intervals`` says in a few words how they are made ("normal, R forecast's rwf
    # variance"). A model without it gets conformal intervals (``bench.conformal``).


@runtime_checkable
class GlobalForecaster(Protocol):
    """A model trained once across every series of a panel (a single series is a panel of one).

    ``fit`` receives the training part of every series (each its own history before its
    origin, by id); ``predict`` forecasts every series from its own history. Scalers and
    decompositions are fitted per series on that series' training part only. The runner
    times the one fit for the whole panel and counts the shared weights once. A registry
    entry (or an external class, by ``global_model = True``) declares a model global.
    """

    def fit(self, panel: dict[str, pd.Series]) -> Self:
        """Train on ``{series id: training values}`` (each a regular DatetimeIndex, oldest first)."""

    def update(self, revealed: dict[str, pd.Series]) -> Self:
        """Reveal each series' observations that follow what it has seen, without retraining."""

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        """Forecast the ``horizon`` steps after each series' last observation seen, by id."""

    def n_params(self) -> int:
        """Trainable parameters shared by all series (plus any per-series ones), counted once."""

    # Optional, as for a per-series model: ``predict_quantiles(horizon, levels) -> dict[str,
    # np.ndarray]``, each series' ``(horizon, len(levels))`` quantiles, by id.


class ModelSkipped(Exception):
    """Raised from ``fit`` when a model cannot handle a series; the reason is recorded."""


@dataclass(frozen=True)
class ModelEntry:
    path: str          # "package.module:ClassName"
    family: str
    seeded: bool       # True: results vary with the seed, so the runner repeats it
    summary: str
    global_model: bool = False   # True: a GlobalForecaster, fitted once on every series of a panel

    def load(self) -> type:
        module_name, _, class_name = self.path.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


REGISTRY: dict[str, ModelEntry] = {
    "naive": ModelEntry("baselines.naive:Naive", "naive", False, "last observed value"),
    "seasonal_naive": ModelEntry("baselines.naive:SeasonalNaive", "naive", False,
                                 "value one season ago"),
    "drift": ModelEntry("baselines.naive:Drift", "naive", False,
                        "line through the first and last observation"),
    "arima": ModelEntry("baselines.arima:Arima", "arima", False,
                        "statsmodels SARIMAX, auto.arima by default (stepwise AICc search)"),
    "holt_winters": ModelEntry("baselines.holt_winters:HoltWinters", "holt_winters", False,
                               "statsmodels exponential smoothing"),
    "ets": ModelEntry("baselines.ets:ETS", "ets", False,
                      "automatic ETS chosen by AICc, as R's ets()"),
    "theta": ModelEntry("baselines.theta:Theta", "theta", False,
                        "classic Theta method, as the M4 benchmark"),
    "naive2": ModelEntry("baselines.m4_benchmarks:Naive2", "naive", False,
                         "last value of the seasonally adjusted series, as the M4 benchmark"),
    "ses": ModelEntry("baselines.m4_benchmarks:SES", "exp_smoothing", False,
                      "simple exponential smoothing, as the M4 benchmark (R's ses)"),
    "holt": ModelEntry("baselines.m4_benchmarks:Holt", "exp_smoothing", False,
                       "Holt's linear trend, as the M4 benchmark (R's holt)"),
    "damped": ModelEntry("baselines.m4_benchmarks:Damped", "exp_smoothing", False,
                         "damped trend, as the M4 benchmark (R's holt, damped)"),
    "com": ModelEntry("baselines.m4_benchmarks:Com", "exp_smoothing", False,
                      "mean of ses, holt and damped, as the M4 benchmark"),
    "prophet": ModelEntry("baselines.prophet:ProphetModel", "prophet", False,
                          "Prophet, seasonalities from the frequency"),
    "xgboost": ModelEntry("baselines.xgboost_model:XGBoostModel", "xgboost", True,
                          "XGBoost on lag and calendar features, recursive"),
    "global_rnn_torch": ModelEntry("rnn_models.global_torch:GlobalTorchSimpleRNN", "rnn", True,
                                   "SimpleRNN in PyTorch trained across a panel's series", True),
    "global_lstm_torch": ModelEntry("rnn_models.global_torch:GlobalTorchLSTM", "rnn", True,
                                    "LSTM in PyTorch trained across a panel's series", True),
    "global_gru_torch": ModelEntry("rnn_models.global_torch:GlobalTorchGRU", "rnn", True,
                                   "GRU in PyTorch trained across a panel's series", True),
    "global_rnn_keras": ModelEntry("rnn_models.global_keras:GlobalKerasSimpleRNN", "rnn", True,
                                   "SimpleRNN in Keras trained across a panel's series", True),
    "global_lstm_keras": ModelEntry("rnn_models.global_keras:GlobalKerasLSTM", "rnn", True,
                                    "LSTM in Keras trained across a panel's series", True),
    "global_gru_keras": ModelEntry("rnn_models.global_keras:GlobalKerasGRU", "rnn", True,
                                   "GRU in Keras trained across a panel's series", True),
    "global_xgboost": ModelEntry("baselines.global_xgboost:GlobalXGBoost", "xgboost", True,
                                 "XGBoost on per-series normalised lag windows, trained across a panel", True),
    "rnn_keras": ModelEntry("rnn_models.keras_rnn:KerasSimpleRNN", "rnn", True,
                            "SimpleRNN in Keras (TensorFlow backend)"),
    "lstm_keras": ModelEntry("rnn_models.keras_rnn:KerasLSTM", "rnn", True, "LSTM in Keras"),
    "gru_keras": ModelEntry("rnn_models.keras_rnn:KerasGRU", "rnn", True, "GRU in Keras"),
    "rnn_torch": ModelEntry("rnn_models.torch_rnn:TorchSimpleRNN", "rnn", True,
                            "SimpleRNN (nn.RNN) in PyTorch"),
    "lstm_torch": ModelEntry("rnn_models.torch_rnn:TorchLSTM", "rnn", True, "LSTM in PyTorch"),
    "gru_torch": ModelEntry("rnn_models.torch_rnn:TorchGRU", "rnn", True, "GRU in PyTorch"),
}


def get_entry(name: str) -> ModelEntry:
    """A registered model, or any class named by its import path ``package.module:Class``.

    An import path lets a user (or a test) benchmark a model without registering it;
    such a class declares ``seeded = True`` if its results depend on the seed.
    """
    if ":" in name and name not in REGISTRY:
        entry = ModelEntry(name, "external", False, "")
        try:
            cls = entry.load()
        except (ImportError, AttributeError) as exc:
            raise KeyError(f"cannot import model {name!r} ({exc})") from None
        return ModelEntry(name, "external", bool(getattr(cls, "seeded", False)), cls.__doc__ or "",
                          bool(getattr(cls, "global_model", False)))
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(REGISTRY))}") from None


def is_global(name: str) -> bool:
    """Whether ``name`` is a GlobalForecaster (False for a name that is not a model: its cell fails later)."""
    try:
        return get_entry(name).global_model
    except KeyError:
        return False


def check_params(name: str, params: dict) -> None:
    """Raise TypeError or ValueError naming a parameter ``name``'s constructor does not take or cannot use.

    Checked without running the model: the parameter must exist; its value's type must be one
    its annotation names (``p: int | None`` refuses ``"1"``; an int is accepted where a float
    is, a bool only where a bool is), or, without an annotation, the type of its default; and
    a text value must be one of the choices the model's module lists in a tuple named after
    the parameter (``_TRENDS = ("none", "add", "damped")`` for ``trend``), where there is one.
    """
    cls = get_entry(name).load()
    sig = inspect.signature(cls)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        unknown = sorted(set(params) - set(sig.parameters))
        if unknown:
            accepted = sorted(set(sig.parameters) - {"season_length", "seed"})
            raise TypeError(f"model {name!r} has no parameter {', '.join(unknown)} "
                            f"(accepted: {', '.join(accepted)})")
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:       # an annotation that does not resolve: check what the defaults say
        hints = {}
    module = sys.modules.get(cls.__module__)
    for key, value in params.items():
        parameter = sig.parameters.get(key)
        if parameter is None:
            continue
        allowed = _accepted_types(hints.get(key), parameter.default)
        if allowed is not None and not _is_one_of(value, allowed):
            raise TypeError(f"model {name!r}: {key} = {value!r} is {_type_text(type(value), value=True)}; {key} takes "
                            f"{' or '.join(_type_text(t) for t in allowed)}")
        choices = getattr(module, f"_{key.upper()}S", None)
        if (isinstance(value, str) and isinstance(choices, tuple) and choices
                and all(isinstance(c, str) for c in choices) and value not in choices):
            raise ValueError(f"model {name!r}: {key} = {value!r} is not one of {', '.join(map(repr, choices))}")


_SCALARS = (bool, int, float, str, type(None))


def _accepted_types(hint, default) -> tuple[type, ...] | None:
    """The scalar types a parameter takes, from its annotation or its default; None: not checkable."""
    if hint is None:
        if default is inspect.Parameter.empty or default is None:
            return None
        hint = type(default)
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if not all(m in _SCALARS for m in members):
        return None
    return tuple(members)


def _is_one_of(value, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int):
        return int in allowed or float in allowed
    return any(isinstance(value, t) for t in allowed if t is not bool)


def _type_text(t: type, value: bool = False) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float" if value else "a number", str: "a string",
            type(None): "None"}.get(t, t.__name__)


def has_quantiles(name: str) -> bool:
    """Whether ``name``'s class forecasts a distribution itself (``predict_quantiles``); False when it
    cannot be imported (its cells fail with the reason)."""
    try:
        return hasattr(get_entry(name).load(), "predict_quantiles")
    except (ImportError, AttributeError, KeyError):
        return False


def accepts(name: str, parameter: str) -> bool:
    """Whether ``name``'s constructor takes ``parameter`` (False when it cannot be imported)."""
    try:
        return parameter in inspect.signature(get_entry(name).load()).parameters
    except ImportError:
        return False


def build(name: str, params: dict, *, season_length: int, seed: int,
          horizon: int | None = None) -> Forecaster:
    """An unfitted model; ``horizon`` reaches only constructors that take it, unless ``params`` sets it."""
    cls = get_entry(name).load()
    extra = {}
    if horizon is not None and "horizon" not in params and "horizon" in inspect.signature(cls).parameters:
        extra["horizon"] = horizon
    return cls(season_length=season_length, seed=seed, **extra, **params)


def future_index(index: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``index`` at its own frequency.

    Trading-day series carry a business-day frequency whose holidays are the market's
    closed days, so the next timestamps skip them as the market calendar does.
    """
    if index.freq is None:
        raise ValueError("series index has no frequency; load it with bench.data")
    return pd.date_range(index[-1], periods=horizon + 1, freq=index.freq)[1:]
