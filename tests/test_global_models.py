"""Global models: one fit across every series of a panel, one cell result per series, no series' future seen.

Real models on real M4 hourly series with small training budgets (the protocol, not the
accuracy, is under test here; build/readme_global.md has the accuracy).
"""
import inspect

import numpy as np
import pandas as pd
import pytest

from bench import data, executor, forecaster, runner
from bench import quantiles as qs
from bench.splits import WalkForward

M4 = "m4_hourly"
SPLIT = WalkForward(horizon=48, test_size=48)
TINY = {"epochs": 2, "steps_per_epoch": 3, "units": 8, "batch_size": 64}
TINY_XGB = {"n_estimators": 5, "max_rows": 2000, "lags": 24, "seasons_back": 2}
GLOBAL = sorted(n for n, e in forecaster.REGISTRY.items() if e.global_model)
NETWORKS = [n for n in GLOBAL if "xgboost" not in n]
QUANTILE = {n: forecaster.get_entry(n).path + "Quantiles" for n in NETWORKS}    # each network's quantile twin


def tiny(name: str) -> dict:
    return TINY_XGB if "xgboost" in name else TINY


@pytest.fixture(scope="module")
def m4():
    return data.load_panel(data.get_dataset(M4))


@pytest.fixture(scope="module")
def panel(m4):
    """Six M4 series, each cut to its last 400 hours (the last 48 are the test span)."""
    return {sid: m4[sid].iloc[-400:] for sid in ("H1", "H50", "H100", "H200", "H300", "H414")}


def walk(name, panel, seed=0, split=SPLIT, season=24, **params):
    model = forecaster.build(name, {**tiny(name), **params}, season_length=season, seed=seed,
                             horizon=split.horizon)
    model.load_libraries() if hasattr(model, "load_libraries") else None
    return model, runner.walk_global(model, panel, split, season)


def forecasts(walks):
    return np.stack([w.forecasts for w in walks.values()])


def quantiles(walks):
    return np.stack([w.quantiles for w in walks.values()])


def test_the_registry_marks_the_global_models_and_only_them():
    assert GLOBAL == ["global_gru_keras", "global_gru_torch", "global_lstm_keras", "global_lstm_torch",
                      "global_rnn_keras", "global_rnn_torch", "global_xgboost"]
    assert forecaster.is_global("global_lstm_torch") and not forecaster.is_global("lstm_torch")
    assert not forecaster.is_global("no_such_model")


@pytest.mark.parametrize("name", GLOBAL)
def test_constructor_only_stores_hyperparameters(name):
    cls = forecaster.get_entry(name).load()
    assert {"season_length", "seed", "horizon"} <= set(inspect.signature(cls).parameters)
    fresh = cls(season_length=24, seed=0, horizon=48)
    assert not [k for k in vars(fresh) if k.endswith("_") and not k.startswith("_")]


@pytest.mark.parametrize("name", [pytest.param("global_lstm_torch", marks=pytest.mark.slow), "global_xgboost",
                                  QUANTILE["global_gru_torch"], QUANTILE["global_lstm_keras"]])
def test_perturbing_one_series_test_span_changes_no_forecast_of_any_series(name, panel):
    _, walks = walk(name, panel)
    perturbed = dict(panel)
    victim = perturbed["H100"].copy()
    victim.iloc[-48:] = victim.iloc[-48:] * 3.0 + 500.0
    perturbed["H100"] = victim
    _, again = walk(name, perturbed)
    np.testing.assert_array_equal(forecasts(again), forecasts(walks))
    if forecaster.has_quantiles(name):      # a quantile head: no quantile of any series moves either
        np.testing.assert_array_equal(quantiles(again), quantiles(walks))
    # The actuals did change: the test would see a leak.
    assert not np.array_equal(again["H100"].actuals, walks["H100"].actuals)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["global_gru_keras", "global_rnn_torch", QUANTILE["global_gru_keras"]])
