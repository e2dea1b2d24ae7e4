"""The M4 benchmarks (baselines/m4_benchmarks.py) against R, and the published M4 hourly table.

R reference values were computed on this project's machine with Debian's R 4.2.2 and
forecast 8.20 (``apt-get install r-cran-forecast``), following M4's "Benchmarks and
Evaluation.R" on R's AirPassengers (the catalog's air_passengers):

    Dec <- decompose(AirPassengers, type = "multiplicative"); des <- AirPassengers / Dec$seasonal
    SIout <- head(rep(Dec$seasonal[133:144], 12), 12)
    naive(des, h = 12)$mean * SIout; ses(des, h = 12)$mean * SIout
    holt(des, h = 12)$mean * SIout; holt(des, h = 12, damped = TRUE)$mean * SIout

forecast 8.20 starts the search at alpha 0.2, hence ``forecast_version = "8.20"`` there.
"""
import math

import numpy as np
import pandas as pd
import pytest

from baselines import m4_benchmarks as m4
from baselines.m4_benchmarks import SES, Com, Damped, Holt, Naive2
from baselines.theta import SeasonalAdjustment
from bench import forecaster
from bench.forecaster import ModelSkipped

R_NAIVE2 = [437.482029956205, 424.694904581234, 484.168254771089, 469.047571495585, 471.677574175491,
            534.831010909108, 589.516706990022, 586.323140173464, 509.701917313420, 443.022165724692,
            385.068468834488, 432.000000000000]
R_SES = [438.640655838485, 425.819665085270, 485.450524288335, 470.289795447983, 472.926763417814,
         536.247455493008, 591.077980980689, 587.875956332913, 511.051810093487, 444.195464083218,
         386.088282824302, 433.144107293264]
R_SES_PARAMS = {"alpha": 0.83775208994930184, "l": 124.66925817277837041}
R_HOLT = [442.837823269297, 432.105218769705, 495.136990856040, 482.115727162202, 487.274672571021,
          555.300882460734, 615.148760528375, 614.868878935673, 537.170905943796, 469.204112879088,
          409.830199261599, 462.028747669379]
R_HOLT_PARAMS = {"alpha": 7.2079177686476648e-01, "beta": 1.0000007556333236e-04}
R_DAMPED = [441.638383306176, 430.200970136270, 492.089052112349, 478.281493386675, 482.501127217264,
            548.812624444817, 606.773858889612, 605.286022753830, 527.719523468541, 459.988327532784,
            400.927355037068, 451.014475956357]
R_DAMPED_PARAMS = {"alpha": 0.74495353362777716, "beta": 0.02158464653720021, "phi": 0.97999851768431656}


def series(values, freq="MS") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.date_range("2000-01-01", periods=len(values), freq=freq))


def adjusted(y: pd.Series, m: int) -> np.ndarray:
    values = y.to_numpy(dtype=float)
    return values / SeasonalAdjustment.fit(values, m).indices(0, len(values))


def etscalc_errors(x, alpha, beta, phi, level, slope):
    """R's etscalc loop for additive error and trend, written out one point at a time."""
    errors = []
    for value in x:
        predicted = level + phi * slope
        errors.append(value - predicted)
        new_level = predicted + alpha * (value - predicted)
        slope = phi * slope + (beta / alpha) * (new_level - level - phi * slope)
        level = new_level
    return np.array(errors)


# -- R's optimiser and estimates --------------------------------------------------------


def test_nelder_mead_takes_rs_path_exactly():
    # R 4.2.2: optim(c(-1.2, 1), fr) with fr the Rosenbrock function (?optim's example),
    # and optim(c(100, 1, 0.01), g): the same optimum and evaluation count, to the last digits.
    def rosenbrock(x):
        return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

    found = m4.nelder_mead(rosenbrock, [-1.2, 1.0])
    np.testing.assert_allclose(found.x, [1.0002601387256695, 1.0005059993037650], rtol=1e-13)
    assert found.value == pytest.approx(8.8252410967227472e-08, rel=1e-12)
    assert found.evaluations == 195 and found.converged

    def kinked(x):
        return float(np.sum((x - np.array([3.0, -2.0, 0.5])) ** 2) + abs(x[0] * x[1]))

    found = m4.nelder_mead(kinked, [100.0, 1.0, 0.01])
    np.testing.assert_allclose(found.x, [2.65955764905054259, -0.67030532735175785, 0.50150752778327312],
                               rtol=1e-13)
    assert found.evaluations == 104


def test_holt_and_damped_equal_r_forecast_8_20_on_air_passengers(air):
    holt = Holt(season_length=12, forecast_version="8.20").fit(air)
    damped = Damped(season_length=12, forecast_version="8.20").fit(air)
    np.testing.assert_allclose(holt.predict(12), R_HOLT, rtol=1e-10)
    np.testing.assert_allclose(damped.predict(12), R_DAMPED, rtol=1e-10)
    assert holt.fit_.alpha == pytest.approx(R_HOLT_PARAMS["alpha"], rel=1e-9)
    assert holt.fit_.beta == pytest.approx(R_HOLT_PARAMS["beta"], rel=1e-9)
    for key, value in R_DAMPED_PARAMS.items():
        assert getattr(damped.fit_, key) == pytest.approx(value, rel=1e-9)


