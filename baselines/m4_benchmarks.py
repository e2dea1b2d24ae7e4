"""The M4 competition's statistical benchmarks: Naive2, SES, Holt, Damped and their combination.

As the organisers' ``Benchmarks`` function in "Benchmarks and Evaluation.R"
(Mcompetitions/M4-methods) computes them, on the training window:

1. Deseasonalise: when M4's 90% autocorrelation test finds the season (which needs
   three seasons of data), divide the series by the seasonal figure of R's classical
   multiplicative decomposition. This is ``baselines.theta.SeasonalAdjustment``,
   shared with the Theta benchmark.
2. Forecast the adjusted series:

   ``naive2``  the last adjusted value, repeated;
   ``ses``     R's ``forecast::ses()``, i.e. ``ets(x, "ANN", opt.crit = "mse")``;
   ``holt``    R's ``holt()``, i.e. ``ets(x, "AAN", damped = FALSE, opt.crit = "mse")``;
   ``damped``  R's ``holt(damped = TRUE)``, i.e. ``ets(x, "AAN", damped = TRUE, opt.crit = "mse")``;
   ``com``     the mean of the ses, holt and damped forecasts.

3. Reseasonalise: multiply by the figure of the last season, repeated forward. Unlike
   Theta, M4 clips none of these forecasts at zero, and neither does this file.

Estimation: R's criterion, the mean squared one-step error over the smoothing
parameters *and* the initial states, with R's bounds (alpha, beta in [1e-4, 0.9999],
beta <= alpha, phi in [0.8, 0.98], and the admissible region).

- SES, Holt and Damped: R's search itself, because the published scores depend on where
  it stops. For SES the stop is close to the least-squares optimum
  (``baselines.theta.ses_least_squares``, which Theta keeps): on the 414 M4 hourly series
  the two give the same SES score to the published three decimals, but not on every panel
  (on a held-out one, sMAPE and MASE differed by 0.001), so SES takes R's path too.
- ``nelder_mead`` makes the moves of R's ``optim`` Nelder-Mead (``nmmin``:
  reflection 1, contraction 0.5, expansion 2, relative tolerance sqrt(machine
  epsilon), at most 2000 evaluations) from R's starting point: alpha = 0.5 (forecast
  8.2, which M4 ran; ``forecast_version = "8.20"``: 0.2), beta = alpha / 10 (R's
  ``1e-4 + 0.1 (alpha - 1e-4)``), phi = 0.9782, and l0, b0 the least-squares line
  through the first 10 values (SES: l0 their mean). R's first simplex steps every coordinate by a tenth of
  the largest starting value, l0, so on series in the thousands alpha, beta and phi
  start hundreds out of bounds, and the search stops short of the optimum (on M4
  hourly, an MSE more than 1% above a lower minimum in 69 of 414 Holt fits). Where it
  stops decides the trend, which on some series runs away over the 48-hour horizon:
  that is the published Holt benchmark (29.249 / 9.356, reproduced to the published
  decimals; at the lower minima Holt would score 27.4 / 8.4;
  ``benchmarks/m4_hourly_reproduction.py --explain`` measures both). The criterion
  is evaluated as a linear filter (``scipy.signal.lfilter``), not R's loop: the same
  errors up to rounding, ten times faster than the loop in Python (33 against 325
  microseconds on 700 points). With ``forecast_version = "8.20"``, every Holt and Damped forecast of
  the 414 series agrees to 1e-6 with R 4.2.2's forecast 8.20 on this machine.

Differences from M4, all for series M4 did not have (as ``baselines.theta``):

- The season is used only up to ``max_season`` (default 24, the bound every family
  applies). M4 used the data's frequency, which it set to 24 at most (hourly; 12
  monthly, 4 quarterly, 1 for yearly, weekly and daily), so no M4 number changes.
- Multiplicative deseasonalising needs positive values: a series with a zero or a
  negative value is not deseasonalised (M4's series are all positive).
- R fits a tiny series (``n <= npars + 4``) with ``HoltWinters`` instead; here such a
  series is skipped with a reason (npars: 2 for SES, 4 for Holt, 5 for Damped).

Hyperparameters: ``max_season`` (above); ``forecast_version`` ("8.2" or "8.20", the R
forecast release whose starting alpha Holt and Damped use; default "8.2", as M4).

``update`` keeps every estimate of the last fit (the seasonal figure, alpha, beta,
phi) and runs the level and slope recursions over the new points, each deseasonalised
with the figure's value at its position; Naive2 takes the new last adjusted value.
This is what refiltering the longer series with the fitted values gives (the tests
check it).

Forecast distributions, as R's ``forecast`` makes them for the method on the adjusted series,
then reseasonalised (each quantile times the seasonal figure, which maps the adjusted
series' distribution onto the series'):

- ``naive2``: R's ``naive()``: normal, standard error ``sigma sqrt(h)``, ``sigma^2`` the mean
  squared first difference of the adjusted series;
- ``ses``, ``holt``, ``damped``: R's ``forecast.ets`` for these additive-error models (class 1 of
  Hyndman, Koehler, Ord & Snyder 2008, ch. 6): normal, variance ``sigma^2 (1 + sum_{j<h} c_j^2)``
  with ``c_j = alpha + beta (phi + ... + phi^j)`` (``beta = 0`` for SES, ``phi = 1`` for Holt), and
  ``sigma^2`` as R's ``ets()`` estimates it: the sum of squared one-step errors over ``n - npars``
  (npars: 2, 4, 5 as below);
- ``com``: R makes none for a combination; here the three methods' quantiles are averaged
  level by level (Vincentisation: the quantiles of the average of the three distributions'
  quantile functions), which keeps them in order.

After ``update`` the residual sums run on over the new points, as refitting R's model with
its estimates held fixed (``ets(y, model = fit)``) would recompute them over the longer series.

``n_params`` counts what is estimated from the data: m - 1 seasonal indices when the
series was deseasonalised (m indices normalised to average 1), plus for ``naive2``
nothing; ``ses`` alpha and l0 (2); ``holt`` alpha, beta, l0, b0 (4); ``damped`` those
and phi (5); ``com`` the three fits' 11.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter, lfiltic

from baselines.theta import SeasonalAdjustment, ses_levels
from bench import quantiles
from bench.forecaster import ModelSkipped
from bench.seasonality import MAX_SEASON

# R's ets() defaults: lower = c(rep(1e-4, 3), 0.8), upper = c(rep(0.9999, 3), 0.98).
SMOOTHING_BOUNDS = (1e-4, 0.9999)
PHI_BOUNDS = (0.8, 0.98)
MAX_EVALUATIONS = 2000                 # etsmodel's maxit
INITIAL_POINTS = 10                    # initstate's maxn for a non-seasonal model
# initparam's starting alpha is lower + fraction * (upper - lower): 0.5 in forecast 8.2,
# which M4 ran ("Requires v8.2"), 0.2 in later releases (8.20 measured).
_FORECAST_VERSIONS = ("8.2", "8.20")
START_ALPHA_FRACTION = {"8.2": 0.5, "8.20": 0.2}
N_PARAMS = {"none": 2, "add": 4, "damped": 5}     # alpha l0; + beta b0; + phi


# -- R's Nelder-Mead ---------------------------------------------------------------


@dataclass(frozen=True)
class Minimum:
    x: np.ndarray
    value: float
    evaluations: int
    converged: bool


def nelder_mead(objective, start, *, max_evaluations: int = MAX_EVALUATIONS,
                reltol: float = math.sqrt(np.finfo(float).eps)) -> Minimum:
    """Minimise ``objective`` from ``start`` by the Nelder-Mead search of R's ``optim``.

    The moves of R's ``nmmin``, in its order, because where a search stopped by a
    tolerance ends depends on its path: the first simplex adds one step, a tenth of the
    largest |start| coordinate, to each coordinate in turn; a non-finite value counts
    as 1e35; reflection 1, expansion 2, contraction and shrink 0.5. It stops when the
    highest vertex is within ``reltol (|f(start)| + reltol)`` of the lowest, when a
    shrink fails to reduce the simplex, or after ``max_evaluations`` (then
    ``converged`` is False).
    """
    big = 1.0e35

    def value(point: np.ndarray) -> float:
        result = float(objective(point))
        return result if math.isfinite(result) else big

    x0 = np.asarray(start, dtype=float)
    n = len(x0)
    f0 = float(objective(x0))
    if not math.isfinite(f0):
        raise ValueError("the objective is not finite at the starting point")
    tolerance = reltol * (abs(f0) + reltol)

    step = float(np.max(0.1 * np.abs(x0))) or 0.1
    simplex = np.tile(x0, (n + 1, 1))
    size = 0.0
    for i in range(n):
        trial = step
        while simplex[i + 1, i] == x0[i]:     # a step lost to rounding is made larger
            simplex[i + 1, i] = x0[i] + trial
            trial *= 10.0
        size += trial
    previous_size = size
    values = np.empty(n + 1)
    values[0] = f0
    evaluations = 1
    best = 0
    converged = True
    evaluate_all = True
    while True:
        if evaluate_all:
            for j in range(n + 1):
                if j != best:
                    values[j] = value(simplex[j])
                    evaluations += 1
            evaluate_all = False
        # As R: scan from the previous best, strict comparisons in index order.
        low_value = high_value = values[best]
        worst = best
        for j in range(n + 1):
            if j != best:
                if values[j] < low_value:
                    best, low_value = j, values[j]
                if values[j] > high_value:
                    worst, high_value = j, values[j]
        if high_value <= low_value + tolerance:
            break

        centroid = -simplex[worst]
        for j in range(n + 1):              # R's order of summation
            centroid = centroid + simplex[j]
        centroid = centroid / n
        reflected = 2.0 * centroid - 1.0 * simplex[worst]
        reflected_value = value(reflected)
        evaluations += 1
        if reflected_value < low_value:
            expanded = 2.0 * reflected + (1.0 - 2.0) * centroid
            expanded_value = value(expanded)
            evaluations += 1
            if expanded_value < reflected_value:
                simplex[worst], values[worst] = expanded, expanded_value
            else:
                simplex[worst], values[worst] = reflected, reflected_value
        else:
            if reflected_value < high_value:
                simplex[worst], values[worst] = reflected, reflected_value
            contracted = 0.5 * simplex[worst] + 0.5 * centroid
            contracted_value = value(contracted)
            evaluations += 1
            if contracted_value < values[worst]:
                simplex[worst], values[worst] = contracted, contracted_value
            elif reflected_value >= high_value:
                size = 0.0
                for j in range(n + 1):
                    if j != best:
                        simplex[j] = 0.5 * (simplex[j] - simplex[best]) + simplex[best]
                        size += float(np.sum(np.abs(simplex[j] - simplex[best])))
                evaluate_all = True
                if size >= previous_size:
                    break                      # R's fail = 10: the simplex stopped shrinking
                previous_size = size
        if evaluations > max_evaluations:
            converged = False
            break
    return Minimum(simplex[best].copy(), float(values[best]), evaluations, converged)


# -- R's ets(x, "ANN" / "AAN", opt.crit = "mse") ------------------------------------


@dataclass(frozen=True)
class SmoothingFit:
    """One fitted exponential smoothing method, on the adjusted series' scale."""
    trend: str                 # none | add | damped
    alpha: float
    beta: float                # 0 without a trend
    phi: float                 # 1 unless damped
    initial_level: float
    initial_slope: float       # 0 without a trend
    converged: bool            # False when R's search ran out of evaluations


