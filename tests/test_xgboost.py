"""XGBoost on lag and calendar features (baselines/xgboost_model.py), on real data."""
import numpy as np
import pandas as pd
import pytest

from baselines.xgboost_model import XGBoostModel, _calendar_fields
from bench import data, runner
from bench.forecaster import future_index
from bench.splits import WalkForward

SEASONAL_NAIVE_AIR_MAE = 38.61


def test_same_seed_gives_the_same_trees_and_another_seed_other_trees(air):
    a = XGBoostModel(season_length=12, seed=0).fit(air.iloc[:120])
    b = XGBoostModel(season_length=12, seed=0).fit(air.iloc[:120])
    c = XGBoostModel(season_length=12, seed=1).fit(air.iloc[:120])
    assert a.booster_.get_dump() == b.booster_.get_dump()
    np.testing.assert_array_equal(a.predict(12), b.predict(12))
    assert a.booster_.get_dump() != c.booster_.get_dump()  # subsampling follows the seed


def test_update_extends_the_lag_history_without_retraining(air):
    model = XGBoostModel(season_length=12, target="diff", transform="none").fit(air.iloc[:110])
    trees = model.booster_.get_dump()
    model.update(air.iloc[110:115]).update(air.iloc[115:120])
    assert model.booster_.get_dump() == trees

    # The one-step forecast is the booster applied to the row built from all 120 values.
    diffs = np.diff(air.to_numpy()[:120])
    next_month = future_index(air.index[:120], 1).month[0]
    row = np.r_[diffs[-model.lags_], next_month][None, :]
    expected = air.iloc[119] + model.booster_.inplace_predict(row)[0]
    assert model.predict(1)[0] == pytest.approx(expected, rel=1e-6)


def test_recursive_forecast_feeds_each_step_back_as_if_it_had_been_observed(air):
    model = XGBoostModel(season_length=12).fit(air.iloc[:120])
    path = model.predict(3)
    model.update(pd.Series(path[:2], index=future_index(air.index[:120], 2)))
    assert model.predict(1)[0] == pytest.approx(path[2], rel=1e-6)


def test_early_stopping_keeps_fewer_rounds_than_the_cap_and_n_params_counts_their_nodes(air):
    model = XGBoostModel(season_length=12, n_estimators=400).fit(air.iloc[:120])
    assert 1 <= model.n_rounds_ < 400
    nodes = model.booster_.trees_to_dataframe()
    assert nodes["Tree"].nunique() == model.n_rounds_
    assert model.n_params() == len(nodes)


@pytest.mark.parametrize("name, fields", [
    ("air_passengers", ["month"]),
    ("google_stock", ["day_of_week", "month"]),
    ("energy_aep_hourly", ["hour", "day_of_week", "month"]),
])
def test_calendar_features_follow_the_series_spacing(name, fields):
    assert _calendar_fields(data.load_series(name).index[:50]) == fields


def test_a_level_target_on_trading_days_stays_inside_the_training_range():
    stock = data.load_series("google_stock")
    model = XGBoostModel(season_length=5, lags=5, seasonal_lags=0, target="level").fit(stock)
    forecast = model.predict(5)
    assert forecast.shape == (5,) and np.all(np.isfinite(forecast))
    # A level model cannot leave the range of values it was trained on.
    assert stock.min() <= forecast.min() and forecast.max() <= stock.max()


def test_with_no_parameters_the_features_cover_a_season_and_the_horizon(air):
    model = XGBoostModel(season_length=12, horizon=12).fit(air.iloc[:120])
    assert list(model.lags_) == list(range(1, 13)) + [24]     # 12 lags and two seasons back
    info = model.fit_info()
    assert info["target"] == "diff"          # KPSS: air passengers trend
    assert info["transform"] == "log"        # its spread grows with its level
    assert (info["lags"], info["max_lag"]) == (12, 24) and info["rounds"] == model.n_rounds_


def test_hourly_day_ahead_lags_reach_two_days_back_and_sunspots_get_no_seasonal_lags(energy, sunspots):
    hourly = XGBoostModel(season_length=24, horizon=24, n_estimators=20).fit(energy.iloc[-3000:])
    assert list(hourly.lags_) == list(range(1, 25)) + [48]
    cycle = XGBoostModel(season_length=132, horizon=12, n_estimators=20).fit(sunspots.iloc[-600:])
    assert list(cycle.lags_) == list(range(1, 13))         # max(1, 12, 10): the horizon
    assert cycle.fit_info()["transform"] == "none"          # zeros: no logs
    week = XGBoostModel(season_length=5, horizon=1, n_estimators=20)._choose_lags(1000, 5)
    assert list(week) == list(range(1, 11))                 # at least 10, covering 5 and 10


def test_a_stationary_series_is_modelled_in_levels_and_a_short_one_keeps_rows_to_learn_from(air):
    rng = np.random.default_rng(6)
    noise = pd.Series(rng.normal(10.0, 1.0, size=200),
                      index=pd.date_range("2000-01-01", periods=200, freq="D"))
    assert XGBoostModel(season_length=7).fit(noise).fit_info()["target"] == "level"
    short = XGBoostModel(season_length=12, horizon=12).fit(air.iloc[:48])
    assert short.lags_.max() <= 48 // 3 and np.all(np.isfinite(short.predict(12)))


@pytest.mark.slow
def test_differenced_model_beats_seasonal_naive_on_the_default_air_protocol(air):
    result = runner.walk_forward(XGBoostModel(season_length=12), air,
                                 WalkForward(horizon=12, test_size=36, step=1), 12)
    assert result.mae() < SEASONAL_NAIVE_AIR_MAE