def test_perturbing_one_series_test_span_changes_no_forecast_in_the_other_framework_and_cells(name, panel):
    _, walks = walk(name, panel)
    perturbed = {sid: (y * 2.0 + 7.0 if sid == "H1" else y) for sid, y in panel.items()}
    perturbed["H1"].iloc[:-48] = panel["H1"].iloc[:-48]
    _, again = walk(name, perturbed)
    np.testing.assert_allclose(forecasts(again), forecasts(walks), rtol=1e-6)
    if forecaster.has_quantiles(name):
        np.testing.assert_allclose(quantiles(again), quantiles(walks), rtol=1e-6)


def test_a_training_value_of_one_series_moves_the_forecasts_of_the_others(panel):
    # The converse: the network is shared, so what one series teaches reaches every series.
    _, walks = walk("global_lstm_torch", panel)
    changed = dict(panel)
    changed["H100"] = panel["H100"].copy()
    changed["H100"].iloc[100:300] *= 1.3
    _, again = walk("global_lstm_torch", changed)
    assert not np.array_equal(again["H1"].forecasts, walks["H1"].forecasts)


def test_a_panel_of_one_walks_many_origins_fits_and_updates_and_never_sees_past_an_origin(air):
    split = WalkForward(horizon=3, test_size=9, step=1, refit_every=2)
    params = {**TINY, "lookback": 24}
    model, walks = walk("global_gru_torch", {"": air}, split=split, season=12, **params)
    res = walks[""]
    assert res.n_fits == 4 and res.n_updates == 3 and res.n_params == model.n_params() > 0
    assert res.forecasts.shape == (7, 3) and np.all(np.isfinite(res.forecasts))
    cut = int(res.origin_positions[4])
    perturbed = air.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 1.5 + 100.0
    _, other = walk("global_gru_torch", {"": perturbed}, split=split, season=12, **params)
    np.testing.assert_allclose(other[""].forecasts[:5], res.forecasts[:5], rtol=1e-6)


def test_the_same_seed_repeats_the_forecasts_and_another_seed_does_not(panel):
    _, first = walk("global_rnn_torch", panel, seed=3)
    _, again = walk("global_rnn_torch", panel, seed=3)
    _, other = walk("global_rnn_torch", panel, seed=4)
    np.testing.assert_array_equal(forecasts(again), forecasts(first))
    assert not np.array_equal(forecasts(other), forecasts(first))


def test_the_head_starts_at_zero_so_an_untrained_network_forecasts_seasonal_naive(panel):
    model, walks = walk("global_lstm_torch", panel, learning_rate=1e-12)
    for sid, res in walks.items():
        last_day = panel[sid].to_numpy()[-48 - 24:-48]
        if model.scales_[sid].seasonal:
            np.testing.assert_allclose(res.forecasts[0], np.tile(last_day, 2), rtol=1e-5)


def _cells(panel, model="global_lstm_torch", seed=0, params=None):
    return [runner.Cell(M4, model, model, params or TINY, seed, SPLIT, 24, series=sid) for sid in panel]


def test_one_fit_gives_a_cell_per_series_with_the_shared_weights_counted_once_and_its_time_shared(panel):
    results = list(executor.execute(_cells(panel), {M4: panel}, workers=0))
    assert [r.cell.series for r in results] == list(panel)
    assert all(r.status == "ok" for r in results), [r.reason for r in results]
    walks = [r.walk for r in results]
    assert {w.n_params for w in walks} == {walks[0].n_params} and walks[0].n_params > 0
    info = walks[0].fit_info()
    assert info["panel_series"] == len(panel)
    # Each row carries its share of the one fit; the shares add up to the fit.
    assert sum(w.fit_time_s for w in walks) == pytest.approx(info["panel_fit_s"])
    assert all(w.fit_time_s == pytest.approx(info["panel_fit_s"] / len(panel)) for w in walks)


def test_a_resumed_walk_asked_for_some_series_still_fits_on_all_of_them(panel):
    everything = {r.cell.series: r for r in executor.execute(_cells(panel), {M4: panel}, workers=0)}
    some = [c for c in _cells(panel) if c.series in ("H50", "H300")]
    results = list(executor.execute(some, {M4: panel}, workers=0))
    assert [r.cell.series for r in results] == ["H50", "H300"]
    for r in results:
        np.testing.assert_array_equal(r.walk.forecasts, everything[r.cell.series].walk.forecasts)


