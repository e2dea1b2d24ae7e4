"""Series-level preprocessing for the recurrent models, fitted on the training window only.

``SeriesTransform.fit(y, cfg)`` decides and fits, from the training values ``y`` alone
(all before the forecast origin), the map from levels to the series the network
reads, and its inverse for forecasts:

    y  --log?-->  v  --minus seasonal(t)?-->  d  --difference(diff)-->  dd  --scaler-->  z

Positions ``t`` count from the first training value, so values revealed later by
``update`` continue the same clock.

- **Variance stabilisation** (``transform``): logs when ``"log"``, or with ``"auto"``
  where ``bench.seasonality.variance_grows_with_level`` says so (positive values and
  Guerrero's lambda below 0.5; the rule every family's automatic default shares). A
  series with zeros (sunspots) stays on its own scale. Logs make the network's inputs
  relative changes, the same for a series at 100 or at 600 (Hewamalage, Bergmeir and
  Bandara 2021; Smyl 2020).
- **Deseasonalisation** (``deseasonalise``): the seasonal component of an STL
  decomposition (Cleveland et al. 1990) of ``v`` with the usable season (at most
  ``MAX_SEASON``) is subtracted. With ``"auto"``, only where the STL seasonal strength
  of ``v`` exceeds 0.64, the rule auto.arima uses for a seasonal difference (Wang, Smith
  and Hyndman 2006), as ``bench.seasonality.seasonal_strength`` computes it. The M4
  autocorrelation test is not used: it calls any trending series seasonal
  (google_stock, season 5). Beyond the training window the seasonal component is its
  last season repeated (Hewamalage et al. 2021), and so are the values ``update``
  reveals deseasonalised.
  The seasonal smoother spans ``STL_SEASONAL_CYCLES`` cycles. The network is trained on
  the in-sample component but forecasts with the last season repeated; a component that
  follows the data closely (statsmodels' default of 7 cycles) makes the two differ: the
  network is trained on windows smoother than any it is given at forecast time. A fully periodic component
  (Hewamalage's ``s.window="periodic"``) cannot follow a daily load profile that changes
  with the time of year. On the validation spans (docs/models.md), energy's LSTM and SimpleRNN
  went from 809 and 736 (7 cycles) to 596 and 628 (51) and 776 and 931 (731, nearly
  periodic), with air_passengers unchanged (8.3 and 8.0 to 8.2 and 7.8).
- **Differencing** (``diff``) and the **scaler**: ``"step"`` divides by the mean
  absolute one-step change of ``dd`` (the in-sample naive forecast's MAE, MASE's scale:
  Hyndman and Koehler 2006), so one unit is one typical step whatever the series'
  units; ``"minmax"`` and ``"standard"`` are the older options.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.forecaster import ModelSkipped
from bench.seasonality import SEASONAL_STRENGTH_THRESHOLD, seasonal_strength, variance_grows_with_level
from rnn_models.config import AUTO, RNNConfig

STL_SEASONAL_CYCLES = 51    # odd; the seasonal smoother's span, in cycles (see above)


@dataclass(frozen=True)
class Scaler:
    """An affine map z = (x - loc) / scale, fitted once on training values."""

    kind: str
    loc: float
    scale: float

    @classmethod
    def fit(cls, kind: str, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=float)
        if kind == "minmax":           # to [0, 1], as sklearn's MinMaxScaler
            loc, spread = float(values.min()), float(values.max() - values.min())
        elif kind == "standard":       # zero mean, unit (population) variance
            loc, spread = float(values.mean()), float(values.std())
        elif kind == "step":           # one unit = the mean absolute one-step change
            steps = np.abs(np.diff(values))
            loc, spread = float(values.mean()), float(steps.mean()) if len(steps) else 0.0
        else:
            raise ValueError(f"unknown scaler {kind!r}")
        # A constant training window would divide by zero; any scale maps it to 0.
        return cls(kind, loc, spread if spread > 0 else 1.0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.loc) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float) * self.scale + self.loc


def difference(y: np.ndarray, order: int) -> np.ndarray:
    """The ``order``-th differences of ``y`` (``order`` 0 returns a float copy)."""
    y = np.asarray(y, dtype=float)
    return np.diff(y, n=order) if order else y.copy()


def undifference(dy_future: np.ndarray, history: np.ndarray, order: int) -> np.ndarray:
    """Levels that continue ``history`` whose ``order``-th differences are ``dy_future``.

    Integrates one order at a time, starting each cumulative sum from the last value of
    the history's next-lower difference (for order 2: the last slope, then the last level).
    """
    out = np.asarray(dy_future, dtype=float)
    history = np.asarray(history, dtype=float)
    for k in range(order, 0, -1):
        out = np.diff(history, n=k - 1)[-1] + np.cumsum(out)
    return out


@dataclass(frozen=True, eq=False)
class SeriesTransform:
    """Levels <-> the network's series, fitted on one training window and then frozen."""

    log: bool
    season: int                     # period of the removed seasonal component; 1: none removed
    seasonal: np.ndarray            # STL seasonal component at training positions (empty if none)
    diff: int
    scaler: Scaler

    @classmethod
    def fit(cls, y: np.ndarray, cfg: RNNConfig) -> SeriesTransform:
        y = np.asarray(y, dtype=float)
        log = _wants_log(y, cfg)
        v = np.log(y) if log else y
        season, seasonal = _seasonal_component(v, cfg)
        d = v - seasonal if season > 1 else v
        return cls(log, season, seasonal, cfg.diff, Scaler.fit(cfg.scaler, difference(d, cfg.diff)))

    @property
    def n_fitted(self) -> int:
        return len(self.seasonal)

    def seasonal_at(self, positions: np.ndarray) -> np.ndarray:
        """The seasonal component at ``positions``: STL's inside the training window, its
        last season repeated after it."""
        positions = np.asarray(positions)
        if self.season == 1:
            return np.zeros(len(positions))
        n, m = self.n_fitted, self.season
        inside = np.minimum(positions, n - 1)
        repeated = n - m + (positions - n) % m
        return self.seasonal[np.where(positions < n, inside, repeated)]

    def deseasonalised(self, y: np.ndarray, start: int) -> np.ndarray:
        """``d``: levels at positions ``start, start + 1, ...`` on the log scale (if any),
        seasonal component removed."""
        y = np.asarray(y, dtype=float)
        if self.log and np.any(y <= 0):
            raise ValueError("the series has a value <= 0 after a fit that took logs")
        v = np.log(y) if self.log else y
        return v - self.seasonal_at(np.arange(start, start + len(y)))

    def forward(self, y: np.ndarray, start: int) -> np.ndarray:
        """``z`` for levels ``y`` at positions from ``start``; ``diff`` values shorter than ``y``."""
        return self.scaler.transform(difference(self.deseasonalised(y, start), self.diff))

    def inverse(self, z_future: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Levels for ``z`` values that follow ``history``, the levels at positions up to
        ``len(history) - 1`` (the model's whole context: position 0 is the first training value)."""
        start = len(history) - (self.diff + 1)
        d_history = self.deseasonalised(history[start:], start)
        d_future = undifference(self.scaler.inverse(z_future), d_history, self.diff)
        v = d_future + self.seasonal_at(np.arange(len(history), len(history) + len(d_future)))
        return np.exp(v) if self.log else v

    def describe(self) -> dict:
        return {"transform": "log" if self.log else "none", "deseasonalised": self.season > 1}


def _wants_log(y: np.ndarray, cfg: RNNConfig) -> bool:
    if cfg.transform == "log":
        if np.any(y <= 0):
            raise ModelSkipped(f"transform='log' needs positive values; the training window's "
                               f"minimum is {y.min():g}")
        return True
    if cfg.transform == AUTO:
        return variance_grows_with_level(y, cfg.season)
    return False


def _seasonal_component(v: np.ndarray, cfg: RNNConfig) -> tuple[int, np.ndarray]:
    """(period, STL seasonal component of ``v``), or (1, empty) when nothing is removed.

    ``deseasonalise=True`` removes the usable season whenever there is one (a season
    above MAX_SEASON, or none, leaves the series as it is).
    """
    m = cfg.season
    if cfg.deseasonalise is False or m == 1:
        return 1, np.empty(0)
    if len(v) < 2 * m + 1:
        if cfg.deseasonalise is True:
            raise ModelSkipped(f"deseasonalising with season {m} needs at least {2 * m + 1} "
                               f"points, the training window has {len(v)}")
        return 1, np.empty(0)
    if cfg.deseasonalise == AUTO and seasonal_strength(v, m) <= SEASONAL_STRENGTH_THRESHOLD:
        return 1, np.empty(0)
    from statsmodels.tsa.seasonal import STL
    return m, np.asarray(STL(v, period=m, seasonal=STL_SEASONAL_CYCLES).fit().seasonal, dtype=float)
