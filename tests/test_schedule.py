"""Longest-first scheduling: the order cells start in, from a prior and from stored times."""
import pandas as pd
import pytest

from bench import api, schedule
from bench.runner import Cell
from bench.splits import WalkForward

SPLIT = WalkForward(horizon=12, test_size=24)


def _cell(dataset, model, seed=0, **params):
    return Cell(dataset, model, model, params, seed, SPLIT, 12)


def test_without_history_slow_families_on_long_series_start_first():
    cells = [_cell("air", "naive"), _cell("air", "lstm_torch"), _cell("energy", "naive"),
             _cell("energy", "prophet"), _cell("energy", "gru_keras", seed=1)]
    order = schedule.longest_first(cells, {}, {"air": 144, "energy": 20_000})
    assert [(c.dataset, c.model) for c in order] == [
        ("energy", "prophet"), ("energy", "gru_keras"), ("air", "lstm_torch"),
        ("energy", "naive"), ("air", "naive")]


def test_timed_cells_run_slowest_first_after_the_never_timed_ones():
    a, b, c, new = _cell("air", "arima"), _cell("air", "naive"), _cell("air", "drift"), _cell("air", "xgboost")
    past = {schedule.history_key(a): 2.0, schedule.history_key(b): 0.01, schedule.history_key(c): 30.0}
    order = schedule.longest_first([a, b, c, new], past, {"air": 144})
    assert order == [new, c, a, b]


def test_the_seed_does_not_change_a_cells_history_but_parameters_do():
    assert schedule.history_key(_cell("air", "lstm_torch", seed=0)) == \
        schedule.history_key(_cell("air", "lstm_torch", seed=2))
    assert schedule.history_key(_cell("air", "lstm_torch", units=8)) != \
        schedule.history_key(_cell("air", "lstm_torch", units=16))


SUITE = """
name = "order"
seeds = 1
[[datasets]]
name = "air_passengers"
test_size = 24
[[models]]
name = "naive"
[[models]]
name = "tests.faulty_models:SlowNaive"
label = "slow"
params = { delay_s = 0.05 }
"""


@pytest.mark.slow
def test_a_second_run_starts_with_the_cell_the_first_run_found_slowest(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    first = api.run(str(suite), out=tmp_path, workers=0, references=False, plots=False)
    ran_in_order = lambda res: list(res.cells.sort_values("cell_id")["label"])
    assert ran_in_order(first) == ["naive", "slow"]     # no history: the suite's order

    from bench.store import Store
    store = Store(tmp_path / "bench.sqlite")
    try:
        past = schedule.past_wall_times(store.cell_times())
    finally:
        store.close()
    assert len(past) == 2 and max(past.values()) > 0.05      # the slow cell sleeps 0.05 s per fit

    second = api.run(str(suite), out=tmp_path, workers=0, references=False, plots=False)
    assert ran_in_order(second) == ["slow", "naive"]
    pd.testing.assert_series_equal(first.cells.set_index("label")["mae"].sort_index(),
                                   second.cells.set_index("label")["mae"].sort_index())
