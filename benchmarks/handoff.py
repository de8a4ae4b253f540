"""Answer → connected latency of the hand-off, measured against the PBX simulator over real TCP AMI.

Runs `dialer demo`'s machinery (store, simulator, AMI client, engine) for a simulated stretch of a
working day and prints, per run, how long the engine took from the `DialerAnswered` event to the
customer's `ConfbridgeJoin` in the operator's conference, in wall-clock time (the processing cost: the
loop's virtual clock stands still while the engine works) and in virtual time (what the law counts).

    .venv/bin/python benchmarks/handoff.py [--operators 50] [--hours 1] [--mode predictive] [--json FILE]

Uses DIALER_DATABASE_URL when set, else the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where benchmarks/compliance.py would shadow the
# compliance package: put the project root first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.sim.demo import DemoSettings, run_demo
from lists import database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--mode", default="predictive")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    url = os.environ.get("DIALER_DATABASE_URL") or database.locate(None, Path(tempfile.mkdtemp())).url
    rows = []
    print(f"{'operators':>9} {'mode':>11} {'connected':>9} {'wall p50 ms':>11} {'wall p99 ms':>11} "
          f"{'virtual p99 ms':>14} {'abandon %':>9} {'run s':>6}")
    for operators in args.operators:
        settings = DemoSettings(leads=operators * 400, operators=operators, hours=args.hours, mode=args.mode,
                                seed=args.seed, schema="bench_handoff")
        result = run_demo(url, settings)
        s = result.summary
        row = {"operators": operators, "mode": args.mode, "hours": args.hours, "connected": s.connected,
               "wall_p50_ms": result.handoff_wall_p50_ms, "wall_p99_ms": result.handoff_wall_p99_ms,
               "virtual_p99_ms": result.handoff_p99_ms, "abandon_rate": s.abandon_rate, "run_s": result.wall_s}
        rows.append(row)
        print(f"{operators:>9} {args.mode:>11} {s.connected:>9} {result.handoff_wall_p50_ms:>11.2f} "
              f"{result.handoff_wall_p99_ms:>11.2f} {result.handoff_p99_ms:>14.2f} {100 * s.abandon_rate:>9.2f} "
              f"{result.wall_s:>6.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
