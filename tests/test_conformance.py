"""Every registered model obeys the Forecaster contract, with the quick suite's settings.

Each check walks the model through the real runner on real data, so a model that
passes here behaves in a suite the same way.
"""
import inspect

import numpy as np
import pytest

from bench import conformal, forecaster, quantiles, runner, suite as suites
from bench.splits import WalkForward

QUICK = suites.load_suite("quick")
SPLIT = WalkForward(horizon=3, test_size=9, step=1, refit_every=2)


def quick_params(name: str) -> dict:
    for spec in QUICK.models:
        if spec.name == name:
            return suites.expand_grid(spec.params)[0]
    return {}


def walk(name, y, seed=0):
    model = forecaster.build(name, quick_params(name), season_length=12, seed=seed)
    return model, runner.walk_forward(model, y, SPLIT, season_length=12)


# Global models (fitted on a whole panel) obey their own protocol: tests/test_global_models.py.
# ETS fits 15 forms three times over in each test (about 7 s in all): slow, so the quick loop stays
# under 90 s; CI's full run still checks it.
SLOW = {"ets"}


@pytest.fixture(scope="module", params=[pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                        for n in sorted(n for n, e in forecaster.REGISTRY.items() if not e.global_model)])
def walked(request, air):
    model, result = walk(request.param, air)
    return request.param, model, result


def test_constructor_only_stores_hyperparameters(walked):
    name, _, _ = walked
    cls = forecaster.get_entry(name).load()
    params = inspect.signature(cls).parameters
    assert "season_length" in params and "seed" in params
    fresh = cls(season_length=12, seed=0, **quick_params(name))
    assert not [k for k in vars(fresh) if k.endswith("_") and not k.startswith("_")], \
        "fitted attributes must not exist before fit"


def test_forecasts_have_the_horizon_shape_and_are_finite(walked):
    _, _, result = walked
    assert result.forecasts.shape == (len(result.origin_positions), SPLIT.horizon)
    assert np.all(np.isfinite(result.forecasts))


def test_fit_and_update_are_both_exercised_and_n_params_is_counted(walked):
    name, model, result = walked
    assert result.n_fits == 4 and result.n_updates == 3
    assert isinstance(result.n_params, int)
    if forecaster.get_entry(name).family != "naive":
        assert result.n_params > 0


def test_same_seed_gives_identical_forecasts(walked, air):
    name, _, result = walked
    _, again = walk(name, air, seed=0)
    np.testing.assert_allclose(again.forecasts, result.forecasts, rtol=1e-6)


def test_perturbing_values_after_an_origin_never_changes_its_forecast(walked, air):
    name, _, result = walked
    cut = int(result.origin_positions[4])
    perturbed = air.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 1.5 + 100.0
    _, other = walk(name, perturbed)
    np.testing.assert_allclose(other.forecasts[:5], result.forecasts[:5], rtol=1e-6)


def test_every_model_forecasts_a_distribution_whose_quantiles_never_cross(walked, air):
    """Its own quantiles, or conformal ones calibrated on its validation walk, as a run makes them."""
    name, _, result = walked
    if not forecaster.has_quantiles(name):
        assert result.quantiles is None and result.intervals == ""
        calibration_walk = walk_span(name, air, "validation")
        calibration = conformal.Calibration.from_residuals(calibration_walk.actuals, calibration_walk.forecasts,
                                                           calibration_walk.mase_scales)
        model = conformal.Conformal(forecaster.build(name, quick_params(name), season_length=12, seed=0),
                                    calibration, season_length=12)
        result = runner.walk_forward(model, air, SPLIT, season_length=12)
    q = result.quantiles
    assert q.shape == (len(result.origin_positions), SPLIT.horizon, len(quantiles.LEVELS))
    assert np.all(np.isfinite(q)) and quantiles.crossing(q) == 0
    assert result.intervals and np.isfinite(result.score()["msis"])


def walk_span(name, y, span):
    model = forecaster.build(name, quick_params(name), season_length=12, seed=0)
    return runner.walk_forward(model, y, SPLIT, season_length=12, span=span)


def test_perturbing_values_after_an_origin_never_changes_its_quantiles(walked, air):
    name, _, result = walked
    if result.quantiles is None:
        pytest.skip(f"{name} makes no distribution of its own (its conformal one: tests/test_conformal.py)")
    cut = int(result.origin_positions[4])
    perturbed = air.copy()
    perturbed.iloc[cut:] = perturbed.iloc[cut:] * 1.5 + 100.0
    _, other = walk(name, perturbed)
    np.testing.assert_allclose(other.quantiles[:5], result.quantiles[:5], rtol=1e-6)
