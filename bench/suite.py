"""Suites: which datasets, which model variants, how many seeds. TOML, expanded into cells.

    name = "default"
    seeds = 3                          # repetitions of seeded models
    [[datasets]]
    name = "air_passengers"            # split from the catalog; override any field here
    test_size = 24
    [[models]]
    name = "lstm_torch"                # registry name
    label = "lstm_small"               # optional: how tables name it
    params = { units = [32, 64], lookback = 24 }   # a list expands into a grid
    datasets = ["air_passengers"]      # optional: only these datasets
    select = "validation"              # optional: keep only the grid's best variant (below)

Model parameters are scalars; a list always means "one variant per value". Without
``select`` every variant of a grid is a row of the tables. With ``select = "validation"``
every variant is walked over the validation span before the test span (same protocol),
and only the one with the lowest validation MAE (mean over seeds; ties: fewer
parameters) is evaluated on the test span, under the entry's label. On a panel the choice
is one per dataset: the mean is over its series and seeds, and a variant is eligible only
when every one of them finished ok. ``select = "test"``
picks the variant with the lowest test MAE instead: for exploration only, the tables
mark it "chosen on the test span (optimistic)" and the overall ranking leaves it out.

A suite file is checked against this schema of types before anything runs (UTF-8 text;
``datasets`` and ``models`` arrays of tables; names and labels strings; split fields
integers; parameters scalars or non-empty lists of distinct scalars), then every
parameter against its model's constructor (``check_models``). Dataset names are plain
file names, and on one dataset a table row's name belongs to one entry. Each violation
is one ``BenchError`` naming the file, the entry and the value.
"""
from __future__ import annotations

import codecs
import dataclasses
import datetime
import itertools
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from bench import data, forecaster
from bench.data import Dataset, get_dataset
from bench.errors import BenchError
from bench.runner import Cell, params_text, wants_calibration
from bench.splits import WalkForward

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
SPLIT_FIELDS = {f.name for f in dataclasses.fields(WalkForward)}
SELECT_MODES = ("validation", "test")
INTERVAL_MODES = ("conformal", "none")
# A label names files (TensorBoard folders) and markdown table cells: no path separators, no '|'.
LABEL_RE = re.compile(r"[^/\\|\x00-\x1f]+")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str | None       # None: the variant is named by the model and its parameters
    params: dict
    datasets: tuple[str, ...] | None
    select: str = ""        # "", "validation" or "test": keep only the grid's best variant
    intervals: str = ""     # "" (the model's own quantiles, else conformal), "conformal" or "none"

    @property
    def group(self) -> str:
        """How the tables name the entry whose best variant a selection keeps."""
        return self.label or self.name


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    seeds: int
    datasets: dict[str, tuple[Dataset, WalkForward]]
    models: tuple[ModelSpec, ...]
    source: str             # the suite file's text, stored with the run
    where: str = ""         # the suite file, for messages


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def load_suite(name_or_path: str) -> Suite:
    path = Path(name_or_path)
    if not path.is_file():
        path = SUITES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise BenchError(f"--suite: no suite {name_or_path!r} (not a file, and not one of "
                         f"{', '.join(suite_names())})")
    text = read_toml_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
    return parse_suite(raw, source=text, where=str(path))