def min_observations(trend: str) -> int:
    """R's ``ets()`` estimates only when ``n > npars + 4``."""
    return N_PARAMS[trend] + 5


def fit_smoothing(x: np.ndarray, trend: str, forecast_version: str = "8.2") -> SmoothingFit:
    """R's ``ses()`` (trend "none"), ``holt()`` ("add") or ``holt(damped = TRUE)`` ("damped")."""
    x = np.asarray(x, dtype=float)
    found = nelder_mead(trend_objective(x, trend), starting_point(x, trend, forecast_version))
    alpha, beta, phi, level, slope = unpack(found.x, trend)
    return SmoothingFit(trend, alpha, beta, phi, level, slope, found.converged)


def starting_point(x: np.ndarray, trend: str, forecast_version: str = "8.2") -> np.ndarray:
    """R's ``initparam`` and ``initstate`` for SES (alpha, l0), Holt (alpha, beta, l0, b0) or Damped
    (alpha, beta, phi, l0, b0)."""
    low, high = SMOOTHING_BOUNDS
    alpha = low + START_ALPHA_FRACTION[forecast_version] * (high - low)
    first = x[:min(INITIAL_POINTS, len(x))]
    if trend == "none":
        return np.array([alpha, float(np.mean(first))])
    start = [alpha, low + 0.1 * (min(high, alpha) - low)]
    if trend == "damped":
        start.append(PHI_BOUNDS[0] + 0.99 * (PHI_BOUNDS[1] - PHI_BOUNDS[0]))
    slope, intercept = np.polyfit(np.arange(1, len(first) + 1, dtype=float), first, 1)
    return np.array(start + [float(intercept), float(slope)])


