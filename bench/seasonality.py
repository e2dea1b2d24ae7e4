"""Series analysis that automatic model defaults share, fitted on a training window only.

Pure functions of a NumPy array and a season length; no model library. Every family that
decides something from the data (a transform, whether to deseasonalise) asks here, so
one series gets one answer whatever model asks:

- ``is_seasonal``: the M4 competition's 90% autocorrelation test (the organisers'
  ``SeasonalityTest`` in "Benchmarks and Evaluation.R"), used by Theta, Naive2 and the
  recurrent networks' deseasonalisation.
- ``classical_seasonal_indices``: R's ``decompose(type="multiplicative")`` seasonal
  figure, as M4's benchmarks deseasonalise.
- ``seasonal_strength``: the STL seasonal strength of Wang, Smith and Hyndman (2006),
  which auto.arima uses to choose a seasonal difference (above 0.64).
- ``guerrero_lambda`` and ``variance_grows_with_level``: Guerrero's (1993) Box-Cox
  parameter, as R's ``forecast::BoxCox.lambda`` computes it, and the rule the automatic
  defaults use to take logs.
- ``usable_season``: the season a seasonal model may use. Seasons longer than
  ``MAX_SEASON`` are treated as quasi-cycles (sunspots' ~132 months): R's ``ets()``
  refuses them, SARIMAX carries one state per season position, and a fixed period
  describes a cycle of varying length badly. Every family applies the same bound.
"""
from __future__ import annotations

import math

import numpy as np

MAX_SEASON = 24
M4_T_CRITICAL = 1.645       # one-sided 95%, i.e. the two-sided 90% band of M4's test


def usable_season(season_length: int, max_season: int = MAX_SEASON) -> int:
    """``season_length`` when a seasonal model may use it, else 1 (non-seasonal)."""
    return season_length if 1 < season_length <= max_season else 1


def acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag, as R's ``acf`` (denominator n, mean removed)."""
    x = np.asarray(x, dtype=float)
    centred = x - x.mean()
    denominator = float(centred @ centred)
    if denominator == 0:
        return np.full(max_lag, np.nan)
    n = len(x)
    return np.array([float(centred[k:] @ centred[:n - k]) / denominator for k in range(1, max_lag + 1)])


def is_seasonal(x: np.ndarray, m: int) -> bool:
    """M4's seasonality test: the lag-m autocorrelation outside the 90% band.

    Not seasonal when m <= 1 or the series is shorter than three seasons. The band at
    lag m is ``1.645 / sqrt(n) * sqrt(1 + 2 * sum_{k<m} acf_k^2)`` (Bartlett's formula).
    """
    x = np.asarray(x, dtype=float)
    if m <= 1 or len(x) < 3 * m:
        return False
    r = acf(x, m)
    if not np.all(np.isfinite(r)):
        return False
    limit = M4_T_CRITICAL / math.sqrt(len(x)) * math.sqrt(1.0 + 2.0 * float(np.sum(r[:m - 1] ** 2)))
    return bool(abs(r[m - 1]) > limit)


def centred_moving_average(x: np.ndarray, m: int) -> np.ndarray:
    """R's ``filter(x, w, sides=2)`` with decompose's weights: a 2 x m MA for even m; NaN at the ends."""
    x = np.asarray(x, dtype=float)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(weights) // 2
    out = np.full(len(x), np.nan)
    if len(x) >= len(weights):
        out[half:len(x) - half] = np.convolve(x, weights, mode="valid")
    return out


