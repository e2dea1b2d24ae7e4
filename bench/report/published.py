"""The accuracy that a panel's organisers published for the methods we also run (numbers only).

A catalog entry may carry a ``[published]`` file (M4 Hourly: its benchmarks' sMAPE, MASE
and OWA); ``published_values`` reads it, checked by its sha256, and ``published_rows``
matches its methods to the table's rows. The panel page prints them (``panel_page``);
the summary table keeps them in its ``published_*`` columns (``table``).
"""
from __future__ import annotations

import pandas as pd

from bench import metrics

PUBLISHED_METRICS = (*metrics.PANEL_MEANS, *(d.name for d in metrics.OF_PANEL))   # sMAPE, MASE, OWA
# The M4 organisers' names of their benchmarks, and the registry's names of the same methods.
PUBLISHED_NAMES = {"Naive": "naive", "sNaive": "seasonal_naive", "Naive2": "naive2", "SES": "ses", "Holt": "holt",
                   "Damped": "damped", "Theta": "theta", "Com": "com"}


def published_values(dataset: str) -> pd.DataFrame:
    """Accuracy published for the dataset, where its catalog entry carries a ``[published]`` file.

    One row per published method (index: the name as published), with the columns of
    ``PUBLISHED_METRICS`` the file has. The file is found as the data are (BENCH_DATA_DIR,
    the cache or a mirror) and checked against the entry's sha256 (a mismatch is an error).
    Empty where there is none or it cannot be had: the tables then go without it.
    """
    from bench import data
    from bench.errors import BenchError

    empty = pd.DataFrame(columns=list(PUBLISHED_METRICS), index=pd.Index([], name="method"))
    try:
        ds = data.get_dataset(dataset)
    except BenchError:              # a dataset of a store that this catalog no longer has
        return empty
    path = data.find_published(ds)
    if path is None:
        return empty
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError):
        return empty
    if "method" not in frame:
        return empty
    frame = frame.set_index("method")
    return frame[[m for m in PUBLISHED_METRICS if m in frame]].apply(pd.to_numeric, errors="coerce")


def published_rows(rows: pd.DataFrame, values: pd.DataFrame) -> dict:
    """``{row index: published method}`` for the rows that ran a published method (``PUBLISHED_NAMES``):
    the row labelled as the model, else the model's only row."""
    out = {}
    for method in values.index:
        model = PUBLISHED_NAMES.get(method)
        mine = rows[(rows["model"] == model) & (rows["n_ok"] > 0)]
        named = mine[mine["label"] == model]
        chosen = named if len(named) else mine
        if len(chosen) == 1:
            out[chosen.index[0]] = method
    return out
