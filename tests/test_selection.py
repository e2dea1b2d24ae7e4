"""Selection on a validation span: what it may see, what it keeps, and how the tables say so."""
import json

import numpy as np
import pandas as pd
import pytest

from bench import api, data, report, runner, selection, suite as suites
from bench.errors import BenchError
from bench.splits import WalkForward
from tests.toy_models import MeanOfLast

MODEL = "tests.toy_models:MeanOfLast"
GRID_SUITE = f"""
name = "grid"
[[datasets]]
name = "{{dataset}}"
[[models]]
name = "naive"
[[models]]
name = "seasonal_naive"
[[models]]
name = "{MODEL}"
label = "mean"
params = {{{{ window = [1, 3, 12, 24] }}}}
select = "{{select}}"
"""


def _suite(tmp_path, dataset, select):
    path = tmp_path / f"{select}.toml"
    path.write_text(GRID_SUITE.format(dataset=dataset, select=select))
    return str(path)


def _air_csv(path, perturb_test_span=False, test_size=24):
    y = data.load_series("air_passengers")
    if perturb_test_span:
        y = y.copy()
        y.iloc[-test_size:] = y.iloc[-test_size:] * 3.0 + 500.0
    pd.DataFrame({"month": y.index.strftime("%Y-%m"), "passengers": y.to_numpy()}).to_csv(path, index=False)
    return data.user_dataset(path, name="air", test_size=test_size, horizon=12)


def test_the_validation_span_ends_where_the_test_span_begins():
    split = WalkForward(horizon=12, test_size=36)
    validation = list(split.origins(144, "validation"))
    assert validation[0].position == 144 - 72 and validation[-1].position + 12 == 144 - 36
    assert WalkForward(horizon=12, test_size=36, validation_size=24).min_length("validation") == 36 + 24 + 2
    with pytest.raises(ValueError, match="validation span of 36 before a test span of 36"):
        list(split.origins(70, "validation"))


@pytest.mark.slow
def test_changing_the_test_span_changes_neither_validation_scores_nor_the_chosen_variant(tmp_path):
    runs = {}
    for perturbed in (False, True):
        ds = _air_csv(tmp_path / f"air_{perturbed}.csv", perturb_test_span=perturbed)
        res = api.run(_suite(tmp_path, "air_passengers", "validation"), datasets=["air"], extra_datasets=[ds],
                      out=tmp_path / f"out_{perturbed}", workers=0, plots=False)
        runs[perturbed] = res
    scores = {}
    for perturbed, res in runs.items():
        cells = res.cells
        validation = cells[cells["span"] == "validation"].set_index("label")["mae"]
        chosen = cells[(cells["span"] == "test") & (cells["label"] == "mean")]
        scores[perturbed] = (validation, json.loads(chosen["params"].iloc[0]), chosen["mae"].iloc[0])
    assert len(scores[False][0]) == 4
    pd.testing.assert_series_equal(scores[False][0], scores[True][0])     # identical validation MAEs
    assert scores[False][1] == scores[True][1]                              # the same variant chosen
    assert scores[False][2] != scores[True][2]                              # while the test span did change


def test_only_the_chosen_variant_is_walked_over_the_test_span_and_the_page_lists_every_candidate(tmp_path):
    res = api.run(_suite(tmp_path, "air_passengers", "validation"), out=tmp_path / "out", workers=0, plots=False)
    cells = res.cells
    assert sorted(cells.loc[cells["span"] == "validation", "label"]) == sorted(
        f"mean (window={w})" for w in (1, 3, 12, 24))
    test = cells[(cells["span"] == "test") & (cells["model"] == MODEL)]
    assert list(test["label"]) == ["mean"]
    candidates = selection.candidates(cells, "validation")
    best = candidates.loc[candidates["mae"].idxmin()]
    assert bool(best["chosen"]) and test["params"].iloc[0] == best["params"]
    row = res.table.set_index("variant").loc["mean"]
    assert row["selection"] == selection.VALIDATION_NOTE and not np.isnan(row["rank"])
    page = (tmp_path / "out" / "air_passengers.md").read_text()
    assert "Selection for mean (4 candidates" in page
    assert f"→ {best['label']}" in page


def test_a_grid_chosen_on_the_test_span_is_marked_optimistic_and_left_out_of_the_ranking(tmp_path):
    res = api.run(_suite(tmp_path, "air_passengers", "test"), out=tmp_path / "out", workers=0, plots=False)
    table = res.table
    mine = table[table["model"] == MODEL]
    assert len(mine) == 1 and mine["selection"].iloc[0] == "chosen on the test span (optimistic)"
    assert np.isnan(mine["rank"].iloc[0])
    assert mine["mae"].iloc[0] == res.cells.loc[res.cells["model"] == MODEL, "mae"].min()
    assert MODEL not in set(res.overall["model"])
    board = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "[chosen on the test span (optimistic)]" in board
    csv = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (csv.loc[csv["model"] == MODEL, "selection"] == "chosen on the test span (optimistic)").all()


