"""Tables from the store: results.csv and the markdown leaderboard.

Every table is a pure function of the stored rows of one run; timestamps and versions
come from the run, so re-rendering a stored run reproduces the files byte for byte.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

METRIC_NAMES = ["mae", "rmse", "mape", "smape", "mase"]
VARIANT_KEYS = ["dataset", "label", "model", "params_text"]
SUMMARY_COLUMNS = ["dataset", "label", "params_text", "mae", "mae_std", "rmse", "mape", "mase",
                   "mae_vs_naive", "fit_time_s", "predict_time_s", "n_params", "status"]


def aggregate(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x model variant; seeds become a mean and a standard deviation.

    ``fit_time_s`` is the mean wall time of one fit, ``predict_time_s`` of one predict
    call (one origin); totals over the walk are kept beside them.
    """
    cells = cells.assign(
        fit_time_per_fit_s=cells["fit_time_s"] / cells["n_fits"],
        predict_time_per_call_s=cells["predict_time_s"] / cells["n_origins"],
    )
    rows = []
    for keys, group in cells.groupby(VARIANT_KEYS, sort=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(VARIANT_KEYS, keys))
        split = json.loads(group["split"].iloc[0])
        row.update(n_seeds=len(group), n_ok=len(ok))
        row["status"] = _status(group)
        row["reason"] = "; ".join(sorted(set(group.loc[group["status"] != "ok", "reason"])))
        for m in METRIC_NAMES:
            row[m] = ok[m].mean() if len(ok) else np.nan
            row[f"{m}_std"] = ok[m].std(ddof=1) if len(ok) > 1 else np.nan
        row["fit_time_s"] = ok["fit_time_per_fit_s"].mean() if len(ok) else np.nan
        row["predict_time_s"] = ok["predict_time_per_call_s"].mean() if len(ok) else np.nan
        row["fit_time_total_s"] = ok["fit_time_s"].mean() if len(ok) else np.nan
        row["update_time_total_s"] = ok["update_time_s"].mean() if len(ok) else np.nan
        row["n_fits"] = ok["n_fits"].max() if len(ok) else np.nan
        row["n_origins"] = ok["n_origins"].max() if len(ok) else np.nan
        row["n_params"] = ok["n_params"].median() if len(ok) else np.nan
        row.update(split)
        rows.append(row)
    table = pd.DataFrame(rows)
    naive = table[(table["model"] == "naive") & (table["status"] == "ok")].set_index("dataset")["mae"]
    table["mae_vs_naive"] = table["mae"] / table["dataset"].map(naive)
    return table.sort_values(["dataset", "mae"], na_position="last", kind="stable").reset_index(drop=True)


def _status(group: pd.DataFrame) -> str:
    statuses = group["status"]
    if (statuses == "ok").all():
        return "ok"
    if (statuses == statuses.iloc[0]).all():
        return statuses.iloc[0]
    return f"ok {int((statuses == 'ok').sum())}/{len(statuses)}"


def fmt(value, std=np.nan) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    text = f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return text if np.isnan(std) else f"{text} ± {std:.2g}"


def fmt_time(seconds) -> str:
    if seconds is None or np.isnan(seconds):
        return "-"
    return f"{seconds:.3g}"


def dataset_table(rows: pd.DataFrame) -> str:
    body = []
    for rank, r in enumerate(rows.itertuples(), start=1):
        ok = r.n_ok > 0
        body.append([
            rank if ok else "", r.label, r.params_text or "-",
            fmt(r.mae, r.mae_std), fmt(r.rmse, r.rmse_std), fmt(r.mape, r.mape_std),
            fmt(r.mase, r.mase_std), fmt(r.mae_vs_naive), fmt_time(r.fit_time_s),
            fmt_time(r.predict_time_s), "-" if np.isnan(r.n_params) else f"{int(r.n_params):,}",
            r.status if r.n_seeds == 1 else f"{r.status} ({r.n_seeds} seeds)",
        ])
    headers = ["rank", "model", "params", "MAE", "RMSE", "MAPE %", "MASE", "MAE / naive",
               "fit_time_s", "predict_time_s", "n_params", "status"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def protocol_text(r) -> str:
    window = "expanding window" if r.window is None or pd.isna(r.window) else f"sliding window of {int(r.window)}"
    refit = "fit once, then update" if r.refit_every >= r.n_origins else (
        "refit at every origin" if r.refit_every == 1 else f"refit every {int(r.refit_every)} origins, update in between")
    return (f"horizon {int(r.horizon)}, last {int(r.test_size)} points, origins every {int(r.step)} "
            f"({int(r.n_origins)} origins), {refit}, {window}")


def leaderboard(run: dict, table: pd.DataFrame) -> str:
    env = run["environment"]
    packages = ", ".join(f"{k} {v}" for k, v in sorted(env.get("packages", {}).items()))
    lines = [
        "# Forecasting leaderboard", "",
        f"Run {run['run_id']} of suite `{run['suite']}`, started {run['started_at']}, "
        f"took {fmt_time(run['total_time_s'])} s. Commit `{run['git_commit'] or 'unknown'}`.",
        f"Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores; Python {env.get('python', '?')}; {packages}.",
        "",
        "How to read: each table ranks model variants by MAE over every origin and horizon step "
        "of a walk-forward evaluation (no model sees a value at or after its origin). "
        "MAE and RMSE are in the series' unit, MAPE in percent. MASE divides each error by the "
        "in-sample seasonal-naive MAE of the history at its origin. **MAE / naive** compares with "
        "repeating the last observed value: above 1 means the model is worse than doing nothing clever. "
        "fit_time_s is the mean wall time of one fit, predict_time_s of one predict call; "
        "n_params counts fitted parameters. Seeded models show mean ± standard deviation over seeds.",
        "",
    ]
    for dataset, rows in table.groupby("dataset", sort=True):
        ok_rows = rows[rows["n_ok"] > 0]
        lines += [f"## {dataset}", ""]
        if len(ok_rows):
            lines += [f"Protocol: {protocol_text(ok_rows.iloc[0])}.", ""]
            lines += [verdict(ok_rows), ""]
        lines += [dataset_table(rows), ""]
        bad = rows[rows["status"] != "ok"]
        if len(bad):
            lines += ["Not ok:", ""] + [f"- {r.label} ({r.params_text or 'defaults'}): {r.status}: {r.reason}"
                                        for r in bad.itertuples()] + [""]
    return "\n".join(lines)


def verdict(ok_rows: pd.DataFrame) -> str:
    best = ok_rows.iloc[0]
    naive = ok_rows[ok_rows["model"] == "naive"]
    if best["model"] == "naive":
        return f"Best: **naive** (MAE {fmt(best['mae'])}); no model beats repeating the last value."
    if not len(naive):
        return f"Best: **{best['label']}** (MAE {fmt(best['mae'])})."
    n_beat = int((ok_rows["mae_vs_naive"] < 1).sum()) - 0
    return (f"Best: **{best['label']}** (MAE {fmt(best['mae'])}, {fmt(best['mae_vs_naive'])} x naive's "
            f"{fmt(naive['mae'].iloc[0])}); {n_beat} of {len(ok_rows)} variants beat naive.")


def results_csv(table: pd.DataFrame) -> str:
    return table.to_csv(index=False, float_format="%.6g")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it, so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(store, run_id: int, out_dir: Path) -> list[Path]:
    run = store.run(run_id)
    table = aggregate(store.cells(run_id))
    paths = [out_dir / "LEADERBOARD.md", out_dir / "results.csv"]
    write_atomic(paths[0], leaderboard(run, table))
    write_atomic(paths[1], results_csv(table))
    return paths