def unpack(params: np.ndarray, trend: str) -> tuple[float, float, float, float, float]:
    """(alpha, beta, phi, l0, b0) from R's parameter vector (alpha, [beta, [phi]], l0, [b0])."""
    if trend == "none":
        alpha, level = (float(p) for p in params)
        return alpha, 0.0, 1.0, level, 0.0
    if trend == "add":
        alpha, beta, level, slope = (float(p) for p in params)
        return alpha, beta, 1.0, level, slope
    alpha, beta, phi, level, slope = (float(p) for p in params)
    return alpha, beta, phi, level, slope


def admissible(alpha: float, beta: float, phi: float, trend: str) -> bool:
    """R's bounds = "both": the usual bounds and the admissible region (for SES, alpha's bounds)."""
    low, high = SMOOTHING_BOUNDS
    if trend == "none":
        return low <= alpha <= high
    if not (low <= alpha <= high and low <= beta <= high and beta <= alpha):
        return False
    if trend == "damped" and not PHI_BOUNDS[0] <= phi <= PHI_BOUNDS[1]:
        return False
    if phi < 0 or phi > 1 + 1e-8 or alpha < 1 - 1 / phi or alpha > 1 + 1 / phi:
        return False
    return alpha * (phi - 1) <= beta <= (1 + phi) * (2 - alpha)


