"""The accuracy that a panel's organisers published for the methods we also run (numbers only).

A catalog entry may carry ``[[published]]`` files (M4 Hourly: its benchmarks' sMAPE, MASE
and OWA; the 95% intervals' MSIS and ACD of Naive, ETS, ARIMA and two entries);
``published_values`` reads them, each checked by its sha256, into one table by method, and
``published_rows`` matches its methods to the table's rows. The panel page prints them
(``panel_page``); the summary table keeps them in its ``published_*`` columns (``table``).
"""
from __future__ import annotations

import pandas as pd

from bench import metrics

PUBLISHED_METRICS = (*metrics.PANEL_MEANS, *(d.name for d in metrics.OF_PANEL))   # sMAPE, MASE, OWA
PUBLISHED_DISTRIBUTION = ("msis", "acd")                                           # M4's interval track
# The M4 organisers' names of their benchmarks (and standards for comparison), and the registry's
# names of the same methods.
PUBLISHED_NAMES = {"Naive": "naive", "sNaive": "seasonal_naive", "Naive2": "naive2", "SES": "ses", "Holt": "holt",
                   "Damped": "damped", "Theta": "theta", "Com": "com", "ETS": "ets", "ARIMA": "arima"}


def published_values(dataset: str) -> pd.DataFrame:
    """Accuracy published for the dataset, from the ``[[published]]`` files of its catalog entry.

    One row per published method (index: the name as published, in the files' order), with
    the columns of ``PUBLISHED_METRICS`` and ``PUBLISHED_DISTRIBUTION`` the files have (NaN
    where a method's file has no such column). Each file is found as the data are
    (BENCH_DATA_DIR, the cache or a mirror) and checked against the entry's sha256 (a
    mismatch is an error). Empty where there is none or none can be had: the tables then go
    without it.
    """
    from bench import data
    from bench.errors import BenchError

    wanted = [*PUBLISHED_METRICS, *PUBLISHED_DISTRIBUTION]
    empty = pd.DataFrame(columns=wanted, index=pd.Index([], name="method"))
    try:
        ds = data.get_dataset(dataset)
    except BenchError:              # a dataset of a store that this catalog no longer has
        return empty
    frames = []
    for path in data.find_published(ds):
        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError):
            continue
        if "method" in frame:
            frame = frame.set_index("method")
            frames.append(frame[[m for m in wanted if m in frame]].apply(pd.to_numeric, errors="coerce"))
    if not frames:
        return empty
    merged = frames[0]
    for frame in frames[1:]:
        merged = merged.combine_first(frame).reindex(list(dict.fromkeys([*merged.index, *frame.index])))
    return merged[[m for m in wanted if m in merged]].rename_axis("method")


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
