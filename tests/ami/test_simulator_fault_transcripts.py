"""The simulator against the fault recordings of a real Asterisk 22 (tests/fixtures/asterisk/transcripts/faults).

Each recording's dialer connection is replayed against the simulator over TCP, under virtual time, with
the project's own manager.conf user (least privilege and eventfilters, as recorded), ScriptedCallees in
the recordings' PSTN context, and the CLI commands of the recording (``core stop now``/``gracefully``)
at the moments they were run. What comes back is compared as in test_simulator_transcripts (per channel,
per action). The order across channels of a failed call's burst is compared on its own: the simulator
must produce each order Asterisk was seen to send, and no other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from ami.simulator import ScriptedCallees, SimulatorHandle, start_simulator
from ami.simulator.orders import SEEN, BurstOrders
from ami.simulator.permissions import User, users_from_manager_conf
from ami.wire import Message
from tests.ami.simulator_probe import Probe, load_transcript
from tests.ami.test_simulator_transcripts import _assert_same
from tests.fixtures import FAULTS

MANAGER_CONF = Path(__file__).resolve().parents[2] / "config" / "asterisk" / "manager.conf"
# CLI commands run during the recordings, at these times of the dialer connection (faults/README.md).
CLI: dict[str, list[tuple[float, Callable[[SimulatorHandle], None]]]] = {
    "shutdown-now-with-calls": [(5.467, SimulatorHandle.stop_now)],
    "shutdown-gracefully-originate": [(2.964, SimulatorHandle.stop_gracefully)],
    "shutdown-gracefully-operator-phone": [(4.765, SimulatorHandle.stop_gracefully),
                                           (15.741, SimulatorHandle.stop_now)],
}
# Every recording of the dialer's connection (the .full ones are the observer's; .relogin: see below).
SCENARIOS = sorted(path.name.removesuffix(".jsonl") for path in FAULTS.glob("*.jsonl") if path.name.count(".") == 1)


async def simulator(**options: int) -> SimulatorHandle:
    users = users_from_manager_conf(MANAGER_CONF.read_text())
    return await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-hidden"}, users=users,
                                 **options)  # type: ignore[arg-type]


async def replay(name: str, **options: int) -> tuple[list[Message], list[Message], Probe]:
    transcript = load_transcript(f"faults/{name}")
    sim = await simulator(**options)
    loop = asyncio.get_running_loop()
    try:
        probe = await Probe.connect(sim.port)
        start = loop.time()
        for when, command in CLI.get(name, []):
            loop.call_at(start + when, command, sim)
        for t, action in transcript.outbound:
            # Causal, not only timed: Asterisk answered a few ms before the recorded Redirect; the
            # simulator's timers run on a 50 ms grid, so wait for the event the action followed.
            before = [m for when, m in transcript.inbound if when < t and m.event is not None]
            if before:
                await probe.wait_for(lambda m, last=before[-1]: _same_event(m, last), timeout=30)
            await asyncio.sleep(max(0.0, start + t - loop.time()))
            probe.send(action)
        last = max(t for t, _ in transcript.inbound)
        await asyncio.sleep(max(0.0, start + last + 1.0 - loop.time()))
        await probe.close()
    finally:
        await sim.close()
    return [m for _, m in transcript.inbound], probe.received, probe


def _same_event(m: Message, recorded: Message) -> bool:
    return m.event == recorded.event and all(
        m.get(key) == recorded.get(key) for key in ("Uniqueid", "DestUniqueid", "UserEvent", "ActionID"))


@pytest.mark.looptime
@pytest.mark.parametrize("name", SCENARIOS)
async def test_simulator_answers_as_asterisk_22_did_in_the_fault(name: str) -> None:
    recorded, simulated, _ = await replay(name)
    _assert_same(name, _without_prompts(recorded), _without_prompts(simulated))


def _without_prompts(messages: list[Message]) -> list[Message]:
    """Which application runs is not compared in two places, both documented choices:
    - dialer-safeharbor: the recordings were made without the dialer's sound files, so there Playback
      failed at once and the message was already in SayDigits;
    - the callee's half in the PSTN context: Asterisk starts the Wait after Answer 0.5 s late, the
      simulator shows it at once (ami/simulator/calls.py, one timer less per call)."""
    return [Message([(k, v) for k, v in m.pairs if k not in ("Application", "ApplicationData", "Data")])
            if m.get("Context") in ("dialer-safeharbor", "pstn-hidden") else m for m in messages]


@pytest.mark.looptime
@pytest.mark.parametrize("name", ["shutdown-now-with-calls", "shutdown-gracefully-originate",
                                  "shutdown-gracefully-operator-phone"])
async def test_a_stopped_simulator_closes_the_link_and_refuses_connections_until_restarted(name: str) -> None:
    _, _, probe = await replay(name)
    assert probe.closed.is_set()


def burst(messages: list[Message], channel_id: str) -> tuple[str, ...]:
    """The order of a failed call's burst as the steps of ami.simulator.orders."""
    steps = []
    for m in messages:
        uid = m.get("Uniqueid") or m.get("DestUniqueid") or ""
        if m.event == "OriginateResponse" and uid == channel_id:
            steps.append("response")
        elif m.event == "DialEnd" and uid == channel_id:
            steps.append("dial_end")
        elif m.event == "Hangup" and uid in (channel_id, f"{channel_id}-2"):
            steps.append("near" if uid == channel_id else "far")
    return tuple(steps)


