"""The lag floor of this machine: how late an idle asyncio loop wakes a 10 ms timer, as ``benchmarks/engine.py``
measures the engine's loop. Run beside the engine benchmark, it tells the host's share of the engine's loop
lag (waiting for a core) from the engine's own (callbacks that hold the loop).

    .venv/bin/python benchmarks/idle_loop.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np


async def lags(seconds: float, period_s: float = 0.01) -> list[float]:
    loop = asyncio.get_running_loop()
    samples: list[float] = []
    end = loop.time() + seconds
    while loop.time() < end:
        planned = loop.time() + period_s
        await asyncio.sleep(period_s)
        samples.append(loop.time() - planned)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    load_start, cpu = os.getloadavg(), time.process_time()
    samples = np.array(asyncio.run(lags(args.seconds))) * 1000
    print(f"idle loop lag p50 {np.percentile(samples, 50):.2f} ms, p99 {np.percentile(samples, 99):.2f} ms, "
          f"max {samples.max():.1f} ms over {samples.size} wakes; CPU {time.process_time() - cpu:.2f} s; "
          f"load {load_start[0]:.2f} → {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