def test_a_global_walk_is_one_chunk_wherever_its_cells_stand_and_per_series_walks_are_chunked_as_before(panel):
    per_series = [runner.Cell(M4, "naive", "naive", {}, 0, SPLIT, 24, series=sid) for sid in panel]
    seeds = _cells(panel, seed=0) + _cells(panel, seed=1)
    mixed = seeds[:3] + per_series + seeds[3:]
    out = executor.chunks(mixed, size=4, workers=1)
    assert [(c[0].model, c[0].seed, len(c)) for c in out] == [
        ("global_lstm_torch", 0, 6), ("naive", 0, 4), ("naive", 0, 2), ("global_lstm_torch", 1, 6)]


def test_a_fit_that_cannot_run_skips_every_series_with_its_reason(panel):
    short = {sid: y.iloc[-150:] for sid, y in panel.items()}
    results = list(executor.execute(_cells(short, params={**TINY, "lookback": 168}), {M4: short}, workers=0))
    assert {r.status for r in results} == {"skipped"} and len(results) == len(panel)
    assert "need at least 264" in results[0].reason


def test_a_bad_parameter_fails_every_cell_of_the_walk_and_the_run_goes_on(panel):
    cells = _cells(panel, params={**TINY, "loss": "huber"}) + \
        [runner.Cell(M4, "naive", "naive", {}, 0, SPLIT, 24, series="H1")]
    results = list(executor.execute(cells, {M4: panel}, workers=0))
    assert [r.status for r in results] == ["failed"] * len(panel) + ["ok"]
    assert "loss must be one of" in results[0].reason


@pytest.mark.slow
def test_isolated_workers_run_a_global_walk_as_one_task_and_stream_a_result_per_series(panel):
    cells = _cells(panel) + [runner.Cell(M4, "naive", "naive", {}, 0, SPLIT, 24, series=s) for s in panel]
    results = list(executor.execute(cells, {M4: panel}, workers=2))
    assert sorted((r.cell.model, r.cell.series) for r in results) == sorted((c.model, c.series) for c in cells)
    assert all(r.status == "ok" for r in results)
    inline = {r.cell.series: r for r in executor.execute(_cells(panel), {M4: panel}, workers=0)}
    for r in results:
        if r.cell.model == "global_lstm_torch":
            np.testing.assert_array_equal(r.walk.forecasts, inline[r.cell.series].walk.forecasts)