def read_toml_text(path: Path) -> str:
    """A TOML file's text; TOML is UTF-8 by definition, so anything else is one clear line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BenchError(f"--suite: cannot read {path} ({exc.strerror or exc})") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BenchError(f"{path}: UTF-16 text; a suite file must be UTF-8 (save it as UTF-8)")
    if b"\x00" in raw:
        raise BenchError(f"{path}: a binary file, not a TOML suite (or UTF-16 text without a byte order mark)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         f"a suite file must be UTF-8 (save it as UTF-8)") from None


def parse_suite(raw: dict, *, source: str, where: str) -> Suite:
    """Check every key and value's type before anything runs: a wrong type is one line naming it."""
    unknown = set(raw) - {"name", "description", "seeds", "datasets", "models"}
    if unknown:
        raise BenchError(f"{where}: unknown suite key(s) {', '.join(sorted(unknown))}")
    name = _typed(raw.get("name"), str, where, "name")
    if name is not None and not data.is_plain_name(name):
        raise BenchError(f"{where}: name {name!r} is not a usable suite name (letters, digits, '_', '.', '-')")
    description = _typed(raw.get("description", ""), str, where, "description")
    seeds = raw.get("seeds", 1)
    if not _is_int(seeds) or seeds < 1:
        raise BenchError(f"{where}: seeds must be a positive integer, got {seeds!r}")
    datasets = {}
    for entry in _tables(raw, "datasets", where, example='[[datasets]]\nname = "air_passengers"'):
        entry = dict(entry)
        ds_name = entry.pop("name", None)
        if ds_name is None:
            raise BenchError(f"{where}: a [[datasets]] entry has no name")
        if not isinstance(ds_name, str):
            raise BenchError(f"{where}: a [[datasets]] name must be a string, got {_kind(ds_name)} ({ds_name!r})")
        if ds_name in datasets:
            raise BenchError(f"{where}: dataset {ds_name!r} is listed twice")
        bad = set(entry) - SPLIT_FIELDS
        if bad:
            raise BenchError(f"{where}: dataset {ds_name!r}: unknown key(s) {', '.join(sorted(bad))} "
                             f"(split fields: {', '.join(sorted(SPLIT_FIELDS))})")
        for key, value in entry.items():
            if not _is_int(value):
                raise BenchError(f"{where}: dataset {ds_name!r}: {key} must be an integer, got {_kind(value)} "
                                 f"({value!r})")
        try:
            ds = get_dataset(ds_name)
        except BenchError as exc:
            raise BenchError(f"{where}: {exc}") from None
        try:
            split = dataclasses.replace(ds.split, **entry)
        except ValueError as exc:
            raise BenchError(f"{where}: dataset {ds_name!r}: {exc}") from None
        datasets[ds_name] = (ds, split)
    models = []
    for entry in _tables(raw, "models", where, example='[[models]]\nname = "naive"'):
        models.append(_model_spec(dict(entry), datasets, where))
    if not datasets or not models:
        raise BenchError(f"{where}: a suite needs at least one [[datasets]] and one [[models]] entry")
    _check_groups(models, datasets, where)
    check_variants(models, datasets, where)
    default_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(where).stem).strip("_.-") or "suite"
    return Suite(name or default_name, description, seeds, datasets, tuple(models), source, where)


def _model_spec(entry: dict, datasets: dict, where: str) -> ModelSpec:
    name = entry.pop("name", None)
    if not isinstance(name, str):
        raise BenchError(f"{where}: a [[models]] entry needs a name (a string), got {_kind(name)}")
    try:
        forecaster.get_entry(name)
    except KeyError as exc:
        raise BenchError(f"{where}: {exc.args[0]}") from None
    at = f"{where}: model {name!r}"
    restrict = entry.pop("datasets", None)
    if restrict is not None:
        if not isinstance(restrict, list) or not all(isinstance(d, str) for d in restrict) or not restrict:
            raise BenchError(f"{at}: datasets must be a list of dataset names, e.g. datasets = [\"air_passengers\"], "
                             f"got {restrict!r}")
        missing = sorted(set(restrict) - set(datasets))
        if missing:
            raise BenchError(f"{at} names dataset(s) {', '.join(missing)} that the suite does not list")
    label = _typed(entry.pop("label", None), str, at, "label")
    if label is not None and not LABEL_RE.fullmatch(label):
        raise BenchError(f"{at}: label {label!r} is not a usable name (no '/', '\\', '|' or control characters)")
    params = entry.pop("params", {})
    if not isinstance(params, dict):
        raise BenchError(f"{at}: params must be a table, e.g. params = {{ p = 1, q = [0, 1] }}, "
                         f"got {_kind(params)} ({params!r})")
    for key, value in params.items():
        _check_param_value(f"{at}: params.{key}", value)
    select = _typed(entry.pop("select", ""), str, at, "select")
    intervals = _typed(entry.pop("intervals", ""), str, at, "intervals")
    if entry:
        raise BenchError(f"{at}: unknown key(s) {', '.join(sorted(entry))}")
    if select and select not in SELECT_MODES:
        raise BenchError(f"{at}: select must be one of {', '.join(SELECT_MODES)}, got {select!r}")
    if select and len(expand_grid(params)) < 2:
        raise BenchError(f"{at}: select = {select!r} needs a grid to choose from (a list of values in params)")
    if intervals and intervals not in INTERVAL_MODES:
        raise BenchError(f"{at}: intervals must be one of {', '.join(INTERVAL_MODES)} (or absent: the model's own "
                         f"quantiles, else conformal ones), got {intervals!r}")
    return ModelSpec(name, label, params, tuple(restrict) if restrict else None, select, intervals)


