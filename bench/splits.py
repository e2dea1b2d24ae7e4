"""Walk-forward evaluation origins: the only place that decides what a model may see.

An origin at position ``o`` means: the model has seen ``y[:o]`` (or the last
``window`` points of it) and forecasts ``y[o : o + horizon]``. Origins cover the last
``test_size`` points, each with its full horizon inside the test span.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

MIN_TRAIN_POINTS = 2


@dataclass(frozen=True)
class Origin:
    position: int       # first forecast index; everything before it is history
    refit: bool         # True: fit on y[train_start:position]; False: update with the new points
    train_start: int    # first index of the training window at this origin


@dataclass(frozen=True)
class WalkForward:
    horizon: int            # steps forecast at each origin
    test_size: int          # how many final points are forecast
    step: int = 1           # origins advance by this many points
    refit_every: int = 1    # refit at every k-th origin; update() in between
    window: int | None = None   # None: expanding; n: sliding window of n points

    def __post_init__(self):
        for name in ("horizon", "test_size", "step", "refit_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"split {name} must be a positive integer, got {value!r}")
        if self.window is not None and (not isinstance(self.window, int) or self.window < MIN_TRAIN_POINTS):
            raise ValueError(f"split window must be an integer >= {MIN_TRAIN_POINTS} or absent, "
                             f"got {self.window!r}")
        if self.horizon > self.test_size:
            raise ValueError(f"split horizon ({self.horizon}) is longer than test_size ({self.test_size})")

    def min_length(self) -> int:
        return self.test_size + MIN_TRAIN_POINTS

    def origins(self, n: int) -> Iterator[Origin]:
        if n < self.min_length():
            raise ValueError(f"series of {n} points is too short for test_size {self.test_size}: "
                             f"it needs at least {self.min_length()} points")
        first, last = n - self.test_size, n - self.horizon
        for k, position in enumerate(range(first, last + 1, self.step)):
            start = 0 if self.window is None else max(0, position - self.window)
            yield Origin(position=position, refit=k % self.refit_every == 0, train_start=start)

    def as_dict(self) -> dict:
        """The fields in declaration order: stored with each cell and hashed into its key."""
        return dataclasses.asdict(self)

    def n_origins(self, n: int) -> int:
        return sum(1 for _ in self.origins(n))

    def describe(self) -> str:
        window = "expanding" if self.window is None else f"sliding {self.window}"
        return (f"h={self.horizon} test={self.test_size} step={self.step} "
                f"refit_every={self.refit_every} {window}")