def trend_objective(x: np.ndarray, trend: str):
    """R's target function with ``opt.crit = "mse"``: infinite outside the bounds."""
    def objective(params: np.ndarray) -> float:
        alpha, beta, phi, level, slope = unpack(params, trend)
        if not admissible(alpha, beta, phi, trend):
            return math.inf
        with np.errstate(over="ignore", invalid="ignore"):
            errors = (x - np.r_[level, ses_levels(x[:-1], alpha, level)] if trend == "none"
                      else one_step_errors(x, alpha, beta, phi, level, slope))
            return float(np.mean(errors * errors))
    return objective


def one_step_errors(x: np.ndarray, alpha: float, beta: float, phi: float,
                    level: float, slope: float) -> np.ndarray:
    """One-step errors of additive (damped) trend smoothing from (l0, b0), as a linear filter.

    In innovations form the states follow ``s_t = D s_{t-1} + g x_t`` with ``D = F - g w'``,
    so the errors are ``x`` filtered by ``det(I - F B) / det(I - D B)`` (B the backshift):
    numerator ``(1 - B)(1 - phi B)``, denominator ``1 - (1 - alpha + phi (1 - beta)) B +
    phi (1 - alpha) B^2``. The first two errors, from the states, fix the filter's start.
    """
    first = x[0] - (level + phi * slope)
    if len(x) == 1:
        return np.array([first])
    level1 = level + phi * slope + alpha * first
    slope1 = phi * slope + beta * first
    second = x[1] - (level1 + phi * slope1)
    numerator = [1.0, -(1.0 + phi), phi]
    denominator = [1.0, -(1.0 - alpha + phi * (1.0 - beta)), phi * (1.0 - alpha)]
    initial = lfiltic(numerator, denominator, y=[second, first], x=[x[1], x[0]])
    rest, _ = lfilter(numerator, denominator, x[2:], zi=initial)
    return np.concatenate([[first, second], rest])