def classical_seasonal_indices(x: np.ndarray, m: int, kind: str = "multiplicative") -> np.ndarray:
    """The seasonal component of R's ``decompose`` for every point of ``x`` (length ``len(x)``).

    Positions in the season count from the first observation, as ``decompose`` does. The
    figure is the mean of the detrended values at each position, normalised to mean 1
    (multiplicative) or 0 (additive). The component of the next points continues the
    pattern: ``np.resize(indices[-m:], h)``.
    """
    x = np.asarray(x, dtype=float)
    trend = centred_moving_average(x, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        detrended = x / trend if kind == "multiplicative" else x - trend
    figure = np.array([np.nanmean(detrended[i::m]) for i in range(m)])
    figure = figure / figure.mean() if kind == "multiplicative" else figure - figure.mean()
    return np.resize(figure, len(x))


def seasonal_strength(x: np.ndarray, m: int) -> float:
    """STL seasonal strength ``max(0, 1 - var(remainder) / var(season + remainder))``; 0 without a season."""
    from statsmodels.tsa.seasonal import STL

    x = np.asarray(x, dtype=float)
    if m <= 1 or len(x) < 2 * m + 1:
        return 0.0
    # R's nsdiffs reads the strength off mstl(), whose first seasonal window is 11 (its
    # default s.window = 7 + 4 * seq(6)); statsmodels' own default would be 7.
    fit = STL(x, period=m, seasonal=11, robust=False).fit()
    resid, season = np.asarray(fit.resid), np.asarray(fit.seasonal)
    total = np.var(season + resid)
    return 0.0 if total == 0 else float(max(0.0, 1.0 - np.var(resid) / total))


def guerrero_lambda(x: np.ndarray, m: int, lower: float = -1.0, upper: float = 2.0) -> float:
    """Guerrero's Box-Cox parameter: the lambda that makes ``sd / mean^(1 - lambda)`` most constant.

    The series is cut into blocks of one season (at least 2 points), ending at its last
    observation; lambda minimises the coefficient of variation of the blocks' ratios, as
    R's ``forecast::BoxCox.lambda(x, method = "guerrero")``. Needs positive values.
    """
    from scipy.optimize import minimize_scalar

    x = np.asarray(x, dtype=float)
    if np.any(x <= 0):
        raise ValueError("Guerrero's method needs positive values")
    if len(x) <= 2 * m:     # as R: too little data to do more than no transform
        return 1.0
    period = max(2, int(m))
    n_blocks = len(x) // period
    if n_blocks < 2:
        return 1.0
    blocks = x[len(x) - n_blocks * period:].reshape(n_blocks, period)
    means, sds = blocks.mean(axis=1), blocks.std(axis=1, ddof=1)

    def spread(lam: float) -> float:
        ratio = sds / means ** (1.0 - lam)
        return float(np.std(ratio, ddof=1) / np.mean(ratio))

    return float(minimize_scalar(spread, bounds=(lower, upper), method="bounded",
                                 options={"xatol": 1e-4}).x)


def variance_grows_with_level(x: np.ndarray, m: int) -> bool:
    """Whether a log transform stabilises the variance: positive values and Guerrero's lambda below 0.5.

    Guerrero's lambda is about ``1 - b`` when the spread grows as ``level^b``: below 0.5
    the series is closer to a constant coefficient of variation (log) than to a constant
    spread (no transform).
    """
    x = np.asarray(x, dtype=float)
    if len(x) < 4 or np.any(x <= 0):
        return False
    return guerrero_lambda(x, m) < 0.5


KPSS_CRITICAL_5PCT = 0.463  # KPSS (1992) table, level stationarity, 5%: urca's cval used by R


def kpss_lags(n: int) -> int:
    """The bandwidth R's ``forecast::ndiffs`` gives ``urca::ur.kpss``: ``trunc(3 * sqrt(n) / 13)``."""
    return int(3.0 * math.sqrt(n) / 13.0)


def ndiffs(x: np.ndarray, max_d: int = 2) -> int:
    """First differences needed for stationarity, as R's ``forecast::ndiffs`` (KPSS, level, 5%).

    Difference while the KPSS statistic (Bartlett long-run variance with ``kpss_lags``) exceeds
    the 5% critical value, at most ``max_d`` times; a constant series needs no more.
    """
    from statsmodels.tsa.stattools import kpss
    import warnings

    x = np.asarray(x, dtype=float)
    for d in range(max_d + 1):
        if len(x) < 3 or np.ptp(x) == 0 or d == max_d:
            return d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # p-value outside statsmodels' table
            stat = kpss(x, regression="c", nlags=max(kpss_lags(len(x)), 0))[0]
        if not stat > KPSS_CRITICAL_5PCT:
            return d
        x = np.diff(x)
    return max_d


SEASONAL_STRENGTH_THRESHOLD = 0.64


def nsdiffs(x: np.ndarray, m: int) -> int:
    """Seasonal differences (0 or 1), as R's ``forecast::nsdiffs(test = "seas")`` inside auto.arima.

    One when the STL seasonal strength exceeds 0.64 (the threshold the forecast package chose
    on M3 and M4), none when ``m <= 1`` or the series has no more than two seasons.
    """
    x = np.asarray(x, dtype=float)
    if m <= 1 or len(x) <= 2 * m or np.ptp(x) == 0:
        return 0
    return int(seasonal_strength(x, m) > SEASONAL_STRENGTH_THRESHOLD)
