"""Evaluate cells: one dataset x one model variant x one seed x one series, walked forward.

A global model (``forecaster.GlobalForecaster``) is walked over a whole panel at once
(``walk_global``): at each origin it is fitted once on every series' training part, and
``evaluate_global`` turns that one walk into one cell result per series, so every table
reads it as it reads per-series cells.

The runner is the only place that times and counts: wall seconds (perf_counter) and
CPU seconds (process_time) around every fit, update and predict call, and the model's
own ``n_params()`` after its last fit. A model's quantiles (``predict_quantiles``, see
``bench.quantiles``) are asked for right after each predict and timed as part of it;
``quantile_time_s`` says how much of the predict time they took. A model that raises, is skipped or returns a
non-finite forecast produces a result row with a status and a reason; it never stops
the run.
"""
from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from bench import conformal, forecaster, metrics
from bench import quantiles as qs
from bench.forecaster import Forecaster, GlobalForecaster, ModelSkipped
from bench.metrics import mase_scales
from bench.splits import WalkForward


@dataclass
class WalkResult:
    """Everything measured while walking one model over one series."""
    origin_positions: np.ndarray            # (n_origins,)
    origin_times: pd.DatetimeIndex          # timestamp of the first forecast point
    forecasts: np.ndarray                   # (n_origins, horizon)
    actuals: np.ndarray                     # (n_origins, horizon)
    mase_scales: np.ndarray                 # (n_origins,) seasonal-naive MAE of each history
    fit_time_s: float = 0.0                 # totals over the walk, wall clock
    fit_cpu_s: float = 0.0
    update_time_s: float = 0.0
    predict_time_s: float = 0.0
    predict_cpu_s: float = 0.0
    n_fits: int = 0
    n_updates: int = 0
    n_params: int | None = None
    fit_infos: list[dict] = field(default_factory=list)   # the model's fit_info() after each fit
    quantiles: np.ndarray | None = None     # (n_origins, horizon, len(LEVELS)); None: no distribution
    quantile_time_s: float = 0.0            # of predict_time_s: the predict_quantiles calls, wall clock
    intervals: str = ""                     # how the quantiles were made (the model's ``intervals``)

    def fit_info(self) -> dict:
        """The fits' descriptions in one dict: numbers averaged over fits, text by its most frequent value."""
        return summarise_fit_infos(self.fit_infos)

    def score(self) -> dict[str, float]:
        """Every per-cell metric of ``bench.metrics`` over all origins and steps, MASE with the stored
        per-origin scales (``metrics.score``).

        MAPE and MASE are NaN where they are undefined (an actual of 0; a constant history,
        whose scale is 0), never infinite. MAE, RMSE and sMAPE are always defined: when one
        is not finite, the forecasts overflowed and ``unscorable`` says so.
        """
        return metrics.score(y_true=self.actuals, y_pred=self.forecasts, scales=self.mase_scales,
                             q_pred=self.quantiles, levels=qs.LEVELS)

    def unscorable(self, scores: dict[str, float]) -> str:
        """Why these scores cannot be stored as an ``ok`` cell ("" when they can)."""
        broken = [f"{name.upper()} = {scores[name]}" for name in metrics.unscorable(scores)]
        if not broken:
            return ""
        return (f"the forecast errors cannot be represented: {', '.join(broken)} (largest |forecast| "
                f"{np.max(np.abs(self.forecasts)):.3g}, largest |actual| {np.max(np.abs(self.actuals)):.3g})")

    def mae(self) -> float:
        return float(np.mean(np.abs(self.actuals - self.forecasts)))


class NonFiniteForecast(RuntimeError):
    pass


def summarise_fit_infos(infos: list[dict]) -> dict:
    """Numbers (not bools) become their mean over fits; anything else its most frequent value.

    Whole numbers (a batch size, the epochs trained) stay whole: one value where every fit
    agrees, else the range ``"32-128"`` they took (a mean batch size of 73.12 is no setting).
    """
    out = {}
    for key in dict.fromkeys(k for info in infos for k in info):
        values = [info[key] for info in infos if key in info]
        if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
               for v in values):
            whole = all(float(v).is_integer() for v in values)
            if whole:
                low, high = int(min(values)), int(max(values))
                out[key] = low if low == high else f"{low}-{high}"
            else:
                out[key] = float(np.mean(values))
        else:
            texts = [str(v) for v in values]
            out[key] = _widest_range(texts) if all(_is_range(t) for t in texts) else max(dict.fromkeys(texts),
                                                                                         key=texts.count)
    return out


