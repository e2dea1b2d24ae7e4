import numpy as np
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
    names = [d.name for d in metrics.DEFINITIONS]
    assert names == list(metrics.METRICS) == ["mae", "rmse", "mape", "smape", "mase"]
    assert [d.name for d in metrics.DEFINITIONS if d.undefined] == ["mape"]