KINDS = {"noanswer-timeout-order": "no_answer", "busy-order": "busy", "congestion-order": "congestion"}


def recorded_orders(kind: str) -> set[tuple[str, ...]]:
    prefix = next(p for p, k in KINDS.items() if k == kind)
    found = set()
    for suffix in ("", "-1", "-2", "-3", "-repeat"):
        if not (FAULTS / f"{prefix}{suffix}.jsonl").exists():
            continue
        transcript = load_transcript(f"faults/{prefix}{suffix}")
        inbound = [m for _, m in transcript.inbound]
        for _, action in transcript.outbound:
            if action.get("Action") == "Originate":
                found.add(burst(inbound, action["ChannelId"]))
    return found


@pytest.mark.parametrize("kind", ["no_answer", "busy", "congestion"])
def test_the_burst_orders_the_simulator_knows_are_exactly_those_recorded(kind: str) -> None:
    assert {order for order, _ in SEEN[kind]} == recorded_orders(kind)  # type: ignore[index]


NUMBERS = {"no_answer": "35550001", "busy": "25550002", "congestion": "45550004"}


@pytest.mark.looptime
@pytest.mark.parametrize(("kind", "index"), [(k, i) for k in ("no_answer", "busy", "congestion")
                                             for i in range(len(SEEN[k]))])  # type: ignore[index]
async def test_the_simulator_sends_the_burst_in_the_order_a_test_forces(kind: str, index: int) -> None:
    sim = await simulator(burst_order=index)
    try:
        probe = await Probe.connect(sim.port)
        await probe.login()
        await probe.action("Originate", Channel=f"Local/{NUMBERS[kind]}@pstn-hidden", Context="dialer-answered",
                           Exten="s", Priority="1", Timeout="5000", Async="true", ChannelId="attempt-7",
                           OtherChannelId="attempt-7-2")
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "attempt-7", timeout=30)
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "attempt-7-2", timeout=30)
        await probe.wait_for(lambda m: m.event == "OriginateResponse", timeout=30)
        assert burst(probe.received, "attempt-7") == SEEN[kind][index][0]  # type: ignore[index]
        await probe.close()
    finally:
        await sim.close()


def test_a_seed_chooses_among_the_seen_orders_and_the_same_seed_gives_the_same_orders() -> None:
    first = [BurstOrders(seed=3).pick("busy") for _ in range(1)]
    picks = BurstOrders(seed=3)
    again = BurstOrders(seed=3)
    drawn = [picks.pick("no_answer") for _ in range(200)]
    assert drawn == [again.pick("no_answer") for _ in range(200)]
    assert set(drawn) == {order for order, _ in SEEN["no_answer"]}
    assert first[0] in {order for order, _ in SEEN["busy"]}