def _is_range(text: str) -> bool:
    low, sep, high = text.partition("-")
    return low.isdigit() and (not sep or high.isdigit())


def _widest_range(texts: list[str]) -> int | str:
    """Whole numbers and ranges of them (per-cell summaries) as one: ``"32-64"`` and ``"128"`` make ``"32-128"``."""
    bounds = [int(b) for t in texts for b in t.split("-")]
    return min(bounds) if min(bounds) == max(bounds) else f"{min(bounds)}-{max(bounds)}"


def _timed(call: Callable, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    out = call(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def walk_forward(model: Forecaster, y: pd.Series, split: WalkForward,
                 season_length: int = 1, span: str = "test", quantiles: bool = True) -> WalkResult:
    """Walk ``model`` over ``y``'s test span (or its validation span); at each origin it sees only ``y`` before the origin.

    Every slice handed to the model is a copy, so a model cannot reach the future through
    a view of the parent series.
    """
    origins = list(split.origins(len(y), span))
    values = y.to_numpy(dtype=float)
    h = split.horizon
    res = WalkResult(
        origin_positions=np.array([o.position for o in origins]),
        origin_times=y.index[[o.position for o in origins]],
        forecasts=np.empty((len(origins), h)),
        actuals=np.stack([values[o.position:o.position + h] for o in origins]),
        mase_scales=mase_scales([values[o.train_start:o.position] for o in origins],
                                season_length, n_origins=len(origins)),
    )
    seen_until = None
    for i, origin in enumerate(origins):
        if origin.refit:
            train = y.iloc[origin.train_start:origin.position].copy()
            _, wall, cpu = _timed(model.fit, train)
            res.fit_time_s += wall
            res.fit_cpu_s += cpu
            res.n_fits += 1
            if hasattr(model, "fit_info"):
                res.fit_infos.append(dict(model.fit_info()))
        else:
            revealed = y.iloc[seen_until:origin.position].copy()
            _, wall, _ = _timed(model.update, revealed)
            res.update_time_s += wall
            res.n_updates += 1
        seen_until = origin.position
        forecast, wall, cpu = _timed(model.predict, h)
        res.predict_time_s += wall
        res.predict_cpu_s += cpu
        forecast = np.asarray(forecast, dtype=float).reshape(-1)
        if forecast.shape != (h,):
            raise ValueError(f"predict({h}) returned shape {forecast.shape}")
        if not np.all(np.isfinite(forecast)):
            raise NonFiniteForecast(f"non-finite forecast at origin {y.index[origin.position]}")
        res.forecasts[i] = forecast
        if quantiles and hasattr(model, "predict_quantiles"):
            q, wall, cpu = _timed(model.predict_quantiles, h, qs.LEVELS)
            _add_quantile_time(res, wall, cpu)
            if res.quantiles is None:
                res.quantiles = np.empty((len(origins), h, len(qs.LEVELS)))
            res.quantiles[i] = _checked_quantiles(q, h, y.index[origin.position])
    res.n_params = int(model.n_params())
    res.intervals = interval_method(model) if quantiles else ""
    return res


def interval_method(model) -> str:
    """How ``model`` makes its quantiles, in a few words ("" when it makes none)."""
    if not hasattr(model, "predict_quantiles"):
        return ""
    return str(getattr(model, "intervals", "") or "the model's own (predict_quantiles)")


def _add_quantile_time(res: WalkResult, wall: float, cpu: float) -> None:
    res.predict_time_s += wall
    res.predict_cpu_s += cpu
    res.quantile_time_s += wall


def _checked_quantiles(q, horizon: int, origin) -> np.ndarray:
    try:
        return qs.checked(q, horizon, qs.LEVELS)
    except ValueError as exc:
        raise ValueError(f"{exc} at origin {origin}") from None


def walk_global(model: GlobalForecaster, panel: dict[str, pd.Series], split: WalkForward,
                season_length: int = 1, span: str = "test", quantiles: bool = True) -> dict[str, WalkResult]:
    """Walk a global ``model`` over every series of ``panel`` at once; one WalkResult per series.

    The k-th origin of every series is visited together (a dataset's split gives each series
    the same number of origins, refits at the same k): one ``fit`` on every series' history
    before its own origin, or one ``update`` revealing each series' new values, then one
    ``predict``. Each slice is a copy, so the model cannot reach a series' future through a view.

    Timing: the one fit (and predict) covers the whole panel, so each series' row carries its
    share, the panel's time divided by the number of series: the panel table's "fit time per
    series" is then what the fit cost per series, and the sum over rows is the fit's time. The
    whole fit's time is in each row's ``fit_info`` (``panel_fit_s``, ``panel_fit_cpu_s``), and
    ``n_params`` is the shared count, the same on every row (counted once, not per series).
    """
    ids = list(panel)
    origins = {sid: list(split.origins(len(y), span)) for sid, y in panel.items()}
    n_origins = {len(o) for o in origins.values()}
    if len(n_origins) != 1:
        raise ValueError(f"a global model needs the same number of origins on every series, got {sorted(n_origins)}")
    h, n = split.horizon, len(ids)
    results = {}
    for sid, y in panel.items():
        values = y.to_numpy(dtype=float)
        o = origins[sid]
        results[sid] = WalkResult(
            origin_positions=np.array([x.position for x in o]),
            origin_times=y.index[[x.position for x in o]],
            forecasts=np.empty((len(o), h)),
            actuals=np.stack([values[x.position:x.position + h] for x in o]),
            mase_scales=mase_scales([values[x.train_start:x.position] for x in o], season_length,
                                    n_origins=len(o)))
    seen_until = dict.fromkeys(ids)
    fit_walls, fit_cpus = [], []
    for k in range(n_origins.pop()):
        if origins[ids[0]][k].refit:
            train = {sid: y.iloc[origins[sid][k].train_start:origins[sid][k].position].copy()
                     for sid, y in panel.items()}
            _, wall, cpu = _timed(model.fit, train)
            fit_walls.append(wall)
            fit_cpus.append(cpu)
            info = dict(model.fit_info()) if hasattr(model, "fit_info") else {}
            info.update(panel_fit_s=wall, panel_fit_cpu_s=cpu, panel_series=n)
            for res in results.values():
                res.fit_time_s += wall / n
                res.fit_cpu_s += cpu / n
                res.n_fits += 1
                res.fit_infos.append(info)
        else:
            revealed = {sid: y.iloc[seen_until[sid]:origins[sid][k].position].copy() for sid, y in panel.items()}
            _, wall, _ = _timed(model.update, revealed)
            for res in results.values():
                res.update_time_s += wall / n
                res.n_updates += 1
        seen_until = {sid: origins[sid][k].position for sid in ids}
        forecasts, wall, cpu = _timed(model.predict, h)
        for sid in ids:
            res = results[sid]
            res.predict_time_s += wall / n
            res.predict_cpu_s += cpu / n
            forecast = np.asarray(forecasts[sid], dtype=float).reshape(-1)
            if forecast.shape != (h,):
                raise ValueError(f"predict({h}) returned shape {forecast.shape} for series {sid!r}")
            res.forecasts[k] = forecast      # a non-finite forecast fails only its own series' cell
        if quantiles and hasattr(model, "predict_quantiles"):
            answer, wall, cpu = _timed(model.predict_quantiles, h, qs.LEVELS)
            for sid in ids:
                res = results[sid]
                _add_quantile_time(res, wall / n, cpu / n)
                if res.quantiles is None:
                    res.quantiles = np.empty((len(res.forecasts), h, len(qs.LEVELS)))
                if not np.all(np.isfinite(res.forecasts[k])):
                    res.quantiles[k] = np.nan        # its cell fails on the forecast already
                    continue
                res.quantiles[k] = _checked_quantiles(answer[sid], h, f"{panel[sid].index[origins[sid][k].position]} "
                                                      f"of series {sid!r}")
    n_params = int(model.n_params())
    for res in results.values():
        res.n_params = n_params
        res.intervals = interval_method(model) if quantiles else ""
    return results


@dataclass(frozen=True)
class Cell:
    """One unit of work, fully described by data: it can be sent to another process."""
    dataset: str
    model: str                  # registry name
    label: str                  # how tables name this variant
    params: dict = field(hash=False)
    seed: int
    split: WalkForward
    season_length: int
    span: str = "test"          # which span the walk covers: "test", or "validation" (selection)
    # How the variant is chosen among its suite entry's grid: "" (it is not: every variant
    # is a row), "validation" or "test"; ``group`` names that entry in the tables.
    selection: str = ""
    group: str = ""
    series: str = ""            # the series' id in its panel; "" for a single-series dataset
    # How the cell's quantiles are made: "" (the model's own, else conformal), "conformal"
    # (conformal even for a model with its own) or "none" (point forecasts only).
    intervals: str = ""
    # The conformal calibration (``bench.conformal.Calibration``) from this variant's validation
    # walk, set once that walk ran; None: the model's own quantiles, or none.
    calibration: object = field(default=None, hash=False, compare=False)
    # Run settings that change no result (a TensorBoard directory): not part of the
    # variant's name, nor of its key; passed only to models whose constructor takes them.
    options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> tuple:
        return (self.dataset, self.label, params_text(self.params), self.seed, self.span, self.series)


def cell_key(cell: Cell, *, code_version: str, data_hash: str) -> str:
    """Everything that determines a cell's result; equal keys mean the cell need not run again."""
    split = cell.split.as_dict()
    payload = json.dumps([cell.dataset, cell.model, cell.label, cell.params, cell.seed, split,
                          cell.season_length, cell.span, cell.selection, cell.group, code_version, data_hash]
                         # A single series' key is what it was before panels existed.
                         + ([cell.series] if cell.series else [])
                         + ([f"intervals={cell.intervals}"] if cell.intervals else []), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def params_text(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items()))


@dataclass
class CellResult:
    cell: Cell
    status: str                     # ok | failed | skipped
    reason: str = ""
    walk: WalkResult | None = None
    scores: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0


def _built(cell: Cell):
    """The cell's model, constructed from its parameters, with its libraries loaded, wrapped in
    conformal intervals when the cell carries a calibration."""
    model = forecaster.build(cell.model, {**cell.params, **cell.options}, season_length=cell.season_length,
                             seed=cell.seed, horizon=cell.split.horizon)
    # Loading a framework (seconds for TensorFlow) is a cost of the process, not of
    # training: a model may do it here, untimed, instead of inside its first fit.
    getattr(model, "load_libraries", lambda: None)()
    if cell.calibration is not None:
        wrapper = conformal.GlobalConformal if forecaster.is_global(cell.model) else conformal.Conformal
        model = wrapper(model, cell.calibration, season_length=cell.season_length, window=cell.split.window)
    return model


def _asks_quantiles(cell: Cell) -> bool:
    """Whether the walk asks for quantiles: not with ``intervals = "none"``, and with ``"conformal"`` only
    once a calibration is there (never the model's own instead)."""
    return cell.intervals == "" or (cell.intervals == "conformal" and cell.calibration is not None)


def wants_calibration(cell: Cell) -> bool:
    """Whether the cell's test walk needs a conformal calibration from its variant's validation walk."""
    return cell.intervals == "conformal" or (cell.intervals == "" and not forecaster.has_quantiles(cell.model))


def calibration_key(dataset: str, model: str, params_text: str, seed: int, selection: str, group: str,
                    label: str) -> tuple:
    """What a test cell and the validation walks it is calibrated on share: the variant and seed, not
    the series. A validation selection's variants go by their group, the label their chosen test cell carries."""
    return (dataset, model, params_text, int(seed), group if selection == "validation" else label)


def cell_calibration_key(cell: Cell) -> tuple:
    return calibration_key(cell.dataset, cell.model, params_text(cell.params), cell.seed, cell.selection,
                           cell.group, cell.label)


def evaluate_cell(cell: Cell, y: pd.Series) -> CellResult:
    started = time.perf_counter()
    try:
        walk = walk_forward(_built(cell), y, cell.split, cell.season_length, cell.span, quantiles=_asks_quantiles(cell))
    except ModelSkipped as exc:
        return CellResult(cell, "skipped", str(exc), wall_time_s=time.perf_counter() - started)
    except Exception as exc:  # one failing model never stops the run
        return CellResult(cell, "failed", _one_line(exc), wall_time_s=time.perf_counter() - started)
    scores = walk.score()
    unscorable = walk.unscorable(scores)
    if unscorable:
        return CellResult(cell, "failed", unscorable, wall_time_s=time.perf_counter() - started)
    return CellResult(cell, "ok", walk=walk, scores=scores, wall_time_s=time.perf_counter() - started)


def evaluate_global(cells: list[Cell], panel: dict[str, pd.Series]) -> Iterator[CellResult]:
    """The cells of one global walk (one dataset, variant, seed and span; any of its series),
    from one walk over the whole ``panel``.

    The model is fitted on every series of the panel, also when only some of its cells are
    asked for (a resumed run), so a cell's result never depends on which others ran before.
    A failure of the fit fails (or skips) every cell; a non-finite forecast only its series'.
    Each cell's ``wall_time_s`` is its share of the walk's wall time.
    """
    started = time.perf_counter()
    first = cells[0]
    try:
        walks = walk_global(_built(first), panel, first.split, first.season_length, first.span,
                            quantiles=_asks_quantiles(first))
    except ModelSkipped as exc:
        share = (time.perf_counter() - started) / len(cells)
        yield from (CellResult(c, "skipped", str(exc), wall_time_s=share) for c in cells)
        return
    except Exception as exc:  # one failing model never stops the run
        share = (time.perf_counter() - started) / len(cells)
        yield from (CellResult(c, "failed", _one_line(exc), wall_time_s=share) for c in cells)
        return
    share = (time.perf_counter() - started) / len(panel)
    for cell in cells:
        walk = walks[cell.series]
        if not np.all(np.isfinite(walk.forecasts)):
            yield CellResult(cell, "failed", "NonFiniteForecast: the model forecast a non-finite value",
                             wall_time_s=share)
            continue
        scores = walk.score()
        unscorable = walk.unscorable(scores)
        if unscorable:
            yield CellResult(cell, "failed", unscorable, wall_time_s=share)
            continue
        yield CellResult(cell, "ok", walk=walk, scores=scores, wall_time_s=share)


def _one_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" [{where.filename.rsplit('/', 1)[-1]}:{where.lineno}]" if where else ""
    return f"{type(exc).__name__}: {message[0] if message else ''}{place}"


def run_cells(cells: Iterable[Cell], load: Callable[[str], dict[str, pd.Series]]) -> Iterator[CellResult]:
    """Evaluate cells one after another, loading each dataset once (``load`` gives its series by id,
    as ``bench.data.load_panel``: ``{"": y}`` for a single series)."""
    panels: dict[str, dict[str, pd.Series]] = {}
    cells = list(cells)
    done: set[int] = set()
    for i, cell in enumerate(cells):
        if i in done:
            continue
        if cell.dataset not in panels:
            panels[cell.dataset] = load(cell.dataset)
        if forecaster.is_global(cell.model):
            walk = [j for j in range(i, len(cells)) if global_walk_key(cells[j]) == global_walk_key(cell)]
            done.update(walk)
            yield from evaluate_global([cells[j] for j in walk], panels[cell.dataset])
        else:
            yield evaluate_cell(cell, panels[cell.dataset][cell.series])


def global_walk_key(cell: Cell) -> tuple:
    """What the cells of one global walk share: everything but the series."""
    return (cell.dataset, cell.model, cell.label, params_text(cell.params), cell.seed, cell.span,
            cell.selection, cell.group, cell.intervals)
