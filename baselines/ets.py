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

``n_params``: alpha; beta with a trend; gamma with a season; phi when damped; the
initial level; the initial slope with a trend; m - 1 initial seasonal states (the
m-th is fixed by normalisation, as in R). The error variance is not counted.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped
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
        self.state_ = smooth(values, self.initial_, self.spec_)
        return self

    def update(self, y_new: pd.Series) -> ETS:
        self.state_ = smooth(np.asarray(y_new, dtype=float), self.state_, self.spec_)
        return self

    def predict(self, horizon: int) -> np.ndarray:
        s, spec = self.state_, self.spec_
        steps = np.arange(1, horizon + 1)
        damped_steps = np.cumsum(s.phi ** steps) if spec.trend == "damped" else steps
        forecast = s.level + damped_steps * s.slope
        if spec.season != "none":
            season = s.seasons[(steps - 1) % len(s.seasons)]
            forecast = forecast + season if spec.season == "add" else forecast * season
        return np.asarray(forecast, dtype=float)

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


def smooth(values: np.ndarray, start: Fitted, spec: Spec) -> Fitted:
    """The states after ``values``, from ``start``, with its parameters held fixed.

    statsmodels' ETS recursions (``_ets_smooth.pyx``), written in error-correction form
    with ``e = y - yhat`` and ``base = l + phi b``. They are the same for additive and
    multiplicative errors: the error type changes the likelihood, not the recursion.
    """
    a, b, g, phi = start.alpha, start.beta, start.gamma, start.phi
    level, slope = start.level, start.slope
    seasons = list(start.seasons)
    damped = phi if spec.trend != "none" else 0.0
    for y in values:
        base = level + damped * slope
        if spec.season == "none":
            error = y - base
            level, slope = base + a * error, damped * slope + b * error
        elif spec.season == "add":
            s = seasons.pop(0)
            error = y - base - s
            level, slope = base + a * error, damped * slope + b * error
            seasons.append(s + g * error)
        else:
            s = seasons.pop(0)
            error = y - base * s
            level, slope = base + a * error / s, damped * slope + b * error / s
            # statsmodels' recursion, which its likelihood (and so the fit) uses: the
            # seasonal ratio is taken to the new level, with gamma* = gamma / (1 - alpha).
            seasons.append(s + g / (1.0 - a) * (y / level - s))
    if spec.trend == "none":
        slope = 0.0
    return Fitted(a, b, g, phi, float(level), float(slope), np.asarray(seasons, dtype=float))
