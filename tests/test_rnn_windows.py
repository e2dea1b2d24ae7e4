"""Windows, scaling, differencing and batch orders for the recurrent models, on the real datasets.

These run without TensorFlow or torch: rnn_models.windows is plain NumPy. Tests of the
older pipeline (raw levels, one scaler, no per-window normalisation) set ``PLAIN``.
"""
import math

import numpy as np
import pytest

from bench import data, runner
from bench.forecaster import ModelSkipped
from bench.splits import WalkForward
from rnn_models import windows
from rnn_models.config import RNNConfig

# The network of earlier versions (and of suites/workshop.toml): raw levels, scaled.
PLAIN = dict(transform="none", deseasonalise=False, window_norm="none", scaler="minmax",
             output="recursive", steps_per_epoch="pass", lookback=24)


@pytest.mark.parametrize("kind", ["minmax", "standard"])
@pytest.mark.parametrize("diff", [0, 1, 2])
def test_scaler_statistics_never_depend_on_a_value_at_or_after_the_origin(sunspots, kind, diff):
    values = sunspots.to_numpy()
    origin = len(values) - 500
    cfg = RNNConfig(**{**PLAIN, "scaler": kind}, diff=diff)
    reference = windows.prepare(values[:origin], cfg).scaler

    # Change everything from the origin on, including the value at the origin itself;
    # scaling the tail up moves any statistic that could see it (max, mean, std).
    perturbed = values.copy()
    perturbed[origin:] = perturbed[origin:] * 3.0 + 500.0
    assert windows.prepare(perturbed[:origin], cfg).scaler == reference

    # ... while the statistics are those of the training window's differences alone,
    dy = np.diff(values[:origin], n=diff)
    loc, scale = (dy.min(), dy.max() - dy.min()) if kind == "minmax" else (dy.mean(), dy.std())
    assert (reference.loc, reference.scale) == pytest.approx((loc, scale), rel=1e-12)
    # ... and the check can fail: moving the last training value moves a statistic.
    perturbed[origin - 1] += 1000.0
    assert windows.prepare(perturbed[:origin], cfg).scaler != reference


def test_walk_forward_update_never_refits_the_transform():
    # The model-level version: fit once, then update through the runner with values
    # that differ wildly after the origin; the fitted transform (logs, STL seasonal
    # component, scaler) must stay that of y[:origin].
    from rnn_models.torch_rnn import TorchGRU

    y = data.load_series("air_passengers")
    split = WalkForward(horizon=1, test_size=12, refit_every=12)
    origin = len(y) - 12
    fitted = []
    for tail_factor in (1.0, 10.0):
        series = y.copy()
        series.iloc[origin:] *= tail_factor
        model = TorchGRU(units=4, epochs=1, season_length=12, seed=0)
        result = runner.walk_forward(model, series, split)
        assert result.n_fits == 1 and result.n_updates == 11
        fitted.append(model.transform_)
    expected = windows.SeriesTransform.fit(y.to_numpy()[:origin], model.config_)
    for transform in fitted:
        assert (transform.log, transform.season, transform.scaler) == (True, 12, expected.scaler)
        np.testing.assert_array_equal(transform.seasonal, expected.seasonal)


def test_windows_pair_each_lookback_with_the_values_that_follow_it():
    z = np.arange(10.0)
    x, y = windows.make_windows(z, lookback=3, n_outputs=2)
    assert x.shape == (6, 3, 1) and y.shape == (6, 2)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(x[-1, :, 0], [5, 6, 7])
    np.testing.assert_array_equal(y[-1], [8, 9])
    # Both frameworks get writable arrays they own (torch.from_numpy warns otherwise).
    assert x.flags.writeable and y.flags.writeable and x.flags.c_contiguous


@pytest.mark.parametrize("order", [0, 1, 2])
def test_undifference_inverts_difference_on_a_real_series(google, order):
    values = google.to_numpy()
    history, future = values[:-20], values[-20:]
    future_diffs = windows.difference(values, order)[-20:]
    np.testing.assert_allclose(windows.undifference(future_diffs, history, order), future,
                               rtol=1e-12)


