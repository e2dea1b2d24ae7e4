"""The recurrent models' series transform (logs, STL deseasonalisation, differencing,
scaling) on the real datasets, fitted on training windows that end before the test span.

Plain NumPy and statsmodels: these run without TensorFlow or torch.
"""
import numpy as np
import pytest
from statsmodels.tsa.seasonal import STL

from bench import data, seasonality
from bench.forecaster import ModelSkipped
from rnn_models.config import RNNConfig
from rnn_models.preprocessing import STL_SEASONAL_CYCLES, Scaler, SeriesTransform


def training_window(name):
    """(values a fit at the first test origin sees, the config the runner would build)."""
    ds = data.get_dataset(name)
    values = data.load_series(name).to_numpy()
    origin = len(values) - ds.split.test_size
    start = 0 if ds.split.window is None else origin - ds.split.window
    return values[start:origin], RNNConfig(season_length=ds.season_length, horizon=ds.split.horizon)


def assert_same_transform(a: SeriesTransform, b: SeriesTransform):
    assert (a.log, a.season, a.diff, a.scaler) == (b.log, b.season, b.diff, b.scaler)
    np.testing.assert_array_equal(a.seasonal, b.seasonal)


@pytest.mark.parametrize("name,log,season", [
    ("air_passengers", True, 12),         # multiplicative season on a trend
    ("google_stock", True, 1),            # trending, seasonal strength about 0.3 at lag 5
    ("sunspots_monthly", False, 1),       # zeros; a 132-month cycle is beyond MAX_SEASON
    ("energy_aep_hourly", True, 24),      # a strong daily profile
])
def test_the_automatic_preset_takes_logs_and_deseasonalises_where_the_shared_rules_say_so(
        name, log, season):
    y, cfg = training_window(name)
    fitted = SeriesTransform.fit(y, cfg)
    assert (fitted.log, fitted.season) == (log, season)
    # The decisions are the shared analysis's, so every family gets one answer per series.
    m = seasonality.usable_season(cfg.season_length)
    assert fitted.log == seasonality.variance_grows_with_level(y, m)
    v = np.log(y) if fitted.log else y
    assert (fitted.season > 1) == (m > 1 and seasonality.seasonal_strength(v, m) > 0.64)


@pytest.mark.parametrize("name", ["air_passengers", "energy_aep_hourly"])
def test_the_fitted_transform_never_depends_on_a_value_at_or_after_the_origin(name):
    y_train, cfg = training_window(name)
    values = data.load_series(name).to_numpy()
    origin = len(values) - data.get_dataset(name).split.test_size
    reference = SeriesTransform.fit(y_train, cfg)

    # Change everything from the origin on, the value at the origin included.
    perturbed = values.copy()
    perturbed[origin:] = perturbed[origin:] * 3.0 + 500.0
    assert_same_transform(SeriesTransform.fit(perturbed[origin - len(y_train):origin], cfg),
                          reference)
    # The seasonal component is STL's on the training window alone (log scale) ...
    stl = STL(np.log(y_train), period=reference.season, seasonal=STL_SEASONAL_CYCLES).fit()
    np.testing.assert_allclose(reference.seasonal, stl.seasonal, rtol=0, atol=1e-12)
    # ... and the check can fail: moving the last training value moves the component.
    perturbed[origin - 1] *= 1.5
    moved = SeriesTransform.fit(perturbed[origin - len(y_train):origin], cfg)
    assert not np.array_equal(moved.seasonal, reference.seasonal)


def test_beyond_the_training_window_the_seasonal_component_is_its_last_season_repeated():
    y, cfg = training_window("air_passengers")
    fitted = SeriesTransform.fit(y, cfg)
    n = len(y)
    np.testing.assert_array_equal(fitted.seasonal_at(np.arange(n - 12, n + 36)),
                                  np.tile(fitted.seasonal[-12:], 4))
    np.testing.assert_array_equal(fitted.seasonal_at(np.arange(n)), fitted.seasonal)


@pytest.mark.parametrize("name", ["air_passengers", "google_stock", "sunspots_monthly",
                                  "energy_aep_hourly"])
@pytest.mark.parametrize("diff", [0, 1, 2])
@pytest.mark.parametrize("scaler", ["step", "minmax", "standard"])
def test_forward_then_inverse_gives_the_levels_back(name, diff, scaler):
    values, cfg = training_window(name)
    y, future = values[:-24], values[-24:]
    fitted = SeriesTransform.fit(y, RNNConfig(season_length=cfg.season_length, diff=diff,
                                              scaler=scaler))
    # The context continues past the training window: positions count from its first value.
    z = fitted.forward(values, start=0)
    np.testing.assert_allclose(fitted.inverse(z[-24:], y), future, rtol=1e-10, atol=1e-9)
    # Any slice of the context gives the same values at the same positions.
    np.testing.assert_array_equal(fitted.forward(y[-40:], start=len(y) - 40),
                                  z[len(y) - 40:len(y) - diff])


def test_the_step_scaler_makes_one_unit_the_mean_absolute_one_step_change(sunspots):
    values = sunspots.to_numpy()[:1000]
    scaler = Scaler.fit("step", values)
    assert scaler.scale == pytest.approx(np.mean(np.abs(np.diff(values))))
    assert np.mean(np.abs(np.diff(scaler.transform(values)))) == pytest.approx(1.0)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)


def test_logs_of_a_series_with_zeros_are_refused_with_the_reason(sunspots):
    with pytest.raises(ModelSkipped, match="positive"):
        SeriesTransform.fit(sunspots.to_numpy()[:600], RNNConfig(transform="log"))


def test_deseasonalising_a_season_beyond_max_season_leaves_the_series_as_it_is(sunspots):
    fitted = SeriesTransform.fit(sunspots.to_numpy()[:2000],
                                 RNNConfig(season_length=132, deseasonalise=True))
    assert fitted.season == 1 and fitted.seasonal.size == 0


def test_deseasonalising_on_request_needs_two_seasons_and_a_point(air):
    cfg = RNNConfig(season_length=12, deseasonalise=True, transform="none")
    assert SeriesTransform.fit(air.to_numpy()[:25], cfg).season == 12
    with pytest.raises(ModelSkipped, match="25 points"):
        SeriesTransform.fit(air.to_numpy()[:24], cfg)
    # "auto" quietly keeps a series that short as it is.
    assert SeriesTransform.fit(air.to_numpy()[:24], RNNConfig(season_length=12)).season == 1


def test_a_value_at_or_below_zero_after_a_fit_on_logs_is_a_clear_error(air):
    fitted = SeriesTransform.fit(air.to_numpy()[:100], RNNConfig(transform="log"))
    with pytest.raises(ValueError, match="<= 0"):
        fitted.forward(np.array([120.0, 0.0]), start=100)
