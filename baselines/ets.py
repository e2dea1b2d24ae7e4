"""Automatic exponential smoothing (ETS), chosen by AICc, after R's ``forecast::ets()``.

Each candidate is a state-space model: error (A, M) x trend (N, A, Ad) x season (N, A,
M), estimated by maximum likelihood with statsmodels' ``ETSModel``; the candidate
with the lowest AICc is kept. As with R's default ``restrict = TRUE`` and
``allow.multiplicative.trend = FALSE``, there is no multiplicative trend and no
additive error with a multiplicative season (infinite forecast variance): 15
candidates on seasonal data, 6 without a season.

Hyperparameters (scalars, so a suite can expand lists into grids):

``error``
    ``"auto"`` (both), ``"add"`` or ``"mul"``.
``trend``
    ``"auto"`` (all three), ``"none"``, ``"add"`` or ``"damped"``.
``season``
    ``"auto"`` (all three), ``"none"``, ``"add"`` or ``"mul"``. Seasonal candidates
    need ``bench.seasonality.usable_season(season_length) > 1``: R's ``ets()``
    refuses seasons beyond 24, as every family here does (sunspots' 132 months are
    fitted without a season; a fixed ``"add"`` or ``"mul"`` degrades to none there,
    and ``fit_info()["model"]`` says what was fitted).
``fit_last``
    Estimate on the last ``fit_last`` observations of the training window (an int),
    all of them (``None``), or ``"auto"`` (default): the last ``FIT_SEASONS`` (60)
    seasons when seasonal candidates are fitted, otherwise all. The cost is the
    seasonal candidates': each estimates m - 1 initial seasonal states by L-BFGS
    with a numerical gradient, from three starts, so it grows with n * m^2. One
    automatic fit on hourly load (m = 24) took 6 s of CPU on 1,440 hours, 15 s on
    2,880 and 40 s on the catalog's two-year window of 17,520 (160 s for the energy
    cell's 4 fits); 60 seasons keep that cell near 25 CPU-seconds while leaving 60
    observations per seasonal state. Monthly series up to 60 years are used whole;
    trading days (m = 5) use the last 300.

Which candidates are fitted, as in R: multiplicative error (and so a multiplicative
season) only when every observation is positive; a candidate only when the window has
more than ``npars + 4`` observations, where ``npars`` counts alpha and l0, beta and
b0 with a trend, phi when damped, and m with a season (gamma and m - 1 free seasonal
states: R's ``npars + m``, its "not enough data" rule); a seasonal candidate only with at least two full seasons
(statsmodels' initial values need them). A candidate whose estimation fails is left
out. A constant window gets R's answer for constant data: SES with alpha = 0.99999
from the first value, i.e. a flat forecast (``n_params`` 0: nothing is estimated).

Estimation. The window is divided by its mean absolute value before estimation
(likelihoods and states are rescaled back): on raw hourly load in MW, L-BFGS
stopped at log-likelihoods hundreds of units below the scaled optimum. The
likelihood has several local maxima, so each candidate starts from alpha = 0.1, 0.3
and 0.9 (beta = alpha / 10, gamma = (1 - alpha) / 20, statsmodels' initial states)
and keeps the highest likelihood; over 165 candidate fits on windows of air
passengers, Google and hourly load, these three came within 2 log-likelihood units
of the best of seven starts in all but one; statsmodels' single default start fell
short by hundreds on hourly load. Bounds are R's: alpha, beta, gamma in [1e-4, 0.9999] with
beta <= alpha and gamma <= 1 - alpha, phi in [0.8, 0.98]. AICc is R's: ``-2 loglik
+ 2 k' + 2 k'(k' + 1) / (n - k' - 1)`` with k' = ``n_params`` + 1 (the error
variance); statsmodels' own ``aicc`` also counts the last seasonal state, which it
holds fixed.

One difference from R's model remains: with a multiplicative season, statsmodels'
recursion moves the seasonal state towards ``y_t / l_t`` (the new level) with
weight gamma / (1 - alpha) - Holt-Winters' form - where R's state-space model uses
``y_t / (l_{t-1} + phi b_{t-1})`` with weight gamma. The likelihood, and so the
estimate, is statsmodels', and ``update`` follows the same recursion.

``update`` runs the state equations over the new observations from the final states,
with every parameter held fixed - the states ``ETSModel.smooth`` gives on the longer
series with the fitted parameters and initial states (the tests check this to 1e-8).
``predict`` applies the forecast equations (Hyndman & Athanasopoulos, FPP3 8.7) to
the final states: ``(l + phi_h b) s`` or ``l + phi_h b + s``, with the seasonal state
of the same position in the last season; ETSModel's own forecast agrees, also at
steps m and 2m (unlike its Holt-Winters, statsmodels issue #9538).

``predict_quantiles`` gives R's ``forecast.ets`` distribution: normal, with the
analytic forecast variance of Hyndman, Koehler, Ord & Snyder (2008, ch. 6) that R uses
(``forecast_moments`` below): class 1 (additive error: ANN, AAN, AAdN, ANA, AAA, AAdA),
exact and normal; class 2 (multiplicative error, additive or no trend and season),
the exact variance; class 3 (multiplicative error and season: MNM, MAM, MAdM), the
exact mean and variance of R's state-space model. Every form this family fits is in
one of the three classes (no additive error with a multiplicative season, no
multiplicative trend), so R's simulation fallback is never needed (R's forecast.ets
simulates none of them either). sigma2 is R's: the squared residuals (relative ones for a multiplicative error)
over the fitted window, divided by n minus the estimated parameters (``n_params``);
``update`` keeps it, as it keeps every parameter. The median is the point forecast,
except beyond one season with a multiplicative season, where class 3's mean carries a
sigma2 * gamma term (R's point forecast there is that mean; on air passengers it moves
the median by less than 1e-4 standard deviations). Two departures from R, both checked
against simulated paths of this model's own recursion in the tests: R's ``class3()``
writes the damped model's level equation and forecast without phi (l + b), here they
have it (l + phi b); and statsmodels' multiplicative-season recursion (above) is
Holt-Winters' rather than R's, so class 3 is the moments of R's model, not exactly of
this one: the two differ in the seasonal update by a term of order alpha * gamma * e^2,
and on air passengers their standard deviations agreed within the simulation's error
(1-2% with 3000 paths, up to two seasons ahead).

``n_params``: alpha; beta with a trend; gamma with a season; phi when damped; the
initial level; the initial slope with a trend; m - 1 initial seasonal states (the
m-th is fixed by normalisation, as in R). The error variance is not counted.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped
from bench.quantiles import LEVELS, normal
from bench.seasonality import usable_season

_ERRORS = ("auto", "add", "mul")
_TRENDS = ("auto", "none", "add", "damped")
_SEASONS = ("auto", "none", "add", "mul")
FIT_SEASONS = 60
START_ALPHAS = (0.1, 0.3, 0.9)


@dataclass(frozen=True)
class Spec:
    """One ETS model form."""
    error: str      # add | mul
    trend: str      # none | add | damped
    season: str     # none | add | mul

    @property
    def name(self) -> str:
        letter = {"none": "N", "add": "A", "mul": "M", "damped": "Ad"}
        return f"ETS({letter[self.error]},{letter[self.trend]},{letter[self.season]})"

    def n_params(self, m: int) -> int:
        trend, damped, seasonal = self.trend != "none", self.trend == "damped", self.season != "none"
        return 2 + 2 * trend + damped + m * seasonal   # alpha l0, beta b0, phi, gamma + (m - 1) states


@dataclass
class Fitted:
    """Parameters and states on the data's own scale; seasons oldest first (the last m)."""
    alpha: float
    beta: float
    gamma: float
    phi: float
    level: float
    slope: float
    seasons: np.ndarray