def test_validation_windows_are_the_most_recent_tail_of_the_training_window(google):
    values = google.to_numpy()[:-20]
    cfg = RNNConfig(**{**PLAIN, "lookback": 60}, val_fraction=0.1)
    prepared = windows.prepare(values, cfg)
    n_windows = len(values) - 60
    assert len(prepared.x_val) == math.ceil(0.1 * n_windows)
    assert len(prepared.x_train) + len(prepared.x_val) == n_windows
    scaled = prepared.scaler.transform(values)
    # The last validation target is the last training value, the last training target
    # comes just before the first validation target.
    assert prepared.y_val[-1, 0] == pytest.approx(scaled[-1], abs=1e-6)
    assert prepared.y_train[-1, 0] == pytest.approx(scaled[-len(prepared.x_val) - 1], abs=1e-6)
    np.testing.assert_allclose(prepared.x_val[-1, :, 0], scaled[-61:-1], atol=1e-6)


def test_direct_targets_hold_the_next_horizon_values(sunspots):
    values = sunspots.to_numpy()[:600]
    cfg = RNNConfig(**{**PLAIN, "output": "direct"}, horizon=12, val_fraction=0.0, diff=1)
    prepared = windows.prepare(values, cfg)
    z = prepared.scaler.transform(np.diff(values))
    assert prepared.y_train.shape == (len(z) - 24 - 12 + 1, 12)
    np.testing.assert_allclose(prepared.y_train[5], z[29:41], atol=1e-5)


def test_standard_scaler_gives_the_training_window_zero_mean_and_unit_variance(sunspots):
    values = sunspots.to_numpy()[:1000]
    scaler = windows.prepare(values, RNNConfig(**{**PLAIN, "scaler": "standard"})).scaler
    z = scaler.transform(values)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    np.testing.assert_allclose(scaler.inverse(z), values)


def test_a_constant_training_window_scales_without_dividing_by_zero():
    scaler = windows.Scaler.fit("minmax", np.full(50, 7.0))
    assert scaler.scale == 1.0 and np.all(scaler.transform(np.full(3, 7.0)) == 0.0)


def test_each_window_is_seen_relative_to_its_last_value_and_so_are_its_targets(air):
    values = air.to_numpy()[:108]
    cfg = RNNConfig(season_length=12, horizon=12, val_fraction=0.0)
    prepared = windows.prepare(values, cfg)
    z = prepared.transform.forward(values, start=0)
    lookback = cfg.resolved().lookback
    assert lookback == 15                                   # 1.25 x max(horizon 12, season 12)
    for i in (0, 17, len(prepared.x_train) - 1):
        last = z[i + lookback - 1]
        np.testing.assert_allclose(prepared.x_train[i, :, 0], z[i:i + lookback] - last, atol=1e-5)
        np.testing.assert_allclose(prepared.y_train[i], z[i + lookback:i + lookback + 12] - last,
                                   atol=1e-5)
    assert np.all(prepared.x_train[:, -1, 0] == 0)
    # A forecast window goes through the same map and back.
    x, reference = windows.normalise(z[-lookback:], cfg)
    np.testing.assert_allclose(x, z[-lookback:] - z[-1], atol=1e-6)
    np.testing.assert_allclose(windows.denormalise(x, reference), z[-lookback:], atol=1e-5)


@pytest.mark.parametrize("horizon", [1, 12])
def test_no_training_target_is_a_value_that_a_validation_window_is_scored_on(air, horizon):
    values = air.to_numpy()[:108]
    cfg = RNNConfig(season_length=12, horizon=horizon, val_fraction=0.2).resolved()
    prepared = windows.prepare(values, cfg)
    n_windows = len(values) - cfg.lookback - horizon + 1
    n_val = math.ceil(0.2 * n_windows)
    assert len(prepared.x_val) == n_val
    # Window i's targets sit at positions i + lookback ... i + lookback + horizon - 1.
    last_training_target = len(prepared.x_train) - 1 + cfg.lookback + horizon - 1
    first_validation_target = n_windows - n_val + cfg.lookback
    assert last_training_target == first_validation_target - 1      # adjacent, not overlapping
    assert len(prepared.x_train) == n_windows - n_val - (horizon - 1)