def run_states(x: np.ndarray, fit: SmoothingFit, level: float, slope: float) -> tuple[float, float]:
    """(level, slope) after the points ``x``, with the fitted parameters held fixed."""
    if fit.trend == "none":
        return (float(ses_levels(x, fit.alpha, level)[-1]), 0.0) if len(x) else (level, 0.0)
    alpha, beta, phi = fit.alpha, fit.beta, fit.phi
    for value in np.asarray(x, dtype=float):      # R's etscalc update, one point at a time
        damped_slope = phi * slope
        previous = level
        predicted = level + damped_slope
        level = predicted + alpha * (value - predicted)
        slope = damped_slope + (beta / alpha) * ((level - previous) - damped_slope)
    return float(level), float(slope)


def step_errors(x: np.ndarray, fit: SmoothingFit, level: float, slope: float) -> np.ndarray:
    """The one-step errors of the points ``x`` from the states (level, slope), parameters held fixed."""
    x = np.asarray(x, dtype=float)
    if not len(x):
        return x
    if fit.trend == "none":
        return x - np.r_[level, ses_levels(x, fit.alpha, level)[:-1]]
    return one_step_errors(x, fit.alpha, fit.beta, fit.phi, level, slope)


def smoothing_std(fit: SmoothingFit, sigma2: float, horizon: int) -> np.ndarray:
    """R's class-1 forecast standard errors: ``sigma^2 (1 + sum_{j<h} (alpha + beta phi_j)^2)``."""
    j = np.arange(1, horizon)
    damped_j = j.astype(float) if fit.trend != "damped" else np.cumsum(fit.phi ** np.arange(1, horizon))
    c = fit.alpha + fit.beta * damped_j
    return np.sqrt(sigma2 * (1.0 + np.r_[0.0, np.cumsum(c * c)]))


def smoothing_forecast(fit: SmoothingFit, level: float, slope: float, horizon: int) -> np.ndarray:
    """R's ``forecast.ets`` point forecasts: ``l + (phi + ... + phi^h) b``."""
    steps = np.arange(1, horizon + 1)
    if fit.trend == "none":
        return np.full(horizon, level)
    damped_steps = steps.astype(float) if fit.trend == "add" else np.cumsum(fit.phi ** steps)
    return level + damped_steps * slope


# -- the registered models -----------------------------------------------------------


