"""The simulator against real Asterisk 22: the same actions, at the same moments, give the same messages.

Each recorded transcript (tests/fixtures/asterisk/transcripts) is replayed against the simulator over TCP
(with ScriptedCallees, the reference dialplan's first-digit convention) under virtual time, and what
comes back is compared with what Asterisk sent. How the comparison is fair to both:

- Ids are normalized: channel sequence numbers, generated Uniqueids and bridge ids become tokens in
  order of first appearance; timestamps, durations and session ids are not compared.
- Only key fields are compared (KEY_FIELDS), not the decorative snapshot ones.
- Order is compared per channel (events keyed by Uniqueid/DestUniqueid/LocalOneUniqueid), per action
  (Response, then …Complete), and for conference-wide events. Across channels Asterisk's order changes
  from run to run (one thread per channel: compare originate-answered with reconcile-…), so it is not
  compared. Events whose position Asterisk does not fix (FLOATING: OriginateResponse — see
  tests/fixtures/asterisk/README.md —, ConfbridgeJoin/Leave, ChanSpyStart/Stop) and list items (Asterisk
  walks a hash container) are compared as multisets.

Documented differences (the simulator's choices, not accidents):
- DeviceStateChange and VarSet BRIDGEPEER are not sent: device state and bridge-peer bookkeeping, which
  the engine does not use and whose repetitions depend on Asterisk's internal threads.
- SoftHangupRequest/HangupRequest are sent but not compared: which half reports them first is a race.
- In context dialer-answered the simulator runs OUR dialplan (config/asterisk/extensions.conf: AMD,
  MixMonitor, UserEvent with AttemptId/AmdStatus), the recordings ran the reference one (UserEvent with
  Lead): its Newexten/VarSet/MixMonitorStart are not compared, and the UserEvent by name and channel only.
- A NoOp's text is not compared (the simulator labels callee outcomes its own way).
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict

import pytest

from ami.simulator import ScriptedCallees, start_simulator
from ami.wire import Message
from tests.ami.simulator_probe import Probe, load_transcript

KEY_FIELDS = (
    "Event", "Response", "Message", "ActionID", "EventList", "ListItems", "Ping",
    "Channel", "ChannelState", "Context", "Exten", "Uniqueid", "Linkedid", "CallerIDNum",
    "DestChannel", "DestChannelState", "DestUniqueid", "DialStatus", "DialString",
    "LocalOneChannel", "LocalTwoChannel", "LocalOneUniqueid", "LocalTwoUniqueid",
    "Reason", "Cause", "UserEvent", "Application", "AppData", "ApplicationData", "Data",
    "Conference", "BridgeName", "BridgeUniqueid", "BridgeId", "BridgeID", "BridgeNumChannels", "Admin", "Muted",
    "Variable", "Value", "SpyerChannel", "SpyeeChannel", "Status", "RequestType", "AccountID",
    "Seconds", "AnsweredTime", "Duration",   # whole seconds, so they survive the replay's few-ms offsets
)
NOT_SENT = {"DeviceStateChange"}
NOT_COMPARED = {"SoftHangupRequest", "HangupRequest"}
FLOATING = {"OriginateResponse", "ConfbridgeJoin", "ConfbridgeLeave", "ChanSpyStart", "ChanSpyStop"}
LIST_ITEMS = {"CoreShowChannel", "Status", "ConfbridgeList", "ChannelHungup"}
OUR_DIALPLAN = "dialer-answered"

_CHANNEL_SEQ = re.compile(r"-([0-9a-f]{8})(?=;[12]|$|,)")
_GENERATED_ID = re.compile(r"\b\d{10}\.\d+\b")
_BRIDGE_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


class _Tokens:
    """Replaces ids by tokens in order of first appearance, so two runs with other counters compare."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, str]] = defaultdict(dict)

    def _sub(self, kind: str, pattern: re.Pattern[str], value: str) -> str:
        table = self._seen[kind]

        def token(match: re.Match[str]) -> str:
            whole = match.group(0)
            key = match.group(1) if match.groups() else whole
            table.setdefault(key, f"{kind}{len(table) + 1}")
            return whole.replace(key, table[key]) if match.groups() else table[key]
        return pattern.sub(token, value)

    def __call__(self, value: str) -> str:
        value = self._sub("C", _CHANNEL_SEQ, value)
        value = self._sub("U", _GENERATED_ID, value)
        return self._sub("B", _BRIDGE_ID, value)