def test_forecast_8_2_starts_rs_search_at_alpha_one_half_and_ends_elsewhere(air):
    x = adjusted(air, 12)
    np.testing.assert_allclose(m4.starting_point(x, "damped", "8.2")[:3], [0.5, 0.05009, 0.9782], rtol=1e-12)
    np.testing.assert_allclose(m4.starting_point(x, "add", "8.20")[:2], [0.20006, 0.020096], rtol=1e-12)
    # The same criterion from another start: a different stopping point, a few tenths apart.
    holt = Holt(season_length=12).fit(air)
    assert holt.fit_.alpha != pytest.approx(R_HOLT_PARAMS["alpha"], rel=1e-3)
    np.testing.assert_allclose(holt.predict(12), R_HOLT, rtol=2e-3)


def test_naive2_is_rs_naive_on_the_adjusted_series(air):
    np.testing.assert_allclose(Naive2(season_length=12).fit(air).predict(12), R_NAIVE2, rtol=1e-12)


def test_ses_takes_rs_search_and_equals_r_forecast_8_20_on_air_passengers(air):
    # R's path, not the least-squares optimum it stops near: from forecast 8.20's start the
    # same alpha and l0 to the last digits, so the same forecasts.
    model = SES(season_length=12, forecast_version="8.20").fit(air)
    np.testing.assert_allclose(model.predict(12), R_SES, rtol=1e-12)
    assert model.fit_.alpha == pytest.approx(R_SES_PARAMS["alpha"], rel=1e-12)
    assert model.fit_.initial_level == pytest.approx(R_SES_PARAMS["l"], rel=1e-12)
    # From forecast 8.2's start (M4's), the search stops elsewhere, near the same optimum.
    np.testing.assert_allclose(SES(season_length=12).fit(air).predict(12), R_SES, rtol=1e-5)
    x = adjusted(air, 12)
    np.testing.assert_allclose(m4.starting_point(x, "none", "8.20"), [0.20006, np.mean(x[:10])], rtol=1e-12)


def test_the_criterion_filter_gives_rs_one_step_errors(air):
    x = adjusted(air, 12)
    for alpha, beta, phi in [(0.72, 1e-4, 1.0), (0.3, 0.05, 0.9), (1e-4, 1e-4, 0.98), (0.9999, 0.9, 1.0)]:
        np.testing.assert_allclose(m4.one_step_errors(x, alpha, beta, phi, 120.0, 1.5),
                                   etscalc_errors(x, alpha, beta, phi, 120.0, 1.5), rtol=1e-9, atol=1e-9)


def test_out_of_bounds_parameters_are_infinitely_bad_as_in_r(air):
    objective = m4.trend_objective(adjusted(air, 12), "damped")
    assert math.isfinite(objective(np.array([0.5, 0.05, 0.9, 120.0, 1.0])))
    for bad in ([0.5, 0.6, 0.9, 120.0, 1.0],     # beta above alpha
                [1.2, 0.05, 0.9, 120.0, 1.0],    # alpha above its bound
                [0.5, 0.05, 0.99, 120.0, 1.0]):  # phi above 0.98
        assert objective(np.array(bad)) == math.inf


# -- the models -------------------------------------------------------------------------


def refiltered_forecast(fit, x, horizon):
    """Forecast after running the fitted method over ``x`` from its initial states, by hand."""
    phi = fit.phi if fit.trend != "none" else 0.0
    level, slope = fit.initial_level, fit.initial_slope
    for value in x:
        predicted = level + phi * slope
        error = value - predicted
        level, slope = predicted + fit.alpha * error, phi * slope + fit.beta * error
    return level + np.cumsum(phi ** np.arange(1, horizon + 1)) * slope


@pytest.mark.parametrize("cls", [Naive2, SES, Holt, Damped, Com])
def test_update_runs_the_states_forward_with_every_estimate_fixed(cls, air):
    model = cls(season_length=12).fit(air.iloc[:100])
    for start, stop in [(100, 101), (101, 112), (112, 130)]:
        model.update(air.iloc[start:stop])

    figure = model.season_.figure
    assert len(figure) == 12
    x = air.to_numpy()[:130] / figure[np.arange(130) % 12]
    future = figure[np.arange(130, 154) % 12]
    if cls is Naive2:
        expected = np.full(24, x[-1])
    else:
        fits = list(model.fits_.values()) if cls is Com else [model.fit_]
        expected = np.mean([refiltered_forecast(fit, x, 24) for fit in fits], axis=0)
    np.testing.assert_allclose(model.predict(24), expected * future, rtol=1e-9)


