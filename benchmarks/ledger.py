"""What pacing's reads of the abandonment ledger cost at the end of a long day of a large floor.

Every predictive decision asks the ledger for the last minutes' counts (the pace), the last hour, and what
stays in the legal window at each minute of the next hour (yesterday's answers leave a 24-hour window).
A floor of 2,000 operators answers tens of calls a second, so a 24-hour window holds millions of answers.

    .venv/bin/python benchmarks/ledger.py [--answers-per-s 35] [--window-h 24] [--reads 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # our packages, not benchmarks/compliance.py

from dialer.ledger import AbandonLedger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers-per-s", type=float, default=35.0)
    parser.add_argument("--window-h", type=float, default=24.0)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    window_s = 3600.0 * args.window_h
    ledger = AbandonLedger(window_s)
    rng = random.Random(1)
    step = 1.0 / args.answers_per_s
    count = int(window_s / step)
    for i in range(count):
        ledger.add(i * step, rng.random() < 0.025)
    now = window_s + 1.0
    ends = [now + 60.0 * minute for minute in range(1, 61)]
    reads = {
        "what stays at each minute of the next hour": lambda: ledger.counts_staying_at(now, ends),
        "the last 15 minutes": lambda: ledger.counts_since(now - 900.0),
        "the last hour's times": lambda: ledger.times_since(now - 3600.0),
    }
    print(f"ledger: {count:,} answers in a {args.window_h:g}-hour window ({args.answers_per_s:g} a second)")
    for name, read in reads.items():
        timings = []
        for _ in range(args.reads):
            started = time.perf_counter()
            read()
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(f"  {name}: p50 {1000 * timings[len(timings) // 2]:.3f} ms, "
              f"p99 {1000 * timings[int(0.99 * (len(timings) - 1))]:.3f} ms")


if __name__ == "__main__":
    main()
