"""config/asterisk/ and the simulator tell the same story: the sample manager.conf gives the engine
exactly the events it reads, and the simulator runs the sample extensions.conf's steps in order."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami.simulator import CalleeFate, start_simulator
from ami.simulator.permissions import (
    CLASSES,
    LEAST_PRIVILEGE_READ,
    PermissionSpecError,
    parse_classes,
    users_from_manager_conf,
)
from tests.ami.simulator_probe import Probe

CONFIG = Path(__file__).resolve().parents[2] / "config" / "asterisk"
# What ami/events.py turns into engine events (the list actions' replies are not filtered).
ENGINE_EVENTS = {"OriginateResponse", "DialEnd", "UserEvent", "Hangup", "ConfbridgeJoin", "ConfbridgeLeave"}


class Always:
    def __init__(self, fate: CalleeFate) -> None:
        self._fate = fate

    def fate(self, number: str) -> CalleeFate:
        return self._fate


def _dialplan_steps() -> dict[str, list[str]]:
    """context → its applications in priority order, from the sample extensions.conf."""
    steps: dict[str, list[str]] = {}
    context = None
    for raw in (CONFIG / "extensions.conf").read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            context = line.strip("[]")
            steps[context] = []
        elif context and (match := re.match(r"(?:exten => [^,]+,1|same => n),(\w+)\(", line)):
            if line.startswith("exten") and steps[context]:
                continue   # pstn-sim: several extensions; the first one is enough here
            steps[context].append(match.group(1))
    return steps


def test_sample_manager_conf_gives_the_dialer_least_privilege() -> None:
    users = users_from_manager_conf((CONFIG / "manager.conf").read_text())
    dialer = users["dialer"]
    assert dialer.read == frozenset(LEAST_PRIVILEGE_READ.split(","))
    assert not dialer.write & {"system", "command", "config"}
    assert dialer.may_run("originate") and dialer.may_run("redirect") and dialer.may_run("coreshowchannels")
    assert not dialer.may_run("mixmonitor")


def test_manager_conf_without_a_secret_is_refused_by_section() -> None:
    with pytest.raises(PermissionSpecError, match=r"\[ops\]: no secret"):
        users_from_manager_conf("[general]\nenabled = yes\n[ops]\nread = call\n")


@pytest.mark.looptime
async def test_sample_eventfilters_pass_exactly_the_events_the_engine_reads() -> None:
    users = users_from_manager_conf((CONFIG / "manager.conf").read_text())
    fate = CalleeFate("answer", ring_s=2, talk_s=20)
    async with await start_simulator(callees=Always(fate), users=users) as sim:
        probe = await Probe.connect(sim.port)
        assert (await probe.login("dialer", "change-me")).response == "Success"
        await probe.action("Originate", Channel="Local/101@operators", Application="Wait", Data="3600",
                           Async="true", ChannelId="op101-phone", OtherChannelId="op101-phone-2")
        await probe.wait_for(lambda m: m.event == "ConfbridgeJoin")
        before = len(probe.received)
        await probe.action("Originate", Channel="Local/15550001@pstn", Context="dialer-answered", Exten="s",
                           Async="true", ChannelId="att-1", OtherChannelId="att-1-2", Variable=["ATTEMPT_ID=att-1"])
        await probe.wait_for(lambda m: m.event == "UserEvent")
        await probe.action("Redirect", Channel="att-1", Context="operator-join", Exten="101", Priority="1")
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-1-2", timeout=60)
        await asyncio.sleep(1)
        call_events = [m.event for m in probe.received[before:] if m.event]
        assert set(call_events) == ENGINE_EVENTS
        # one answered, handed-off call: OriginateResponse, DialEnd, UserEvent, Join, Leave, 2 × Hangup
        assert len(call_events) == 7
        await probe.close()


@pytest.mark.looptime
async def test_simulator_runs_the_sample_dialplan_steps_in_order() -> None:
    steps = _dialplan_steps()
    fate = CalleeFate("answer", ring_s=1, talk_s=100)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await Probe.connect(sim.port)
        await probe.login("dialer")
        await probe.action("Originate", Channel="Local/101@operators", Application="Wait", Data="3600",
                           Async="true", ChannelId="op101")
        for channel_id, then in (("att-op", ("operator-join", "101")), ("att-sh", ("dialer-safeharbor", "s"))):
            await probe.action("Originate", Channel="Local/15550001@pstn-sim", Context="dialer-answered", Exten="s",
                               Async="true", ChannelId=channel_id, Variable=[f"ATTEMPT_ID={channel_id}"])
            await probe.wait_for(lambda m, cid=channel_id: m.event == "UserEvent" and m.get("Uniqueid") == cid)
            await probe.action("Redirect", Channel=channel_id, Context=then[0], Exten=then[1], Priority="1")
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-sh")
        for context in ("dialer-answered", "operator-join", "dialer-safeharbor", "operators"):
            ran = [m.get("Application") for m in probe.events("Newexten")
                   if m.get("Context") == context and m.get("Uniqueid") in ("att-op", "att-sh", "op101;2")]
            expected = steps[context]
            if context == "dialer-answered":
                expected = expected[:expected.index("Wait") + 1] * 2   # both Redirected before the Wait ended
            elif context == "operator-join" or context == "operators":
                expected = expected[:-1]        # still in the conference: Hangup not reached
            elif context == "dialer-safeharbor":
                expected = expected[:expected.index("Hangup") + 1]   # no opt-out key: the optout branch is skipped
            assert ran == expected, context
        await probe.close()


@given(st.lists(st.sampled_from(sorted(CLASSES)), unique=True), st.sampled_from([",", ", ", " ,"]))
def test_any_list_of_known_classes_reads_back_as_that_set(classes: list[str], separator: str) -> None:
    assert parse_classes(separator.join(classes)) == frozenset(classes)
    assert parse_classes(separator.join([*classes, "all"])) == CLASSES


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(lambda n: n != "general"))
def test_manager_conf_users_keep_their_secret_and_classes(name: str) -> None:
    text = f"[general]\nenabled = yes\n[{name}]\nsecret = s3;cret\nread = call ; comment\nwrite = originate,call\n"
    user = users_from_manager_conf(text)[name]
    # ';' starts a comment in Asterisk's config files, even inside a value
    assert (user.secret, user.read, user.write) == ("s3", frozenset({"call"}), frozenset({"originate", "call"}))


@pytest.mark.looptime
async def test_an_answered_call_nobody_redirects_hears_the_safe_harbor_message_after_the_window() -> None:
    """The sample dialplan's safety net (engine dead or link down): DIALER_SAFE_HARBOR_S seconds after the
    DialerAnswered event, without a Redirect, the call goes to dialer-safeharbor by itself."""
    fate = CalleeFate("answer", ring_s=1, talk_s=100)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await Probe.connect(sim.port)
        await probe.login("dialer")
        await probe.action("Originate", Channel="Local/15550001@pstn-sim", Context="dialer-answered", Exten="s",
                           Async="true", ChannelId="att-1", Variable=["ATTEMPT_ID=1", "DIALER_SAFE_HARBOR_S=2"])
        answered = await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("Uniqueid") == "att-1")
        loop = asyncio.get_running_loop()
        answered_at = loop.time()
        told = await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("UserEvent") == "DialerNoOperator")
        await probe.wait_for(lambda m: m.event == "Newexten" and m.get("Uniqueid") == "att-1"
                             and m.get("Context") == "dialer-safeharbor")
        assert answered.get("UserEvent") == "DialerAnswered" and told.get("Uniqueid") == "att-1"
        assert loop.time() - answered_at == pytest.approx(2.0, abs=0.05)
        await probe.close()