def _check_param_value(at: str, value) -> None:
    """A parameter is a scalar (string, integer, float, boolean) or a non-empty list of distinct scalars."""
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise BenchError(f"{at} is an empty list; a grid needs at least one value")
    for v in values:
        if isinstance(v, (list, dict)) or not isinstance(v, (str, int, float)):
            raise BenchError(f"{at}: {_kind(v)} is not a parameter value (a string, integer, float or boolean"
                             + (", or a list of them)" if not isinstance(value, list) else ")"))
        if isinstance(v, float) and not math.isfinite(v):
            raise BenchError(f"{at}: {v!r} is not a finite number")
    keys = [(type(v), v) for v in values]
    if len(set(keys)) < len(keys):
        raise BenchError(f"{at} lists a value twice: {value!r}")


def _tables(raw: dict, key: str, where: str, *, example: str) -> list[dict]:
    """``raw[key]`` as an array of tables, which is what ``[[key]]`` makes in TOML."""
    value = raw.get(key, [])
    if isinstance(value, dict):
        raise BenchError(f"{where}: {key} must be an array of tables ([[{key}]], one per entry), "
                         f"not a table ([{key}])")
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        shown = example.replace("\n", " then ")
        raise BenchError(f"{where}: {key} must be [[{key}]] tables, one per entry ({shown}), "
                         f"got {_kind(value)}: {value!r}"[:300])
    return value


def _typed(value, kind: type, at: str, what: str):
    """``value`` itself when it is absent (None) or of ``kind``; else one line naming both types."""
    if value is not None and not isinstance(value, kind):
        raise BenchError(f"{at}: {what} must be {_kind(kind())}, got {_kind(value)} ({value!r})")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value) -> str:
    """How an error names a TOML value's type."""
    if isinstance(value, bool):
        return "a boolean"
    for types, text in ((str, "a string"), (int, "an integer"), (float, "a float"), (dict, "a table"),
                        (list, "an array"), ((datetime.date, datetime.time), "a date or time")):
        if isinstance(value, types):
            return text
    return "nothing" if value is None else type(value).__name__


def _check_groups(models: list[ModelSpec], datasets: dict, where: str) -> None:
    """A selecting entry's label names one row per dataset: no other entry may produce it."""
    for ds_name in datasets:
        here = [m for m in models if m.datasets is None or ds_name in m.datasets]
        groups = [m.group for m in here if m.select]
        clash = sorted({g for g in groups
                        if groups.count(g) > 1 or any(not m.select and m.group == g for m in here)})
        if clash:
            raise BenchError(f"{where}: dataset {ds_name!r}: more than one model entry is named "
                             f"{', '.join(map(repr, clash))}; give each entry with select a label of its own")


