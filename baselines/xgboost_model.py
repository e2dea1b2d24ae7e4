"""Gradient-boosted trees (XGBoost) on lag and calendar features, forecasting recursively.

Each training row is one time t: the features are the last ``lags`` values before t,
the values one, two, ... ``seasonal_lags`` seasons before t, and calendar fields of
t's timestamp (hour, day of week, month, chosen from the series' spacing); the
target is the value at t.

``target="diff"`` models first differences instead of levels (the features are then
lags of the differenced series too) and adds the forecast differences back onto the
last value. Trees predict piecewise constants inside the range they were trained
on, so on a trending series (air passengers) a level model cannot forecast above
the highest value it has seen; differences stay in range. ``transform="log"`` makes
a multiplicative season additive first.

With no parameters the features and the target are chosen on every training window,
from the usable season m (``bench.seasonality.usable_season``: 1 beyond 24) and the
split's horizon h (the runner passes ``horizon``):

- ``lags="auto"``: ``max(m, h, 10)`` consecutive lags: a full season, the whole
  horizon (a recursive forecast's last step still reads lags it was trained on as
  context), and at least sktime's default reduction window of 10;
- ``seasonal_lags="auto"``: with a season, the same position ``max(2, ceil(h / m))``
  seasons back (lags m, 2m, ...): at least two, so the trees see the seasonal pattern
  and how it changes, and enough that the furthest step of the horizon still reads an
  observed value one season back; none without a season. All lags are capped at a
  third of the window (as auto.arima caps p and q), so a short series keeps rows to
  learn from;
- ``target="auto"``: ``"diff"`` when KPSS finds the (transformed) series itself
  non-stationary (``bench.seasonality.ndiffs`` >= 1, R's ``ndiffs`` rule): a trend or
  unit root that trees, which forecast inside the range they were trained on, cannot
  extrapolate; ``"level"`` when it is level-stationary. (Not after a seasonal
  difference, as ARIMA tests: a seasonal difference removes a trend, but this model
  is not seasonally differenced.)
- ``transform="auto"``: ``"log"`` for a positive series whose variance grows with its
  level (``variance_grows_with_level``, as ARIMA's logs and Holt-Winters'
  multiplicative season), ``"none"`` otherwise.

Recursive forecasting (what ``predict`` does): one model forecasts one step, the
forecast is appended to the history and the next step's features are built from it,
``horizon`` times. Its errors feed back, but one model serves every horizon. The
direct strategy would instead train one model per step ahead h = 1..H, each on the
target h steps after the features, and never feed forecasts back: no error
accumulation, but H times the training cost, a horizon fixed at fit time, and steps
that are forecast independently, so less coherent paths.

Early stopping holds out the last ``val_frac`` of the training rows (the most recent
ones, as a forecast would meet them; never anything of the test span), boosts on the
rest until the validation error has not improved for ``patience`` rounds, then
retrains on all training rows for the best number of rounds, so the newest
observations are learned from too.

``update`` appends the new observations to the history the lag features are read
from; the trees are not retrained.

``fit_info()``: the consecutive lags, the longest lag, the target, the transform and
the boosting rounds kept
(``{"lags": 12, "max_lag": 24, "target": "diff", "transform": "log", "rounds": 57}``).

Other hyperparameters: ``calendar`` (False drops the calendar features),
``n_estimators`` (the cap on boosting rounds), ``learning_rate``, ``max_depth``,
``subsample`` (row sampling per tree, the reason results vary with ``seed``),
``n_jobs`` (XGBoost threads; 1 because the runner already runs one cell per core).

``n_params``: the total number of nodes (splits and leaves) over all trees of the
final booster, i.e. the trees kept after early stopping.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped, future_index
from bench.seasonality import MAX_SEASON, ndiffs, usable_season, variance_grows_with_level

_AUTO = "auto"
_TARGETS = (_AUTO, "level", "diff")
_TRANSFORMS = (_AUTO, "none", "log")
MIN_LAGS = 10   # sktime's default reduction window_length


class XGBoostModel:
    def __init__(self, *, season_length: int = 1, seed: int = 0, horizon: int | None = None,
                 lags: int | str = _AUTO, seasonal_lags: int | str = _AUTO,
                 calendar: bool = True, target: str = _AUTO, transform: str = _AUTO,
                 n_estimators: int = 200, learning_rate: float = 0.1, max_depth: int = 4,
                 subsample: float = 0.8, val_frac: float = 0.2, patience: int = 25,
                 n_jobs: int = 1):
        self.season_length = season_length
        self.seed = seed
        self.horizon = horizon
        self.lags = lags
        self.seasonal_lags = seasonal_lags
        self.calendar = calendar
        self.target = target
        self.transform = transform
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.val_frac = val_frac
        self.patience = patience
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------

    def fit(self, y: pd.Series) -> XGBoostModel:
        import xgboost as xgb

        self._check_params()
        if not isinstance(y.index, pd.DatetimeIndex) or y.index.freq is None:
            raise ValueError("XGBoost needs a DatetimeIndex with a frequency")
        values = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError("XGBoost needs finite observations")
        m = usable_season(self.season_length, MAX_SEASON)
        self.transform_ = self._choose_transform(values, m)
        if self.transform_ == "log" and np.any(values <= 0):
            raise ModelSkipped(f"transform='log' needs positive values; the series has "
                               f"minimum {values.min():g}")
        self.target_ = self._choose_target(self._forward(values))
        self.lags_ = self._choose_lags(len(values), m)
        self.calendar_fields_ = _calendar_fields(y.index) if self.calendar else []

        self.history_ = self._forward(values)       # transformed levels, oldest first
        self.last_time_ = y.index[-1]
        self.freq_ = y.index.freq
        series = self._series(self.history_)
        first = int(self.lags_.max())               # first row with every lag observed
        n_rows = len(series) - first
        n_val = int(round(self.val_frac * n_rows))
        if n_rows - n_val < 10 or n_val < 1:
            raise ModelSkipped(f"{len(values)} observations leave {n_rows} training rows "
                               f"after the longest lag ({first}); too few to fit and "
                               f"early-stop")

        times = y.index[len(y.index) - len(series):]
        X = np.column_stack([self._lag_matrix(series, first),
                             _calendar(times[first:], self.calendar_fields_)])
        target = series[first:]
        params = {"objective": "reg:squarederror", "eta": self.learning_rate,
                  "max_depth": self.max_depth, "subsample": self.subsample,
                  "tree_method": "hist", "seed": self.seed, "nthread": self.n_jobs,
                  "verbosity": 0}
        split = n_rows - n_val
        train = xgb.DMatrix(X[:split], label=target[:split])
        val = xgb.DMatrix(X[split:], label=target[split:])
        probe = xgb.train(params, train, num_boost_round=self.n_estimators,
                          evals=[(val, "val")], early_stopping_rounds=self.patience,
                          verbose_eval=False)
        self.n_rounds_ = int(probe.best_iteration) + 1
        self.booster_ = xgb.train(params, xgb.DMatrix(X, label=target),
                                  num_boost_round=self.n_rounds_)
        return self

    def update(self, y_new: pd.Series) -> XGBoostModel:
        if len(y_new):
            self.history_ = np.concatenate([self.history_,
                                            self._forward(np.asarray(y_new, dtype=float))])
            self.last_time_ = y_new.index[-1]
        return self

    def predict(self, horizon: int) -> np.ndarray:
        times = future_index(pd.DatetimeIndex([self.last_time_], freq=self.freq_), horizon)
        cal = _calendar(times, self.calendar_fields_)
        # Only the longest lag (plus one for differencing) is ever read back.
        levels = list(self.history_[-(int(self.lags_.max()) + 2):])
        out = np.empty(horizon)
        for h in range(horizon):
            series = self._series(np.asarray(levels))
            row = np.concatenate([series[-self.lags_], cal[h]])[None, :]
            step = float(self.booster_.inplace_predict(row)[0])
            levels.append(levels[-1] + step if self.target_ == "diff" else step)
            out[h] = levels[-1]
        return np.exp(out) if self.transform_ == "log" else out

    def fit_info(self) -> dict:
        consecutive = int(np.sum(self.lags_ == np.arange(1, len(self.lags_) + 1)))
        return {"lags": consecutive, "max_lag": int(self.lags_.max()), "target": self.target_,
                "transform": self.transform_, "rounds": self.n_rounds_}

    def n_params(self) -> int:
        # One line per node (split or leaf) in the text dump of each tree.
        return sum(len(tree.strip().splitlines()) for tree in self.booster_.get_dump())

    # -- automatic choices -----------------------------------------------------------

    def _choose_transform(self, values: np.ndarray, m: int) -> str:
        if self.transform != _AUTO:
            return self.transform
        return "log" if np.ptp(values) > 0 and variance_grows_with_level(values, m) else "none"

    def _choose_target(self, z: np.ndarray) -> str:
        if self.target != _AUTO:
            return self.target
        return "diff" if ndiffs(z, max_d=1) >= 1 else "level"

    def _choose_lags(self, n: int, m: int) -> np.ndarray:
        """The lags read as features (1-based); automatic ones capped at a third of the window."""
        horizon = self.horizon or 1
        cap = max(1, n // 3)
        lags = self.lags if self.lags != _AUTO else min(max(m, horizon, MIN_LAGS), cap)
        if self.seasonal_lags != _AUTO:
            # As given: the dataset's season, however long (sunspots' 132 months).
            period = self.season_length
            seasonal = [k * period for k in range(1, self.seasonal_lags + 1)] if period > 1 else []
        elif m > 1:
            seasonal = [k * m for k in range(1, max(2, math.ceil(horizon / m)) + 1)
                        if k * m <= cap]
        else:
            seasonal = []
        return np.array(sorted(set(range(1, lags + 1)) | set(seasonal)))

    # -- features --------------------------------------------------------------------

    def _forward(self, values: np.ndarray) -> np.ndarray:
        return np.log(values) if self.transform_ == "log" else values

    def _series(self, levels: np.ndarray) -> np.ndarray:
        """What is modelled: the levels, or their first differences."""
        return np.diff(levels) if self.target_ == "diff" else levels

    def _lag_matrix(self, series: np.ndarray, first: int) -> np.ndarray:
        rows = np.arange(first, len(series))
        return np.column_stack([series[rows - lag] for lag in self.lags_])

    def _check_params(self) -> None:
        if self.target not in _TARGETS:
            raise ValueError(f"target must be one of {_TARGETS}, got {self.target!r}")
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {_TRANSFORMS}, got {self.transform!r}")
        if (self.lags != _AUTO and not (isinstance(self.lags, int) and self.lags >= 1)) or \
                (self.seasonal_lags != _AUTO and not (isinstance(self.seasonal_lags, int)
                                                      and self.seasonal_lags >= 0)):
            raise ValueError(f"need lags >= 1 (or 'auto') and seasonal_lags >= 0 (or 'auto'), "
                             f"got {self.lags!r}, {self.seasonal_lags!r}")
        if self.horizon is not None and self.horizon < 1:
            raise ValueError(f"horizon must be None or >= 1, got {self.horizon}")
        if not 0 < self.val_frac < 1:
            raise ValueError(f"val_frac must be in (0, 1), got {self.val_frac}")


def _calendar_fields(index: pd.DatetimeIndex) -> list[str]:
    """Calendar fields that vary at this spacing: a monthly series has no hour."""
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(days=1)
    if step < pd.Timedelta(days=1):
        return ["hour", "day_of_week", "month"]
    if step < pd.Timedelta(days=28):
        return ["day_of_week", "month"]
    return ["month"]


def _calendar(times: pd.DatetimeIndex, fields: list[str]) -> np.ndarray:
    if not fields:
        return np.empty((len(times), 0))
    return np.column_stack([np.asarray(getattr(times, f), dtype=float) for f in fields])
