"""Compare two runs of the same suite and flag accuracy and speed regressions.

    python -m bench compare BASE NEW      # results.csv files or result stores

Exit 1 when a cell regressed, 0 when none did, 2 when the inputs cannot be compared.
``compare`` only reads its inputs: a store is opened read-only.

- A row is a dataset x model x variant (label and parameters); a table holding one of
  them twice cannot be compared (exit 2).
- A row of status ok whose MAE or time is not a finite number is a broken run: a
  regression, whichever side it is on.

- Accuracy, deterministic models: the MAE may grow by at most ``mae_tolerance``
  (relative, default 1%).
- Accuracy, seeded models: the new mean MAE may exceed the base mean by at most the
  larger of that tolerance and two standard errors of the difference of the means
  over seeds; seed noise alone is not a regression.
- Panels (a row with ``n_series`` above 1): the row's numbers are the dataset-level
  means over series (``bench.analysis.panel_numbers``: seeds averaged per series first),
  and the gate judges the metrics whose mean over series means something
  (``metrics.PANEL_MEANS``: sMAPE and MASE) by the same rules instead of MAE, which a
  mean over series of different scales leaves to the largest series.
- Distributions: MSIS (M4's scaled interval score) is judged as MAE is; the coverage of
  the 80% and 95% intervals by its distance from nominal, which may grow by at most
  ``coverage_tolerance`` (absolute, default 0.02), or two standard errors over seeds for
  a seeded model. A row that had a distribution (a finite MSIS) and has none now
  regressed; a row that never had one is not judged on it.
- Data: each row carries its dataset's fingerprint (``data_hash``, the hash of its values that
  the run recorded when it started; ``data_n_series`` and ``data_series_ids_hash``, its
  series). A row whose dataset holds other data in the new run (another set of series, or
  the same series with other values) regressed, whatever its numbers: a mean over other
  series or values is no comparison. ``allow_data_change`` (``--allow-data-change``) accepts
  the change: such a row is reported as "data changed" and judged on its status only. A
  table without the fingerprint (a results.csv of bench before it, or a store whose run
  recorded no data hash) cannot be checked: ``compare`` says so and judges the numbers alone.
- Speed: times are divided by each run's calibration time (a fixed workload timed in
  the same run, bench/calibration.py), so a faster or slower machine cancels out. A
  cell regresses when its normalised fit or predict time grows by more than
  ``time_ratio`` (default 1.5x), judged only where the base time is long enough to
  measure (fit >= 0.2 s, predict >= 0.05 s per call).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import metrics
from bench.errors import BenchError

KEY = ["dataset", "label", "model", "params_text"]
NUMBERS = ["n_seeds", "mae", "mae_std", "fit_time_s", "predict_time_s", "calibration_s"]
# What the gate judges the accuracy of a row by: MAE, or on a panel the means over series that mean something.
ACCURACY = {"single": ("mae",), "panel": metrics.PANEL_MEANS}
PANEL_NUMBERS = ["n_series", *(m for name in metrics.PANEL_MEANS for m in (name, f"{name}_std"))]
# The distribution's numbers the gate judges, single series and panels alike: lower-is-better ones
# as MAE, coverages by their distance from nominal.
DISTRIBUTION = ("msis", "coverage_80", "coverage_95")
DISTRIBUTION_NUMBERS = [m for name in DISTRIBUTION for m in (name, f"{name}_std")]
FINGERPRINT = ["data_hash", "data_n_series", "data_series_ids_hash"]
TIMES = {"fit_time_s": "fit time", "predict_time_s": "predict time"}
MIN_FIT_S = 0.2
MIN_PREDICT_S = 0.05


@dataclass(frozen=True)
class Tolerances:
    mae_tolerance: float = 0.01
    time_ratio: float = 1.5
    coverage_tolerance: float = 0.02
    min_fit_s: float = MIN_FIT_S
    min_predict_s: float = MIN_PREDICT_S


def read_results(path: str | Path) -> pd.DataFrame:
    """The aggregated per-variant table of a results.csv, or of a store's latest run."""
    path = Path(path)
    if path.is_dir():
        path = path / "bench.sqlite"
    if not path.is_file():
        raise BenchError(f"{path}: no such results file or store")
    if path.suffix in (".sqlite", ".db"):
        from bench import api
        table = api.load(path).table.copy()
    else:
        try:
            # A hash of hex digits only would otherwise be read as a number, and differ from a store's text.
            table = pd.read_csv(path, keep_default_na=True, dtype={"data_hash": str, "data_series_ids_hash": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BenchError(f"{path}: not a results.csv ({' '.join(str(exc).split())})") from None
    required = set(KEY) | set(NUMBERS) | {"suite", "status"}
    missing = sorted(required - set(table.columns))
    if missing:
        raise BenchError(f"{path}: not a results table of this harness (missing columns: {', '.join(missing)})")
    if table.empty:
        raise BenchError(f"{path}: the results table has no rows")
    for column in NUMBERS + [c for c in [*PANEL_NUMBERS, *DISTRIBUTION_NUMBERS] if c in table]:
        table[column] = pd.to_numeric(table[column], errors="coerce")   # "n/a", "" -> NaN: refused on an ok row
    calibration = table["calibration_s"].iloc[0]
    if not (np.isfinite(calibration) and calibration > 0):
        raise BenchError(f"{path}: calibration_s is {calibration}; times cannot be compared without a positive "
                         f"calibration time")
    table["params_text"] = table["params_text"].astype(object).fillna("")    # read_csv makes "" NaN
    # A selection's row is the entry, whichever variant it chose: the choice may change
    # between runs, and then its accuracy is what the gate judges.
    selected = (table["selection"].astype(object).fillna("").astype(bool) if "selection" in table
                else pd.Series(False, table.index))
    table["chosen_params"] = table["params_text"].where(selected, "")
    table.loc[selected, "params_text"] = ""
    if "selection_group" in table:     # select = "test" rows carry the chosen variant's label
        table.loc[selected, "label"] = table.loc[selected, "selection_group"].fillna(table.loc[selected, "label"])
    twice = table[table.duplicated(KEY, keep=False)]
    if len(twice):
        r = twice.iloc[0]
        n = int((twice[KEY] == r[KEY]).all(axis=1).sum())
        variant = " ".join(filter(None, [r["model"], r["params_text"]]))
        raise BenchError(f"{path}: the row {r['dataset']} / {r['label']} ({variant}) appears {n} times; a results "
                         f"table has one row per dataset x model variant")
    return table


def compare(base: pd.DataFrame, new: pd.DataFrame, tol: Tolerances = Tolerances(), *,
            allow_data_change: bool = False) -> pd.DataFrame:
    """One row per cell of either run with its changes and a verdict; ``data`` says whether its dataset's data
    are the same on both sides: "same", "changed", "not recorded in base" (new, base and new) where a side has
    no fingerprint, "" for a cell of one side only."""
    suites = (set(base["suite"]), set(new["suite"]))
    if suites[0] != suites[1]:
        raise BenchError(f"the runs are of different suites ({', '.join(sorted(suites[0]))} vs "
                         f"{', '.join(sorted(suites[1]))}); compare runs of one suite")
    cal_base, cal_new = float(base["calibration_s"].iloc[0]), float(new["calibration_s"].iloc[0])
    # A table of a run without panels has no panel columns (one from before distributions none of
    # theirs): both sides get them, so that they merge by side.
    for column in [*PANEL_NUMBERS, *DISTRIBUTION_NUMBERS, *FINGERPRINT]:
        base, new = (t if column in t else t.assign(**{column: np.nan}) for t in (base, new))
    used = [*KEY, *NUMBERS, *PANEL_NUMBERS, *DISTRIBUTION_NUMBERS, *FINGERPRINT, "status", "chosen_params"]
    base, new = (t[[c for c in used if c in t]] for t in (base, new))
    merged = base.merge(new, on=KEY, how="outer", suffixes=("_base", "_new"), indicator="side")
    rows = []
    for r in merged.to_dict("records"):
        change = _data_change(r)
        unrecorded = _unrecorded(r)
        rows.append({**{k: r[k] for k in KEY}, **_judge(r, cal_base, cal_new, tol, change, allow_data_change),
                     "data": ("" if r["side"] != "both" else "changed" if change else
                              f"not recorded in {' and '.join(unrecorded)}" if unrecorded else "same")})
    return pd.DataFrame(rows)


def _unrecorded(r: dict) -> list[str]:
    """The sides whose table records no data hash for the row's dataset."""
    return [side for side in ("base", "new") if not isinstance(r.get(f"data_hash_{side}"), str)]


def _data_change(r: dict) -> str:
    """How the row's dataset differs between the runs; "" where it does not, or a side cannot tell."""
    if _unrecorded(r) or r["data_hash_base"] == r["data_hash_new"]:
        return ""
    n_base, n_new = _number(r.get("data_n_series_base")), _number(r.get("data_n_series_new"))
    if r.get("data_series_ids_hash_base") != r.get("data_series_ids_hash_new"):
        counts = f"{n_base:.0f} -> {n_new:.0f} series" if n_base != n_new else f"{n_new:.0f} series, other ids"
        return f"another set of series ({counts})"
    return ("the same single series with other values" if n_new == 1 else
            f"the same {n_new:.0f} series with other values")


def _is_panel(r: dict) -> bool:
    return any(_number(r.get(f"n_series_{side}")) > 1 for side in ("base", "new"))


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _judge(r: dict, cal_base: float, cal_new: float, tol: Tolerances, data_change: str = "",
           allow_data_change: bool = False) -> dict:
    out = {"mae_base": r.get("mae_base"), "mae_new": r.get("mae_new"), "mae_change_pct": np.nan,
           "msis_base": r.get("msis_base"), "msis_new": r.get("msis_new"),
           "coverage_95_base": r.get("coverage_95_base"), "coverage_95_new": r.get("coverage_95_new"),
           "fit_ratio": np.nan, "predict_ratio": np.nan, "verdict": "ok", "why": ""}
    accuracy = ACCURACY["panel" if _is_panel(r) else "single"]
    judged = {**{m: metrics.BY_NAME[m].header.split()[0] for m in accuracy}, **TIMES}
    broken = [f"{side} {judged[c]} is {r.get(f'{c}_{side}')}" for side in ("base", "new")
              for c in judged if r.get(f"status_{side}") == "ok" and not np.isfinite(_number(r.get(f"{c}_{side}")))]
    if broken:
        return {**out, "verdict": "REGRESSION", "why": f"status ok but {'; '.join(broken)}: not a finite number"}
    if r["side"] == "left_only":
        return {**out, "verdict": "REGRESSION", "why": "missing from the new run"}
    if r["side"] == "right_only":
        return {**out, "verdict": "new", "why": "not in the base run"}
    if data_change and not allow_data_change:
        return {**out, "verdict": "REGRESSION", "why": f"the data changed: {data_change}; its numbers are no "
                                                       f"comparison (--allow-data-change if this is expected)"}
    if r["status_base"] == "ok" and r["status_new"] != "ok":
        return {**out, "verdict": "REGRESSION", "why": f"status {r['status_base']} -> {r['status_new']}"}
    if r["status_base"] != "ok" or r["status_new"] != "ok":
        return {**out, "verdict": "ok" if r["status_new"] == "ok" else "not ok",
                "why": f"status {r['status_base']} -> {r['status_new']}"}
    if data_change:
        return {**out, "verdict": "data changed", "why": f"{data_change}: accuracy and time not judged"}
    reasons = []
    chosen_base, chosen_new = r.get("chosen_params_base", ""), r.get("chosen_params_new", "")
    if chosen_base != chosen_new:
        out["why"] = f"selection chose {chosen_new} (was {chosen_base})"
    base_mae, new_mae = r["mae_base"], r["mae_new"]
    out["mae_change_pct"] = 100.0 * (new_mae - base_mae) / base_mae if base_mae else np.nan
    for m in accuracy:
        base, new = _number(r[f"{m}_base"]), _number(r[f"{m}_new"])
        allowed = max(tol.mae_tolerance * abs(base), _seed_noise(r, m))
        if new - base > allowed:
            reasons.append(f"{judged[m]} {base:.4g} -> {new:.4g} (+{new - base:.3g}, allowed +{allowed:.3g})")
    reasons += _distribution_reasons(r, tol)
    for kind, floor in (("fit", tol.min_fit_s), ("predict", tol.min_predict_s)):
        t_base, t_new = r[f"{kind}_time_s_base"], r[f"{kind}_time_s_new"]
        if not (t_base > 0 and t_new > 0):
            continue
        ratio = (t_new / cal_new) / (t_base / cal_base)
        out[f"{kind}_ratio"] = ratio
        if t_base >= floor and ratio > tol.time_ratio:
            reasons.append(f"{kind} time {t_base:.3g} s -> {t_new:.3g} s ({ratio:.2f}x after calibration, "
                           f"allowed {tol.time_ratio:g}x)")
    if reasons:
        out.update(verdict="REGRESSION", why="; ".join(filter(None, [out["why"], *reasons])))
    return out


def _seed_noise(r: dict, m: str) -> float:
    """Two standard errors of the difference of ``m``'s means over seeds (0 for deterministic models)."""
    if not (r["n_seeds_base"] > 1 or r["n_seeds_new"] > 1):
        return 0.0
    return 2.0 * math.sqrt(_var_of_mean(_number(r.get(f"{m}_std_base")), r["n_seeds_base"])
                           + _var_of_mean(_number(r.get(f"{m}_std_new")), r["n_seeds_new"]))


def _distribution_reasons(r: dict, tol: Tolerances) -> list[str]:
    """Why the row's forecast distribution regressed: a worse MSIS, a coverage further from nominal, or none left."""
    base_msis, new_msis = _number(r.get("msis_base")), _number(r.get("msis_new"))
    if not np.isfinite(base_msis):
        return []                              # it had no distribution to lose
    if not np.isfinite(new_msis):
        return [f"MSIS {base_msis:.4g} -> {r.get('msis_new')}: the forecast distribution is gone"]
    reasons = []
    allowed = max(tol.mae_tolerance * abs(base_msis), _seed_noise(r, "msis"))
    if new_msis - base_msis > allowed:
        reasons.append(f"MSIS {base_msis:.4g} -> {new_msis:.4g} (+{new_msis - base_msis:.3g}, allowed +{allowed:.3g})")
    for m in ("coverage_80", "coverage_95"):
        nominal = metrics.BY_NAME[m].nominal
        base, new = _number(r.get(f"{m}_base")), _number(r.get(f"{m}_new"))
        drift = abs(new - nominal) - abs(base - nominal)
        allowed = max(tol.coverage_tolerance, _seed_noise(r, m))
        if np.isfinite(drift) and drift > allowed:
            reasons.append(f"{metrics.BY_NAME[m].header} {base:.3f} -> {new:.3f} (further from {nominal:g} by "
                           f"{drift:.3f}, allowed {allowed:.3f})")
    return reasons


def _var_of_mean(std, n) -> float:
    return 0.0 if n is None or n < 2 or std is None or np.isnan(std) else float(std) ** 2 / n


def render(diff: pd.DataFrame, base_path, new_path) -> str:
    n_bad = int((diff["verdict"] == "REGRESSION").sum())
    n_other_data = int((diff["verdict"] == "data changed").sum())
    body = [[r.dataset, r.label, r.params_text or "-", _f(r.mae_base), _f(r.mae_new),
             _pct(r.mae_change_pct), _f(r.msis_base), _f(r.msis_new), _cover(r.coverage_95_base, r.coverage_95_new),
             _x(r.fit_ratio), _x(r.predict_ratio), r.verdict, r.why]
            for r in diff.sort_values(["verdict", "dataset", "label"], ascending=[True, True, True],
                                      key=lambda s: s.map({"REGRESSION": 0}).fillna(1) if s.name == "verdict" else s)
            .itertuples()]
    table = tabulate(body, headers=["dataset", "model", "params", "MAE base", "MAE new", "MAE change",
                                    "MSIS base", "MSIS new", "cover 95%", "fit time x", "predict time x", "verdict",
                                    "why"],
                     tablefmt="github", disable_numparse=True)
    allowed = f", {n_other_data} on changed data (allowed, not judged)" if n_other_data else ""
    head = (f"Comparing {new_path} against {base_path}: {len(diff)} cells, {n_bad} regressions{allowed}. "
            f"Time ratios are new/base after dividing by each run's calibration time.")
    return f"{head}\n\n{table}\n" + _unchecked_line(diff, base_path, new_path)


def _unchecked_line(diff: pd.DataFrame, base_path, new_path) -> str:
    """Which datasets' data could not be checked, and which input records no fingerprint for them."""
    paths = {"base": str(base_path), "new": str(new_path)}
    lines = []
    for data, rows in diff[diff["data"].str.startswith("not recorded")].groupby("data", sort=True):
        sides = data.removeprefix("not recorded in ").split(" and ")
        whose = " and ".join(dict.fromkeys(paths[side] for side in sides))      # once where BASE is NEW
        lines.append(f"The gate cannot tell whether these datasets hold the same data on both sides ({whose}: no "
                     f"data_hash): {', '.join(sorted(set(rows['dataset'])))}. Their numbers were judged as they are; "
                     f"a results.csv of this bench records the hash.")
    return "".join(f"\n{line}\n" for line in lines)


def _f(v) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4g}"


def _cover(base, new) -> str:
    base, new = _number(base), _number(new)
    if not (np.isfinite(base) or np.isfinite(new)):
        return "-"
    return f"{_f(base)} -> {_f(new)}" if base != new else _f(new)


def _pct(v) -> str:
    return "-" if np.isnan(v) else f"{v:+.2f}%"


def _x(v) -> str:
    return "-" if np.isnan(v) else f"{v:.2f}x"


def main(base_path: str, new_path: str, tol: Tolerances = Tolerances(), *, allow_data_change: bool = False) -> int:
    diff = compare(read_results(base_path), read_results(new_path), tol, allow_data_change=allow_data_change)
    print(render(diff, base_path, new_path))
    return 1 if (diff["verdict"] == "REGRESSION").any() else 0
