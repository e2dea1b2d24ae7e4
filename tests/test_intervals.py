"""Known answers: where the model is the process that made the data, its intervals cover what they say.

Panels of simulated series, one origin at the end of each (M4's layout), coverage pooled over
series and steps, as M4's ACD pools it. The seeds are fixed, so each test gives one answer.
"""
import numpy as np
import pandas as pd

from bench import conformal, forecaster, metrics, quantiles as qs, runner
from bench.splits import WalkForward
from tests.user_models import HistoryMean

HORIZON = 12
SPLIT = WalkForward(horizon=HORIZON, test_size=HORIZON)


def panel(values: np.ndarray) -> list[pd.Series]:
    index = pd.date_range("2000-01-01", periods=values.shape[1], freq="D")
    return [pd.Series(row, index=index) for row in values]


def pooled_coverage(walks) -> dict[int, float]:
    q = np.concatenate([w.quantiles for w in walks])
    y = np.concatenate([w.actuals for w in walks])
    return {nominal: float(metrics.BY_NAME[f"coverage_{nominal}"].fn(y_true=y, y_pred=y, q_pred=q))
            for nominal in (80, 95)}


def test_naive_intervals_cover_as_they_say_on_random_walks():
    steps = np.random.default_rng(7).normal(0.0, 3.0, size=(2000, 200))
    walks = [runner.walk_forward(forecaster.build("naive", {}, season_length=1, seed=0), y, SPLIT)
             for y in panel(100.0 + np.cumsum(steps, axis=1))]
    coverage = pooled_coverage(walks)
    assert abs(coverage[95] - 0.95) <= 0.01, coverage
    assert abs(coverage[80] - 0.80) <= 0.015, coverage


def test_drift_intervals_cover_as_they_say_on_random_walks_with_drift():
    steps = np.random.default_rng(8).normal(0.5, 2.0, size=(2000, 200))
    walks = [runner.walk_forward(forecaster.build("drift", {}, season_length=1, seed=0), y, SPLIT)
             for y in panel(np.cumsum(steps, axis=1))]
    coverage = pooled_coverage(walks)
    assert abs(coverage[95] - 0.95) <= 0.01, coverage
    assert abs(coverage[80] - 0.80) <= 0.015, coverage


def test_the_conformal_wrapper_gives_a_users_point_model_nominal_coverage_where_residuals_are_exchangeable():
    # Independent noise around a fixed level: a flat mean forecast's residuals are exchangeable
    # across series and origins, which is what split conformal prediction needs.
    values = 50.0 + np.random.default_rng(9).standard_t(df=5, size=(1000, 120)) * 4.0
    series = panel(values)
    validation = [runner.walk_forward(HistoryMean(), y, SPLIT, span="validation") for y in series]
    calibration = conformal.Calibration.from_residuals(np.concatenate([w.actuals for w in validation]),
                                                       np.concatenate([w.forecasts for w in validation]),
                                                       np.concatenate([w.mase_scales for w in validation]))
    assert calibration.n_residuals == 1000 and not calibration.pooled
    walks = [runner.walk_forward(conformal.Conformal(HistoryMean(), calibration, season_length=1), y, SPLIT)
             for y in series]
    assert walks[0].intervals.startswith("conformal: validation-span residuals (1000 per step)")
    coverage = pooled_coverage(walks)
    assert abs(coverage[95] - 0.95) <= 0.02, coverage
    assert abs(coverage[80] - 0.80) <= 0.02, coverage
    assert all(qs.crossing(w.quantiles) == 0 for w in walks)
