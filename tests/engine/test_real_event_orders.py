"""Every event order a real Asterisk 22 sent for a failed call gives the attempt row the right outcome.

The events are those of the fault recordings (tests/fixtures/asterisk/transcripts/faults): each call's
OriginateResponse, DialEnd and Hangups, typed by the client's own translation and played in the order
Asterisk sent them into an engine whose calls they are. Asterisk's order inside such a burst is a race
between its threads, so the row must not depend on it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace

import asyncpg
import pytest

from ami.events import translate
from ami.pbx import ChannelHungUp, DialEnded, OriginateResult
from ami.wire import Parser
from dialer.engine import Engine
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until
from tests.fixtures import FAULTS

pytestmark = pytest.mark.db

Burst = OriginateResult | DialEnded | ChannelHungUp
Row = tuple[str, int, str | None, int]   # outcome, originate_reason, dial_status, hangup_cause


def recorded_calls(name: str) -> dict[str, list[Burst]]:
    """The dialer user's typed events of each customer call of a recording, in Asterisk's order."""
    inbound, outbound = Parser(), Parser(expect_banner=False)
    originated: dict[str, str] = {}
    calls: dict[str, list[Burst]] = defaultdict(list)
    for line in (FAULTS / f"{name}.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "out":
            for action in outbound.feed(record["data"].encode()):
                if action.get("Action") == "Originate" and action.get("ChannelId"):
                    originated[action.action_id or ""] = action["ChannelId"]
        elif record["dir"] == "in":
            for message in inbound.feed(record["data"].encode()):
                event = translate(message, originated)
                if isinstance(event, Burst) and event.channel_id.startswith("attempt-"):
                    calls[event.channel_id.removesuffix("-2")].append(event)
    return dict(calls)


def as_call(event: Burst, recorded: str, ours: str) -> Burst:
    return replace(event, channel_id=event.channel_id.replace(recorded, ours, 1))


NO_ANSWER: Row = ("no_answer", 3, None, 19)
BUSY: Row = ("busy", 5, "BUSY", 17)
CONGESTION: Row = ("congestion", 8, "CONGESTION", 34)
SCENARIOS: dict[str, Row] = {
    "noanswer-timeout-order-1": NO_ANSWER,
    "noanswer-timeout-order-2": NO_ANSWER,      # ;2, ;1, then OriginateResponse
    "noanswer-timeout-order-3": NO_ANSWER,
    "noanswer-timeout-order-repeat": NO_ANSWER,  # one call: ;1, OriginateResponse, ;2
    "busy-order": BUSY,
    "busy-order-2": BUSY,
    "busy-order-3": BUSY,
    "busy-order-repeat": BUSY,
    "congestion-order": CONGESTION,
    "congestion-order-2": CONGESTION,
    "congestion-order-3": CONGESTION,
    "congestion-order-repeat": CONGESTION,      # OriginateResponse before DialEnd in three calls
    "originate-plus-sign": ("failed", 0, None, 0),
}


async def rows_after_replay(db: asyncpg.Pool, sequences: list[list[Burst]],
                            recorded_ids: list[str]) -> list[Row]:
    pbx = FakePbx()
    pbx.hangups_follow_failures = False     # the recording brings its own Hangups
    await make_campaign(db, operators_n=1, leads_n=len(sequences))
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    attempt_ids = []
    try:
        for n, (recorded, events) in enumerate(zip(recorded_ids, sequences, strict=True)):
            await until(lambda n=n: len(pbx.customer_calls()) > n)
            ours = pbx.customer_calls()[n].channel_id
            attempt_ids.append(int(ours.removeprefix("attempt-")))
            for event in events:
                pbx.emit(as_call(event, recorded, ours))
            await until(lambda ours=ours: ours not in engine.calls)
        await engine.recorder.drain()
    finally:
        await engine.stop(drain_s=0)
    rows = {r["id"]: r for r in await db.fetch(
        "SELECT id, outcome, originate_reason, dial_status, hangup_cause FROM attempt")}
    return [(rows[i]["outcome"], rows[i]["originate_reason"], rows[i]["dial_status"], rows[i]["hangup_cause"])
            for i in attempt_ids]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_every_recorded_order_of_a_failed_call_gives_the_same_attempt_row(db: asyncpg.Pool,
                                                                                name: str) -> None:
    calls = recorded_calls(name)
    assert calls, f"{name}: no customer call in the recording"
    rows = await rows_after_replay(db, list(calls.values()), list(calls))
    assert rows == [SCENARIOS[name]] * len(calls)


async def test_a_ringing_call_cut_by_core_stop_now_is_a_no_answer_with_the_causes_asterisk_gave(
        db: asyncpg.Pool) -> None:
    """shutdown-now-with-calls: the ringing call gets Reason 0, DialEnd NOANSWER and cause 0 on both halves."""
    events = recorded_calls("shutdown-now-with-calls")["attempt-1052"]
    assert await rows_after_replay(db, [events], ["attempt-1052"]) == [("no_answer", 0, "NOANSWER", 0)]

