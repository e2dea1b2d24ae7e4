"""The leaderboard's statistics against values worked out by hand or by an independent formula."""
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from bench import stats


def t3_two_sided_p(t: float) -> float:
    """Two-sided p-value of Student t with 3 degrees of freedom, from its closed-form CDF."""
    t = abs(t)
    cdf = 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    return 2 * (1 - cdf)


def test_dm_on_a_four_origin_series_matches_the_hand_computation():
    # d = loss_a - loss_b = 1, 2, 3, 4: mean 2.5; g0 = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25;
    # var(mean) = 1.25 / 4 = 0.3125; DM = 2.5 / sqrt(0.3125) = 4.4721;
    # HLN with h = 1: sqrt((4 + 1 - 2 + 0) / 4) = sqrt(0.75), so DM* = 3.8730; t with 3 df.
    result = stats.diebold_mariano([2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 1.0, 1.0], horizon=1)
    assert result.stat == pytest.approx(math.sqrt(15), rel=1e-12)       # 4.4721 * 0.8660 = sqrt(15)
    assert result.p_value == pytest.approx(t3_two_sided_p(math.sqrt(15)), rel=1e-9)
    assert 0.02 < result.p_value < 0.04                                   # t tables: 3.182 < 3.873 < 4.541


def test_dm_with_overlapping_horizons_matches_a_statsmodels_hac_regression():
    # The DM variance is the HAC variance of a regression of d on a constant with a
    # rectangular kernel over h - 1 lags and no small-sample correction.
    rng = np.random.default_rng(7)
    n, h = 40, 3
    noise = rng.normal(size=n + h)
    loss_b = np.abs(rng.normal(size=n)) + 1.0
    loss_a = loss_b - 0.3 + np.convolve(noise, np.ones(h) / h, mode="valid")[:n]   # MA(h-1) differences
    d = loss_a - loss_b
    fit = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": h - 1, "kernel": "uniform",
                                                               "use_correction": False})
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    expected = fit.params[0] / fit.bse[0] * hln
    result = stats.diebold_mariano(loss_a, loss_b, horizon=h)
    assert result.stat == pytest.approx(expected, rel=1e-10)
    assert result.stat < 0                                    # loss_a is the smaller on average
    from scipy import stats as sps
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(expected), df=n - 1), rel=1e-10)


def test_swapping_the_models_flips_the_sign_and_keeps_the_p_value():
    rng = np.random.default_rng(1)
    a, b = rng.gamma(2.0, size=30), rng.gamma(2.2, size=30)
    forward, backward = stats.diebold_mariano(a, b, 4), stats.diebold_mariano(b, a, 4)
    assert forward.stat == pytest.approx(-backward.stat)
    assert forward.p_value == pytest.approx(backward.p_value)


def test_identical_losses_are_no_evidence_and_too_few_origins_give_nan():
    assert stats.diebold_mariano([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 2) == (0.0, 1.0)
    assert all(math.isnan(v) for v in stats.diebold_mariano([1.0], [2.0], 1))


def test_when_the_lagged_variance_is_not_positive_the_test_falls_back_to_horizon_one():
    # d alternates 2, 0, 2, 0: its lag-1 autocovariance is almost -g0, so g0 + 2 g1 < 0.
    a = np.tile([3.0, 1.0], 10)
    b = np.ones(20)
    assert stats.hac_variance(a - b, 2) < 0
    assert stats.dm_horizon_used(a, b, 2) == 1
    assert stats.diebold_mariano(a, b, 2) == stats.diebold_mariano(a, b, 1)
    assert stats.dm_horizon_used(a, b, 1) == 1


@pytest.mark.parametrize("horizon, step, overlap", [(12, 1, 12), (24, 24, 1), (12, 5, 3), (1, 1, 1), (24, 48, 1)])
def test_the_dm_horizon_counts_consecutive_origins_whose_forecasts_overlap(horizon, step, overlap):
    assert stats.overlapping_origins(horizon, step) == overlap


@pytest.fixture
def scores():
    # MAE of three variants on three datasets; c did not run on d2; a and b tie for best on d3.
    return pd.DataFrame({"d1": [1.0, 2.0, 3.0], "d2": [5.0, 4.0, np.nan], "d3": [1.0, 1.0, 2.0]},
                        index=["a", "b", "c"])


def test_mean_ranks_average_ties_and_skip_datasets_a_variant_did_not_run_on(scores):
    # d1: a 1, b 2, c 3; d2: b 1, a 2; d3: a and b share 1.5, c 3.
    means = stats.mean_ranks(scores)
    assert means["a"] == pytest.approx((1 + 2 + 1.5) / 3)
    assert means["b"] == pytest.approx((2 + 1 + 1.5) / 3)
    assert means["c"] == pytest.approx((3 + 3) / 2)


def test_a_tie_for_best_is_a_win_for_each_tied_variant(scores):
    assert stats.wins(scores).to_dict() == {"a": 2, "b": 2, "c": 0}


def test_geometric_mean_of_mae_relative_to_a_reference(scores):
    reference = pd.Series({"d1": 2.0, "d2": 4.0, "d3": 1.0})
    relative = stats.relative_scores(scores, reference)
    gm = stats.geometric_mean(relative)
    assert gm["a"] == pytest.approx((0.5 * 1.25 * 1.0) ** (1 / 3))     # 0.8550
    assert gm["b"] == pytest.approx(1.0)                                 # 1, 1, 1
    assert gm["c"] == pytest.approx(math.sqrt(1.5 * 2.0))                # only where it ran


def test_twice_as_bad_on_one_dataset_and_twice_as_good_on_another_averages_to_one():
    gm = stats.geometric_mean(pd.DataFrame({"x": [2.0], "y": [0.5]}))
    assert gm.iloc[0] == pytest.approx(1.0)


def test_pareto_front_keeps_points_nothing_beats_on_both_cost_and_error():
    cost = [1.0, 2.0, 3.0, 0.5, 2.0, np.nan, 4.0]
    error = [10.0, 5.0, 6.0, 20.0, 5.0, 1.0, 5.0]
    # (3, 6) is beaten by (2, 5); (4, 5) too (same error, dearer); the two (2, 5) tie and both stay.
    assert stats.pareto_front(cost, error).tolist() == [True, True, False, True, True, False, False]