@pytest.mark.looptime
async def test_a_login_during_a_graceful_stop_is_refused_as_asterisk_does_and_the_connection_kept() -> None:
    transcript = load_transcript("faults/shutdown-gracefully-operator-phone.relogin")
    sim = await simulator()
    try:
        phone = await Probe.connect(sim.port)
        await phone.login()
        await phone.action("Originate", Channel="Local/101@operators", Application="Wait", Data="86400",
                           Timeout="30000", Async="true", ChannelId="op101-1", OtherChannelId="op101-1-2")
        await phone.wait_for(lambda m: m.event == "OriginateResponse")
        sim.stop_gracefully()
        late = await Probe.connect(sim.port)
        answer = await late.login()
        [(_, recorded)] = [(t, m) for t, m in transcript.inbound if m.response is not None]
        assert (answer.response, answer.get("Message")) == (recorded.response, recorded.get("Message"))
        await asyncio.sleep(5)
        assert not late.closed.is_set()        # as recorded: the socket stays until Asterisk stops
        sim.stop_now()
        await asyncio.wait_for(sim.stopped.wait(), 5)
        await asyncio.wait_for(late.closed.wait(), 1)
        with pytest.raises(OSError):
            await Probe.connect(sim.port)
        await sim.restart()
        again = await Probe.connect(sim.port)
        assert (await again.login()).response == "Success"
        status = await again.action("Status", Variables="ATTEMPT_ID")
        assert status.response == "Success"
        complete = await again.wait_for(lambda m: m.event == "StatusComplete")
        assert complete is not None and complete["ListItems"] == "0" and complete["Items"] == "0"
        for probe in (phone, late, again):
            await probe.close()
    finally:
        await sim.close()


@pytest.mark.looptime
async def test_core_stop_now_during_a_graceful_stop_stops_once() -> None:
    sim = await simulator()
    try:
        phone = await Probe.connect(sim.port)
        await phone.login()
        await phone.action("Originate", Channel="Local/101@operators", Application="Wait", Data="86400",
                           Timeout="30000", Async="true", ChannelId="op101-1", OtherChannelId="op101-1-2")
        await phone.wait_for(lambda m: m.event == "ConfbridgeJoin")
        sim.stop_gracefully()
        await asyncio.sleep(1)
        sim.stop_now()
        await asyncio.wait_for(sim.stopped.wait(), 5)
        await sim.restart()
        await asyncio.sleep(5)            # a second, late stop would close the restarted PBX
        again = await Probe.connect(sim.port)
        assert (await again.login()).response == "Success"
        await again.close()
        await phone.close()
    finally:
        await sim.close()


@pytest.mark.looptime
async def test_only_a_system_reader_hears_the_shutdown_event_before_the_socket_closes() -> None:
    """shutdown-now-with-calls.full.jsonl: the observer (read=all) got Event: Shutdown; the dialer user nothing."""
    [(_, recorded)] = [(t, m) for t, m in load_transcript("faults/shutdown-now-with-calls.full").inbound
                       if m.event == "Shutdown"]
    sim = await start_simulator(callees=ScriptedCallees(), users={
        **users_from_manager_conf(MANAGER_CONF.read_text()), "observer": User.of("observer", "change-me")})
    try:
        dialer, observer = await Probe.connect(sim.port), await Probe.connect(sim.port)
        await dialer.login()
        await observer.login("observer")
        sim.stop_now()
        await asyncio.wait_for(asyncio.gather(dialer.closed.wait(), observer.closed.wait()), 5)
        [heard] = observer.events("Shutdown")
        assert [(k, heard[k]) for k in ("Shutdown", "Restart")] == [(k, recorded[k]) for k in ("Shutdown", "Restart")]
        assert dialer.events("Shutdown") == []
    finally:
        await sim.close()
