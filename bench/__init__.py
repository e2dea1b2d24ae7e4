"""Walk-forward forecasting benchmark harness. ``bench.run`` and ``bench.load`` are the notebook API."""


def run(*args, **kwargs):
    from bench.api import run as _run
    return _run(*args, **kwargs)


def load(*args, **kwargs):
    from bench.api import load as _load
    return _load(*args, **kwargs)
