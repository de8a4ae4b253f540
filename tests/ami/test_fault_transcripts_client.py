"""The fault recordings (tests/fixtures/asterisk/transcripts/faults) replayed through AmiClient.

Each recording's dialer connection is played by the fake server of test_transcripts_client: the client
sends the recorded actions through its own API (built as the engine builds them, and checked field by
field against what was recorded), and gets Asterisk's recorded answers and events. The tests check what
the engine would be told: the typed events of each call, which refusals are errors and which mean
"not carried out", the lists, and the link going down when Asterisk closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ami.client import AmiClient
from ami.pbx import (
    ChannelHungUp,
    DialEnded,
    LinkDown,
    LinkUp,
    OriginateRequest,
    OriginateResult,
    PbxError,
    PbxEvent,
    PbxNotConnected,
    PbxShuttingDown,
    SafeHarborPlayed,
)
from ami.wire import Message
from tests.ami.scripted_ami import wait_until
from tests.ami.test_transcripts_client import finish, load, replayed, typed

Result = object


def request_of(action: Message) -> OriginateRequest:
    """The OriginateRequest the engine would have made for a recorded Originate."""
    variables = dict(v.split("=", 1) for v in action.get_all("Variable"))
    return OriginateRequest(channel=action["Channel"], channel_id=action["ChannelId"],
                            context=action.get("Context"), exten=action.get("Exten"),
                            priority=int(action.get("Priority") or 1), application=action.get("Application"),
                            data=action.get("Data"), timeout_ms=int(action["Timeout"]),
                            caller_id=action.get("CallerID"), variables=variables)


SEND: dict[str, Callable[[AmiClient, Message], Awaitable[Result]]] = {
    "Originate": lambda c, a: c.originate(request_of(a)),
    "Redirect": lambda c, a: c.redirect(a["Channel"], a["Context"], a["Exten"], int(a.get("Priority") or 1)),
    "Hangup": lambda c, a: c.hangup(a["Channel"], int(a.get("Cause") or 16)),
    "CoreShowChannels": lambda c, a: c.list_channels(),
    "Status": lambda c, a: c.status(tuple((a.get("Variables") or "").split(",")) if a.get("Variables") else ()),
    "ConfbridgeList": lambda c, a: c.confbridge_list(a["Conference"]),
    "Ping": lambda c, a: c.send(Message.of(Action="Ping")),
}


async def play(name: str) -> tuple[list[tuple[str, Result]], list[PbxEvent]]:
    """Every recorded action through the client: (action, its result or the error it raised)."""
    _, steps = load(f"faults/{name}")
    results: list[tuple[str, Result]] = []
    async with replayed(f"faults/{name}") as (client, seen, replay):
        await client.start()
        sent: list[tuple[str, asyncio.Task[Result]]] = []
        for step in steps[1:]:
            action = step.recorded
            sent.append((action["Action"], asyncio.create_task(SEND[action["Action"]](client, action))))
            if not step.answer:
                continue        # sent together with the next one (no answer came in between)
            await asyncio.wait([task for _, task in sent], timeout=2)
            for name, task in sent:
                error = task.exception()
                results.append((name, error if isinstance(error, PbxError) else task.result()))
            sent.clear()
        if any(chunk is None for step in steps for chunk in step.answer):
            await wait_until(lambda: any(isinstance(e, LinkDown) for e in seen))
            assert replay.done and replay.differences == []
        else:
            await finish(client, replay)
    return results, seen


def calls(seen: list[PbxEvent], prefix: str = "attempt-") -> list[PbxEvent]:
    return [e for e in typed(seen, OriginateResult, DialEnded, ChannelHungUp)
            if e.channel_id.startswith(prefix)]  # type: ignore[attr-defined]


FAILED: dict[str, tuple[int, str | None, int, int]] = {   # Reason, DialEnd status, cause ;1, cause ;2
    "noanswer-timeout-order-1": (3, None, 19, 19),
    "noanswer-timeout-order-2": (3, None, 19, 19),
    "noanswer-timeout-order-3": (3, None, 19, 19),
    "noanswer-timeout-order-repeat": (3, None, 19, 19),
    "busy-order": (5, "BUSY", 0, 17),
    "busy-order-2": (5, "BUSY", 0, 17),
    "busy-order-3": (5, "BUSY", 0, 17),
    "busy-order-repeat": (5, "BUSY", 0, 17),
    "congestion-order": (8, "CONGESTION", 0, 34),
    "congestion-order-2": (8, "CONGESTION", 0, 34),
    "congestion-order-3": (8, "CONGESTION", 0, 34),
    "congestion-order-repeat": (8, "CONGESTION", 0, 34),
    "originate-plus-sign": (0, None, 0, 0),
}


@pytest.mark.parametrize("name", sorted(FAILED))
async def test_a_failed_call_reaches_the_engine_as_its_response_dial_end_and_both_hangups(name: str) -> None:
    results, seen = await play(name)
    reason, status, near, far = FAILED[name]
    originated = [r for a, r in results if a == "Originate"]
    assert originated and all(r is None for r in originated)     # queued: "Originate successfully queued"
    ids = sorted({e.channel_id.removesuffix("-2") for e in calls(seen)})  # type: ignore[attr-defined]
    assert len(ids) == len(originated)
    for channel_id in ids:
        mine = {e for e in calls(seen) if e.channel_id.removesuffix("-2") == channel_id}  # type: ignore[attr-defined]
        expected: set[PbxEvent] = {OriginateResult(channel_id, False, reason)}
        expected |= {e for e in mine if isinstance(e, ChannelHungUp)}   # the cause texts, checked below
        if status is not None:
            expected.add(DialEnded(channel_id, status))
        assert mine == expected
        causes = {e.channel_id: e.cause for e in mine if isinstance(e, ChannelHungUp)}
        assert causes == {channel_id: near, f"{channel_id}-2": far}


@pytest.mark.parametrize("name", ["shutdown-gracefully-originate", "shutdown-gracefully-operator-phone"])
async def test_every_action_of_a_gracefully_stopping_asterisk_is_not_carried_out_then_the_link_goes(
        name: str) -> None:
    results, seen = await play(name)
    refused = [(a, r) for a, r in results if isinstance(r, PbxError)]
    assert refused and all(isinstance(r, PbxShuttingDown) and isinstance(r, PbxNotConnected) for _, r in refused)
    assert [a for a, _ in refused] in (["Originate", "Ping", "Hangup"], ["Originate", "Hangup"])
    down = [e for e in seen if isinstance(e, LinkDown)]
    assert down and not down[0].permanent
    # The calls up went on: their hangups still reached the engine.
    assert {e.channel_id for e in typed(seen, ChannelHungUp)} >= {"attempt-1061", "attempt-1061-2"} or \
        {e.channel_id for e in typed(seen, ChannelHungUp)} >= {"attempt-1063", "attempt-1063-2"}


async def test_a_login_refused_by_a_stopping_asterisk_says_so() -> None:
    async with replayed("faults/shutdown-gracefully-operator-phone.relogin") as (client, _, replay):
        with pytest.raises(PbxShuttingDown, match="Asterisk is shutting down"):
            await asyncio.wait_for(client.start(), 2)
        assert replay.differences == []


async def test_core_stop_now_ends_every_call_then_closes_the_link() -> None:
    _, seen = await play("shutdown-now-with-calls")
    assert OriginateResult("attempt-1052", False, 0) in seen and DialEnded("attempt-1052", "NOANSWER") in seen
    causes = {e.channel_id: e.cause for e in typed(seen, ChannelHungUp)}   # type: ignore[attr-defined]
    assert causes == {"op101-1": 0, "op101-1-2": 16, "attempt-1051": 16, "attempt-1051-2": 16,
                      "attempt-1052": 0, "attempt-1052-2": 0, "attempt-1053": 0, "attempt-1053-2": 0}
    assert isinstance(seen[-1], LinkDown) and not seen[-1].permanent


async def test_redirect_and_hangup_of_a_channel_already_gone_are_plain_refusals() -> None:
    results, _ = await play("redirect-after-hangup")
    (redirect, error), (hangup, other) = results[-2:]
    assert (redirect, hangup) == ("Redirect", "Hangup")
    assert isinstance(error, PbxError) and not isinstance(error, PbxNotConnected)
    assert error.message == "Channel does not exist: attempt-1081"
    assert isinstance(other, PbxError) and other.message == "No such channel"


async def test_a_caller_who_hangs_up_in_the_safe_harbor_message_sends_no_played_event() -> None:
    results, seen = await play("safe-harbor-caller-hangs-up")
    assert [a for a, r in results] == ["Originate", "Redirect", "Hangup"] and all(r is None for _, r in results)
    assert typed(seen, SafeHarborPlayed) == []
    assert {e.cause for e in typed(seen, ChannelHungUp)} == {16}   # type: ignore[attr-defined]


async def test_an_operator_who_hangs_up_leaves_the_customer_alone_in_the_conference() -> None:
    results, seen = await play("operator-hangs-up-mid-call")
    [members] = [r for a, r in results if a == "ConfbridgeList"]
    assert [m.channel_id for m in members] == ["attempt-1031"]   # type: ignore[attr-defined]
    phone_gone = seen.index(ChannelHungUp("op101-1-2", 16, "Normal Clearing"))
    assert not [e for e in seen[phone_gone + 1:] if getattr(e, "channel_id", "").startswith("attempt-1031")
                and not isinstance(e, ChannelHungUp) and type(e).__name__ != "ConferenceLeft"]


async def test_a_customer_who_hangs_up_in_the_conference_leaves_the_operator_there() -> None:
    results, _ = await play("customer-hangs-up-in-conference")
    [members] = [r for a, r in results if a == "ConfbridgeList"]
    assert [m.channel_id for m in members] == ["op101-1-2"]   # type: ignore[attr-defined]


async def test_after_a_restart_both_halves_of_a_call_carry_its_attempt_and_phones_carry_none() -> None:
    results, seen = await play("restart-reconcile")
    statuses = [r for a, r in results if a == "Status"]
    assert statuses[0] == [] and statuses[-1] == []
    ringing = {s.channel_id: s.variables.get("ATTEMPT_ID") for s in statuses[1]}   # type: ignore[attr-defined]
    assert ringing == {"op101-1": "(null)", "op101-1-2": "(null)", "attempt-1071": "1071",
                       "attempt-1071-2": "1071"}
    assert seen[0] == LinkUp()
