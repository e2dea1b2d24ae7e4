"""Prophet: a piecewise-linear trend plus Fourier seasonalities, fitted by MAP in Stan.

Seasonalities come from the series' spacing, fixed at ``fit`` so a warm start always
finds the same parameter shapes:

- monthly (or coarser) data: yearly only;
- daily and trading-day data: weekly, plus yearly when the history spans two years
  (730 days or more, Prophet's own threshold);
- hourly data: daily and weekly, plus yearly when the history spans two years
  (energy's sliding window of 17520 hours is one hour short of it: no yearly term).

(Prophet's own "auto" rules come to nearly the same, but decide again at every fit
and log each decision.) ``yearly``, ``weekly`` and ``daily`` override the choice with
True/False; ``"auto"`` keeps it.

``seasonality_mode``: ``"auto"`` (default) chooses on the training window:
``"multiplicative"`` for a positive series whose variance grows with its level
(``bench.seasonality.variance_grows_with_level``: Guerrero's lambda below 0.5, with
blocks of the usable season; the rule ARIMA uses for logs and Holt-Winters for a
multiplicative season), ``"additive"`` (Prophet's default) otherwise. ``"additive"`` or
``"multiplicative"`` fixes it.

Other hyperparameters keep Prophet's own defaults: ``changepoint_prior_scale`` (0.05,
trend flexibility), ``changepoint_range`` (0.8: the share of the history where the
trend may change), ``seasonality_prior_scale`` (10), ``n_changepoints`` (25).

``fit_last`` fits on the last ``fit_last`` observations only (``None``, the default:
all), and ``update`` keeps that window sliding. No window is needed for speed: a cold
fit on energy's 17520 hours takes about 1.8 CPU-s (0.3 in Python, 1.5 in CmdStan's
L-BFGS) and a warm-started refit about 0.9, so the energy walk (4 fits, 24 refits on
update) costs about 30 CPU-s. CmdStan runs in a child process, whose CPU time
``time.process_time`` (what the runner records) does not count; the wall time does.

``update`` refits on the longer history, warm-started from the previous fit's
parameters (``fit(df, init=...)``, Prophet's documented warm start), so L-BFGS begins
next to the optimum. Prophet has no cheaper way to take in new observations: its
forecast is a function of time alone, and without a refit new points would change
nothing. ``refit_on_update=False`` accepts that, for suites that want Prophet's
fit-once cost (the forecast then ignores everything after the last fit).

Quiet: cmdstanpy's and Prophet's loggers are raised to CRITICAL and warnings are
ignored while Prophet is imported, fitted and asked to predict, then restored.
``predict`` skips the uncertainty simulation (``uncertainty_samples=0``), which also
makes it deterministic; Stan's optimiser gets ``seed``.

``predict_quantiles``: Prophet's own forecast distribution, the quantiles of
``N_SAMPLES`` = 1000 (its default ``uncertainty_samples``) draws of its predictive
samples: the trend extrapolated with random future changepoints (as frequent as in the
history, with Laplace rate changes of the fitted deltas' mean size), times one plus the
multiplicative terms, plus the additive terms and normal noise of scale ``sigma_obs``.
With a MAP fit (as here) the seasonal coefficients' uncertainty is not in them; Prophet
includes it only with MCMC. The draws are exactly Prophet's ``predictive_samples``
(the tests compare them, and the 80% interval with Prophet's own ``yhat_lower`` and
``yhat_upper``), drawn from the same random numbers in the same order, but with the
seasonal terms ``predict`` has just computed: Prophet's own call builds the seasonal
features again, which cost 50 ms on air passengers against a 110 ms fit and a 40 ms
predict (36% added to the walk; now about 7 ms). Prophet draws from numpy's global
generator, which is seeded from ``seed`` and the number of observations seen for the
call and then restored, so a walk is reproducible and nothing else's draws change.
Without a refit on update the draws start at the last fitted observation, as the
trend's uncertainty grows from there. The median is the point forecast up to the
simulation's noise.

``fit_info()``: the seasonality mode and the seasonalities fitted
(``{"seasonality_mode": "multiplicative", "seasonalities": "yearly"}``).

``n_params``: the fitted scalars - growth rate k, offset m, one rate change (delta)
per changepoint, one coefficient (beta) per seasonal Fourier term, and sigma_obs.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from bench.forecaster import ModelSkipped, future_index
from bench.quantiles import LEVELS, from_samples
from bench.seasonality import usable_season, variance_grows_with_level

_LOGGERS = ("prophet", "prophet.plot", "cmdstanpy")
_AUTO = "auto"
_MODES = (_AUTO, "additive", "multiplicative")
N_SAMPLES = 1000      # predictive samples per forecast (Prophet's default uncertainty_samples)


class ProphetModel:
    intervals = "quantiles of Prophet's 1000 predictive samples (trend changes, observation noise), seeded"

    def __init__(self, *, season_length: int = 1, seed: int = 0,
                 changepoint_prior_scale: float = 0.05, changepoint_range: float = 0.8,
                 seasonality_prior_scale: float = 10.0,
                 seasonality_mode: str = _AUTO, n_changepoints: int = 25,
                 yearly: bool | str = _AUTO, weekly: bool | str = _AUTO,
                 daily: bool | str = _AUTO, fit_last: int | None = None,
                 refit_on_update: bool = True):
        self.season_length = season_length
        self.seed = seed
        self.changepoint_prior_scale = changepoint_prior_scale
        self.changepoint_range = changepoint_range
        self.seasonality_prior_scale = seasonality_prior_scale
        self.seasonality_mode = seasonality_mode
        self.n_changepoints = n_changepoints
        self.yearly = yearly
        self.weekly = weekly
        self.daily = daily
        self.fit_last = fit_last
        self.refit_on_update = refit_on_update

    def fit(self, y: pd.Series) -> ProphetModel:
        if self.seasonality_mode not in _MODES:
            raise ValueError(f"seasonality_mode must be one of {_MODES}, "
                             f"got {self.seasonality_mode!r}")
        for name in ("yearly", "weekly", "daily"):
            if getattr(self, name) not in (True, False, _AUTO):
                raise ValueError(f"{name} must be True, False or 'auto', "
                                 f"got {getattr(self, name)!r}")
        if not isinstance(y.index, pd.DatetimeIndex) or y.index.freq is None:
            raise ValueError("Prophet needs a DatetimeIndex with a frequency")
        if self.fit_last is not None and self.fit_last < 3:
            raise ValueError(f"fit_last must be None or >= 3, got {self.fit_last}")
        if self.fit_last is not None:
            y = y.iloc[-self.fit_last:]
        if len(y) < 3:
            raise ModelSkipped(f"Prophet needs at least 3 observations, got {len(y)}")
        self.seasonalities_ = self._choose_seasonalities(y.index)
        self.seasonality_mode_ = self._choose_mode(np.asarray(y, dtype=float))
        self.history_ = pd.DataFrame({"ds": y.index.tz_localize(None),
                                      "y": np.asarray(y, dtype=float)})
        self.freq_ = y.index.freq
        self.last_time_ = y.index[-1]
        self.model_ = self._fit(init=None)
        self.fitted_time_, self.unfitted_, self.n_seen_ = self.last_time_, 0, len(y)
        return self

    def update(self, y_new: pd.Series) -> ProphetModel:
        if not len(y_new):
            return self
        new = pd.DataFrame({"ds": y_new.index.tz_localize(None),
                            "y": np.asarray(y_new, dtype=float)})
        self.history_ = pd.concat([self.history_, new], ignore_index=True)
        if self.fit_last is not None:
            self.history_ = self.history_.iloc[-self.fit_last:].reset_index(drop=True)
        self.last_time_ = y_new.index[-1]
        self.n_seen_ += len(y_new)
        if self.refit_on_update:
            self.model_ = self._fit(init=_warm_start(self.model_))
            self.fitted_time_, self.unfitted_ = self.last_time_, 0
        else:
            self.unfitted_ += len(y_new)
        return self

    def predict(self, horizon: int) -> np.ndarray:
        times = future_index(pd.DatetimeIndex([self.last_time_], freq=self.freq_), horizon)
        with _quiet():
            forecast = self.model_.predict(pd.DataFrame({"ds": times.tz_localize(None)}))
        # The seasonal terms, for the predict_quantiles call that follows (the costly part
        # of Prophet's own sampling is building the seasonal features again).
        self._terms = (self.model_, self.last_time_, horizon,
                       forecast["multiplicative_terms"].to_numpy(dtype=float),
                       forecast["additive_terms"].to_numpy(dtype=float))
        return forecast["yhat"].to_numpy(dtype=float)

    def predict_quantiles(self, horizon: int, levels: Sequence[float] = LEVELS) -> np.ndarray:
        """Quantiles of Prophet's predictive samples (trend changes and observation noise)."""
        return from_samples(self.predictive_samples(horizon), levels)

    def predictive_samples(self, horizon: int) -> np.ndarray:
        """``(N_SAMPLES, horizon)`` draws of Prophet's predictive distribution, seeded.

        The draws of Prophet's ``predictive_samples`` (``sample_model_vectorized``: trend
        paths with random future changepoints, times one plus the multiplicative terms,
        plus the additive terms and normal noise of scale ``sigma_obs``), the same
        random numbers in the same order, with the seasonal terms ``predict`` computed.
        """
        terms = getattr(self, "_terms", None)
        if terms is None or terms[0] is not self.model_ or terms[1:3] != (self.last_time_, horizon):
            self.predict(horizon)
        _, _, _, multiplicative, additive = self._terms
        model = self.model_
        # From the last fitted observation: without a refit on update, the observations
        # revealed since are steps over which the trend's uncertainty has already grown.
        steps = self.unfitted_ + horizon
        times = future_index(pd.DatetimeIndex([self.fitted_time_], freq=self.freq_), steps)
        with _quiet(), _numpy_seeded([self.seed, self.n_seen_]):
            future = model.setup_dataframe(pd.DataFrame({"ds": times.tz_localize(None)}))
            trends = model.sample_predictive_trend_vectorized(future, N_SAMPLES)
            sigma = float(np.ravel(model.params["sigma_obs"])[0])
            noise = np.random.normal(0, sigma, trends.shape) * model.y_scale
        return trends[:, -horizon:] * (1 + multiplicative) + additive + noise[:, -horizon:]

    def n_params(self) -> int:
        p = self.model_.params
        return 3 + int(np.size(p["delta"])) + int(np.size(p["beta"]))  # k, m, sigma_obs

    def fit_info(self) -> dict:
        fitted = "+".join(name for name, on in self.seasonalities_.items() if on) or "none"
        return {"seasonality_mode": self.seasonality_mode_, "seasonalities": fitted}

    # -- internals -------------------------------------------------------------------

    def _choose_mode(self, values: np.ndarray) -> str:
        if self.seasonality_mode != _AUTO:
            return self.seasonality_mode
        m = usable_season(self.season_length)
        grows = np.ptp(values) > 0 and variance_grows_with_level(values, m)
        return "multiplicative" if grows else "additive"

    def _choose_seasonalities(self, index: pd.DatetimeIndex) -> dict[str, bool]:
        step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(days=30)
        two_years = index[-1] - index[0] >= pd.Timedelta(days=730)
        chosen = {
            "yearly": two_years or step >= pd.Timedelta(days=28),
            "weekly": step < pd.Timedelta(days=7),
            "daily": step < pd.Timedelta(days=1),
        }
        for name in chosen:
            if getattr(self, name) != _AUTO:
                chosen[name] = bool(getattr(self, name))
        return chosen

    def _fit(self, init: dict | None):
        with _quiet():
            from prophet import Prophet

            model = Prophet(
                growth="linear",
                changepoint_prior_scale=self.changepoint_prior_scale,
                changepoint_range=self.changepoint_range,
                seasonality_prior_scale=self.seasonality_prior_scale,
                seasonality_mode=self.seasonality_mode_,
                n_changepoints=min(self.n_changepoints, max(0, len(self.history_) - 2)),
                yearly_seasonality=self.seasonalities_["yearly"],
                weekly_seasonality=self.seasonalities_["weekly"],
                daily_seasonality=self.seasonalities_["daily"],
                uncertainty_samples=0,
            )
            kwargs = {"seed": self.seed}
            if init is not None:
                kwargs["init"] = init
            return model.fit(self.history_, **kwargs)