@pytest.mark.slow
def test_keras_and_torch_twins_train_on_the_same_windows_in_the_same_order(panel):
    from rnn_models import global_base, keras_rnn, torch_rnn
    model = forecaster.build("global_lstm_torch", TINY, season_length=24, seed=5, horizon=48)
    cfg = model.config()
    train = {sid: y.iloc[:-48] for sid, y in panel.items()}
    scales = [global_base.SeriesScale.fit(y.to_numpy(), 24) for y in train.values()]
    windows = global_base.panel_windows([s.forward(y.to_numpy()) for s, y in zip(scales, train.values())],
                                        np.array([s.seasonal for s in scales]), cfg).data
    torch_batches = [(x.numpy(), y.numpy()) for epoch in torch_rnn.training_batches(windows, cfg) for x, y in epoch]
    dataset, steps = keras_rnn.training_dataset(windows, cfg)
    keras_batches = [(x.numpy(), y.numpy()) for x, y in dataset.take(len(torch_batches))]
    assert steps == cfg.steps_per_epoch and len(torch_batches) == cfg.epochs * steps
    for (xt, yt), (xk, yk) in zip(torch_batches, keras_batches):
        np.testing.assert_array_equal(xt, xk)
        np.testing.assert_array_equal(yt, yk)
    # One validation window per series: its last horizon before the origin.
    assert windows.x_val.shape == (len(panel), cfg.lookback // 24, 24) and windows.y_val.shape == (len(panel), 48)


@pytest.mark.slow
def test_every_global_model_runs_through_the_runner_on_a_panel(panel):
    for name in GLOBAL:
        results = list(executor.execute(_cells(panel, model=name, params=tiny(name)), {M4: panel}, workers=0))
        assert [r.status for r in results] == ["ok"] * len(panel), (name, results[0].reason)
        assert results[0].walk.n_params > 0


def test_the_step_budget_is_capped_at_twenty_passes_over_a_small_panels_windows(air):
    from rnn_models import global_base
    model = forecaster.build("global_lstm_torch", {}, season_length=12, seed=0, horizon=12)
    cfg = model.config()
    # M4 hourly with a 168-hour lookback: 224,746 windows, the whole budget of 100 x 50 steps stays.
    assert global_base.capped(cfg, 224_746, 512).epochs == 100
    assert global_base.capped(cfg, 100, 100).epochs == 1               # 20 passes: 20 steps, one epoch of 50
    model.fit({"": air.iloc[:-12]})
    assert model.fit_info()["epochs_run"] == 1


def test_a_global_model_gets_conformal_intervals_pooled_over_the_panels_validation_walks(panel):
    """Calibrated on every series' validation walk (each its own scale), never on a test-span value."""
    from bench import conformal, quantiles

    def calibrated_walk(panel):
        model = forecaster.build("global_xgboost", TINY_XGB, season_length=24, seed=0, horizon=48)
        validation = runner.walk_global(model, panel, SPLIT, 24, span="validation")
        calibration = conformal.Calibration.from_residuals(
            np.concatenate([w.actuals for w in validation.values()]),
            np.concatenate([w.forecasts for w in validation.values()]),
            np.concatenate([w.mase_scales for w in validation.values()]))
        wrapped = conformal.GlobalConformal(forecaster.build("global_xgboost", TINY_XGB, season_length=24, seed=0,
                                                             horizon=48), calibration, season_length=24)
        return calibration, runner.walk_global(wrapped, panel, SPLIT, 24)

    calibration, walks = calibrated_walk(panel)
    assert calibration.n_residuals == 6 and calibration.pooled        # one validation origin per series
    for w in walks.values():
        assert w.quantiles.shape == (1, 48, len(quantiles.LEVELS)) and quantiles.crossing(w.quantiles) == 0
        assert w.intervals.startswith("conformal") and np.isfinite(w.score()["msis"])
    perturbed = dict(panel)
    perturbed["H100"] = panel["H100"].where(panel["H100"].index < panel["H100"].index[-48],
                                            panel["H100"] * 3.0 + 500.0)
    again_calibration, again = calibrated_walk(perturbed)
    np.testing.assert_array_equal(again_calibration.offsets, calibration.offsets)
    np.testing.assert_array_equal(np.stack([w.quantiles for w in again.values()]),
                                  np.stack([w.quantiles for w in walks.values()]))


# -- forecast distributions (docs/global_models.md, "Forecast distributions") --
# The registered networks forecast points and get the runner's conformal intervals; each has a twin
# with a quantile head (rnn_models.global_base.QuantileHead), named by import path.

@pytest.mark.parametrize("name", NETWORKS)
def test_every_global_network_has_a_twin_whose_quantile_head_forecasts_ordered_quantiles(name, panel):
    model, walks = walk(QUANTILE[name], panel)
    assert model.quantile_head and forecaster.is_global(QUANTILE[name])
    for res in walks.values():
        assert res.quantiles.shape == (1, 48, len(qs.LEVELS)) and np.all(np.isfinite(res.quantiles))
        assert qs.crossing(res.quantiles) == 0 and np.all(np.diff(res.quantiles, axis=2) >= 0)
        assert res.intervals.startswith("quantile head")
        assert np.isfinite(res.score()["msis"]) and np.isfinite(res.score()["sql"])
    # Trained, the quantiles have spread: the 95% interval is not a point.
    q = quantiles(walks)
    assert np.mean(q[..., -1] - q[..., 0]) > 0
    # The head's outputs: the point corrections, then one per step and level.
    point, _ = walk(name, {sid: y.iloc[:-48] for sid, y in list(panel.items())[:2]})
    assert not point.quantile_head
    assert model.n_params() - point.n_params() == TINY["units"] * 48 * len(qs.LEVELS) + 48 * len(qs.LEVELS)


def test_the_runner_calibrates_the_registered_networks_and_not_their_quantile_twins_unless_asked():
    for name in NETWORKS:
        assert not forecaster.has_quantiles(name) and forecaster.has_quantiles(QUANTILE[name])
        assert runner.wants_calibration(runner.Cell(M4, name, name, TINY, 0, SPLIT, 24, series="H1"))
        twin = runner.Cell(M4, QUANTILE[name], name, TINY, 0, SPLIT, 24, series="H1")
        assert not runner.wants_calibration(twin)
        assert runner.wants_calibration(runner.Cell(M4, QUANTILE[name], name, TINY, 0, SPLIT, 24, series="H1",
                                                    intervals="conformal"))


def test_a_quantile_twin_runs_through_the_runner_with_its_own_quantiles(panel):
    name = QUANTILE["global_gru_torch"]
    results = list(executor.execute(_cells(panel, model=name), {M4: panel}, workers=0))
    assert [r.status for r in results] == ["ok"] * len(panel), results[0].reason
    assert all(r.walk.intervals.startswith("quantile head") and np.isfinite(r.scores["msis"]) for r in results)


@pytest.mark.parametrize("name", ["global_lstm_torch", "global_gru_keras"])
def test_an_untrained_quantile_head_puts_every_quantile_on_the_point_forecast_through_the_series_scale(name, panel):
    # The head starts at zero, so every quantile is the base forecast (seasonal naive), mapped back
    # through the series' scale (exp of logs) exactly as the point forecast is.
    model, walks = walk(QUANTILE[name], panel, learning_rate=1e-12)
    for sid, res in walks.items():
        np.testing.assert_allclose(res.quantiles[0], np.repeat(res.forecasts[0][:, None], len(qs.LEVELS), axis=1),
                                   rtol=1e-5)
        if model.scales_[sid].seasonal:
            np.testing.assert_allclose(res.quantiles[0, :, 6], np.tile(panel[sid].to_numpy()[-72:-48], 2), rtol=1e-5)


@pytest.mark.parametrize("name", ["global_gru_torch", "global_lstm_keras"])
def test_the_registered_network_is_the_point_network_its_head_the_horizons_width(name, panel):
    model, walks = walk(name, panel)
    # GRU: 3 (8 x 24 + 8 x 8 + 2 x 8) + 8 x 48 + 48; LSTM: 4 (8 x 24 + 8 x 8 + 8) + 8 x 48 + 48.
    expected = {"global_gru_torch": 3 * (8 * 24 + 8 * 8 + 2 * 8) + 8 * 48 + 48,
                "global_lstm_keras": 4 * (8 * 24 + 8 * 8 + 8) + 8 * 48 + 48}[name]
    assert model.n_params() == expected
    assert all(w.quantiles is None and w.intervals == "" for w in walks.values())


def test_the_quantile_head_refuses_levels_it_was_not_trained_for(panel):
    model, _ = walk(QUANTILE["global_rnn_torch"], panel)
    with pytest.raises(ValueError, match="trained for the levels"):
        model.predict_quantiles(48, (0.1, 0.5, 0.9))
    q = model.predict_quantiles(48, qs.LEVELS)
    assert set(q) == set(panel) and all(v.shape == (48, len(qs.LEVELS)) for v in q.values())


@pytest.mark.parametrize("point_loss", ["mae", "mse"])
def test_both_frameworks_train_the_quantile_head_on_the_same_loss(point_loss):
    import torch

    from rnn_models import global_base, global_keras, global_torch
    rng = np.random.default_rng(0)
    horizon, n = 5, 7
    y = rng.normal(size=(n, horizon)).astype(np.float32)
    out = rng.normal(size=(n, global_base.head_width(horizon, True))).astype(np.float32)
    point, q = global_base.split_outputs(out.astype(float), horizon, True)
    miss = y - point
    expected = (np.mean(np.abs(miss)) if point_loss == "mae" else np.mean(miss ** 2)) + \
        global_base.pinball(y[:, :, None] - q, qs.LEVELS)
    torch_loss = global_torch.combined_loss(global_torch._LOSS[point_loss], horizon)(torch.from_numpy(out),
                                                                                     torch.from_numpy(y))
    keras_loss = np.mean(global_keras.combined_loss(point_loss, horizon)(y, out))
    assert float(torch_loss) == pytest.approx(expected, rel=1e-5)
    assert float(keras_loss) == pytest.approx(expected, rel=1e-5)
