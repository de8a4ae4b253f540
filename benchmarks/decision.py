"""One predictive decision on a large floor, in CPU time: the engine's own runner, snapshot and policy, no PBX.

``benchmarks/engine.py`` measures decisions inside a whole engine, where a predictive run only reaches
10,000 calls in flight if its ramp-up stays under the abandonment cap, which a loaded machine does not
allow (answers wait for a core, are abandoned, and the controller falls back to progressive). This
builds the floor of that run directly — operators busy and free, calls ringing with their own chances of
an answer, estimators that have seen a few thousand dials — and times what a pacing round does before it
claims, as ``benchmarks/engine.py`` times it: ``Engine.snapshot``, the campaign runner's settings (its
abandonment ledger and controller: the pace of the last minutes, the legal window ahead) and the policy, in
CPU time (thread time), so that the figure holds on a shared machine. The ledger holds the answers of the
last ``--ledger-minutes`` at that benchmark's pace (about 35 live answers a second on this floor).

    .venv/bin/python benchmarks/decision.py [--operators 2000] [--calls 9000] [--free 100] [--decisions 2000]
        [--answers-per-s 35] [--ledger-minutes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from dialer.answer_chances import AnswerChances
from dialer.call import Call, channel_id_of
from dialer.clock import SystemClock
from dialer.engine import Engine
from dialer.floor import FloorOperator, OperatorState
from dialer.ledger import AbandonLedger
from dialer.runner import CampaignRunner
from lists.campaigns import Campaign
from pacing.estimators import OnlineEstimators

CAMPAIGN = 1


class _Pbx:
    """The engine only subscribes to it here."""

    connected = True

    def subscribe(self, _listener: object) -> None:
        pass


def floor_of(engine: Engine, operators: int, free: int, calls: int, now: float, rng: random.Random) -> None:
    """``operators`` on the floor, all but ``free`` of them busy; ``calls`` ringing for up to 45 s."""
    floor = engine.floor
    for op_id in range(operators):
        operator = FloorOperator(op_id, f"op{op_id}", str(1000 + op_id), set(), simulated=True, since=now - 600)
        floor.add(operator)
        floor.assign(operator, CAMPAIGN)
        floor.set_phone(operator, True)
        floor.set_state(operator, OperatorState.READY, now - 600)
        if op_id >= free:
            floor.take_call(operator, op_id, op_id, now - rng.uniform(0.0, 35.0))
            floor.set_state(operator, OperatorState.RESERVED, now - 40)
            floor.set_state(operator, OperatorState.ON_CALL, now - 40)
    estimators = engine.estimators[CAMPAIGN] = OnlineEstimators()
    t = now - 3600.0
    for _ in range(5000):                # an hour of dials: 10 % answered after 20-40 s, talks of 30 s
        t += 0.7
        live = rng.random() < 0.1
        estimators.observe_dial(t, live, rng.uniform(20.0, 40.0) if live else 45.0)
        if live:
            estimators.observe_handle(t, rng.uniform(20.0, 40.0), 5.0)
    chances = engine.answer_chances[CAMPAIGN] = AnswerChances()
    for attempt in range(calls):
        call = Call(attempt_id=attempt, channel_id=channel_id_of(attempt), campaign_id=CAMPAIGN, lead_id=attempt,
                    phone="+15550100", originated_at=now - rng.uniform(0.0, 45.0))
        call.answer_p = float(np.clip(rng.gauss(0.1, 0.03), 0.01, 0.9))
        engine.follow(call)
    chances._next = (0.1,)


def runner_of(engine: Engine, now: float, answers_per_s: float, minutes: float, rng: random.Random) -> CampaignRunner:
    """The campaign's runner as ``benchmarks/engine.py`` makes it (predictive, no preset), its ledger holding
    the live answers of the last ``minutes`` (one in a hundred abandoned)."""
    campaign = Campaign(id=CAMPAIGN, name="bench", state="running", mode="predictive",
                        pacing={"ratio": 8.0, "max_lines_per_operator": 5.0}, channel_template="Local/{digits}@pstn",
                        caller_id="+15550000000", timezone="UTC", default_region="US", ring_timeout_s=45,
                        safe_harbor_s=2.0)
    ledger = AbandonLedger(24 * 3600.0)
    answers = int(answers_per_s * minutes * 60)
    for k in range(answers):
        ledger.add(now - minutes * 60 + k / answers_per_s, rng.random() < 0.01)
    return CampaignRunner(campaign, snapshot=engine.snapshot, dial=None, tick_s=0.25,  # type: ignore[arg-type]
                          can_dial=lambda: True, ledger=ledger, chances=engine.answer_chances[CAMPAIGN])


async def measure(args: argparse.Namespace) -> list[float]:
    engine = Engine(None, _Pbx(), SystemClock())  # type: ignore[arg-type]   # no store: nothing is claimed
    loop = asyncio.get_running_loop()
    now = loop.time()
    rng = random.Random(1)
    floor_of(engine, args.operators, args.free, args.calls, now, rng)
    runner = runner_of(engine, now, args.answers_per_s, args.ledger_minutes, rng)
    cpu: list[float] = []
    for _ in range(args.decisions):
        began = time.thread_time()
        now = loop.time()               # the runner's round up to its claim (CampaignRunner._round)
        snapshot = engine.snapshot(CAMPAIGN)
        settings = runner.effective_settings(now, snapshot)
        runner._wanted(now, snapshot, settings)
        cpu.append(time.thread_time() - began)
        await asyncio.sleep(args.every_s)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, default=2000)
    parser.add_argument("--free", type=int, default=100)
    parser.add_argument("--calls", type=int, default=9000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--every-s", type=float, default=0.005, help="loop time between two decisions")
    parser.add_argument("--answers-per-s", type=float, default=35.0, help="the live answers' pace in the ledger")
    parser.add_argument("--ledger-minutes", type=float, default=4.0, help="minutes of answers in the ledger")
    args = parser.parse_args()
    cpu = np.asarray(asyncio.run(measure(args))) * 1e3
    print(f"{args.decisions} decisions, {args.operators} operators ({args.free} free), {args.calls} calls ringing, "
          f"{args.ledger_minutes:g} min of answers in the ledger: "
          f"CPU p50 {np.percentile(cpu, 50):.3f} ms, p99 {np.percentile(cpu, 99):.3f} ms, max {cpu.max():.3f} ms")


if __name__ == "__main__":
    main()
