"""What ``bench.run`` prints while it runs, by default: compact enough for a notebook.

``ProgressLines`` is the ``on_cell`` reporter of the Python API. It prints on stderr

- a header: the run, its suite, the cells to run, the store, and the references that joined;
- one line per model variant and dataset once its walk over the test span is done, every
  seed and every series of a panel together (the default suite on one dataset: about 17
  lines; M4's 414 series: one line per model), never one per cell;
- on a terminal or in Jupyter, a live line below them, rewritten in place with a carriage
  return: cells done / total and the time left (the elapsed time per finished cell, times
  the cells left);
- a last line naming the folder of the reports.

With ``workers`` >= 1 the cells run in other processes, but every event reaches this
process as its cell finishes, so the lines are the same. The command line has its own,
more detailed reporter, ``bench.cli.Progress`` (a line per cell).
"""
from __future__ import annotations

import sys
import time


def duration(seconds: float) -> str:
    """``12 s``, ``14 min``, ``2 h 5 min``."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {seconds % 3600 / 60:.0f} min"


def rewritable(stream) -> bool:
    """Whether a carriage return rewrites the last line of ``stream``: a terminal, or Jupyter's output area."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return type(stream).__module__.startswith("ipykernel")


class ProgressLines:
    """The default progress of ``bench.run`` (see the module docstring); ``stream`` defaults to stderr."""

    def __init__(self, stream=None, live: bool | None = None):
        self.stream = stream
        self.live = live
        self.total = self.count = 0
        self.started = time.perf_counter()
        self.expected: dict[tuple, int] = {}     # (dataset, variant) -> its test cells handed out, not finished
        self.walks: dict[tuple, dict] = {}       # (dataset, variant) -> what its finished test cells said
        self.shown = 0                           # length of the live line on screen

    @property
    def out(self):
        return self.stream if self.stream is not None else sys.stderr

    def __call__(self, event: str, **info) -> None:
        if self.live is None:
            self.live = rewritable(self.out)
        if event == "wait":
            self.line(f"waiting: another process is computing run {info['run_id']} of {info['store']}; this one "
                      f"continues it when that one stops")
        elif event == "start_run":
            self.total, self.count, self.started = info["n_cells"], 0, time.perf_counter()
            suite = info["suite"]
            reused = f", {info['n_skipped']} finished before and reused" if info.get("n_skipped") else ""
            datasets = ", ".join(suite.datasets)
            self.line(f"run {info['run_id']}: suite {suite.name!r} on {datasets}: {self.total} cells to run{reused}; "
                      f"store {info['store']}")
            if info.get("references"):
                self.line(f"  {' and '.join(info['references'])} joined as references, which the tables are "
                          f"relative to (references=False leaves them out)")
        elif event == "batch":
            for cell in info["cells"]:
                if cell.span == "test":
                    key = (cell.dataset, cell.label)
                    self.expected[key] = self.expected.get(key, 0) + 1
        elif event == "done":
            self.count += 1
            result = info["result"]
            cell = result.cell
            if cell.span == "test":
                key = (cell.dataset, cell.label)
                walk = self.walks.setdefault(key, {"n": 0, "ok": 0, "mae": [], "wall_s": 0.0, "other": {},
                                                   "seeds": set(), "series": set()})
                walk["n"] += 1
                walk["wall_s"] += result.wall_time_s
                walk["seeds"].add(cell.seed)
                walk["series"].add(cell.series)
                if result.status == "ok":
                    walk["ok"] += 1
                    walk["mae"].append(result.scores["mae"])
                else:
                    walk["other"].setdefault(result.status, [0, result.reason])[0] += 1
                self.expected[key] = self.expected.get(key, 1) - 1
                if self.expected[key] <= 0:
                    del self.expected[key]
                    self.walk_done(key, self.walks.pop(key))
        elif event == "finish_run":
            self.line(f"done in {duration(info['total_time_s'])}: {info['out'] / 'LEADERBOARD.md'}")
        self.bar()

    def walk_done(self, key: tuple, walk: dict) -> None:
        dataset, label = key
        n_series = len(walk["series"] - {""})
        if walk["ok"]:
            mean = sum(walk["mae"]) / len(walk["mae"])
            what = f"MAE {mean:.4g}" if walk["n"] == 1 else f"mean MAE {mean:.4g}"
        else:
            what = ""
        status = "ok" if not walk["other"] else "partly" if walk["ok"] else next(iter(walk["other"]))
        if n_series:
            count = (f"{walk['ok']}/{walk['n']} series ok" if len(walk["seeds"]) == 1
                     else f"{walk['ok']}/{walk['n']} cells ok")
            what = f"{count}, {what}" if what else count
        parts = [what] if what else []
        for other, (count, reason) in walk["other"].items():
            parts.append(f"{count} {other}: {' '.join(str(reason).split())[:80]}")
        seeds = f"{len(walk['seeds'])} seeds, " if len(walk["seeds"]) > 1 else ""
        self.line(f"  {dataset:18s} {label:20s} {status:7s} {'; '.join(parts)}  ({seeds}{walk['wall_s']:.1f} s)")

    def line(self, text: str) -> None:
        """A permanent line, above the live one."""
        if self.live and self.shown:
            text = "\r" + text.ljust(self.shown)
        print(text, file=self.out, flush=True)
        self.shown = 0

    def bar(self) -> None:
        if not self.live or not self.total or self.count >= self.total:
            if self.live and self.shown:           # the run is over: clear the live line
                print("\r" + " " * self.shown + "\r", end="", file=self.out, flush=True)
                self.shown = 0
            return
        elapsed = time.perf_counter() - self.started
        filled = "#" * (20 * self.count // self.total)
        text = f"[{filled:<20s}] {self.count}/{self.total} cells"
        if self.count:
            text += f" · about {duration(elapsed / self.count * (self.total - self.count))} left"
        print("\r" + text.ljust(self.shown), end="", file=self.out, flush=True)
        self.shown = len(text)
