"""The stored rows the tables describe: which cells, and their forecasts' errors (numbers only).

``test_cells`` keeps the test-span walks that a selection did not pass over;
``mean_forecasts`` averages each origin and step over seeds (the absolute error too), and
``losses_of`` turns that into the tests' loss per variant and origin. Stores before schema
2 and hand-made frames lack some columns: ``with_cell_defaults`` fills in what they meant.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench import analysis, selection

VARIANT_KEYS = analysis.VARIANT_KEYS
# Columns that stores before schema 2 (and hand-made frames) lack, with what they meant then.
_CELL_DEFAULTS = {"span": "test", "selection": "", "selection_group": "", "fit_info": "{}", "series_id": ""}


def with_cell_defaults(cells: pd.DataFrame) -> pd.DataFrame:
    missing = {k: v for k, v in _CELL_DEFAULTS.items() if k not in cells.columns}
    if "series_id" in cells.columns and cells["series_id"].isna().any():    # frames of both kinds put together
        missing["series_id"] = cells["series_id"].fillna("")
    return cells.assign(**missing) if missing else cells


def test_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells the tables describe: test-span walks, minus the variants a selection passed over.

    For ``select = "validation"`` that is any test walk of a variant other than the one the
    stored validation walks choose (a resumed run that chose anew leaves none, but the
    tables do not rely on it); for ``select = "test"``, every candidate but the best.
    """
    cells = with_cell_defaults(cells)
    winners = selection.candidates(cells, "validation")
    winners = {(r.dataset, r.selection_group): r.params for r in winners[winners["chosen"]].itertuples()}
    cells = cells[cells["span"] == "test"]
    if winners:
        stale = [s == "validation" and (d, g) in winners and p != winners[(d, g)]
                 for s, d, g, p in zip(cells["selection"], cells["dataset"], cells["selection_group"], cells["params"])]
        cells = cells[~np.array(stale, dtype=bool)]
    candidates = selection.candidates(cells, "test")
    passed_over = candidates.loc[~candidates["chosen"].astype(bool), selection.CANDIDATE_KEYS]
    if passed_over.empty:
        return cells
    keys = pd.MultiIndex.from_frame(cells[selection.CANDIDATE_KEYS])
    return cells[~keys.isin(pd.MultiIndex.from_frame(passed_over))]


def mean_forecasts(cells: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per variant, origin and step: the actual, the forecast and the absolute error, each a mean over seeds.

    The absolute error is averaged over seeds itself (not taken of the mean forecast),
    so a seeded model is judged by the error a user of one seed should expect.
    """
    series = ["series_id"] if "series_id" in cells else []     # a panel's origins are per series
    keys = cells[["cell_id", *VARIANT_KEYS, *series]]
    rows = forecasts.merge(keys, on="cell_id", how="inner", validate="many_to_one")
    rows = rows.assign(abs_error=(rows["y_true"] - rows["y_pred"]).abs())
    return (rows.groupby([*VARIANT_KEYS, *series, "origin_time", "step"], sort=True)[["y_true", "y_pred", "abs_error"]]
            .mean().reset_index())


def origin_losses(cells: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The tests' loss series: per variant and origin, the absolute error averaged over steps and seeds."""
    return losses_of(mean_forecasts(cells, forecasts))


def losses_of(per_step: pd.DataFrame) -> pd.DataFrame:
    return (per_step.groupby([*VARIANT_KEYS, "origin_time"], sort=True)["abs_error"].mean()
            .rename("loss").reset_index())
