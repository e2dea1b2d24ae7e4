"""Walk-forward evaluation origins: the only place that decides what a model may see.

An origin at position ``o`` means: the model has seen ``y[:o]`` (or the last
``window`` points of it) and forecasts ``y[o : o + horizon]``. Origins cover the last
``test_size`` points, each with its full horizon inside the test span.

Selection among a grid's variants walks them over the **validation span**: the
``validation_size`` points (default: as many as the test span) just before the test
span, with the same horizon, step, refit and window protocol. Every validation origin's
forecast targets end before the test span begins, so nothing a selection sees depends
on a test-span value.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

MIN_TRAIN_POINTS = 2
SPANS = ("test", "validation")


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
    validation_size: int | None = None   # points of the validation span; None: test_size

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
        if self.validation_size is not None and (not isinstance(self.validation_size, int)
                                                 or self.validation_size < self.horizon):
            raise ValueError(f"split validation_size must be an integer >= horizon ({self.horizon}) or absent, "
                             f"got {self.validation_size!r}")

    @property
    def validation_points(self) -> int:
        return self.validation_size if self.validation_size is not None else self.test_size

    def min_length(self, span: str = "test") -> int:
        before = self.validation_points if span == "validation" else 0
        return self.test_size + before + MIN_TRAIN_POINTS

    def origins(self, n: int, span: str = "test") -> Iterator[Origin]:
        """The origins of the test span of a series of ``n`` points, or of the validation span before it."""
        if span not in SPANS:
            raise ValueError(f"span must be one of {SPANS}, got {span!r}")
        if n < self.min_length(span):
            what = (f"test_size {self.test_size}" if span == "test" else
                    f"a validation span of {self.validation_points} before a test span of {self.test_size}")
            raise ValueError(f"series of {n} points is too short for {what}: "
                             f"it needs at least {self.min_length(span)} points")
        end = n if span == "test" else n - self.test_size        # forecast targets stay before end
        size = self.test_size if span == "test" else self.validation_points
        first, last = end - size, end - self.horizon
        for k, position in enumerate(range(first, last + 1, self.step)):
            start = 0 if self.window is None else max(0, position - self.window)
            yield Origin(position=position, refit=k % self.refit_every == 0, train_start=start)

    def as_dict(self) -> dict:
        """The fields in declaration order: stored with each cell and hashed into its key."""
        return dataclasses.asdict(self)

    def n_origins(self, n: int, span: str = "test") -> int:
        return sum(1 for _ in self.origins(n, span))

    def describe(self) -> str:
        window = "expanding" if self.window is None else f"sliding {self.window}"
        return (f"h={self.horizon} test={self.test_size} step={self.step} "
                f"refit_every={self.refit_every} {window}")
