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
parameters) is evaluated on the test span, under the entry's label. ``select = "test"``
picks the variant with the lowest test MAE instead: for exploration only, the tables
mark it "chosen on the test span (optimistic)" and the overall ranking leaves it out.
"""
from __future__ import annotations

import dataclasses
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench import forecaster
from bench.data import Dataset, get_dataset
from bench.errors import BenchError
from bench.runner import Cell, params_text
from bench.splits import WalkForward

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
SPLIT_FIELDS = {f.name for f in dataclasses.fields(WalkForward)}
SELECT_MODES = ("validation", "test")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str | None       # None: the variant is named by the model and its parameters
    params: dict
    datasets: tuple[str, ...] | None
    select: str = ""        # "", "validation" or "test": keep only the grid's best variant

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


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def load_suite(name_or_path: str) -> Suite:
    path = Path(name_or_path)
    if not path.is_file():
        path = SUITES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise BenchError(f"--suite: no suite {name_or_path!r} (not a file, and not one of "
                         f"{', '.join(suite_names())})")
    text = path.read_text()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
    return parse_suite(raw, source=text, where=str(path))


def parse_suite(raw: dict, *, source: str, where: str) -> Suite:
    unknown = set(raw) - {"name", "description", "seeds", "datasets", "models"}
    if unknown:
        raise BenchError(f"{where}: unknown suite key(s) {', '.join(sorted(unknown))}")
    seeds = raw.get("seeds", 1)
    if not isinstance(seeds, int) or seeds < 1:
        raise BenchError(f"{where}: seeds must be a positive integer, got {seeds!r}")
    datasets = {}
    for entry in raw.get("datasets", []):
        entry = dict(entry)
        name = entry.pop("name", None)
        if name is None:
            raise BenchError(f"{where}: a [[datasets]] entry has no name")
        bad = set(entry) - SPLIT_FIELDS
        if bad:
            raise BenchError(f"{where}: dataset {name!r}: unknown key(s) {', '.join(sorted(bad))} "
                             f"(split fields: {', '.join(sorted(SPLIT_FIELDS))})")
        ds = get_dataset(name)
        try:
            split = dataclasses.replace(ds.split, **entry)
        except ValueError as exc:
            raise BenchError(f"{where}: dataset {name!r}: {exc}") from None
        datasets[name] = (ds, split)
    models = []
    for entry in raw.get("models", []):
        entry = dict(entry)
        name = entry.pop("name", None)
        try:
            forecaster.get_entry(str(name))
        except KeyError as exc:
            raise BenchError(f"{where}: {exc.args[0]}") from None
        restrict = entry.pop("datasets", None)
        if restrict is not None:
            missing = sorted(set(restrict) - set(datasets))
            if missing:
                raise BenchError(f"{where}: model {name!r} names dataset(s) {', '.join(missing)} "
                                 f"that the suite does not list")
        label = entry.pop("label", None)
        params = entry.pop("params", {})
        select = entry.pop("select", "")
        if entry:
            raise BenchError(f"{where}: model {name!r}: unknown key(s) {', '.join(sorted(entry))}")
        if select and select not in SELECT_MODES:
            raise BenchError(f"{where}: model {name!r}: select must be one of {', '.join(SELECT_MODES)}, "
                             f"got {select!r}")
        if select and len(expand_grid(params)) < 2:
            raise BenchError(f"{where}: model {name!r}: select = {select!r} needs a grid to choose from "
                             f"(a list of values in params)")
        models.append(ModelSpec(name, label, params, tuple(restrict) if restrict else None, select))
    if not datasets or not models:
        raise BenchError(f"{where}: a suite needs at least one [[datasets]] and one [[models]] entry")
    _check_groups(models, datasets, where)
    return Suite(raw.get("name", Path(where).stem), raw.get("description", ""), seeds,
                 datasets, tuple(models), source)


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


def cells(suite: Suite, *, seeds: int | None = None) -> list[Cell]:
    """Every (dataset, variant, seed) of the suite; deterministic models run one seed.

    Variants of a ``select = "validation"`` entry are validation-span cells; the test cell
    of the variant they choose is made after they ran (``bench.selection.chosen_cells``).
    """
    n_seeds = seeds or suite.seeds
    out = []
    for ds_name, (ds, split) in suite.datasets.items():
        for spec in suite.models:
            if spec.datasets is not None and ds_name not in spec.datasets:
                continue
            entry = forecaster.get_entry(spec.name)
            span = "validation" if spec.select == "validation" else "test"
            for params in expand_grid(spec.params):
                for seed in range(n_seeds if entry.seeded else 1):
                    out.append(Cell(ds_name, spec.name, variant_label(spec, params), params, seed,
                                    split, ds.season_length, span=span, selection=spec.select,
                                    group=spec.group if spec.select else ""))
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
    """Fail before running anything when a variant names a parameter its model lacks.

    A model whose module cannot be imported is not checked here: its cells fail with the
    import error as their reason, and the other models still run.
    """
    for spec in suite.models:
        for params in expand_grid(spec.params):
            try:
                forecaster.check_params(spec.name, params)
            except TypeError as exc:
                raise BenchError(f"suite {suite.name!r}: {exc}") from None
            except ImportError:
                break