def _warm_start(model) -> dict:
    """The previous MAP estimate as Stan's starting point (Prophet docs, 'Updating fitted models')."""
    p = model.params
    init = {name: float(p[name][0][0]) for name in ("k", "m", "sigma_obs")}
    init.update({name: np.asarray(p[name][0], dtype=float) for name in ("delta", "beta")})
    return init


@contextlib.contextmanager
def _quiet():
    """Silence Prophet and cmdstanpy for the duration, then restore their levels.

    The first import of prophet logs an ERROR when plotly is missing, and cmdstanpy
    sets its logger to DEBUG with its own handler the first time it logs; both are
    triggered inside, then the levels are set again.
    """
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            # Prophet 1.5 calls pandas APIs that pandas 3 deprecates, on every predict.
            warnings.simplefilter("ignore")
            import prophet  # noqa: F401  (a no-op once imported)
            from cmdstanpy.utils import get_logger

            get_logger()
            for lg in loggers:
                lg.setLevel(logging.CRITICAL)
            yield
    finally:
        for lg, level in zip(loggers, before):
            lg.setLevel(level)


@contextlib.contextmanager
def _numpy_seeded(entropy):
    """numpy's global generator (which Prophet's sampling draws from) seeded from ``entropy``
    for the duration, then put back as it was."""
    state = np.random.get_state()
    np.random.seed(np.random.SeedSequence(entropy).generate_state(4))
    try:
        yield
    finally:
        np.random.set_state(state)
