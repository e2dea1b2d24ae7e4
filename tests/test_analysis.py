"""Analysis tables: MAE by horizon step, test-span actuals, the overall bootstrap, metric notes."""
import numpy as np
import pandas as pd
import pytest

from bench import analysis

KEYS = dict(label="", model="", params_text="")


def per_step_rows(dataset, variant, errors, actual=None, step_between_origins=1):
    """Rows shaped as ``report.mean_forecasts`` returns them: one per origin and step."""
    n_origins, horizon = errors.shape
    actual = np.full(errors.shape, 10.0) if actual is None else actual
    return pd.DataFrame([dict(dataset=dataset, **{**KEYS, "label": variant, "model": variant},
                              origin_time=f"2000-01-{i + 1:02d}", step=s + 1, y_true=actual[i, s],
                              y_pred=actual[i, s] + errors[i, s], abs_error=abs(errors[i, s]))
                         for i in range(n_origins) for s in range(horizon)])


def table_rows(dataset, variants, mae, horizon=1, step=1):
    return pd.DataFrame([dict(dataset=dataset, label=v, model=v, params_text="", variant=v, n_ok=1, selection="",
                              horizon=horizon, step=step, mae=m) for v, m in zip(variants, mae)])


def losses_of(per_step):
    return (per_step.groupby(["dataset", "label", "model", "params_text", "origin_time"])["abs_error"].mean()
            .rename("loss").reset_index())


def test_mae_by_step_averages_each_step_over_origins():
    errors = np.array([[1.0, -2.0, 3.0], [3.0, 2.0, -5.0]])
    rows = table_rows("d", ["m"], [0.0], horizon=3)
    steps = analysis.mae_by_step(per_step_rows("d", "m", errors), rows)
    assert steps["m"].tolist() == [2.0, 2.0, 4.0] and steps.index.tolist() == [1, 2, 3]


def test_test_actuals_place_every_target_once_by_its_offset():
    # Origins 2 points apart with 3-step forecasts: targets 0..2, 2..4, 4..6.
    actual = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]])
    got = analysis.test_actuals(per_step_rows("d", "m", np.zeros((3, 3)), actual), step=2)
    assert got.index.tolist() == list(range(7)) and got.tolist() == [0.0, 1, 2, 3, 4, 5, 6]


def test_metric_notes_flag_mape_on_a_span_that_touches_zero():
    actual = np.array([[5.0], [0.3], [6.0], [7.0]])
    per_step = per_step_rows("d", "m", np.ones((4, 1)), actual)
    notes = analysis.metric_notes(table_rows("d", ["m"], [1.0]), per_step)
    assert list(notes) == [("d", "mape")] and "below a tenth of their median" in notes[("d", "mape")]


def test_a_model_twice_as_bad_at_every_origin_has_a_degenerate_interval_at_two():
    rng = np.random.default_rng(0)
    base = np.abs(rng.normal(size=(30, 1))) + 0.1
    per_step = pd.concat([per_step_rows("d", "seasonal_naive", base), per_step_rows("d", "m", 2 * base)])
    rows = table_rows("d", ["seasonal_naive", "m"], [base.mean(), 2 * base.mean()])
    out = analysis.relative_mae_bootstrap(rows, losses_of(per_step))
    assert out.loc["m", ["overall_rel_mae_lo", "overall_rel_mae_hi"]].tolist() == pytest.approx([2.0, 2.0])
    assert out.loc["seasonal_naive", "overall_lowest_share"] == 1.0


def test_the_bootstrap_interval_covers_the_estimate_is_seeded_and_spans_datasets():
    rng = np.random.default_rng(1)
    frames, rows = [], []
    for d in ("a", "b"):
        ref = np.abs(rng.normal(size=(40, 1))) + 0.5
        other = ref * rng.uniform(0.5, 1.3, size=(40, 1))
        frames += [per_step_rows(d, "seasonal_naive", ref), per_step_rows(d, "m", other)]
        rows.append(table_rows(d, ["seasonal_naive", "m"], [ref.mean(), other.mean()]))
    losses, table = losses_of(pd.concat(frames)), pd.concat(rows, ignore_index=True)
    first = analysis.relative_mae_bootstrap(table, losses)
    assert first.equals(analysis.relative_mae_bootstrap(table, losses))          # re-render: same numbers
    assert not first.equals(analysis.relative_mae_bootstrap(table, losses, seed=2))
    ratios = table.pivot(index="variant", columns="dataset", values="mae")
    estimate = np.sqrt(np.prod(ratios.loc["m"] / ratios.loc["seasonal_naive"]))
    assert first.loc["m", "overall_rel_mae_lo"] < estimate < first.loc["m", "overall_rel_mae_hi"]
    assert first["overall_lowest_share"].sum() == pytest.approx(1.0)
