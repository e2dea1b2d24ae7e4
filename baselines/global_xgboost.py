"""Global XGBoost: one booster trained across every series of a panel, on lag windows normalised per series.

As the M5 winning gradient-boosting solutions: one model for all series, each row a lag
window of one series scaled by that series' own recent level, so trees split on shapes,
not on levels. Per series, on its training part only (the values before its origin):

- logs of a positive series (relative changes), else the values divided by their mean
  absolute value (``rnn_models.global_base.SeriesScale``, shared with the global networks);
- the row's target is the value minus the value one season earlier (a correction to
  seasonal naive, the last value without a season); M4's seasonality test decides the
  window's level (below) and is a feature;
- features: the consecutive ``lags`` before t and the values 2..``seasons_back`` seasons
  before t, each minus the mean of the last season before t (the window's level), plus
  whether the series is seasonal.

Forecasts are recursive: one step for every series at once, fed back, ``horizon`` times.
Early stopping holds out each series' last ``horizon`` training points (rows whose target
lies there), never the test span; the booster then keeps its best round.

Rows: every position of every series whose lags exist, thinned evenly to at most
``max_rows`` (the cost is linear in rows; the 414 M4 hourly series give about 330,000).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped
from bench.seasonality import usable_season
from rnn_models.global_base import SeriesScale


class GlobalXGBoost:
    global_model = True
    seeded = True

    def __init__(self, *, season_length: int = 1, seed: int = 0, horizon: int = 1, lags: int = 48,
                 seasons_back: int = 7, n_estimators: int = 400, learning_rate: float = 0.1,
                 max_depth: int = 8, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 patience: int = 25, max_rows: int = 150_000, n_jobs: int = 1):
        self.season_length = season_length
        self.seed = seed
        self.horizon = horizon
        self.lags = lags
        self.seasons_back = seasons_back
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.patience = patience
        self.max_rows = max_rows
        self.n_jobs = n_jobs

    def _offsets(self) -> np.ndarray:
        """How far back each feature reads (1 = the last value)."""
        m = usable_season(self.season_length)
        back = [k * m for k in range(2, self.seasons_back + 1)] if m > 1 else []
        return np.array(sorted(set(range(1, self.lags + 1)) | set(back)))

    def _rows(self, z: np.ndarray, positions: np.ndarray, seasonal: bool) -> tuple[np.ndarray, np.ndarray]:
        """(features, base) of the rows predicting z[t] for each t in ``positions``."""
        m = usable_season(self.season_length)
        lagged = z[positions[:, None] - self._offsets()[None, :]]
        last_season = z[positions[:, None] - np.arange(1, max(m, 1) + 1)[None, :]]
        level = last_season.mean(axis=1, keepdims=True) if seasonal else lagged[:, :1]
        # The target is always a difference at lag m (the value one season back): a correction to the
        # last value of a non-seasonal series, learned from a few rows among many seasonal ones, compounds
        # over a recursive horizon (one M4 series reached 500 times its level in 48 steps); a lag-m base
        # is re-read from data (or from forecasts one season old) instead of from the previous step.
        base = z[positions - m]
        features = np.hstack([lagged - level, np.full((len(positions), 1), float(seasonal))])
        return features.astype(np.float32), base

    def fit(self, panel: dict[str, pd.Series]):
        import xgboost as xgb

        m = usable_season(self.season_length)
        reach = int(max(self._offsets().max(), m))
        need = reach + 2 * self.horizon
        X, y, Xv, yv = [], [], [], []
        self.scales_, self.y_ = {}, {}
        for sid, series in panel.items():
            values = np.asarray(series, dtype=float)
            if len(values) < need:
                raise ModelSkipped(f"series {sid!r} has {len(values)} training points; lags reaching "
                                   f"{reach} back and a validation horizon of {self.horizon} need at least {need}")
            scale = SeriesScale.fit(values, m)
            z = scale.forward(values)
            n = len(z)
            train_at = np.arange(reach, n - self.horizon)
            val_at = np.arange(n - self.horizon, n)
            for at, xs, ys in ((train_at, X, y), (val_at, Xv, yv)):
                features, base = self._rows(z, at, scale.seasonal)
                xs.append(features)
                ys.append((z[at] - base).astype(np.float32))
            self.scales_[sid], self.y_[sid] = scale, values.copy()
        X, y = np.concatenate(X), np.concatenate(y)
        if len(X) > self.max_rows:
            keep = np.linspace(0, len(X) - 1, self.max_rows).astype(int)
            X, y = X[keep], y[keep]
        params = {"objective": "reg:absoluteerror", "eta": self.learning_rate, "max_depth": self.max_depth,
                  "subsample": self.subsample, "colsample_bytree": self.colsample_bytree,
                  "tree_method": "hist", "seed": self.seed, "nthread": self.n_jobs, "verbosity": 0}
        train = xgb.DMatrix(X, label=y)
        val = xgb.DMatrix(np.concatenate(Xv), label=np.concatenate(yv))
        booster = xgb.train(params, train, num_boost_round=self.n_estimators, evals=[(val, "val")],
                            early_stopping_rounds=self.patience, verbose_eval=False)
        self.n_rounds_ = int(booster.best_iteration) + 1
        self.booster_ = booster
        self.n_rows_ = len(X)
        return self

    def fit_info(self) -> dict:
        return {"rounds": self.n_rounds_, "training_rows": self.n_rows_,
                "seasonal_share": float(np.mean([s.seasonal for s in self.scales_.values()]))}

    def update(self, revealed: dict[str, pd.Series]):
        for sid, y_new in revealed.items():
            self.y_[sid] = np.concatenate([self.y_[sid], np.asarray(y_new, dtype=float)])
        return self

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        import xgboost as xgb

        ids = list(self.y_)
        reach = int(max(self._offsets().max(), usable_season(self.season_length)))
        zs = [self.scales_[sid].forward(self.y_[sid][-reach:]) for sid in ids]
        for _ in range(horizon):
            rows = [self._rows(z, np.array([len(z)]), self.scales_[sid].seasonal) for sid, z in zip(ids, zs)]
            features = np.vstack([r[0] for r in rows])
            steps = self.booster_.predict(xgb.DMatrix(features), iteration_range=(0, self.n_rounds_))
            zs = [np.append(z, base[0] + step) for z, (_, base), step in zip(zs, rows, steps)]
        return {sid: self.scales_[sid].inverse(z[-horizon:]) for sid, z in zip(ids, zs)}

    def n_params(self) -> int:
        # One line per node (split or leaf) in the text dump of each tree kept.
        return sum(len(tree.strip().splitlines())
                   for tree in self.booster_[:self.n_rounds_].get_dump())
