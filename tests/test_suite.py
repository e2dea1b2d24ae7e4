import pytest

from bench import suite as suites
from bench.errors import BenchError


def _parse(text):
    import tomllib
    return suites.parse_suite(tomllib.loads(text), source=text, where="test.toml")


def test_lists_in_params_expand_into_a_grid_of_variants():
    assert suites.expand_grid({"units": [16, 32], "lookback": 12, "lr": [0.1, 0.01]}) == [
        {"units": 16, "lookback": 12, "lr": 0.1}, {"units": 16, "lookback": 12, "lr": 0.01},
        {"units": 32, "lookback": 12, "lr": 0.1}, {"units": 32, "lookback": 12, "lr": 0.01}]


def test_seeded_models_repeat_over_seeds_and_deterministic_ones_run_once():
    suite = _parse('seeds = 3\n[[datasets]]\nname = "air_passengers"\n'
                   '[[models]]\nname = "naive"\n[[models]]\nname = "lstm_torch"\nparams = {units = [8, 16]}\n')
    cells = suites.cells(suite)
    assert sum(c.model == "naive" for c in cells) == 1
    expected = [(8, 0), (8, 1), (8, 2), (16, 0), (16, 1), (16, 2)]
    assert sorted((c.params["units"], c.seed) for c in cells if c.model == "lstm_torch" and c.span == "test") == expected
    # The network makes no distribution of its own: each variant and seed is walked over the
    # validation span too, for its conformal calibration; naive makes its own.
    assert sorted((c.params["units"], c.seed) for c in cells if c.span == "validation") == expected
    assert all(not c.selection for c in cells if c.span == "validation")
    assert len(suites.cells(suite, seeds=1)) == 1 + 2 * 2


def test_dataset_entries_override_the_catalog_split():
    suite = _parse('[[datasets]]\nname = "air_passengers"\ntest_size = 24\n[[models]]\nname = "naive"\n')
    _, split = suite.datasets["air_passengers"]
    assert (split.horizon, split.test_size) == (12, 24)


def test_a_model_can_be_restricted_to_some_datasets():
    suite = _parse('[[datasets]]\nname = "air_passengers"\n[[datasets]]\nname = "google_stock"\n'
                   '[[models]]\nname = "naive"\ndatasets = ["google_stock"]\n')
    assert [c.dataset for c in suites.cells(suite)] == ["google_stock"]


@pytest.mark.parametrize("text, needle", [
    ('[[datasets]]\nname = "nope"\n[[models]]\nname = "naive"\n', "unknown dataset 'nope'"),
    ('[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "nope"\n', "unknown model 'nope'"),
    ('[[datasets]]\nname = "air_passengers"\nhorizon = 99\n[[models]]\nname = "naive"\n', "horizon (99)"),
    ('[[datasets]]\nname = "air_passengers"\ncolour = 1\n[[models]]\nname = "naive"\n', "unknown key(s) colour"),
    ('[[datasets]]\nname = "air_passengers"\n', "at least one"),
    ('seeds = 0\n[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "naive"\n', "seeds must be"),
])
def test_invalid_suites_name_the_problem(text, needle):
    with pytest.raises(BenchError, match=__import__("re").escape(needle)):
        _parse(text)


def test_every_shipped_suite_parses():
    for name in suites.suite_names():
        assert suites.cells(suites.load_suite(name))


def test_a_label_names_one_variant_across_datasets_and_grid_axes_tell_variants_apart():
    suite = _parse('[[datasets]]\nname = "air_passengers"\n[[datasets]]\nname = "google_stock"\n'
                   '[[models]]\nname = "arima"\nlabel = "arima"\nparams = {p = 2}\ndatasets = ["air_passengers"]\n'
                   '[[models]]\nname = "arima"\nlabel = "arima"\nparams = {p = 1}\ndatasets = ["google_stock"]\n'
                   '[[models]]\nname = "lstm_torch"\nlabel = "grid"\nparams = {units = [8, 16], lookback = 12}\n'
                   '[[models]]\nname = "drift"\nparams = {}\n[[models]]\nname = "arima"\nparams = {q = 3}\n')
    labels = {c.label for c in suites.cells(suite, seeds=1)}
    assert labels == {"arima", "grid (units=8)", "grid (units=16)", "drift", "arima (q=3)"}
