"""How far pytest-benchmark medians move between unchanged runs on this machine.

Run a benchmark file several times with ``--benchmark-save``, then:

    python benchmarks/spread.py .benchmarks/*/00*.json

Any two of the runs could be the saved baseline and the new run that
``--benchmark-compare-fail=median:X%`` checks, so for every benchmark this prints the
ratio of the slowest to the fastest median over all runs. A threshold X is stable on
this machine when it lies above the largest such ratio; the last line gives it.
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
    print("| benchmark | fastest median | slowest median | slowest / fastest |")
    print("|---|---|---|---|")
    spreads = {}
    for name in names:
        values = [m[name] for m in medians]
        spreads[name] = max(values) / min(values)
        print(f"| {name.split('::')[-1]} | {min(values) * 1e3:.2f} ms | {max(values) * 1e3:.2f} ms "
              f"| {spreads[name]:.2f} |")
    ranked = sorted(spreads.values())
    worst = max(spreads, key=spreads.get)
    print(f"\nmedian spread {ranked[len(ranked) // 2]:.2f}x; largest {spreads[worst]:.2f}x "
          f"({worst.split('::')[-1]}): a stable --benchmark-compare-fail=median:X% needs X above "
          f"{100 * (spreads[worst] - 1):.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
