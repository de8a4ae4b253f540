"""A campaign of a few minutes through a real, installed Asterisk with the project's ``config/asterisk/``.

    DIALER_ASTERISK=/opt/asterisk/sbin/asterisk .venv/bin/python benchmarks/asterisk_campaign.py \
        [--minutes 3] [--operators 4] [--log-dir DIR]

Asterisk is started in the foreground in a private directory (``tests/asterisk/pbx.py``: the project's
manager.conf, extensions.conf and confbridge.conf, a simulated PSTN whose first digit decides: 1 answer
after a 1 s ring and talk, 2 busy, 3 no answer, 4 congestion), ``dialer run`` runs against it with
simulated operators whose phones are ``Local/{ext}@operators``, and the store is PostgreSQL
(DIALER_DATABASE_URL, else the embedded server) in a schema of its own. After ``--minutes`` the engine is
stopped as Ctrl-C would, and the script prints from the attempt rows: the outcomes of each number class,
the hand-off (``connected_at - answered_at``) p50/p99/max, then the engine's ERROR lines and Asterisk's
warnings. ``--log-dir`` keeps the engine log and Asterisk's messages/full logs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from cli.store import store_url
from tests.asterisk.campaign import run_campaign

# The number's class is its first digit (after '+'), as the simulated PSTN reads it.
OUTCOMES_BY_CLASS = """
    SELECT CASE substr(phone, 2, 1) WHEN '1' THEN 'answer' WHEN '2' THEN 'busy' WHEN '3' THEN 'no answer'
                                    WHEN '4' THEN 'congestion' ELSE 'other' END AS class,
           coalesce(outcome, '(open)') AS outcome, count(*) AS attempts,
           count(*) FILTER (WHERE abandoned) AS abandoned, count(operator_id) AS with_operator
    FROM attempt GROUP BY 1, 2 ORDER BY 1, 3 DESC"""

HAND_OFF = """
    SELECT count(*) AS connected,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
           max(ms) AS max
    FROM (SELECT extract(epoch FROM connected_at - answered_at) * 1000 AS ms FROM attempt
          WHERE answered_at IS NOT NULL AND connected_at IS NOT NULL) hand_off"""


def phones(count: int, seed: int) -> list[str]:
    """A list in the mix of a day: half answer (talk 3-20 s), the rest busy, unanswered or congested."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = rng.choices("1234", weights=(50, 20, 15, 15))[0]
        prefix = f"1{rng.randint(3, 20):02d}" if kind == "1" else f"{kind}00"
        out.append(f"+{prefix}5{i:06d}")
    return out


async def read(db: asyncpg.Pool) -> dict[str, Any]:
    return {"classes": [dict(r) for r in await db.fetch(OUTCOMES_BY_CLASS)],
            "hand_off": dict(await db.fetchrow(HAND_OFF))}


async def main(args: argparse.Namespace) -> None:
    binary = os.environ.get("DIALER_ASTERISK")
    if not binary:
        sys.exit("DIALER_ASTERISK must name the asterisk binary (e.g. /opt/asterisk/sbin/asterisk)")
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="asterisk-campaign-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    leads = max(20, int(args.operators * args.minutes * 12))
    run = await run_campaign(binary, store_url(), phones(leads, args.seed), log_dir, operators=args.operators,
                             duration_s=args.minutes * 60, until_over=False, read=read)
    print(f"{args.minutes} min, {args.operators} simulated operators, {leads} leads, "
          f"{len(run.attempts)} attempts; dialer run stopped in "
          f"{'(killed after 5 s)' if run.stop_s is None else f'{run.stop_s:.1f} s'}")
    print(f"{'class':<11} {'outcome':<12} {'attempts':>8} {'abandoned':>9} {'operator':>8}")
    for row in run.figures["classes"]:
        print(f"{row['class']:<11} {row['outcome']:<12} {row['attempts']:>8} {row['abandoned']:>9} "
              f"{row['with_operator']:>8}")
    h = run.figures["hand_off"]
    if h["connected"]:
        print(f"hand-off (connected_at - answered_at) over {h['connected']} connected calls: "
              f"p50 {h['p50']:.0f} ms, p99 {h['p99']:.0f} ms, max {h['max']:.0f} ms")
    print(f"customers Redirected into a conference with no phone: {len(run.ghosts)}")
    print(f"engine log ERROR/traceback lines: {len(run.engine_errors)}")
    for line in run.engine_errors[:10]:
        print("  " + line)
    print(f"Asterisk warnings/errors: {len(run.asterisk_warnings)}")
    for line in sorted({w.split("] ", 1)[-1] for w in run.asterisk_warnings}):
        print("  " + line)
    print(f"logs: {log_dir}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-dir")
    asyncio.run(main(parser.parse_args()))