class ETS:
    intervals = ("normal, R forecast.ets's analytic forecast variance (Hyndman et al. 2008 ch. 6, "
                 "classes 1-3), R's sigma2")

    def __init__(self, *, season_length: int = 1, seed: int = 0, error: str = "auto",
                 trend: str = "auto", season: str = "auto", fit_last: int | str | None = "auto"):
        self.season_length = season_length
        self.seed = seed
        self.error = error
        self.trend = trend
        self.season = season
        self.fit_last = fit_last

    def fit(self, y: pd.Series) -> ETS:
        self._check_params()
        values = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError("ETS needs finite observations")
        m = usable_season(self.season_length) if self.season != "none" else 1
        values = values[-self._window(len(values), m):]
        self.n_fit_ = len(values)
        self.m_ = m
        if len(values) and np.ptp(values) == 0:
            self.spec_, self.aicc_, self.n_params_ = Spec("add", "none", "none"), math.nan, 0
            self.initial_ = Fitted(0.99999, 0.0, 0.0, 1.0, float(values[0]), 0.0, np.zeros(0))
        else:
            self._select(values, m)
        residuals: list[float] = []
        self.state_ = smooth(values, self.initial_, self.spec_, residuals)
        # R's ets(): sigma2 = sum of squared residuals / (n - number of estimated parameters).
        self.sigma2_ = float(np.sum(np.square(residuals)) / max(len(values) - self.n_params_, 1))
        return self

    def update(self, y_new: pd.Series) -> ETS:
        self.state_ = smooth(np.asarray(y_new, dtype=float), self.state_, self.spec_)
        return self

    def predict(self, horizon: int) -> np.ndarray:
        return _point(self.state_, self.spec_, horizon)

    def predict_quantiles(self, horizon: int, levels: Sequence[float] = LEVELS) -> np.ndarray:
        """Normal quantiles with R's ``forecast.ets`` analytic mean and variance (``forecast_moments``)."""
        mean, var = forecast_moments(self.state_, self.spec_, self.sigma2_, horizon)
        return normal(mean, np.sqrt(var), levels)

    def n_params(self) -> int:
        return self.n_params_

    def fit_info(self) -> dict:
        return {"model": self.spec_.name, "fit_points": self.n_fit_}

    # -- selection -------------------------------------------------------------------

    def _select(self, values: np.ndarray, m: int) -> None:
        candidates = self._candidates(values, m)
        n = len(values)
        scale = float(np.mean(np.abs(values)))
        self.candidates_ = {}                      # model name -> AICc, for inspection
        best = None
        for spec in candidates:
            estimate = _estimate(values / scale, spec, m)
            if estimate is None:
                continue
            llf_scaled, fitted = estimate
            k = spec.n_params(m) + 1               # + the error variance, as R counts for AICc
            llf = llf_scaled - n * math.log(scale)
            aicc = -2.0 * llf + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1)
            self.candidates_[spec.name] = aicc
            if np.isfinite(aicc) and (best is None or aicc < best[0]):
                best = (aicc, spec, fitted)
        if best is None:
            raise ModelSkipped(f"no ETS candidate could be estimated on {n} observations "
                               f"(tried {', '.join(s.name for s in candidates)})")
        self.aicc_, self.spec_, fitted = best
        self.initial_ = _rescaled(fitted, self.spec_, scale)
        self.n_params_ = self.spec_.n_params(m)

    def _candidates(self, values: np.ndarray, m: int) -> list[Spec]:
        errors = ("add", "mul") if self.error == "auto" else (self.error,)
        trends = ("none", "add", "damped") if self.trend == "auto" else (self.trend,)
        seasons = ("none", "add", "mul") if self.season == "auto" else (self.season,)
        if m == 1:
            seasons = ("none",)
        forms = [Spec(e, t, s) for e in errors for t in trends for s in seasons
                 if not (e == "add" and s == "mul")]
        positive = bool(np.min(values) > 0)
        usable = [f for f in forms if positive or f.error == "add"]
        if not usable:
            raise ModelSkipped(f"multiplicative error needs positive values; the series has "
                               f"minimum {np.min(values):g}")
        n = len(values)
        fits = [f for f in usable
                if n > f.n_params(m) + 4 and (f.season == "none" or n >= 2 * m)]
        if not fits:
            need = min(max(f.n_params(m) + 5, 2 * m if f.season != "none" else 0) for f in usable)
            raise ModelSkipped(f"{n} observations are too few for ETS {usable[0].name}"
                               f"{' or simpler' if len(usable) > 1 else ''} (needs {need})")
        return fits

    def _window(self, n: int, m: int) -> int:
        if self.fit_last is None:
            return n
        if self.fit_last == "auto":
            return min(n, FIT_SEASONS * m) if m > 1 else n
        return min(n, self.fit_last)

    def _check_params(self) -> None:
        for name, allowed in (("error", _ERRORS), ("trend", _TRENDS), ("season", _SEASONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.error == "add" and self.season == "mul":
            raise ValueError("additive error with a multiplicative season is excluded "
                             "(R's restrict = TRUE: infinite forecast variance)")
        if not (self.fit_last in (None, "auto") or (isinstance(self.fit_last, int)
                                                    and self.fit_last >= 4)):
            raise ValueError(f"fit_last must be None, 'auto' or an int >= 4, got {self.fit_last!r}")
        if self.season_length < 1:
            raise ValueError(f"season_length must be >= 1, got {self.season_length}")


def statsmodels_model(values: np.ndarray, spec: Spec, m: int, **init):
    """The statsmodels ``ETSModel`` of one form (the tests re-smooth with it)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = spec.season != "none"
    return ETSModel(values, error=spec.error, trend=None if spec.trend == "none" else "add",
                    damped_trend=spec.trend == "damped",
                    seasonal=spec.season if seasonal else None,
                    seasonal_periods=m if seasonal else None, **init)


def _estimate(z: np.ndarray, spec: Spec, m: int) -> tuple[float, Fitted] | None:
    """The best of the multi-start maximum-likelihood fits of one form, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # ConvergenceWarning, overflow in bad regions
        try:
            model = statsmodels_model(z, spec, m)
            base = np.asarray(model.start_params, dtype=float)
        except (ValueError, np.linalg.LinAlgError):
            return None
        names = list(model.param_names)
        best = None
        for alpha in START_ALPHAS:
            start = base.copy()
            start[names.index("smoothing_level")] = alpha
            if "smoothing_trend" in names:
                start[names.index("smoothing_trend")] = alpha / 10
            if "smoothing_seasonal" in names:
                start[names.index("smoothing_seasonal")] = (1 - alpha) / 20
            try:
                params = model.fit(start_params=start, disp=False, return_params=True)
                llf = float(model.loglike(params))
            except (ValueError, np.linalg.LinAlgError, FloatingPointError):
                continue
            if np.isfinite(llf) and (best is None or llf > best[0]):
                best = (llf, params)
    if best is None:
        return None
    llf, params = best
    p = dict(zip(names, params))
    # statsmodels lists initial seasonal states newest first (s_{-1}, ..., s_{-m}).
    seasons = np.array([p[f"initial_seasonal.{i}"] for i in range(m)][::-1]) \
        if spec.season != "none" else np.zeros(0)
    return llf, Fitted(alpha=p["smoothing_level"], beta=p.get("smoothing_trend", 0.0),
                       gamma=p.get("smoothing_seasonal", 0.0), phi=p.get("damping_trend", 1.0),
                       level=p["initial_level"], slope=p.get("initial_trend", 0.0),
                       seasons=seasons)


def _rescaled(f: Fitted, spec: Spec, scale: float) -> Fitted:
    seasons = f.seasons * scale if spec.season == "add" else f.seasons
    return Fitted(f.alpha, f.beta, f.gamma, f.phi, f.level * scale, f.slope * scale, seasons)


def smooth(values: np.ndarray, start: Fitted, spec: Spec, residuals: list | None = None) -> Fitted:
    """The states after ``values``, from ``start``, with its parameters held fixed.

    statsmodels' ETS recursions (``_ets_smooth.pyx``), written in error-correction form
    with ``e = y - yhat`` and ``base = l + phi b``. They are the same for additive and
    multiplicative errors: the error type changes the likelihood, not the recursion.
    ``residuals``, when given, receives R's residual of every step: ``e`` for an additive
    error, ``e / yhat`` for a multiplicative one.
    """
    a, b, g, phi = start.alpha, start.beta, start.gamma, start.phi
    level, slope = start.level, start.slope
    seasons = list(start.seasons)
    damped = phi if spec.trend != "none" else 0.0
    for y in values:
        base = level + damped * slope
        if spec.season == "none":
            error = y - base
            if residuals is not None:
                residuals.append(error if spec.error == "add" else error / base)
            level, slope = base + a * error, damped * slope + b * error
        elif spec.season == "add":
            s = seasons.pop(0)
            error = y - base - s
            if residuals is not None:
                residuals.append(error if spec.error == "add" else error / (base + s))
            level, slope = base + a * error, damped * slope + b * error
            seasons.append(s + g * error)
        else:
            s = seasons.pop(0)
            error = y - base * s
            if residuals is not None:
                residuals.append(error if spec.error == "add" else error / (base * s))
            level, slope = base + a * error / s, damped * slope + b * error / s
            # statsmodels' recursion, which its likelihood (and so the fit) uses: the
            # seasonal ratio is taken to the new level, with gamma* = gamma / (1 - alpha).
            seasons.append(s + g / (1.0 - a) * (y / level - s))
    if spec.trend == "none":
        slope = 0.0
    return Fitted(a, b, g, phi, float(level), float(slope), np.asarray(seasons, dtype=float))


# -- forecast distribution ---------------------------------------------------------------
#
# R's forecast.ets (forecast 8.x, R/etsforecast.R) after Hyndman, Koehler, Ord & Snyder
# (2008), "Forecasting with exponential smoothing", ch. 6. With c_j = H F^(j-1) G, the
# weight of a shock j steps back in the j-step forecast:
#   class 1, additive error, no or additive trend and season (ANN AAN AAdN ANA AAA AAdA):
#       var_h = sigma2 (1 + sum_{j<h} c_j^2), exact, the distribution normal;
#   class 2, multiplicative error, the same trend and season (MNN MAN MAdN MNA MAA MAdA):
#       theta_1 = mu_1^2, theta_h = mu_h^2 + sigma2 sum_{j<h} c_j^2 theta_{h-j},
#       var_h = (1 + sigma2) theta_h - mu_h^2, the exact variance;
#   class 3, multiplicative error and season (MNM MAM MAdM): the level-trend states x and
#       the seasonal states z each follow x_t = (F + G e_t) x_{t-1}, and the moments of
#       their product M = x z' are carried forward exactly (Kronecker products).
# R then takes the forecast distribution to be normal with that mean and variance.


def weights(spec: Spec, alpha: float, beta: float, gamma: float, phi: float, m: int,
            horizon: int) -> np.ndarray:
    """c_1 .. c_{horizon-1} of a model with additive trend and season (classes 1 and 2).

    c_j = alpha + beta (phi + ... + phi^j) + gamma [j a multiple of m] (Hyndman et al.
    2008, table 6.1): a shock moves the level by alpha, the slope by beta (damped by phi
    per step since), and the seasonal state of its own position by gamma.
    """
    j = np.arange(1, horizon, dtype=float)
    c = np.full(len(j), alpha)
    if spec.trend == "add":
        c += beta * j
    elif spec.trend == "damped":
        c += beta * np.cumsum(phi ** j)
    if spec.season != "none" and m > 1:
        c += gamma * (np.arange(1, horizon) % m == 0)
    return c


def forecast_moments(state: Fitted, spec: Spec, sigma2: float,
                     horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the next ``horizon`` observations from ``state`` (R's forecast.ets)."""
    if spec.season == "mul":
        if spec.error != "mul":
            raise ValueError(f"{spec.name} has no analytic forecast variance")  # excluded, as in R
        return _class3(state, spec, sigma2, horizon)
    mu = _point(state, spec, horizon)
    c2 = weights(spec, state.alpha, state.beta, state.gamma, state.phi, len(state.seasons),
                 horizon) ** 2
    if spec.error == "add":                                     # class 1
        return mu, sigma2 * np.r_[1.0, 1.0 + np.cumsum(c2)]
    theta = np.empty(horizon)                                   # class 2
    for h in range(horizon):
        theta[h] = mu[h] ** 2 + sigma2 * np.dot(c2[:h], theta[h - 1::-1][:h])
    return mu, (1.0 + sigma2) * theta - mu ** 2


def _point(state: Fitted, spec: Spec, horizon: int) -> np.ndarray:
    """The forecast equations (Hyndman & Athanasopoulos, FPP3 8.7) applied to ``state``."""
    steps = np.arange(1, horizon + 1)
    damped_steps = np.cumsum(state.phi ** steps) if spec.trend == "damped" else steps
    forecast = state.level + damped_steps * state.slope
    if spec.season != "none":
        season = state.seasons[(steps - 1) % len(state.seasons)]
        forecast = forecast + season if spec.season == "add" else forecast * season
    return np.asarray(forecast, dtype=float)


def _class3(state: Fitted, spec: Spec, sigma2: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 3 (multiplicative error and season): exact moments of R's state-space model.

    x = (l, b) (or l) evolves as x_t = (F1 + G1 e_t) x_{t-1}, the seasonal states z =
    (s_t, ..., s_{t-m+1}) as z_t = (F2 + G2 e_t) z_{t-1}, and y_t = H1 x_{t-1} z_{t-1}' H2'
    (1 + e_t). With the damped trend, F1 = [[1, phi], [0, phi]], G1 = [[alpha, alpha phi],
    [beta, beta phi]] and H1 = [1, phi] (the forecast l + phi b). R's class3() writes the
    first row of F1 and G1 and H1 without phi, which is the undamped model's; here the
    damped model's own matrices are used (the tests check both against simulation).
    """
    a, b, g, phi = state.alpha, state.beta, state.gamma, state.phi
    m = len(state.seasons)
    if spec.trend == "none":
        F1, G1, H1 = np.array([[1.0]]), np.array([[a]]), np.array([1.0])
        x = np.array([state.level])
    else:
        d = phi if spec.trend == "damped" else 1.0
        F1 = np.array([[1.0, d], [0.0, d]])
        G1 = np.array([[a, a * d], [b, b * d]])
        H1 = np.array([1.0, d])
        x = np.array([state.level, state.slope])
    F2 = np.zeros((m, m))
    F2[0, m - 1] = 1.0
    F2[1:, :m - 1] = np.eye(m - 1)
    G2 = np.zeros((m, m))
    G2[0, m - 1] = g
    H2 = np.zeros(m)
    H2[m - 1] = 1.0
    z = np.asarray(state.seasons, dtype=float)[::-1]          # newest first
    # vec() stacks columns: vec(A X B') = (B kron A) vec(X).
    F21, G21 = np.kron(F2, F1), np.kron(G2, G1)
    K = np.kron(G2, F1) + np.kron(F2, G1)
    H21 = np.kron(H2, H1)
    M = np.outer(x, z)
    V = np.zeros((M.size, M.size))
    mu, var = np.empty(horizon), np.empty(horizon)
    for h in range(horizon):
        mu[h] = H1 @ M @ H2
        var[h] = (1.0 + sigma2) * (H21 @ V @ H21) + sigma2 * mu[h] ** 2
        v = M.flatten(order="F")
        vv = np.outer(v, v)
        V = (F21 @ V @ F21.T
             + sigma2 * (F21 @ V @ G21.T + G21 @ V @ F21.T + K @ (V + vv) @ K.T
                         + sigma2 * G21 @ (3.0 * V + 2.0 * vv) @ G21.T))
        M = F1 @ M @ F2.T + sigma2 * (G1 @ M @ G2.T)
    return mu, var
