import numpy as np
import pytest

from bench import data, runner
from bench.forecaster import ModelSkipped
from bench.splits import WalkForward

from baselines.naive import Naive, SeasonalNaive


class Recorder:
    """Remembers every value it was shown; forecasts the mean of what it saw."""

    def __init__(self):
        self.seen = []

    def fit(self, y):
        self.seen = list(y.index)
        return self

    def update(self, y_new):
        self.seen += list(y_new.index)
        return self

    def predict(self, horizon):
        return np.full(horizon, float(len(self.seen)))

    def n_params(self):
        return 1


def test_when_origin_moves_then_the_model_never_sees_a_value_at_or_after_it():
    y = data.load_series("air_passengers")
    split = WalkForward(horizon=12, test_size=36, refit_every=5)
    seen_at_origin = []

    class Spy(Recorder):
        def predict(self, horizon):
            seen_at_origin.append(list(self.seen))
            return super().predict(horizon)

    result = runner.walk_forward(Spy(), y, split)
    for position, seen in zip(result.origin_positions, seen_at_origin):
        assert seen == list(y.index[:position])


def test_sliding_window_refit_sees_only_the_window():
    y = data.load_series("air_passengers")
    split = WalkForward(horizon=1, test_size=10, window=24)
    model = Recorder()
    runner.walk_forward(model, y, split)
    assert model.seen == list(y.index[-1 - 24:-1])


def test_perturbing_the_future_leaves_every_earlier_forecast_unchanged():
    y = data.load_series("air_passengers")
    split = WalkForward(horizon=12, test_size=36, refit_every=3)
    base = runner.walk_forward(SeasonalNaive(season_length=12), y, split)
    cut = int(base.origin_positions[10])
    perturbed = y.copy()
    perturbed.iloc[cut:] *= 3.0
    other = runner.walk_forward(SeasonalNaive(season_length=12), perturbed, split)
    np.testing.assert_array_equal(base.forecasts[:11], other.forecasts[:11])
    assert not np.array_equal(base.forecasts[11:], other.forecasts[11:])


def test_runner_times_and_counts_fits_updates_and_predictions():
    y = data.load_series("google_stock")
    result = runner.walk_forward(Naive(), y, WalkForward(horizon=1, test_size=20, refit_every=20))
    assert result.n_fits == 1 and result.n_updates == 19
    assert result.fit_time_s > 0 and result.predict_time_s > 0 and result.n_params == 0
    assert result.mae() == pytest.approx(5.94, abs=0.005)


def _cell(model="naive", **kw):
    split = kw.pop("split", WalkForward(horizon=12, test_size=36))
    return runner.Cell("air_passengers", model, model, kw, 0, split, 12)


def test_a_model_that_raises_is_recorded_as_failed_with_its_message(monkeypatch):
    class Broken(Recorder):
        def fit(self, y):
            raise RuntimeError("matrix is singular")

    monkeypatch.setattr(runner.forecaster, "build", lambda *a, **k: Broken())
    result = runner.evaluate_cell(_cell(), data.load_series("air_passengers"))
    assert result.status == "failed" and "RuntimeError: matrix is singular" in result.reason


def test_a_model_that_cannot_handle_a_series_is_recorded_as_skipped(monkeypatch):
    class Picky(Recorder):
        def fit(self, y):
            raise ModelSkipped("needs positive values")

    monkeypatch.setattr(runner.forecaster, "build", lambda *a, **k: Picky())
    result = runner.evaluate_cell(_cell(), data.load_series("air_passengers"))
    assert (result.status, result.reason) == ("skipped", "needs positive values")


def test_a_non_finite_forecast_fails_the_cell(monkeypatch):
    class Nan(Recorder):
        def predict(self, horizon):
            return np.full(horizon, np.nan)

    monkeypatch.setattr(runner.forecaster, "build", lambda *a, **k: Nan())
    result = runner.evaluate_cell(_cell(), data.load_series("air_passengers"))
    assert result.status == "failed" and "non-finite" in result.reason


def test_seasonal_naive_scores_reproduce_the_reference_protocol_values():
    y = data.load_series("air_passengers")
    result = runner.evaluate_cell(_cell("seasonal_naive"), y)
    assert result.status == "ok"
    assert result.scores["mae"] == pytest.approx(38.61, abs=0.005)
    # seasonal naive's MASE is its out-of-sample MAE over its in-sample MAE
    assert 1.0 < result.scores["mase"] < 2.0


def test_mase_is_nan_not_infinite_where_a_history_is_constant_and_mae_must_be_finite_to_be_ok():
    walk = runner.WalkResult(origin_positions=np.array([5, 6]), origin_times=None,
                             forecasts=np.array([[1.0], [2.0]]), actuals=np.array([[2.0], [2.0]]),
                             mase_scales=np.array([0.0, 1.0]))
    scores = walk.score()
    assert np.isnan(scores["mase"]) and scores["mae"] == 0.5
    assert walk.unscorable(scores) == ""
    huge = runner.WalkResult(origin_positions=np.array([5, 6]), origin_times=None,
                             forecasts=np.full((2, 1), -1e308), actuals=np.full((2, 1), 1e308),
                             mase_scales=np.array([1.0, 1.0]))
    assert "MAE = inf" in huge.unscorable(huge.score())