def test_a_selection_without_an_eligible_variant_is_a_skipped_row_with_the_reasons(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('[[datasets]]\nname = "air_passengers"\n[[models]]\nname = "naive"\n'
                     f'[[models]]\nname = "{MODEL}"\nlabel = "mean"\nparams = {{ window = [200, 300] }}\n'
                     'select = "validation"\n')
    res = api.run(str(suite), out=tmp_path / "out", workers=0, plots=False)
    row = res.table.set_index("variant").loc["mean"]
    assert row["status"] == "skipped" and "no variant finished the validation walk" in row["reason"]
    assert "a window of 200 needs as many points" in row["reason"]
    assert row["selection"] == "no variant finished the validation walk"


@pytest.mark.parametrize("models, message", [
    ('name = "naive"\nselect = "validation"', "needs a grid"),
    ('name = "naive"\nselect = "best"', "select must be one of validation, test"),
    (f'name = "{MODEL}"\nlabel = "m"\nparams = {{ window = [1, 2] }}\nselect = "test"\n'
     f'[[models]]\nname = "{MODEL}"\nlabel = "m"\nparams = {{ window = [3, 4] }}\nselect = "validation"',
     "more than one model entry is named 'm'"),
])
def test_malformed_selections_are_one_line_errors(models, message):
    import tomllib
    text = f'[[datasets]]\nname = "air_passengers"\n[[models]]\n{models}\n'
    with pytest.raises(BenchError, match=message):
        suites.parse_suite(tomllib.loads(text), source=text, where="s.toml")


def test_a_model_named_with_m_that_the_suite_restricts_elsewhere_runs_with_its_defaults():
    import tomllib
    text = ('[[datasets]]\nname = "air_passengers"\n[[datasets]]\nname = "google_stock"\n'
            '[[models]]\nname = "naive"\n[[models]]\nname = "drift"\ndatasets = ["google_stock"]\n')
    suite = suites.select(suites.parse_suite(tomllib.loads(text), source=text, where="s.toml"),
                          models=["drift", "seasonal_naive"])
    cells = {(c.dataset, c.model, c.label, json.dumps(c.params)) for c in suites.cells(suite)}
    assert cells == {("google_stock", "drift", "drift", "{}"), ("air_passengers", "drift", "drift", "{}"),
                     ("air_passengers", "seasonal_naive", "seasonal_naive", "{}"),
                     ("google_stock", "seasonal_naive", "seasonal_naive", "{}")}


def test_validation_walks_of_a_model_are_identical_when_the_test_span_changes(air):
    split = WalkForward(horizon=12, test_size=36, refit_every=2)
    perturbed = air.copy()
    perturbed.iloc[-36:] = -perturbed.iloc[-36:]
    a = runner.walk_forward(MeanOfLast(window=3), air, split, 12, span="validation")
    b = runner.walk_forward(MeanOfLast(window=3), perturbed, split, 12, span="validation")
    np.testing.assert_array_equal(a.forecasts, b.forecasts)
    np.testing.assert_array_equal(a.actuals, b.actuals)
    assert a.origin_positions[-1] + 12 == len(air) - 36


def test_test_walks_of_a_variant_the_validation_no_longer_chooses_are_left_out_of_the_tables(tmp_path):
    res = api.run(_suite(tmp_path, "air_passengers", "validation"), out=tmp_path / "out", workers=0, plots=False)
    cells = res.cells
    chosen = cells[(cells["span"] == "test") & (cells["label"] == "mean")]
    # As a resumed run could have left it: a test walk of a variant that is not the choice.
    other = chosen.assign(cell_id=-1, params=json.dumps({"window": 1}), params_text="window=1", mae=1.0)
    table = report.aggregate(pd.concat([cells, other], ignore_index=True))
    rows = table[table["variant"] == "mean"]
    assert len(rows) == 1 and rows["params_text"].iloc[0] == chosen["params_text"].iloc[0]


def test_a_series_too_short_for_the_validation_span_is_a_one_line_error(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('[[datasets]]\nname = "air_passengers"\ntest_size = 72\n[[models]]\nname = "naive"\n'
                     f'[[models]]\nname = "{MODEL}"\nlabel = "mean"\nparams = {{ window = [1, 2] }}\n'
                     'select = "validation"\n')
    with pytest.raises(BenchError, match="validation span of 72 before it.*needs at least 146"):
        api.run(str(suite), out=tmp_path / "out", workers=0, plots=False)
    assert not (tmp_path / "out" / "bench.sqlite").exists()


def test_on_a_panel_the_selection_criterion_is_the_mean_mase_not_a_mae_the_largest_series_decides():
    # Variant "a" is far better on the small series and slightly worse on the large one:
    # its mean MAE is worse, its mean MASE (each series in its own seasonal-naive units) better.
    rows = []
    for label, small_mae, large_mae in (("a", 1.0, 1100.0), ("b", 9.0, 1000.0)):
        for series, mae, scale in (("S1", small_mae, 10.0), ("S2", large_mae, 1000.0)):
            rows.append({"dataset": "panel", "selection_group": "g", "label": label, "model": "m",
                         "params_text": label, "params": "{}", "series_id": series, "seed": 0,
                         "status": "ok", "reason": "", "mae": mae, "mase": mae / scale, "n_params": 1,
                         "selection": "validation", "span": "validation"})
    panel = pd.DataFrame(rows)
    table = selection.candidates(panel, "validation").set_index("label")
    assert set(table["criterion"]) == {"mase"}
    assert table.loc["a", "mae"] > table.loc["b", "mae"]
    assert table.loc["a", "chosen"] and not table.loc["b", "chosen"]
    one_series = selection.candidates(panel[panel["series_id"] == "S2"], "validation").set_index("label")
    assert set(one_series["criterion"]) == {"mae"} and one_series.loc["b", "chosen"]