def _comparable(messages: list[Message]) -> dict[tuple[str, ...], list[tuple[tuple[str, str], ...]]]:
    tokens = _Tokens()
    streams: dict[tuple[str, ...], list[tuple[tuple[str, str], ...]]] = defaultdict(list)
    for m in messages:
        event = m.event
        if event in NOT_SENT or event in NOT_COMPARED:
            continue
        if event == "VarSet" and m.get("Variable") == "BRIDGEPEER":
            continue
        if m.get("Context") == OUR_DIALPLAN and event in ("Newexten", "VarSet", "MixMonitorStart"):
            continue
        fields = [(k, tokens(m[k])) for k in KEY_FIELDS if k in m]
        if event == "Newexten" and m.get("Application") == "NoOp":
            fields = [(k, v) for k, v in fields if k != "AppData"]
        if event == "UserEvent":
            fields = [(k, v) for k, v in fields if k in ("Event", "UserEvent", "Channel", "Uniqueid")]
        row = tuple(fields)
        if m.response is not None or (event or "").endswith("Complete"):
            key: tuple[str, ...] = ("action", m.action_id or "")
        elif event in LIST_ITEMS:
            key = ("items", m.action_id or "")
        elif event in FLOATING:
            key = ("floating",)
        else:
            uid = m.get("Uniqueid") or m.get("DestUniqueid") or m.get("LocalOneUniqueid")
            key = ("channel", tokens(uid)) if uid else ("global",)
        streams[key].append(row)
    for key in streams:
        if key[0] in ("items", "floating"):
            streams[key].sort()
    return dict(streams)


async def _replay(name: str) -> tuple[list[Message], list[Message], Probe]:
    transcript = load_transcript(name)
    sim = await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-sim"})
    loop = asyncio.get_running_loop()
    try:
        probe = await Probe.connect(sim.port)
        assert probe.banner == transcript.banner == "Asterisk Call Manager/11.0.0"
        start = loop.time()
        for t, action in transcript.outbound:
            await asyncio.sleep(max(0.0, start + t - loop.time()))
            probe.send(action)
        last = max(t for t, _ in transcript.inbound)
        await asyncio.sleep(max(0.0, start + last + 1.0 - loop.time()))
        await probe.close()
    finally:
        await sim.close()
    return [m for _, m in transcript.inbound], probe.received, probe


def _assert_same(name: str, recorded: list[Message], simulated: list[Message]) -> None:
    want, got = _comparable(recorded), _comparable(simulated)
    for key in sorted(set(want) | set(got)):
        assert got.get(key) == want.get(key), f"{name}: stream {key} differs"


SCENARIOS = [
    "login-bad", "ping-and-unknown-action", "originate-answered", "originate-busy", "originate-noanswer",
    "originate-congestion", "originate-bad-extension", "handoff-record-spy-hangup", "least-privilege-user",
    "reconcile-coreshowchannels-status",
]


@pytest.mark.looptime
@pytest.mark.parametrize("name", SCENARIOS)
async def test_simulator_answers_as_asterisk_22_did(name: str) -> None:
    recorded, simulated, _ = await _replay(name)
    _assert_same(name, recorded, simulated)


@pytest.mark.looptime
async def test_failed_login_closes_the_connection_after_a_second() -> None:
    _, simulated, probe = await _replay("login-bad")
    assert probe.closed.is_set()
    assert [m.get("Message") for m in simulated] == ["Authentication failed"]


def test_comparison_notices_a_changed_cause() -> None:
    """The comparison itself can fail: a Hangup with another cause is a difference."""
    recorded = [m for _, m in load_transcript("originate-busy").inbound]
    tampered = [Message([(k, "16" if k == "Cause" and m.event == "Hangup" else v) for k, v in m.pairs])
                for m in recorded]
    assert _comparable(recorded) != _comparable(tampered)


def test_comparison_notices_a_reordered_channel() -> None:
    recorded = [m for _, m in load_transcript("originate-answered").inbound]
    dial_end = next(i for i, m in enumerate(recorded) if m.event == "DialEnd")
    dial_begin = next(i for i, m in enumerate(recorded) if m.event == "DialBegin")
    swapped = list(recorded)
    swapped[dial_begin], swapped[dial_end] = swapped[dial_end], swapped[dial_begin]
    assert _comparable(recorded) != _comparable(swapped)
