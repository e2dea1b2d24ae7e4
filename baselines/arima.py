"""Seasonal ARIMA through statsmodels' SARIMAX state-space model.

Hyperparameters (all scalars, so a suite can expand lists into grids):

``p, d, q`` / ``P, D, Q``
    The non-seasonal and seasonal orders; the default is the airline model
    (0,1,1)(0,1,1)m. Used as given unless ``order="auto"``.
``order``
    ``None`` (use p..Q) or ``"auto"``: a bounded stepwise search by AICc on the
    training window alone, after Hyndman & Khandakar (2008): d from repeated KPSS
    tests, D from the STL seasonal strength (> 0.64), then a stepwise walk over
    p, q <= ``max_pq`` and P, Q <= 1 that fits at most ``max_models`` candidates.
``seasonal``
    ``False`` fits the non-seasonal part only.
``max_season``
    SARIMAX carries about (D + Q + P) * m states, so a long season (sunspots'
    132-month cycle) makes every likelihood evaluation crawl. Beyond this bound the
    model degrades to the non-seasonal ARIMA(p,d,q), as a forecaster would for a
    quasi-cycle that a fixed period describes badly anyway; ``seasonal_`` records it.
``transform``
    ``"none"``, ``"log"`` or ``"boxcox"`` (lambda by maximum likelihood on the
    training window). The forecast is inverted from the transformed mean, i.e. it
    is the forecast median on the original scale. Needs positive data, otherwise
    the fit is skipped.
``trend``
    SARIMAX's trend on the differenced series: ``"n"``, ``"c"`` (a mean, or a
    drift when d + D = 1), ``"t"``, ``"ct"``. ``None`` follows auto.arima: a
    constant when d + D <= 1, none otherwise.
``fit_last``
    Estimate on the last ``fit_last`` observations of the training window only
    (``None``: all). For hourly series a few weeks pin down a handful of ARMA
    coefficients, while a seasonal SARIMAX over two years of hours takes minutes.

``update`` extends the fitted results with the new observations (``extend``: a
Kalman-filter pass over the new points only, the parameters held fixed), which is
exactly the state that filtering the whole longer series with those parameters
gives.

``n_params``: the estimated coefficients - AR, MA, seasonal AR and MA, trend
terms - plus the innovation variance, plus the Box-Cox lambda when estimated.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special, stats

from bench.forecaster import ModelSkipped

_TRANSFORMS = ("none", "log", "boxcox")
_TRENDS = ("n", "c", "t", "ct")


class Arima:
    def __init__(self, *, season_length: int = 1, seed: int = 0,
                 p: int = 0, d: int = 1, q: int = 1, P: int = 0, D: int = 1, Q: int = 1,
                 order: str | None = None, seasonal: bool = True, max_season: int = 24,
                 transform: str = "none", trend: str | None = None,
                 fit_last: int | None = None, max_pq: int = 3, max_models: int = 16):
        self.season_length = season_length
        self.seed = seed
        self.p, self.d, self.q = p, d, q
        self.P, self.D, self.Q = P, D, Q
        self.order = order
        self.seasonal = seasonal
        self.max_season = max_season
        self.transform = transform
        self.trend = trend
        self.fit_last = fit_last
        self.max_pq = max_pq
        self.max_models = max_models

    # -- fitting ---------------------------------------------------------------------

    def fit(self, y: pd.Series) -> Arima:
        self._check_params()
        values = np.asarray(y, dtype=float)
        if self.fit_last is not None:
            values = values[-self.fit_last:]
        if len(values) < 3 or not np.all(np.isfinite(values)):
            raise ValueError(f"ARIMA needs at least 3 finite observations, got {len(values)}")
        self.lambda_ = self._fit_transform(values)
        z = self._forward(values)

        m = self.season_length
        self.seasonal_ = bool(self.seasonal and m > 1 and m <= self.max_season)
        self.candidates_ = {}
        if self.order == "auto":
            order, seasonal_order = self._search(z)
        else:
            order = (self.p, self.d, self.q)
            seasonal_order = (self.P, self.D, self.Q, m) if self.seasonal_ else (0, 0, 0, 0)
            self._check_length(z, order, seasonal_order)
        trend = self.trend if self.trend is not None else _default_trend(order, seasonal_order)
        self.order_, self.seasonal_order_, self.trend_ = order, seasonal_order, trend
        self.results_ = _fit_sarimax(z, order, seasonal_order, trend)
        return self

    def update(self, y_new: pd.Series) -> Arima:
        values = np.asarray(y_new, dtype=float)
        if len(values):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.results_ = self.results_.extend(self._forward(values))
        return self

    def predict(self, horizon: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = np.asarray(self.results_.forecast(horizon), dtype=float)
        return self._inverse(z)

    def n_params(self) -> int:
        # params already ends with the innovation variance sigma2.
        return len(self.results_.params) + (self.transform == "boxcox")

    # -- transforms ------------------------------------------------------------------

    def _fit_transform(self, values: np.ndarray) -> float | None:
        if self.transform == "none":
            return None
        if np.any(values <= 0):
            raise ModelSkipped(f"transform={self.transform!r} needs positive values; "
                               f"the series has minimum {values.min():g}")
        if self.transform == "log":
            return 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(stats.boxcox_normmax(values, method="mle"))

    def _forward(self, values: np.ndarray) -> np.ndarray:
        if self.lambda_ is None:
            return values
        if np.any(values <= 0):
            raise ValueError(f"transform={self.transform!r} got a non-positive value "
                             f"after fit: {values.min():g}")
        return special.boxcox(values, self.lambda_)

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        if self.lambda_ is None:
            return z
        lam = self.lambda_
        if lam < 0:
            # inv_boxcox is undefined beyond -1/lambda; a forecast there means
            # "unboundedly large", so clip just inside instead of returning NaN.
            z = np.minimum(z, -1.0 / lam - 1e-9)
        elif lam > 0:
            z = np.maximum(z, -1.0 / lam + 1e-9)
        return special.inv_boxcox(z, lam)

    # -- order search ----------------------------------------------------------------

    def _search(self, z: np.ndarray):
        """Hyndman-Khandakar stepwise search, bounded by max_pq and max_models."""
        m = self.season_length if self.seasonal_ else 0
        D = _seasonal_diffs(z, m) if m else 0
        d = _kpss_diffs(_difference(z, m, D))
        max_pq, max_PQ = self.max_pq, (1 if m else 0)

        aicc: dict[tuple, float] = {}

        def try_fit(p, q, P, Q):
            key = (p, q, P, Q)
            if key in aicc or len(aicc) >= self.max_models:
                return
            order, sorder = (p, d, q), (P, D, Q, m) if m else (0, 0, 0, 0)
            if not _long_enough(len(z), order, sorder):
                aicc[key] = np.inf
                return
            try:
                res = _fit_sarimax(z, order, sorder, _default_trend(order, sorder),
                                   simple_differencing=True)
                aicc[key] = res.aicc if np.isfinite(res.aicc) else np.inf
            except (np.linalg.LinAlgError, ValueError):
                aicc[key] = np.inf

        starts = [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)]
        for p, q, P, Q in starts:
            try_fit(min(p, max_pq), min(q, max_pq), min(P, max_PQ), min(Q, max_PQ))
        best = min(aicc, key=aicc.get)
        improved = True
        while improved and len(aicc) < self.max_models:
            improved = False
            p, q, P, Q = best
            for dp, dq, dP, dQ in _STEPS:
                cand = (p + dp, q + dq, P + dP, Q + dQ)
                if (min(cand) < 0 or max(cand[:2]) > max_pq or max(cand[2:]) > max_PQ):
                    continue
                try_fit(*cand)
                if aicc.get(cand, np.inf) < aicc[best]:
                    best, improved = cand, True
                    break  # move to the better model, search its neighbours
        self.candidates_ = aicc  # (p, q, P, Q) -> AICc of every model the search fitted
        if not np.isfinite(aicc[best]):
            raise ModelSkipped("order search: no candidate ARIMA model could be fitted")
        p, q, P, Q = best
        return (p, d, q), ((P, D, Q, m) if m else (0, 0, 0, 0))

    def _check_params(self) -> None:
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {_TRANSFORMS}, got {self.transform!r}")
        if self.trend is not None and self.trend not in _TRENDS:
            raise ValueError(f"trend must be None or one of {_TRENDS}, got {self.trend!r}")
        if self.order not in (None, "auto"):
            raise ValueError(f"order must be None (use p, d, q, P, D, Q) or 'auto', "
                             f"got {self.order!r}")
        orders = dict(p=self.p, d=self.d, q=self.q, P=self.P, D=self.D, Q=self.Q)
        bad = {k: v for k, v in orders.items() if not isinstance(v, int) or v < 0}
        if bad:
            raise ValueError(f"ARIMA orders must be non-negative ints, got {bad}")
        if self.season_length < 1:
            raise ValueError(f"season_length must be >= 1, got {self.season_length}")
        if self.fit_last is not None and self.fit_last < 3:
            raise ValueError(f"fit_last must be None or >= 3, got {self.fit_last}")
        if self.order == "auto" and (self.max_models < 1 or self.max_pq < 0):
            raise ValueError(f"order='auto' needs max_models >= 1 and max_pq >= 0, got "
                             f"{self.max_models}, {self.max_pq}")

    def _check_length(self, z, order, seasonal_order) -> None:
        if not _long_enough(len(z), order, seasonal_order):
            raise ModelSkipped(f"{len(z)} observations are too few for ARIMA{order}"
                               f"{seasonal_order[:3]}{seasonal_order[3] or ''}")


# Neighbours visited by the stepwise search: one order up or down, and p, q together.
_STEPS = [(-1, 0, 0, 0), (1, 0, 0, 0), (0, -1, 0, 0), (0, 1, 0, 0),
          (0, 0, -1, 0), (0, 0, 1, 0), (0, 0, 0, -1), (0, 0, 0, 1),
          (-1, -1, 0, 0), (1, 1, 0, 0)]


def _fit_sarimax(z, order, seasonal_order, trend, simple_differencing=False):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # Plain arrays: SARIMAX would otherwise warn about business-day frequencies, and
    # the forecast index is the harness's job.
    spec = dict(order=order, seasonal_order=seasonal_order, trend=trend,
                simple_differencing=simple_differencing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, non-invertible starts
        # Concentrating the variance out of the likelihood cuts the optimiser's
        # function calls several-fold (21 instead of 164 for the airline model).
        model = SARIMAX(z, concentrate_scale=True, **spec)
        # A random walk without drift has nothing left to estimate but the variance.
        res = model.fit(disp=False) if model.k_params else model.filter(np.empty(0))
        if simple_differencing:
            return res  # search candidates: only the AICc is read
        # extend() re-estimates a concentrated scale from the new points alone (NaN
        # for a single point), so the kept results carry sigma2 as a fixed parameter.
        params = np.r_[res.params, res.scale]
        return SARIMAX(z, **spec).filter(params)


def _default_trend(order, seasonal_order) -> str:
    return "c" if order[1] + seasonal_order[1] <= 1 else "n"


def _long_enough(n, order, seasonal_order) -> bool:
    p, d, q = order
    P, D, Q, m = seasonal_order
    lost = d + D * m
    n_coef = p + q + P + Q + 2
    return n - lost > max(p + P * m, q + Q * m) + n_coef + 2


def _difference(z, m, D):
    for _ in range(D):
        z = z[m:] - z[:-m]
    return z


def _kpss_diffs(z, max_d: int = 2, alpha_stat: float = 0.463) -> int:
    """Differences needed until KPSS (level, 5%) no longer rejects stationarity."""
    from statsmodels.tsa.stattools import kpss

    for d in range(max_d + 1):
        if len(z) < 10 or np.ptp(z) == 0:
            return d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # p-value outside the table; tuple return
            stat = kpss(z, regression="c", nlags="auto")[0]
        if stat < alpha_stat:
            return d
        z = np.diff(z)
    return max_d


def _seasonal_diffs(z, m: int) -> int:
    """One seasonal difference when the STL seasonal strength exceeds 0.64."""
    from statsmodels.tsa.seasonal import STL

    if len(z) < 2 * m + 1:
        return 0
    fit = STL(z, period=m, robust=False).fit()
    resid, season = fit.resid, fit.seasonal
    strength = max(0.0, 1.0 - np.var(resid) / np.var(season + resid))
    return int(strength > 0.64)

