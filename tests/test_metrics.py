import numpy as np
import pandas as pd
import pytest

from bench import metrics

Y_TRUE = np.array([[10.0, 20.0], [30.0, 40.0]])
Y_PRED = np.array([[12.0, 17.0], [30.0, 44.0]])   # errors: +2 -3 / 0 +4


def test_mae_and_rmse_against_hand_computed_values():
    assert metrics.mae(y_true=Y_TRUE, y_pred=Y_PRED) == pytest.approx((2 + 3 + 0 + 4) / 4)
    assert metrics.rmse(y_true=Y_TRUE, y_pred=Y_PRED) == pytest.approx(np.sqrt((4 + 9 + 0 + 16) / 4))


def test_per_horizon_step_values_average_over_origins():
    np.testing.assert_allclose(metrics.mae(y_true=Y_TRUE, y_pred=Y_PRED, axis=0), [1.0, 3.5])
    np.testing.assert_allclose(metrics.rmse(y_true=Y_TRUE, y_pred=Y_PRED, axis=0),
                               [np.sqrt(2.0), np.sqrt(12.5)])


def test_mape_and_smape_in_percent():
    expected_mape = 100 * (2 / 10 + 3 / 20 + 0 / 30 + 4 / 40) / 4
    assert metrics.mape(y_true=Y_TRUE, y_pred=Y_PRED) == pytest.approx(expected_mape)
    expected_smape = 100 * (2 * 2 / 22 + 2 * 3 / 37 + 0 + 2 * 4 / 84) / 4
    assert metrics.smape(y_true=Y_TRUE, y_pred=Y_PRED) == pytest.approx(expected_smape)


def test_mape_is_nan_when_an_actual_is_zero_rather_than_infinite():
    assert np.isnan(metrics.mape(y_true=[0.0, 1.0], y_pred=[1.0, 1.0]))


def test_mase_scales_by_the_seasonal_naive_error_of_each_origins_history():
    # history 1: season-2 differences |3-1|, |4-2|, |5-3| -> scale 2
    # history 2: |2-1|, |2-1| -> scale 1
    histories = [np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 1.0, 2.0, 2.0])]
    value = metrics.mase(y_true=Y_TRUE, y_pred=Y_PRED, y_train=histories, season_length=2)
    assert value == pytest.approx((2 / 2 + 3 / 2 + 0 / 1 + 4 / 1) / 4)


def test_mase_of_seasonal_naive_in_sample_is_one():
    y = np.array([5.0, 1.0, 7.0, 2.0, 6.0, 4.0, 9.0, 3.0])
    m = 2
    value = metrics.mase(y_true=y[m:], y_pred=y[:-m], y_train=y, season_length=m)
    assert value == pytest.approx(1.0)


def test_mase_of_a_constant_history_is_nan_not_infinite():
    assert np.isnan(metrics.mase(y_true=[1.0], y_pred=[2.0], y_train=np.ones(10), season_length=1))


def test_every_metric_shares_one_keyword_signature():
    for fn in metrics.METRICS.values():
        fn(y_true=Y_TRUE, y_pred=Y_PRED, y_train=np.arange(1.0, 20.0), season_length=1)


def test_mape_is_declared_meaningless_where_an_actual_is_zero_or_near_it_and_says_why():
    assert metrics.mape_undefined(np.linspace(20.0, 80.0, 30)) == ""
    assert metrics.mape_undefined([50.0, 0.0, 60.0, -0.0]).startswith("2 of the 4 test actuals are 0")
    near = metrics.mape_undefined([50.0, 4.0, 60.0, 55.0])                # 4 < 0.1 x median 52.5
    assert near.startswith("1 of the 4 test actuals is below a tenth of their median (52.5; the smallest is 4)")
    assert metrics.mape_undefined([50.0, 6.0, 60.0, 55.0]) == ""          # 6 > 5.25
    assert metrics.mape_undefined([-50.0, -60.0, 3.0, -55.0]) != ""       # crossing zero counts too


def test_the_metric_table_names_every_metric_the_runner_computes_once():
    assert [d.name for d in metrics.DEFINITIONS] == ["mae", "rmse", "mape", "smape", "mase", "owa", "msis",
                                                     "coverage_80", "coverage_95", "sql", "wql", "acd"]
    assert list(metrics.METRICS) == list(metrics.STORED) == ["mae", "rmse", "mape", "smape", "mase", "msis",
                                                             "coverage_80", "coverage_95", "sql", "wql"]
    assert [d.name for d in metrics.DEFINITIONS if d.undefined] == ["mape"]
    assert [d.name for d in metrics.OF_PANEL] == ["owa"] and metrics.BY_NAME["owa"].reference == "naive2"
    assert [d.name for d in metrics.DISTRIBUTION_OF_PANEL] == ["acd"] and metrics.BY_NAME["acd"].reference == ""
    # Each says whether a mean over a panel's series means anything, and why.
    assert metrics.PANEL_MEANS == ("smape", "mase")
    assert [d.name for d in metrics.POINT] == ["mae", "rmse", "mape", "smape", "mase"]
    assert [d.name for d in metrics.DISTRIBUTION] == ["msis", "coverage_80", "coverage_95", "sql", "wql"]
    assert all(d.why for d in metrics.DEFINITIONS)
    assert {d.name: d.nominal for d in metrics.DEFINITIONS if d.direction == "nominal"} == {
        "coverage_80": 0.80, "coverage_95": 0.95}
    assert all(d.direction == "lower" for d in metrics.DEFINITIONS if d.nominal is None)


