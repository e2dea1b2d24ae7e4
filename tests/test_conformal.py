"""Conformal intervals (bench/conformal.py): the ranks, the pooling, and that no calibration reads the test span."""
import json

import numpy as np
import pandas as pd
import pytest

from bench import api, conformal, data, quantiles as qs
from bench.store import Store
from tests.conftest import catalog_file


def test_the_rank_is_split_conformals_finite_sample_rank_clipped_to_the_residuals():
    assert conformal.rank(39, 0.975) == 39 and conformal.rank(39, 0.025) == 1     # (n + 1) tau = 39, 1
    assert conformal.rank(99, 0.9) == 90 and conformal.rank(99, 0.1) == 10
    assert conformal.rank(13, 0.975) == 13 and conformal.rank(13, 0.025) == 1     # too few: the extremes
    assert conformal.rank(5, 0.5) == 3


def test_with_enough_residuals_each_step_is_calibrated_on_its_own_and_in_order():
    rng = np.random.default_rng(0)
    actuals = rng.normal(size=(200, 3)) * np.array([1.0, 2.0, 4.0])
    cal = conformal.Calibration.from_residuals(actuals, np.zeros((200, 3)), np.ones(200))
    assert not cal.pooled and cal.n_residuals == 200 and cal.offsets.shape == (3, len(qs.LEVELS))
    assert qs.crossing(cal.offsets) == 0
    widths = cal.offsets[:, qs.index_of(0.975)] - cal.offsets[:, qs.index_of(0.025)]
    assert widths[0] < widths[1] < widths[2]
    # The 90% quantile of 200 residuals is the ceil(201 * 0.9) = 181st smallest.
    assert cal.offsets[1, qs.index_of(0.9)] == np.sort(actuals[:, 1])[180]


def test_with_few_residuals_per_step_the_steps_are_pooled_by_their_spread():
    rng = np.random.default_rng(1)
    actuals = rng.normal(size=(20, 12)) * np.arange(1, 13)
    cal = conformal.Calibration.from_residuals(actuals, np.zeros((20, 12)), np.ones(20))
    assert cal.pooled and cal.n_residuals == 20
    assert "steps pooled" in cal.describe()
    spreads = np.mean(np.abs(actuals), axis=0)
    shapes = cal.offsets / spreads[:, None]
    np.testing.assert_allclose(shapes, np.repeat(shapes[:1], 12, axis=0))      # one shape, scaled per step
    # Alone, 20 residuals give the 95% and 97.5% quantiles the same (largest) one; 240 quotients tell them apart.
    assert conformal.rank(20, 0.95) == conformal.rank(20, 0.975) == 20
    assert np.all(cal.offsets[:, qs.index_of(0.95)] < cal.offsets[:, qs.index_of(0.975)])


def test_residuals_are_in_units_of_their_origins_scale_and_a_constant_history_gets_zero_width():
    actuals = np.array([[2.0], [4.0], [-6.0]])
    cal = conformal.Calibration.from_residuals(actuals, np.zeros((3, 1)), np.array([1.0, 2.0, 0.0]))
    assert cal.n_residuals == 2                                   # the zero-scale origin adds nothing
    np.testing.assert_allclose(cal.offsets[0, [qs.index_of(0.025), qs.index_of(0.975)]], [2.0, 2.0])
    np.testing.assert_allclose(cal.quantiles([10.0], scale=3.0)[0, 0], 16.0)
    np.testing.assert_allclose(cal.quantiles([10.0], scale=0.0), 10.0)


def air_csv(tmp_path, name: str, change_test_span: bool = False):
    frame = pd.read_csv(catalog_file("air_passengers", "AirPassengers.csv"))
    if change_test_span:
        frame.iloc[-24:, 1] = frame.iloc[-24:, 1] * 3 + 500
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return data.user_dataset(path, name="air", horizon=12, test_size=24)


SUITE = """name = "conformal"
[[datasets]]
name = "air_passengers"
[[models]]
name = "tests.user_models:HistoryMean"
label = "history_mean"
[[models]]
name = "naive"
"""


def run(tmp_path, name, change_test_span=False):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    out = tmp_path / name
    api.run(str(suite), datasets=["air"], out=out, workers=0,
            extra_datasets=[air_csv(tmp_path, name, change_test_span)], plots=False)
    store = Store(out / "bench.sqlite", read_only=True)
    try:
        cells = store.cells(1)
        return cells, store.forecasts(1), store.validation_forecasts(1)
    finally:
        store.close()


def test_no_calibration_reads_the_test_span(tmp_path):
    """A user's point model gets conformal intervals from its validation walk; changing every test-span
    value changes neither that walk nor the intervals at the first test origin, whose history ends
    before the test span."""
    cells, forecasts, validation = run(tmp_path, "original")
    changed_cells, changed_forecasts, changed_validation = run(tmp_path, "changed", change_test_span=True)

    mean = cells[(cells["label"] == "history_mean") & (cells["span"] == "test")].iloc[0]
    assert mean["status"] == "ok" and mean["intervals"].startswith("conformal: validation-span residuals (13 per step")
    assert np.isfinite(mean["msis"]) and np.isfinite(mean["sql"])
    # naive makes its own distribution: no calibration walk.
    assert set(cells.loc[cells["span"] == "validation", "label"]) == {"history_mean"}
    assert cells.loc[cells["label"] == "naive", "intervals"].iloc[0].startswith("normal, R forecast's naive()")

    columns = ["origin_time", "step", "y_true", "y_pred", "mase_scale"]
    pd.testing.assert_frame_equal(validation[columns], changed_validation[columns])
    np.testing.assert_array_equal(conformal.from_validation_rows(validation).offsets,
                                  conformal.from_validation_rows(changed_validation).offsets)

    def first_origin_offsets(cells, forecasts):
        cell_id = cells[(cells["label"] == "history_mean") & (cells["span"] == "test")]["cell_id"].iloc[0]
        mine = forecasts[forecasts["cell_id"] == cell_id]
        first = mine[mine["origin_time"] == mine["origin_time"].min()]
        return first[list(qs.COLUMNS)].to_numpy() - first[["y_pred"]].to_numpy()

    np.testing.assert_array_equal(first_origin_offsets(cells, forecasts),
                                  first_origin_offsets(changed_cells, changed_forecasts))
    assert json.loads(mean["split"])["test_size"] == 24
