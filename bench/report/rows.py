"""The stored rows the tables describe: which cells, and their forecasts' errors (numbers only).

``test_cells`` keeps the test-span walks that a selection did not pass over;
``mean_forecasts`` averages each origin and step over seeds (the absolute error, the
quantiles, the quantile loss and whether each central interval held the actual, too), and
``losses_of`` turns that into the tests' loss per variant and origin (the absolute error,
or the quantile loss of the forecast distribution). Stores before schema
2 and hand-made frames lack some columns: ``with_cell_defaults`` fills in what they meant.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench import analysis, metrics, selection
from bench import quantiles as qs

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


# Whether each central interval held the actual: a column per nominal coverage (``inside_80``: 0.8).
INSIDE = {nominal: f"inside_{round(100 * nominal)}" for nominal in qs.central_intervals()}


def mean_forecasts(cells: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per variant, origin and step: the actual, the forecast, the absolute error, and where the model made a
    distribution its quantiles, its quantile loss (``qloss``: fev's, over the levels 0.1 .. 0.9) and
    whether each central interval held the actual (``INSIDE``), each a mean over seeds.

    The errors and losses are averaged over seeds themselves (not taken of the mean forecast),
    so a seeded model is judged by the error a user of one seed should expect; the quantiles'
    means over seeds are what the plots draw.
    """
    series = ["series_id"] if "series_id" in cells else []     # a panel's origins are per series
    keys = cells[["cell_id", *VARIANT_KEYS, *series]]
    rows = forecasts.merge(keys, on="cell_id", how="inner", validate="many_to_one")
    rows = rows.assign(abs_error=(rows["y_true"] - rows["y_pred"]).abs())
    values = ["y_true", "y_pred", "abs_error"]
    if all(c in rows for c in qs.COLUMNS):       # frames of stores before schema 5 have no quantiles
        rows = rows.assign(**_distribution_columns(rows))
        values += [*qs.COLUMNS, "qloss", *INSIDE.values()]
    return rows.groupby([*VARIANT_KEYS, *series, "origin_time", "step"], sort=True)[values].mean().reset_index()


def _distribution_columns(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    q = rows[list(qs.COLUMNS)].to_numpy(dtype=float)
    y = rows["y_true"].to_numpy(dtype=float)
    deciles = q[:, [qs.index_of(level) for level in qs.SQL_LEVELS]]
    out = {"qloss": metrics.quantile_loss(y, deciles, qs.SQL_LEVELS).mean(axis=1)}
    for nominal, (low, high) in qs.central_intervals().items():
        inside = (y >= q[:, qs.index_of(low)]) & (y <= q[:, qs.index_of(high)])
        out[INSIDE[nominal]] = np.where(np.isnan(q[:, qs.index_of(low)]), np.nan, inside)
    return out


def origin_losses(cells: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The tests' loss series: per variant and origin, the absolute error averaged over steps and seeds."""
    return losses_of(mean_forecasts(cells, forecasts))


def losses_of(per_step: pd.DataFrame, loss: str = "abs_error") -> pd.DataFrame:
    """Per variant and origin: ``loss`` (the absolute error, or ``qloss``) averaged over the horizon's steps;
    a variant without it (no distribution) has no rows."""
    if loss not in per_step:
        return pd.DataFrame(columns=[*VARIANT_KEYS, "origin_time", "loss"])
    return (per_step.groupby([*VARIANT_KEYS, "origin_time"], sort=True)[loss].mean()
            .rename("loss").dropna().reset_index())
