"""How far pytest-benchmark medians move between unchanged runs on this machine.

Run a benchmark file several times with ``--benchmark-save``, then:

    python benchmarks/spread.py .benchmarks/*/00*.json

For every benchmark it prints the median of each run and the ratio of each later run's
median to the first run's, which is what ``--benchmark-compare-fail=median:X%``
checks. A compare threshold is stable when it lies above the largest ratio that
unchanged runs produce; the last line gives that largest ratio.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[str]) -> None:
    if len(paths) < 2:
        raise SystemExit("usage: python benchmarks/spread.py RUN1.json RUN2.json [...] (saved by --benchmark-save)")
    runs = [json.loads(Path(p).read_text()) for p in paths]
    medians = [{b["fullname"]: b["stats"]["median"] for b in run["benchmarks"]} for run in runs]
    names = [n for n in medians[0] if all(n in m for m in medians[1:])]
    print(f"{len(runs)} runs: {', '.join(Path(p).name for p in paths)}\n")
    print("| benchmark | first run median | later / first: min | max |")
    print("|---|---|---|---|")
    worst = (0.0, "")
    for name in names:
        first = medians[0][name]
        ratios = [m[name] / first for m in medians[1:]]
        print(f"| {name.split('::')[-1]} | {first * 1e3:.2f} ms | {min(ratios):.2f} | {max(ratios):.2f} |")
        worst = max(worst, (max(ratios), name.split("::")[-1]))
    print(f"\nlargest slowdown of an unchanged run: {worst[0]:.2f}x ({worst[1]}); "
          f"a stable --benchmark-compare-fail=median:X% needs X above {100 * (worst[0] - 1):.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
