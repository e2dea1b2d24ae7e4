"""The leaderboard's statistics against values worked out by hand or by an independent formula."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.fft import dct

from bench import stats


def t2_two_sided_p(t: float) -> float:
    """Two-sided p-value of Student t with 2 degrees of freedom, from its closed-form CDF."""
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def test_dm_on_a_four_origin_series_matches_the_hand_computation():
    # d = 1, 2, 3, 4 (n = 4, h = 1): B = floor(4 / 2) = 2 cosine terms, sqrt(2/4) cos(pi j (t - 1/2) / 4).
    # j = 1: cos(pi/8) (1 - 4) + cos(3 pi/8) (2 - 3); j = 2: cos(pi/4) (1 - 2 - 3 + 4) = 0.
    # Omega = (L1^2 + 0) / 2; DM = sqrt(4) * 2.5 / sqrt(Omega); Student t with 2 df.
    l1 = math.sqrt(0.5) * (-3 * math.cos(math.pi / 8) - math.cos(3 * math.pi / 8))
    expected = 2 * 2.5 / math.sqrt(l1 ** 2 / 2)                           # 3.1703
    result = stats.diebold_mariano([2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 1.0, 1.0], horizon=1)
    assert result.df == 2
    assert result.stat == pytest.approx(expected, rel=1e-12)
    assert result.p_value == pytest.approx(t2_two_sided_p(expected), rel=1e-9)
    assert 0.05 < result.p_value < 0.1                                   # t tables, 2 df: 2.920 < 3.170 < 4.303


def test_cosine_projections_are_the_orthonormal_dct_without_its_constant_term():
    x = np.random.default_rng(3).normal(size=(30, 2))
    expected = dct(x, type=2, norm="ortho", axis=0)[1:6]
    np.testing.assert_allclose(stats.cosine_projections(x, 5), expected, atol=1e-12)


def test_with_every_cosine_term_the_statistic_is_the_one_sample_t_statistic():
    x = np.random.default_rng(4).normal(0.3, 1.0, size=17)
    assert float(stats.studentized_means(x, len(x) - 1)) == pytest.approx(sps.ttest_1samp(x, 0.0).statistic)


@pytest.mark.parametrize("n_origins, overlap, df", [(25, 12, 1), (109, 12, 4), (20, 1, 10), (28, 1, 14), (4, 1, 2),
                                                     (2, 1, 1), (48, 12, 2)])
def test_the_test_keeps_one_cosine_term_per_two_overlap_lengths(n_origins, overlap, df):
    assert stats.dm_degrees_of_freedom(n_origins, overlap) == df
    assert stats.too_few_windows(n_origins, overlap) == (df < 2)


def test_the_air_passengers_protocol_holds_too_few_windows_for_a_p_value():
    # 36 test months, horizon 12: 25 origins, 3 non-overlapping windows.
    rng = np.random.default_rng(2)
    a, b = rng.gamma(2.0, size=25), rng.gamma(4.0, size=25)
    assert stats.non_overlapping_windows(25, 12) == 3
    result = stats.diebold_mariano(a, b, 12)
    assert math.isnan(result.p_value) and result.df == 1
    assert not math.isnan(stats.diebold_mariano(np.r_[a, a], np.r_[b, b], 12).p_value)   # 50 origins: 2 terms


def test_swapping_the_models_flips_the_sign_and_keeps_the_p_value():
    rng = np.random.default_rng(1)
    a, b = rng.gamma(2.0, size=30), rng.gamma(2.2, size=30)
    forward, backward = stats.diebold_mariano(a, b, 4), stats.diebold_mariano(b, a, 4)
    assert forward.stat == pytest.approx(-backward.stat)
    assert forward.p_value == pytest.approx(backward.p_value)


def test_identical_losses_are_no_evidence_and_too_few_origins_give_nan():
    assert stats.diebold_mariano([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 1)[:2] == (0.0, 1.0)
    assert all(math.isnan(v) for v in stats.diebold_mariano([1.0], [2.0], 1)[:2])


def test_a_constant_nonzero_difference_is_as_significant_as_it_gets():
    # Every origin shows the same difference: the cosine terms are 0 up to rounding.
    result = stats.diebold_mariano(np.arange(10.0) + 1.0, np.arange(10.0), 1)
    assert result.stat > 1e6 and result.p_value < 1e-12


def test_holm_multiplies_the_kth_smallest_p_value_by_the_hypotheses_left_and_keeps_the_order():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to 0.06.
    adjusted = stats.holm([0.01, 0.04, np.nan, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, np.nan, 0.06, 0.02])


def test_with_two_models_the_confidence_set_p_value_is_the_pairs_dm_p_value():
    rng = np.random.default_rng(5)
    a, b = rng.gamma(2.0, size=40), rng.gamma(2.6, size=40)
    p = stats.model_confidence_set(np.column_stack([a, b]), 2)
    worse = int(b.mean() > a.mean())
    assert p[1 - worse] == 1.0
    assert p[worse] == pytest.approx(stats.diebold_mariano(a, b, 2).p_value)


def test_the_confidence_set_drops_a_clearly_worse_model_and_keeps_equal_ones():
    rng = np.random.default_rng(6)
    equal = rng.normal(10.0, 1.0, size=(60, 3))
    worse = rng.normal(14.0, 1.0, size=(60, 1))
    p = stats.model_confidence_set(np.column_stack([equal, worse]), 1)
    assert p[3] < 0.001
    assert (p[:3] >= 0.05).all() and p.max() == 1.0
    assert np.isnan(stats.model_confidence_set(np.column_stack([equal, worse])[:25], 12)).all()   # too few windows


def test_block_bootstrap_draws_runs_of_consecutive_origins_wrapping_around():
    idx = stats.block_bootstrap_indices(10, 4, 50, np.random.default_rng(0))
    assert idx.shape == (50, 10)
    for row in idx:
        for start in (0, 4):                                   # blocks start at 0, 4 and 8 (cut at 10)
            assert ((np.diff(row[start:start + 4]) % 10) == 1).all()
    assert set(np.unique(idx)) <= set(range(10))


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


@pytest.mark.parametrize("k, q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)])
def test_nemenyis_critical_difference_uses_demsars_critical_values(k, q):
    # Demsar (2006), table 5(a): q_0.05 for k classifiers; CD = q sqrt(k (k + 1) / (6 N)).
    assert stats.nemenyi_critical_difference(k, 50) == pytest.approx(q * math.sqrt(k * (k + 1) / 300), abs=1e-3)


def test_the_comparison_over_series_is_friedmans_test_on_mean_ranks_of_complete_series():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.normal(size=(30, 4)) + [0.0, 0.3, 0.6, 2.0], columns=list("abcd"))
    scores.iloc[3, 2] = np.nan                       # a series where c did not run is left out for every model
    result = stats.rank_comparison(scores)
    complete = scores.drop(index=3)
    assert result.n_series == 29
    pd.testing.assert_series_equal(result.mean_ranks, complete.rank(axis=1).mean())
    chi2 = sps.friedmanchisquare(*(complete[c] for c in complete)).statistic     # no ties: the same statistic
    n, k = complete.shape
    iman_davenport = (n - 1) * chi2 / (n * (k - 1) - chi2)
    assert result.friedman_stat == pytest.approx(iman_davenport)
    assert result.friedman_p == pytest.approx(sps.f.sf(iman_davenport, k - 1, (k - 1) * (n - 1)))
    assert result.friedman_p < 0.001 and result.critical_difference == stats.nemenyi_critical_difference(4, 29)


@pytest.mark.slow
def test_equally_good_models_are_told_apart_in_about_five_percent_of_panels():
    # 1,000 panels of 100 series where 5 models are equally good: Friedman's test rejects
    # about 5% of them, and Nemenyi's test finds some pair different in at most about 5%.
    rng = np.random.default_rng(7)
    results = [stats.rank_comparison(pd.DataFrame(rng.normal(size=(100, 5)))) for _ in range(1000)]
    friedman = np.mean([r.friedman_p < 0.05 for r in results])
    nemenyi = np.mean([r.mean_ranks.max() - r.mean_ranks.min() > r.critical_difference for r in results])
    assert 0.03 <= friedman <= 0.07 and nemenyi <= 0.065