def check_variants(models, datasets, where: str) -> None:
    """One name, one variant: on a dataset, a table row's name belongs to one model and one set of parameters.

    A label may carry other parameters on other datasets (``arima`` tuned per series is one
    row of the overall table), but two entries naming the same row of one dataset would
    mix two models in its mean, and two identical entries would store every cell twice.
    """
    for ds_name in datasets:
        seen: dict[tuple[str, str], tuple] = {}
        for i, spec in enumerate(m for m in models if m.datasets is None or ds_name in m.datasets):
            grid = expand_grid(spec.params)
            rows = [("validation" if spec.select == "validation" else "test", variant_label(spec, p),
                     params_text(p)) for p in grid]
            if spec.select == "validation":
                rows.append(("test", spec.group, "(chosen)"))     # the chosen variant's test row
            for span, label, text in rows:
                first = seen.setdefault((span, label), (i, spec.name, text))
                if first != (i, spec.name, text):
                    raise BenchError(f"{where}: dataset {ds_name!r}: two model entries make the row {label!r} "
                                     f"({first[1]} {first[2] or '(defaults)'} and {spec.name} "
                                     f"{text or '(defaults)'}); give each entry a label of its own")


def expand_grid(params: dict) -> list[dict]:
    keys = list(params)
    axes = [v if isinstance(v, list) else [v] for v in params.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]


def select(suite: Suite, *, datasets: list[str] | None = None, models: list[str] | None = None) -> Suite:
    """Keep only the named datasets and models (by registry name or label)."""
    if datasets:
        unknown = sorted(set(datasets) - set(suite.datasets))
        if unknown:
            raise BenchError(f"--dataset: {', '.join(unknown)} not in suite {suite.name!r} "
                             f"(it has: {', '.join(suite.datasets)})")
        suite = dataclasses.replace(suite, datasets={k: v for k, v in suite.datasets.items()
                                                      if k in datasets})
    if models:
        known = {m.name for m in suite.models} | {m.label for m in suite.models if m.label}
        unknown = []
        for name in dict.fromkeys(models):
            if name in known:
                continue
            try:
                forecaster.get_entry(name)
            except KeyError:
                unknown.append(name)
        if unknown:
            raise BenchError(f"--model: {', '.join(unknown)} is neither a registered model nor in suite "
                             f"{suite.name!r} (registered: {', '.join(sorted(forecaster.REGISTRY))}; "
                             f"the suite has: {', '.join(sorted(known))})")
        kept = [m for m in suite.models if m.name in models or m.label in models]
        suite = dataclasses.replace(suite, models=tuple(kept + _defaults_for_uncovered(kept, models, suite)))
        check_variants(suite.models, suite.datasets, f"--model with suite {suite.name!r}")
    return suite


def _defaults_for_uncovered(kept: list[ModelSpec], names: list[str], suite: Suite) -> list[ModelSpec]:
    """Registered models named with -m that the suite does not configure for some dataset.

    Nothing named on the command line is dropped silently: on every dataset where no kept
    entry covers it, the model runs with its automatic defaults (its constructor's own;
    a model that cannot handle the series is then a ``skipped`` row with its reason).
    """
    added = []
    for name in dict.fromkeys(names):
        if name not in forecaster.REGISTRY:
            continue        # a label: it names exactly the entries that carry it
        covering = [m for m in kept if m.name == name]
        if any(m.datasets is None for m in covering):
            continue
        covered = {d for m in covering for d in m.datasets}
        missing = tuple(d for d in suite.datasets if d not in covered)
        if missing:
            # The model's name as its label: one row of the overall table across datasets,
            # whichever entry configured it where.
            added.append(ModelSpec(name, name, {}, missing))
    return added


# The models every table is relative to: the overall relative MAE and the cost plot divide by
# seasonal naive's MAE, the per-dataset tables by naive's. They join every run (unless the
# user opts out), so that a run of one model still has its yardsticks.
REFERENCES = ("seasonal_naive", "naive")