@pytest.mark.parametrize("n_windows,batch", [(41, 300), (300, 300)])
def test_automatic_batches_are_the_whole_set_on_short_series_and_256_windows_on_long_ones(
        sunspots, n_windows, batch):
    cfg = RNNConfig(lookback=10, val_fraction=0.0, transform="none")
    prepared = windows.prepare(sunspots.to_numpy()[:n_windows + 10], cfg)
    assert len(prepared.x_train) == n_windows
    assert prepared.batch_size == min(n_windows, 256)
    explicit = windows.prepare(sunspots.to_numpy()[:n_windows + 10],
                               RNNConfig(lookback=10, val_fraction=0.0, batch_size=batch))
    assert explicit.batch_size == n_windows                # never more than the set


def test_an_epoch_of_steps_cuts_full_batches_from_a_stream_of_shuffled_passes():
    cfg = RNNConfig(epochs=7, steps_per_epoch=3, seed=4)
    orders = windows.batch_orders(50, 20, cfg)
    assert orders.shape == (7, 60)
    stream = orders.reshape(-1)
    # Consecutive blocks of 50 are passes: every window once, in a fresh order.
    passes = stream[:len(stream) // 50 * 50].reshape(-1, 50)
    assert all(sorted(p) == list(range(50)) for p in passes)
    assert not np.array_equal(passes[0], passes[1])
    np.testing.assert_array_equal(windows.batch_orders(50, 20, cfg), orders)   # seeded


def test_an_epoch_can_be_one_pass_as_in_earlier_versions():
    cfg = RNNConfig(epochs=4, steps_per_epoch="pass", seed=4)
    orders = windows.batch_orders(50, 20, cfg)
    assert orders.shape == (4, 50)
    assert all(sorted(row) == list(range(50)) for row in orders)
    assert windows.steps_in(50, 20) == 3                    # the last batch holds 10


@pytest.mark.parametrize("diff,val_fraction,output,horizon", [
    (0, 0.0, "recursive", 1), (2, 0.1, "recursive", 1), (1, 0.5, "direct", 12)])
def test_a_series_one_point_too_short_is_skipped_with_the_minimum_in_the_reason(
        diff, val_fraction, output, horizon):
    cfg = RNNConfig(lookback=24, diff=diff, val_fraction=val_fraction, output=output,
                    horizon=horizon, season_length=12)
    values = data.load_series("air_passengers").to_numpy()
    with pytest.raises(ModelSkipped, match="too short") as info:
        windows.prepare(values[:20], cfg)
    needed = int(str(info.value).rsplit("at least ", 1)[1].split()[0])
    windows.prepare(values[:needed], cfg)              # exactly enough: no skip
    with pytest.raises(ModelSkipped):
        windows.prepare(values[:needed - 1], cfg)


def test_a_gap_in_the_training_values_is_an_error_not_a_silent_nan():
    values = data.load_series("air_passengers").to_numpy().copy()
    values[50] = np.nan
    with pytest.raises(ValueError, match="missing"):
        windows.prepare(values, RNNConfig())


@pytest.mark.parametrize("field,value", [
    ("cell", "transformer"), ("units", 0), ("layers", 1.5), ("diff", 3), ("scaler", "robust"),
    ("output", "seq2seq"), ("dropout", 1.0), ("val_fraction", -0.1), ("patience", -1),
    ("learning_rate", 0.0), ("bidirectional", "yes"), ("lookback", True), ("lookback", "long"), ("lookback", 1),
    ("transform", "sqrt"), ("deseasonalise", "yes"), ("window_norm", "mean"),
    ("steps_per_epoch", "auto"), ("steps_per_epoch", 0), ("batch_size", "all"),
    ("season_length", 0), ("dropout", "0.2")])
def test_an_invalid_configuration_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        RNNConfig(**{field: value})
