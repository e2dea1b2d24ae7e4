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

Other hyperparameters: ``calendar`` (False drops the calendar features),
``n_estimators`` (the cap on boosting rounds), ``learning_rate``, ``max_depth``,
``subsample`` (row sampling per tree, the reason results vary with ``seed``),
``n_jobs`` (XGBoost threads; 1 because the runner already runs one cell per core).

``n_params``: the total number of nodes (splits and leaves) over all trees of the
final booster, i.e. the trees kept after early stopping.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped, future_index

_TARGETS = ("level", "diff")
_TRANSFORMS = ("none", "log")


class XGBoostModel:
    def __init__(self, *, season_length: int = 1, seed: int = 0,
                 lags: int = 12, seasonal_lags: int = 1, calendar: bool = True,
                 target: str = "diff", transform: str = "none",
                 n_estimators: int = 200, learning_rate: float = 0.1, max_depth: int = 4,
                 subsample: float = 0.8, val_frac: float = 0.2, patience: int = 25,
                 n_jobs: int = 1):
        self.season_length = season_length
        self.seed = seed
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
        if self.transform == "log" and np.any(values <= 0):
            raise ModelSkipped(f"transform='log' needs positive values; the series has "
                               f"minimum {values.min():g}")
        m = self.season_length
        seasonal = [k * m for k in range(1, self.seasonal_lags + 1)] if m > 1 else []
        self.lags_ = np.array(sorted(set(range(1, self.lags + 1)) | set(seasonal)))
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
            levels.append(levels[-1] + step if self.target == "diff" else step)
            out[h] = levels[-1]
        return np.exp(out) if self.transform == "log" else out

    def n_params(self) -> int:
        # One line per node (split or leaf) in the text dump of each tree.
        return sum(len(tree.strip().splitlines()) for tree in self.booster_.get_dump())

    # -- features --------------------------------------------------------------------

    def _forward(self, values: np.ndarray) -> np.ndarray:
        return np.log(values) if self.transform == "log" else values

    def _series(self, levels: np.ndarray) -> np.ndarray:
        """What is modelled: the levels, or their first differences."""
        return np.diff(levels) if self.target == "diff" else levels

    def _lag_matrix(self, series: np.ndarray, first: int) -> np.ndarray:
        rows = np.arange(first, len(series))
        return np.column_stack([series[rows - lag] for lag in self.lags_])

    def _check_params(self) -> None:
        if self.target not in _TARGETS:
            raise ValueError(f"target must be one of {_TARGETS}, got {self.target!r}")
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {_TRANSFORMS}, got {self.transform!r}")
        if self.lags < 1 or self.seasonal_lags < 0:
            raise ValueError(f"need lags >= 1 and seasonal_lags >= 0, got {self.lags}, "
                             f"{self.seasonal_lags}")
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