def with_references(suite: Suite) -> tuple[Suite, list[str]]:
    """The suite with ``REFERENCES`` added on every dataset where no entry runs them, and the
    names of those added.

    An entry of the suite that runs a reference (whatever its label or parameters) keeps it;
    an added one is the model with its defaults, as ``[[models]] name = "naive"`` in a suite
    file would make it, so its cells are those of the suites that list it.
    """
    added, models = [], list(suite.models)
    for name in REFERENCES:
        covering = [m for m in models if m.name == name]
        if any(m.datasets is None for m in covering):
            continue
        covered = {d for m in covering for d in m.datasets}
        missing = tuple(d for d in suite.datasets if d not in covered)
        if not missing:
            continue
        models.append(ModelSpec(name, None, {}, None if len(missing) == len(suite.datasets) else missing))
        added.append(name)
    if not added:
        return suite, []
    suite = dataclasses.replace(suite, models=tuple(models))
    check_variants(suite.models, suite.datasets, f"suite {suite.name!r} with its references")
    return suite, added


def cells(suite: Suite, *, seeds: int | None = None, series: Mapping[str, Sequence[str]] | None = None) -> list[Cell]:
    """Every (dataset, variant, seed, series) of the suite; deterministic models run one seed.

    ``series`` gives each panel's series ids (``bench.data.load_panel``); a dataset it does
    not name is a single series (id ""). The series of one (variant, seed) follow one another,
    in the panel's order, so that the executor can send them to a worker in chunks.
    Variants of a ``select = "validation"`` entry are validation-span cells; the test cell
    of the variant they choose is made after they ran (``bench.selection.chosen_cells``).
    A test cell whose model makes no distribution of its own (or whose entry says
    ``intervals = "conformal"``) gets a calibration walk too: the same variant over the
    validation span, with no selection (``bench.conformal``); a selection's variants
    already have one.
    """
    n_seeds = seeds or suite.seeds
    out = []
    for ds_name, (ds, split) in suite.datasets.items():
        ids = list((series or {}).get(ds_name, [""]))
        for spec in suite.models:
            if spec.datasets is not None and ds_name not in spec.datasets:
                continue
            entry = forecaster.get_entry(spec.name)
            span = "validation" if spec.select == "validation" else "test"
            for params in expand_grid(spec.params):
                for seed in range(n_seeds if entry.seeded else 1):
                    cells = [Cell(ds_name, spec.name, variant_label(spec, params), params, seed,
                                  split, ds.season_length, span=span, selection=spec.select,
                                  group=spec.group if spec.select else "", series=sid, intervals=spec.intervals)
                             for sid in ids]
                    if span == "test" and wants_calibration(cells[0]):
                        cells = [dataclasses.replace(c, span="validation", selection="", group="") for c in cells] + cells
                    out += cells
    return out


def variant_label(spec: ModelSpec, params: dict) -> str:
    """The name tables give a variant: it identifies the variant across datasets.

    Unlabelled: the model and its parameters, ``arima (d=1 p=2 q=2)``. Labelled: the
    label alone, so one label can carry per-dataset settings (``arima`` tuned for each
    series is one row of the overall table), plus the values of the grid's list axes,
    which tell its variants apart: ``lstm_grid (units=16)``.
    """
    if spec.label is None:
        return f"{spec.name} ({params_text(params)})" if params else spec.name
    axes = {k: params[k] for k, v in spec.params.items() if isinstance(v, list)}
    return f"{spec.label} ({params_text(axes)})" if axes else spec.label


def check_models(suite: Suite) -> None:
    """Fail before running anything when a variant names a parameter its model lacks, or gives
    one a value of the wrong type (``forecaster.check_params``).

    A model whose module cannot be imported is not checked here: its cells fail with the
    import error as their reason, and the other models still run.
    """
    where = suite.where or f"suite {suite.name!r}"
    for spec in suite.models:
        for params in expand_grid(spec.params):
            try:
                forecaster.check_params(spec.name, params)
            except (TypeError, ValueError) as exc:
                raise BenchError(f"{where}: {exc}") from None
            except ImportError:
                break
