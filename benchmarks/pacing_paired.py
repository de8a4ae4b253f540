"""Two pacers on the same days of one grid cell: the occupancy difference seed by seed.

A small team's day turns on a handful of abandons (one early abandon holds it progressive for an hour), so
two pacers' days differ by several points of occupancy from seed to seed, and a 5-seed mean cannot tell
half a point from that spread. Every pacer sees the same callees for a given seed, so the difference of
the two, seed by seed, is free of most of it: its mean and standard error say whether one pacer loses.

    .venv/bin/python benchmarks/pacing_paired.py --cell 3,0.2,60 --pacers predictive,predictive-plain \\
        --seeds 20 [--workers 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pacing import Cell, run_jobs
from pacing.pacers import PACERS


def paired(rows: list[dict[str, object]], first: str, second: str) -> dict[str, float]:
    """Mean, standard error and range of (first − second) occupancy in points, over the seeds both ran."""
    by = {(str(r["pacer"]), int(r["seed"])): float(r["occupancy"]) for r in rows}
    seeds = sorted(s for p, s in by if p == first and (second, s) in by)
    if len(seeds) < 2:
        raise ValueError(f"need at least two seeds that both {first} and {second} ran; got {len(seeds)}")
    diffs = [100.0 * (by[(first, s)] - by[(second, s)]) for s in seeds]
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    return {"seeds": len(seeds), "mean": mean, "se": sd / math.sqrt(len(diffs)), "low": min(diffs), "high": max(diffs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", required=True, help="operators,answer rate,mean talk s (lognormal talk, 10 s wrap)")
    parser.add_argument("--pacers", default="predictive,predictive-plain", help="two pacers of pacing/pacers.py")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every run here (rewritten after each)")
    args = parser.parse_args()
    try:
        operators, answer, talk = args.cell.split(",")
        cell: Cell = (int(operators), float(answer), float(talk), "lognormal")
    except ValueError:
        parser.error(f"--cell is operators,answer rate,talk seconds (e.g. 3,0.2,60); got {args.cell!r}")
    pacers = [p for p in args.pacers.split(",") if p]
    if len(pacers) != 2 or set(pacers) - set(PACERS):
        parser.error(f"--pacers names two of {', '.join(PACERS)}; got {args.pacers!r}")
    started = time.perf_counter()
    jobs = [(cell, p, s, args.hours) for s in range(args.seeds) for p in pacers]
    rows = run_jobs(jobs, args.workers, every=10, partial_json=args.json)
    print(f"cell {args.cell}: {len(rows)} days of {args.hours:g} hours in {time.perf_counter() - started:.0f} s")
    for p in pacers:
        mine = [r for r in rows if r["pacer"] == p]
        print(f"{p}: occupancy {100 * sum(float(r['occupancy']) for r in mine) / len(mine):.2f} %, abandonment "
              f"mean {100 * sum(float(r['abandon_rate']) for r in mine) / len(mine):.2f} %, "
              f"worst seed {100 * max(float(r['abandon_rate']) for r in mine):.2f} %")
    d = paired(rows, *pacers)
    print(f"{pacers[0]} - {pacers[1]}: {d['mean']:+.2f} points of occupancy (standard error {d['se']:.2f}, "
          f"{d['seeds']} seeds, per seed {d['low']:+.2f} to {d['high']:+.2f})")


if __name__ == "__main__":
    main()
