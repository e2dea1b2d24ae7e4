"""Forecasts as distributions: the one set of quantile levels every model is asked for.

A model that forecasts a distribution answers ``predict_quantiles(horizon, levels)`` with a
``(horizon, len(levels))`` array: column j holds the ``levels[j]`` quantile of each horizon
step, columns increasing (quantiles never cross). The runner always asks for ``LEVELS``:

- the central 80%, 90% and 95% intervals (``INTERVALS``), which M4 scores (MSIS at 95%) and
  the tables report as coverage;
- the nine deciles 0.1 .. 0.9 (``SQL_LEVELS``), over which fev and GIFT-Eval average the
  quantile loss;
- the median, 0.5.

A model without ``predict_quantiles`` gets conformal intervals from the runner
(``bench.conformal``), calibrated on the validation span, never on the test span.

The helpers here are what several families share: quantiles of a normal forecast
distribution (analytic state-space intervals, R's ``forecast`` formulas), quantiles of
simulated paths, and the check the runner applies to every answer.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

LEVELS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975)
SQL_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
INTERVALS = {80: (0.1, 0.9), 90: (0.05, 0.95), 95: (0.025, 0.975)}   # nominal % -> (lower, upper) levels
CROSSING_TOLERANCE = 1e-9     # relative: quantiles equal up to rounding do not "cross"


def central_intervals(levels: Sequence[float] = LEVELS) -> dict[float, tuple[float, float]]:
    """Every central interval the levels hold, by nominal coverage: ``{0.8: (0.1, 0.9), ...}`` (the median
    pairs with nothing)."""
    out = {}
    for low in levels:
        high = round(1.0 - low, 9)
        if low < 0.5 and any(abs(high - level) < 1e-9 for level in levels):
            out[round(high - low, 9)] = (low, high)
    return dict(sorted(out.items()))


def column(level: float) -> str:
    """The store's column name of a level: ``q025`` for 0.025, ``q500`` for the median."""
    return f"q{round(level * 1000):03d}"


COLUMNS = tuple(column(level) for level in LEVELS)


def index_of(level: float, levels: Sequence[float] = LEVELS) -> int:
    """Where ``level`` is in ``levels`` (compared to 1e-9)."""
    for j, value in enumerate(levels):
        if abs(value - level) < 1e-9:
            return j
    raise ValueError(f"level {level} is not among {tuple(levels)}")


@functools.lru_cache(maxsize=16)
def _z(levels: tuple[float, ...]) -> np.ndarray:
    # Cached: scipy's ppf costs about 100 microseconds a call, more than a naive model's whole
    # predict. Imported here: scipy.stats took 1.5 s of every `python -m bench` start, a bad
    # input's included; ndtri is the inverse normal CDF norm.ppf calls, the same values.
    from scipy.special import ndtri
    return ndtri(np.asarray(levels, dtype=float))


def normal(mean, std, levels: Sequence[float] = LEVELS) -> np.ndarray:
    """Quantiles of independent normal forecast distributions, one per horizon step: ``(h, L)``."""
    mean = np.asarray(mean, dtype=float).reshape(-1)
    std = np.asarray(std, dtype=float).reshape(-1)
    return mean[:, None] + std[:, None] * _z(tuple(levels))[None, :]


def from_samples(paths, levels: Sequence[float] = LEVELS) -> np.ndarray:
    """Quantiles of simulated sample paths ``(n_paths, h)``, per step: ``(h, L)``."""
    paths = np.asarray(paths, dtype=float)
    return np.quantile(paths, np.asarray(levels, dtype=float), axis=0).T


def crossing(q: np.ndarray) -> float:
    """The largest amount by which a quantile falls below the one of the level before it (0: none)."""
    q = np.asarray(q, dtype=float)
    if q.shape[-1] < 2:
        return 0.0
    drops = q[..., :-1] - q[..., 1:]
    tolerance = CROSSING_TOLERANCE * np.maximum(1.0, np.abs(q[..., :-1]))
    worst = np.where(drops > tolerance, drops, 0.0)
    return float(worst.max()) if worst.size else 0.0


def checked(q, horizon: int, levels: Sequence[float] = LEVELS) -> np.ndarray:
    """``q`` as a ``(horizon, len(levels))`` float array, or ValueError naming what is wrong with it.

    Quantiles equal up to rounding are sorted into order; any larger crossing, a wrong shape
    or a non-finite value is an error (the cell fails with that reason).
    """
    q = np.asarray(q, dtype=float)
    if q.shape != (horizon, len(levels)):
        raise ValueError(f"predict_quantiles({horizon}) returned shape {q.shape}, "
                         f"expected ({horizon}, {len(levels)})")
    if not np.isfinite(q).all():
        raise ValueError("predict_quantiles returned a non-finite quantile")
    if (q[:, 1:] >= q[:, :-1]).all():          # in order already: the common case, checked cheaply
        return q
    worst = crossing(q)
    if worst > 0:
        raise ValueError(f"predict_quantiles returned crossing quantiles (a higher level below a lower "
                         f"one by {worst:.3g})")
    return np.sort(q, axis=1)