def test_score_gives_what_the_runner_stores_for_a_walk(air):
    from bench import forecaster
    from bench.runner import walk_forward
    from bench.splits import WalkForward

    split = WalkForward(horizon=12, test_size=36)
    for name in ("naive", "seasonal_naive", "drift"):
        walk = walk_forward(forecaster.build(name, {}, season_length=12, seed=0, horizon=12), air, split, 12)
        assert metrics.score(y_true=walk.actuals, y_pred=walk.forecasts, scales=walk.mase_scales,
                             q_pred=walk.quantiles) == walk.score()
        assert np.isfinite(walk.score()["msis"])
    assert metrics.unscorable({"mae": np.inf, "rmse": 1.0, "mape": np.nan, "smape": 2.0, "mase": np.nan}) == ["mae"]


def test_owa_is_the_mean_of_smape_and_mase_each_relative_to_the_reference():
    assert metrics.owa({"smape": 10.0, "mase": 3.0}, {"smape": 20.0, "mase": 2.0}) == pytest.approx((0.5 + 1.5) / 2)
    # M4 Hourly as published: sNaive against Naive2.
    assert metrics.owa({"smape": 13.912, "mase": 1.193}, {"smape": 18.383, "mase": 2.395}) == pytest.approx(0.627,
                                                                                                        abs=5e-4)


@pytest.mark.slow
def test_m4s_smape_and_mase_reproduce_the_published_naive_and_seasonal_naive_on_m4_hourly():
    from bench import data

    if not hasattr(data, "load_panel") or "m4_hourly" not in data.catalog_names():
        pytest.skip("the M4 Hourly catalog entry and the panel loader are not in this tree")
    panel = data.load_panel(data.get_dataset("m4_hourly"))
    assert len(panel) == 414
    scores = {"naive": [], "seasonal_naive": []}
    for y in panel.values():
        train, test = y.to_numpy()[:-48], y.to_numpy()[-48:]
        for name, forecast in (("naive", np.repeat(train[-1], 48)), ("seasonal_naive", np.tile(train[-24:], 2))):
            scores[name].append(metrics.score(y_true=test, y_pred=forecast,
                                              scales=[metrics.seasonal_naive_scale(train, 24)]))
    means = {name: pd.DataFrame(rows)[["smape", "mase"]].mean() for name, rows in scores.items()}
    # M4's published Hourly values (the m4_hourly catalog entry's published file), to their 3 decimals.
    assert round(means["naive"]["smape"], 3) == 43.003 and round(means["naive"]["mase"], 3) == 11.608
    assert round(means["seasonal_naive"]["smape"], 3) == 13.912 and round(means["seasonal_naive"]["mase"], 3) == 1.193


def _quantiles_all_at(point):
    """A 'distribution' whose every quantile is the point forecast: (n_origins, horizon, levels)."""
    from bench import quantiles as qs
    point = np.atleast_2d(np.asarray(point, dtype=float))
    return np.repeat(point[..., None], len(qs.LEVELS), axis=-1)


def test_quantile_losses_of_a_distribution_collapsed_on_the_point_forecast_are_mase_and_wape():
    # fev's loss 2|(y - q)(1{y <= q} - tau)| averaged over 0.1 .. 0.9 is |y - q| when every q is the same.
    q = _quantiles_all_at(Y_PRED)
    scales = [2.0, 4.0]
    assert metrics.sql(y_true=Y_TRUE, y_pred=Y_PRED, q_pred=q, scales=scales) == pytest.approx(
        metrics.mase(y_true=Y_TRUE, y_pred=Y_PRED, scales=scales))
    wape = np.mean(np.abs(Y_TRUE - Y_PRED)) / np.mean(np.abs(Y_TRUE))
    assert metrics.wql(y_true=Y_TRUE, y_pred=Y_PRED, q_pred=q) == pytest.approx(wape)


def test_msis_and_coverage_follow_m4s_definition_on_a_hand_computed_interval():
    from bench import quantiles as qs
    y = np.array([[10.0, 20.0, 30.0]])
    q = np.zeros((1, 3, len(qs.LEVELS)))
    lower, upper = qs.index_of(0.025), qs.index_of(0.975)
    q[..., :] = np.linspace(0, 1, len(qs.LEVELS))      # increasing, then the 95% bounds set by hand
    q[0, :, lower] = [8.0, 21.0, 25.0]
    q[0, :, upper] = [12.0, 24.0, 30.0]                 # y = 30 on the bound: inside (M4 counts it covered)
    # widths 4, 3, 5; step 2 misses below by 1: penalty 2 / 0.05 * 1 = 40
    expected = (4 + (3 + 40) + 5) / 3 / 2.0
    assert metrics.msis(y_true=y, y_pred=y, q_pred=q, scales=[2.0]) == pytest.approx(expected)
    assert metrics.coverage_95(y_true=y, y_pred=y, q_pred=q) == pytest.approx(2 / 3)
    assert metrics.acd({"coverage_95": 2 / 3}) == pytest.approx(0.95 - 2 / 3)


def test_without_quantiles_every_distribution_metric_is_nan_and_the_point_ones_are_not():
    scores = metrics.score(y_true=Y_TRUE, y_pred=Y_PRED, scales=[1.0, 1.0])
    assert all(np.isnan(scores[d.name]) for d in metrics.DISTRIBUTION)
    assert all(np.isfinite(scores[d.name]) for d in metrics.POINT)
    assert metrics.unscorable(scores) == []