class _M4Benchmark:
    """Deseasonalise, forecast the adjusted series, reseasonalise (M4's ``Benchmarks``)."""

    def __init__(self, *, season_length: int = 1, seed: int = 0, max_season: int = MAX_SEASON,
                 forecast_version: str = "8.2"):
        self.season_length = season_length
        self.seed = seed
        self.max_season = max_season
        self.forecast_version = forecast_version

    def fit(self, y: pd.Series):
        if self.forecast_version not in _FORECAST_VERSIONS:
            raise ValueError(f"forecast_version must be one of {_FORECAST_VERSIONS}, "
                             f"got {self.forecast_version!r}")
        values = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{type(self).__name__} needs finite observations")
        needed = self._min_observations()
        if len(values) < needed:
            raise ModelSkipped(f"{len(values)} observations are too few for "
                               f"{type(self).__name__} (needs {needed})")
        self.season_ = SeasonalAdjustment.fit(values, self.season_length, self.max_season)
        self._fit_adjusted(values / self.season_.indices(0, len(values)))
        self.n_seen_ = len(values)
        return self

    def update(self, y_new: pd.Series):
        values = np.asarray(y_new, dtype=float)
        if len(values):
            self._update_adjusted(values / self.season_.indices(self.n_seen_, len(values)))
            self.n_seen_ += len(values)
        return self

    def predict(self, horizon: int) -> np.ndarray:
        return self._forecast_adjusted(horizon) * self.season_.indices(self.n_seen_, horizon)

    def predict_quantiles(self, horizon: int, levels) -> np.ndarray:
        return self._quantiles_adjusted(horizon, levels) * self.season_.indices(self.n_seen_, horizon)[:, None]

    def n_params(self) -> int:
        return self.season_.n_params + self._n_method_params()

    def fit_info(self) -> dict:
        return {"deseasonalised": self.season_.applied, **self._method_info()}

    # The method on the adjusted series, for the subclasses.
    def _min_observations(self) -> int:
        raise NotImplementedError

    def _fit_adjusted(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _update_adjusted(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _forecast_adjusted(self, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def _quantiles_adjusted(self, horizon: int, levels) -> np.ndarray:
        raise NotImplementedError

    def _n_method_params(self) -> int:
        raise NotImplementedError

    def _method_info(self) -> dict:
        return {}


class Naive2(_M4Benchmark):
    """M4's Naive2: the last seasonally adjusted value, reseasonalised."""
    intervals = "normal, R forecast's naive() on the seasonally adjusted series, reseasonalised"

    def _min_observations(self) -> int:
        return 1

    def _fit_adjusted(self, x: np.ndarray) -> None:
        diffs = np.diff(x)
        self.squares_, self.n_diffs_ = float(diffs @ diffs), len(diffs)
        self.last_ = float(x[-1])

    def _update_adjusted(self, x: np.ndarray) -> None:
        diffs = np.diff(np.r_[self.last_, x])
        self.squares_ += float(diffs @ diffs)
        self.n_diffs_ += len(diffs)
        self.last_ = float(x[-1])

    def _forecast_adjusted(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.last_)

    def _quantiles_adjusted(self, horizon: int, levels) -> np.ndarray:
        sigma2 = self.squares_ / self.n_diffs_ if self.n_diffs_ else 0.0
        return quantiles.normal(self._forecast_adjusted(horizon), np.sqrt(sigma2 * np.arange(1, horizon + 1)), levels)

    def _n_method_params(self) -> int:
        return 0


class _Smoothing(_M4Benchmark):
    """One exponential smoothing method (``trend``) on the adjusted series."""
    trend = "none"
    intervals = "normal, R forecast's ets() variance (class 1) on the seasonally adjusted series, reseasonalised"

    def _min_observations(self) -> int:
        return min_observations(self.trend)

    def _fit_adjusted(self, x: np.ndarray) -> None:
        self.fit_ = fit_smoothing(x, self.trend, self.forecast_version)
        self.errors_ = ErrorSum.of(step_errors(x, self.fit_, self.fit_.initial_level, self.fit_.initial_slope))
        self.level_, self.slope_ = run_states(x, self.fit_, self.fit_.initial_level,
                                              self.fit_.initial_slope)

    def _update_adjusted(self, x: np.ndarray) -> None:
        self.errors_ = self.errors_.plus(step_errors(x, self.fit_, self.level_, self.slope_))
        self.level_, self.slope_ = run_states(x, self.fit_, self.level_, self.slope_)

    def _forecast_adjusted(self, horizon: int) -> np.ndarray:
        return smoothing_forecast(self.fit_, self.level_, self.slope_, horizon)

    def _quantiles_adjusted(self, horizon: int, levels) -> np.ndarray:
        std = smoothing_std(self.fit_, self.errors_.sigma2(N_PARAMS[self.trend]), horizon)
        return quantiles.normal(self._forecast_adjusted(horizon), std, levels)

    def _n_method_params(self) -> int:
        return N_PARAMS[self.trend]

    def _method_info(self) -> dict:
        return _describe(self.fit_)


class SES(_Smoothing):
    """M4's SES: R's ``ses()`` on the seasonally adjusted series."""
    trend = "none"


class Holt(_Smoothing):
    """M4's Holt: R's ``holt()`` (linear trend) on the seasonally adjusted series."""
    trend = "add"


class Damped(_Smoothing):
    """M4's Damped: R's ``holt(damped = TRUE)`` on the seasonally adjusted series."""
    trend = "damped"


class Com(_M4Benchmark):
    """M4's Com: the mean of the SES, Holt and Damped forecasts, on one deseasonalisation."""
    _METHODS = {"ses": "none", "holt": "add", "damped": "damped"}

    def _min_observations(self) -> int:
        return max(min_observations(t) for t in self._METHODS.values())

    intervals = "the SES, Holt and Damped quantiles (each as R's ets()) averaged level by level, reseasonalised"

    def _fit_adjusted(self, x: np.ndarray) -> None:
        self.fits_ = {name: fit_smoothing(x, trend, self.forecast_version)
                      for name, trend in self._METHODS.items()}
        self.errors_ = {name: ErrorSum.of(step_errors(x, f, f.initial_level, f.initial_slope))
                        for name, f in self.fits_.items()}
        self.states_ = {name: run_states(x, f, f.initial_level, f.initial_slope)
                        for name, f in self.fits_.items()}

    def _update_adjusted(self, x: np.ndarray) -> None:
        self.errors_ = {name: self.errors_[name].plus(step_errors(x, self.fits_[name], *state))
                        for name, state in self.states_.items()}
        self.states_ = {name: run_states(x, self.fits_[name], *state)
                        for name, state in self.states_.items()}

    def _forecast_adjusted(self, horizon: int) -> np.ndarray:
        ses, holt, damped = (smoothing_forecast(self.fits_[name], *self.states_[name], horizon)
                             for name in self._METHODS)
        return (ses + holt + damped) / 3.0

    def _quantiles_adjusted(self, horizon: int, levels) -> np.ndarray:
        parts = []
        for name, trend in self._METHODS.items():
            fit = self.fits_[name]
            std = smoothing_std(fit, self.errors_[name].sigma2(N_PARAMS[trend]), horizon)
            parts.append(quantiles.normal(smoothing_forecast(fit, *self.states_[name], horizon), std, levels))
        return sum(parts) / len(parts)

    def _n_method_params(self) -> int:
        return sum(N_PARAMS[trend] for trend in self._METHODS.values())

    def _method_info(self) -> dict:
        ses, holt, damped = self.fits_.values()
        return {"ses_alpha": ses.alpha, "holt_alpha": holt.alpha, "holt_beta": holt.beta,
                "damped_phi": damped.phi, "converged": holt.converged and damped.converged}


@dataclass(frozen=True)
class ErrorSum:
    """The sum of squared one-step errors and their count: what R's ``sigma2`` is made of."""
    squares: float
    count: int

    @classmethod
    def of(cls, errors: np.ndarray) -> ErrorSum:
        return cls(float(errors @ errors), len(errors))

    def plus(self, errors: np.ndarray) -> ErrorSum:
        return ErrorSum(self.squares + float(errors @ errors), self.count + len(errors))

    def sigma2(self, n_params: int) -> float:
        """R's ``ets()``: ``sum(e^2) / (n - npars)`` (0 when no degree of freedom is left)."""
        return self.squares / (self.count - n_params) if self.count > n_params else 0.0


def _describe(fit: SmoothingFit) -> dict:
    """fit_info's scalars of one method: its smoothing parameters, and whether R's search converged."""
    info = {"alpha": fit.alpha}
    if fit.trend != "none":
        info |= {"beta": fit.beta, "converged": fit.converged}
    if fit.trend == "damped":
        info["phi"] = fit.phi
    return info