def test_com_is_the_mean_of_ses_holt_and_damped(air):
    parts = [cls(season_length=12).fit(air).predict(18) for cls in (SES, Holt, Damped)]
    np.testing.assert_allclose(Com(season_length=12).fit(air).predict(18), np.mean(parts, axis=0), rtol=1e-12)


def test_n_params_counts_the_method_and_the_free_seasonal_indices(air, sunspots):
    expected = {Naive2: 0, SES: 2, Holt: 4, Damped: 5, Com: 11}
    for cls, count in expected.items():
        assert cls(season_length=12).fit(air).n_params() == count + 11
        assert cls(season_length=132).fit(sunspots.iloc[-300:]).n_params() == count   # 132 > max_season


def test_fit_info_says_whether_it_deseasonalised_and_what_it_estimated(air):
    info = Damped(season_length=12).fit(air).fit_info()
    assert info["deseasonalised"] is True and set(info) == {"deseasonalised", "alpha", "beta", "phi", "converged"}
    assert Naive2(season_length=1).fit(air).fit_info() == {"deseasonalised": False}
    assert {"ses_alpha", "holt_beta", "damped_phi"} <= set(Com(season_length=12).fit(air).fit_info())


def test_none_of_the_forecasts_is_clipped_at_zero_as_m4_clips_only_theta():
    falling = series(100.0 - 5.0 * np.arange(1, 20))
    assert Holt(season_length=1).fit(falling).predict(12)[-1] < 0


def test_a_series_with_a_zero_is_not_deseasonalised(air):
    with_zero = air.copy()
    with_zero.iloc[5] = 0.0
    assert not Holt(season_length=12).fit(with_zero).season_.applied


def test_a_constant_series_is_forecast_flat():
    for cls in (SES, Holt, Damped, Com):
        np.testing.assert_allclose(cls(season_length=1).fit(series(np.full(40, 7.0))).predict(5), 7.0, rtol=1e-9)


def test_too_short_a_series_is_skipped_with_rs_data_rule():
    Holt(season_length=1).fit(series(np.arange(9.0)))
    with pytest.raises(ModelSkipped, match="8 observations are too few for Holt .needs 9."):
        Holt(season_length=1).fit(series(np.arange(8.0)))
    with pytest.raises(ModelSkipped, match="too few for Damped .needs 10."):
        Damped(season_length=1).fit(series(np.arange(9.0)))


def test_an_unknown_forecast_version_is_refused_by_name():
    with pytest.raises(ValueError, match="forecast_version"):
        Holt(season_length=1, forecast_version="9.0").fit(series(np.arange(20.0)))
    with pytest.raises(ValueError, match="'9.0' is not one of '8.2', '8.20'"):
        forecaster.check_params("holt", {"forecast_version": "9.0"})


# -- the published M4 hourly table -------------------------------------------------------


M4_COMMAND = ["-m", "naive", "-m", "seasonal_naive", "-m", "naive2", "-m", "ses", "-m", "holt", "-m", "damped",
              "-m", "theta", "-m", "com"]


def m4_hourly_table(out) -> pd.DataFrame:
    """Ours and the published sMAPE and MASE per M4 method (index), all 414 series, through the harness.

    What a user types: ``python -m bench run --suite m4_hourly -m naive ... -m com``
    (issue 16's command), then its results.csv, whose panel rows carry the published values.
    """
    from bench.cli import main
    from bench.report.published import PUBLISHED_NAMES

    assert main(["run", "--suite", "m4_hourly", *M4_COMMAND, "--workers", "2", "--no-plots", "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    table = table[table["dataset"] == "m4_hourly"]
    assert (table["n_series_ok"] == 414).all()
    by_model = {model: method for method, model in PUBLISHED_NAMES.items()}
    return table.assign(method=table["variant"].map(by_model)).set_index("method")


@pytest.mark.slow
def test_the_m4_hourly_benchmark_table_is_reproduced(tmp_path):
    """The eight M4 hourly benchmarks against the published table, and Naive's interval scores against M4's
    interval table, run by the harness (about 40 s on 2 workers).

    naive, sNaive and Naive2 must match the published three decimals and SES, Theta and
    Damped come within 1% (issue 16's bar); all eight match to three decimals, and that
    is asserted too: a criterion perturbed by 1e-12 (relative) changes no forecast,
    by 1e-10 Holt's sMAPE by 0.001 (``m4_hourly_reproduction.py --explain``).
    """
    table = m4_hourly_table(tmp_path / "m4")
    assert len(table) == 8
    for method, row in table.iterrows():
        for metric in ("smape", "mase"):
            ours, published = row[metric], row[f"published_{metric}"]
            if method in ("SES", "Theta", "Damped"):
                assert ours == pytest.approx(published, rel=0.01), (method, metric)
            assert round(ours, 3) == published, (method, metric, ours, published)
    # M4's interval track: Naive 1's 95% intervals (R's naive()), MSIS and ACD to the published decimals.
    naive = table.loc["Naive"]
    assert round(naive["msis"], 3) == naive["published_msis"] == 71.245
    assert round(naive["acd"], 3) == naive["published_acd"] == 0.011
