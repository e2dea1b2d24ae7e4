"""Walk-forward forecasting benchmark harness; from a notebook:

    >>> import bench
    >>> res = bench.run("quick", datasets=["air_passengers"])     # bench.api.run: see help(bench.run)
    >>> res.table                                                  # bench.Results
    >>> old = bench.load("results/bench.sqlite")                   # a past run
    >>> mine = bench.data.user_dataset("sales.csv")                # your own CSV, for extra_datasets=[mine]

The names are imported when first used, so ``import bench`` (and ``python -m bench --help``)
stays fast and loads no model library.
"""
import importlib

# name -> (module, attribute); attribute None: the module itself.
_API = {"run": ("bench.api", "run"), "load": ("bench.api", "load"), "Results": ("bench.api", "Results"),
        "default_out": ("bench.api", "default_out"), "data": ("bench.data", None),
        "suite": ("bench.suite", None), "BenchError": ("bench.errors", "BenchError"),
        "BenchWarning": ("bench.errors", "BenchWarning")}
__all__ = list(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'bench' has no attribute {name!r}")
    module, attribute = _API[name]
    value = importlib.import_module(module)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
