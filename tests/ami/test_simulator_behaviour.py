"""What the simulator promises beyond the recorded transcripts: permissions, the dialplan contexts the
engine relies on (hand-off, safe harbor, AMD), the callee world, and the edges of Originate/Hangup."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import pytest

from ami.simulator import CalleeFate, ParametricCallees, ScriptedCallees, User, start_simulator
from ami.simulator.permissions import PermissionSpecError
from ami.wire import Message
from tests.ami.simulator_probe import Probe

looptime = pytest.mark.looptime


class Always:
    """A callee model where every number meets the same fate."""

    def __init__(self, fate: CalleeFate) -> None:
        self._fate = fate

    def fate(self, number: str) -> CalleeFate:
        return self._fate


async def _session(sim, user: str = "dialer") -> Probe:  # type: ignore[no-untyped-def]
    probe = await Probe.connect(sim.port)
    response = await probe.login(user)
    assert response.response == "Success"
    return probe


def _customer(channel_id: str, number: str = "15550001", **extra: str | list[str]) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "Channel": f"Local/{number}@pstn-sim", "Context": "dialer-answered", "Exten": "s", "Priority": "1",
        "Timeout": "20000", "Async": "true", "ChannelId": channel_id, "Variable": [f"ATTEMPT_ID={channel_id}"]}
    fields.update(extra)
    return fields


def _hangup_of(probe: Probe, uniqueid: str) -> Message | None:
    return next((m for m in probe.events("Hangup") if m.get("Uniqueid") == uniqueid), None)


# ---- permissions ---------------------------------------------------------------------------------

@looptime
async def test_least_privilege_user_cannot_record_or_run_commands_through_ami() -> None:
    async with await start_simulator(callees=ScriptedCallees()) as sim:
        lp = await _session(sim, "dialer-lp")
        assert (await lp.action("MixMonitor", Channel="x", File="a.wav")).get("Message") == "Permission denied"
        assert (await lp.action("Command", Command="core show version")).get("Message") == "Permission denied"
        for app in ("MixMonitor", "System", "TrySystem", "Exec"):
            refused = await lp.action("Originate", Channel="Local/s@hold", Application=app, Data="x", Async="true")
            assert refused.get("Message") == "Originate Access Forbidden: app or data blacklisted"
        spy = await lp.action("Originate", Channel="Local/s@hold", Application="ChanSpy", Data="PJSIP/101,qw",
                              Async="true")
        assert spy.response == "Success"
        assert not lp.events("FullyBooted")
        await lp.close()


@looptime
async def test_actions_need_the_write_class_asterisk_registers_them_with() -> None:
    users = {"orig": User.of("orig", "s3", read="call", write="originate"),
             "rep": User.of("rep", "s3", read="call", write="reporting")}
    async with await start_simulator(callees=ScriptedCallees(), users=users) as sim:
        orig = await Probe.connect(sim.port)
        await orig.login("orig", "s3")
        for action, fields in (("Redirect", {"Channel": "x", "Context": "c", "Exten": "1"}),
                               ("Hangup", {"Channel": "x"}), ("Status", {}), ("CoreShowChannels", {})):
            assert (await orig.action(action, **fields)).get("Message") == "Permission denied", action
        rep = await Probe.connect(sim.port)
        await rep.login("rep", "s3")
        assert (await rep.action("CoreShowChannels")).response == "Success"
        assert (await rep.action("Status")).response == "Success"    # Status: system, call or reporting
        assert (await rep.action("Originate", Channel="Local/1@pstn-sim", Application="Wait",
                                 Async="true")).get("Message") == "Permission denied"
        await orig.close()
        await rep.close()


@looptime
async def test_actions_before_login_are_refused() -> None:
    async with await start_simulator(callees=ScriptedCallees()) as sim:
        probe = await Probe.connect(sim.port)
        assert (await probe.action("CoreShowChannels")).get("Message") == "Permission denied"
        await probe.close()


@looptime
async def test_events_reach_only_sessions_whose_read_classes_hold_them() -> None:
    users = {"dialer": User.of("dialer", "change-me"),
             "lp": User.of("lp", "change-me", read="call,agent,user", write="originate,call,agent,reporting"),
             "users-only": User.of("users-only", "change-me", read="user", write="")}
    async with await start_simulator(callees=ScriptedCallees(), users=users) as sim:
        full, lp, only_user = [await _session(sim, name) for name in ("dialer", "lp", "users-only")]
        await lp.action("Originate", **_customer("att-1"))
        await lp.wait_for(lambda m: m.event == "UserEvent")
        await asyncio.sleep(0.1)
        assert full.events("Newexten") and full.events("VarSet")
        assert not lp.events("Newexten") and not lp.events("VarSet")
        assert lp.events("Newchannel") and lp.events("OriginateResponse")
        assert {m.event for m in only_user.events()} == {"UserEvent"}
        assert all(m.get("Privilege") == "call,all" for m in lp.events() if m.event != "UserEvent")
        for probe in (full, lp, only_user):
            await probe.close()


@looptime
async def test_eventfilters_keep_only_the_events_they_name() -> None:
    users = {"f": User.of("f", "pw", eventfilters=("Event: (OriginateResponse|UserEvent|Hangup)\r",))}
    async with await start_simulator(callees=ScriptedCallees(), users=users) as sim:
        probe = await Probe.connect(sim.port)
        await probe.login("f", "pw")
        await probe.action("Originate", **_customer("att-f", number="25550001"))
        await probe.wait_for(lambda m: m.event == "OriginateResponse")
        await asyncio.sleep(0.5)
        assert {m.event for m in probe.events()} == {"OriginateResponse", "Hangup"}
        await probe.close()


@looptime
async def test_a_user_given_by_secret_alone_gets_the_least_privilege_classes() -> None:
    async with await start_simulator(callees=ScriptedCallees(), users={"engine": "s3cret"}) as sim:
        probe = await Probe.connect(sim.port)
        assert (await probe.login("engine", "s3cret")).response == "Success"
        assert (await probe.action("MixMonitor", Channel="x", File="a.wav")).get("Message") == "Permission denied"
        assert (await probe.action("CoreShowChannels")).response == "Success"
        await probe.close()


def test_unknown_permission_class_is_named_in_the_error() -> None:
    with pytest.raises(PermissionSpecError, match="orignate"):
        User.of("x", "y", write="orignate,call")


# ---- Originate outcomes --------------------------------------------------------------------------

@looptime
async def test_answered_callee_hangs_up_with_cause_16_when_the_talk_time_is_over() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=3, talk_s=40))) as sim:
        probe = await _session(sim)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await probe.action("Originate", **_customer("att-t"))
        answered = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert answered is not None and answered.get("Reason") == "4"
        assert answered.get("Uniqueid") == "att-t"
        user_event = await probe.wait_for(lambda m: m.event == "UserEvent")
        assert user_event is not None and user_event.get("AttemptId") == "att-t" and user_event.get("AmdStatus") == ""
        # dialer-answered would hang up by itself after Wait(30): keep it in the conference of an operator
        await probe.action("Redirect", Channel="att-t", Context="operator-join", Exten="101", Priority="1")
        hangup = await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-t;2")
        assert hangup is not None and hangup.get("Cause") == "16"
        assert loop.time() - start == pytest.approx(43, abs=0.1)
        assert sim.channels == {} and sim.conferences == {}
        await probe.close()


@looptime
async def test_answered_call_left_in_dialer_answered_is_hung_up_after_30_seconds() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=1, talk_s=300))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-w"))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        start = asyncio.get_running_loop().time()
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-w")
        assert asyncio.get_running_loop().time() - start == pytest.approx(30, abs=0.1)
        await probe.close()


@pytest.mark.parametrize(("fate", "reason", "cause", "dial_status"), [
    (CalleeFate("busy", ring_s=2), "5", "17", "BUSY"),
    (CalleeFate("congestion", ring_s=0.5), "8", "34", "CONGESTION"),
    (CalleeFate("no_answer"), "3", "19", None),
    (CalleeFate("answer", ring_s=60), "3", "19", None),   # rings past the Originate timeout
])
@looptime
async def test_unanswered_outcomes_give_asterisks_reason_and_cause(
        fate: CalleeFate, reason: str, cause: str, dial_status: str | None) -> None:
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-u", Timeout="7000"))
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None
        outcome = (response.get("Response"), response.get("Reason"), response.get("Uniqueid"))
        assert outcome == ("Failure", reason, "att-u")
        far = await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-u;2")
        assert far is not None and far.get("Cause") == cause
        ends = [m.get("DialStatus") for m in probe.events("DialEnd")]
        assert ends == ([dial_status] if dial_status else [])
        assert sim.tally.answered == 0
        await probe.close()


@looptime
async def test_no_answer_rings_exactly_until_the_originate_timeout() -> None:
    async with await start_simulator(callees=Always(CalleeFate("no_answer"))) as sim:
        probe = await _session(sim)
        start = asyncio.get_running_loop().time()
        await probe.action("Originate", **_customer("att-n", Timeout="7000"))
        await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert asyncio.get_running_loop().time() - start == pytest.approx(7, abs=0.05)
        await probe.close()


@looptime
async def test_any_context_outside_the_dialplan_reaches_the_callees_unless_contexts_are_named() -> None:
    async with await start_simulator(callees=Always(CalleeFate("busy", ring_s=1))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-any", Channel="Local/74951234567@pstn"))
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None and response.get("Reason") == "5"
        await probe.close()
    async with await start_simulator(callees=Always(CalleeFate("busy", ring_s=1)), callee_contexts={"pstn-sim"}) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-typo", Channel="Local/74951234567@pstn"))
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None and response.get("Reason") == "0"
        await probe.close()


@looptime
async def test_pjsip_trunk_channel_is_one_channel_with_the_attempt_as_uniqueid() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=2, talk_s=5))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-p", Channel="PJSIP/+15550001@trunk"))
        answered = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert answered is not None and answered.get("Reason") == "4"
        assert answered.get("Channel", "").startswith("PJSIP/trunk-")
        hangup = await probe.wait_for(lambda m: m.event == "Hangup")
        assert hangup is not None and (hangup.get("Uniqueid"), hangup.get("Cause")) == ("att-p", "16")
        assert len(probe.events("Newchannel")) == 1
        assert sim.originates_by_number == Counter({"+15550001": 1})
        await probe.close()


@looptime
async def test_a_second_originate_with_a_live_channel_id_fails_and_dials_nobody() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=5))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-d", ActionID="first"))
        await probe.action("Originate", **_customer("att-d", ActionID="again"))
        again = await probe.wait_for(lambda m: m.event == "OriginateResponse" and m.action_id == "again")
        assert again is not None and (again.get("Response"), again.get("Reason")) == ("Failure", "0")
        assert sim.originates_by_number["15550001"] == 1
        assert len(probe.events("Newchannel")) == 2
        await probe.close()


@looptime
async def test_hangup_while_ringing_ends_the_originate_with_reason_1() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=10))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-c"))
        await probe.wait_for(lambda m: m.event == "DialState")
        assert (await probe.action("Hangup", Channel="att-c")).get("Message") == "Channel Hungup"
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None and (response.get("Response"), response.get("Reason")) == ("Failure", "1")
        await asyncio.sleep(15)
        assert sim.tally.answered == 0 and sim.channels == {}
        await probe.close()


@looptime
async def test_synchronous_originate_answers_when_the_call_has_its_outcome() -> None:
    async with await start_simulator(callees=Always(CalleeFate("busy", ring_s=2))) as sim:
        probe = await _session(sim)
        start = asyncio.get_running_loop().time()
        fields = _customer("att-s")
        fields["Async"] = "false"
        response = await probe.action("Originate", **fields)
        assert (response.response, response.get("Message")) == ("Error", "Originate failed")
        assert asyncio.get_running_loop().time() - start == pytest.approx(2, abs=0.05)
        assert not probe.events("OriginateResponse")
        await probe.close()


@looptime
async def test_bad_originate_fields_get_asterisks_errors() -> None:
    async with await start_simulator(callees=ScriptedCallees()) as sim:
        probe = await _session(sim)
        assert (await probe.action("Originate", Context="x")).get("Message") == "Channel not specified"
        assert (await probe.action("Originate", Channel="Local/1@pstn-sim", Timeout="soon",
                                   Async="true")).get("Message") == "Invalid timeout"
        assert (await probe.action("Originate", Channel="Local/1@pstn-sim", Priority="first",
                                   Async="true")).get("Message") == "Invalid priority"
        assert (await probe.action("Redirect", Channel="nope", Context="operator-join", Exten="1")
                ).get("Message") == "Channel does not exist: nope"
        assert (await probe.action("Hangup", Channel="nope")).get("Message") == "No such channel"
        await probe.close()


# ---- the engine's dialplan contexts ------------------------------------------------------------------

async def _operator(probe: Probe, ext: str) -> None:
    await probe.action("Originate", Channel=f"Local/{ext}@operators", Application="Wait", Data="36000",
                       Async="true", ChannelId=f"op{ext}-phone")
    await probe.wait_for(lambda m: m.event == "ConfbridgeJoin" and m.get("Conference") == f"op{ext}")


@looptime
async def test_redirect_into_operator_join_puts_the_customer_in_the_operators_conference() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=2, talk_s=100))) as sim:
        probe = await _session(sim)
        await _operator(probe, "101")
        await _operator(probe, "102")
        await probe.action("Originate", **_customer("att-h"))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        redirect = await probe.action("Redirect", Channel="att-h", Context="operator-join", Exten="102", Priority="1")
        assert redirect.get("Message") == "Redirect successful"
        joined = await probe.wait_for(lambda m: m.event == "ConfbridgeJoin" and m.get("Uniqueid") == "att-h")
        assert joined is not None and joined.get("Conference") == "op102"
        assert sim.conferences == {"op101": ["op101-phone;2"], "op102": ["op102-phone;2", "att-h"]}
        listed = await probe.action("ConfbridgeList", Conference="op102", ActionID="list")
        assert listed.get("EventList") == "start"
        await probe.wait_for(lambda m: m.event == "ConfbridgeListComplete")
        assert [m.get("Uniqueid") for m in probe.events("ConfbridgeList")] == ["op102-phone;2", "att-h"]
        # the customer hangs up: they leave, the operator stays in op102
        await probe.wait_for(lambda m: m.event == "ConfbridgeLeave", timeout=200)
        await asyncio.sleep(1)
        assert sim.conferences == {"op101": ["op101-phone;2"], "op102": ["op102-phone;2"]}
        await probe.close()


@looptime
async def test_an_operator_phone_dropping_leaves_the_conference_and_hangs_up_both_halves() -> None:
    async with await start_simulator(callees=ScriptedCallees()) as sim:
        probe = await _session(sim)
        await _operator(probe, "101")
        sim.hang_up("op101-phone;2")
        left = await probe.wait_for(lambda m: m.event == "ConfbridgeLeave")
        assert left is not None and left.get("Uniqueid") == "op101-phone;2"
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "op101-phone")
        assert sim.channels == {} and sim.conferences == {}
        with pytest.raises(KeyError, match="op101-phone"):
            sim.hang_up("op101-phone")
        await probe.close()


@looptime
async def test_regex_hangup_ends_only_the_matching_channels() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=1, talk_s=100))) as sim:
        probe = await _session(sim)
        await _operator(probe, "101")
        await probe.action("Originate", **_customer("att-r1", number="15550001"))
        await probe.action("Originate", **_customer("att-r2", number="15550002"))
        await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("AttemptId") == "att-r2")
        response = await probe.action("Hangup", Channel="/^Local/1555000.@pstn-sim/", ActionID="rx")
        assert response.get("EventList") == "start"
        complete = await probe.wait_for(lambda m: m.event == "ChannelsHungupListComplete")
        assert complete is not None and complete.get("ListItems") == "4"
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-r2;2")
        assert sorted(sim.channels) == ["op101-phone", "op101-phone;2"]
        bad = await probe.action("Hangup", Channel="/([/")
        assert bad.response == "Error"
        await probe.close()


@looptime
async def test_unconnected_answered_callee_gives_up_after_patience_but_not_once_with_an_operator() -> None:
    fate = CalleeFate("answer", ring_s=1, talk_s=100, patience_s=5)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await _session(sim)
        await _operator(probe, "101")
        await probe.action("Originate", **_customer("att-left", number="15550001"))
        await probe.action("Originate", **_customer("att-kept", number="15550002"))
        await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("AttemptId") == "att-kept")
        await probe.action("Redirect", Channel="att-kept", Context="operator-join", Exten="101", Priority="1")
        left = await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-left")
        assert left is not None and left.get("Cause") == "16"
        await asyncio.sleep(10)
        assert "att-kept" in sim.channels
        await probe.close()


@looptime
async def test_safe_harbor_plays_the_message_then_hangs_up() -> None:
    fate = CalleeFate("answer", ring_s=1, talk_s=100, patience_s=2)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await _session(sim)
        variables = ["ATTEMPT_ID=att-sh", "DIALER_SELLER_PROMPT=acme-seller", "DIALER_CALLBACK_NUMBER=0800123"]
        await probe.action("Originate", **_customer("att-sh", Variable=variables))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        await probe.action("Redirect", Channel="att-sh", Context="dialer-safeharbor", Exten="s", Priority="1")
        played = await probe.wait_for(
            lambda m: m.event == "UserEvent" and m.get("UserEvent") == "DialerSafeHarborPlayed")
        assert played is not None and played.get("AttemptId") == "att-sh"
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-sh")
        playback = [m.get("AppData") for m in probe.events("Newexten") if m.get("Context") == "dialer-safeharbor"]
        assert playback == ["", "acme-seller", "0800123", "DialerSafeHarborPlayed,AttemptId: att-sh",
                            "OPTOUT,dialer/press-9-to-opt-out,1,,1,3", '$["" = "9"]?optout', ""]
        assert not [m for m in probe.events("UserEvent") if m.get("UserEvent") == "DialerOptOut"]
        await probe.close()


@looptime
async def test_a_callee_who_presses_9_in_the_safe_harbor_message_opts_out() -> None:
    fate = CalleeFate("answer", ring_s=1, talk_s=100, opts_out=True)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-oo", Variable=["ATTEMPT_ID=att-oo"]))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        await probe.action("Redirect", Channel="att-oo", Context="dialer-safeharbor", Exten="s", Priority="1")
        opted = await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("UserEvent") == "DialerOptOut")
        assert opted is not None and opted.get("Uniqueid") == "att-oo"
        await probe.close()


@pytest.mark.parametrize(("amd", "machine", "status"), [("1", True, "MACHINE"), ("1", False, "HUMAN"), ("0", True, "")])
@looptime
async def test_amd_verdict_reaches_the_engine_in_the_user_event(amd: str, machine: bool, status: str) -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=1, machine=machine))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-a", Variable=["ATTEMPT_ID=att-a", f"DIALER_AMD={amd}"]))
        event = await probe.wait_for(lambda m: m.event == "UserEvent")
        assert event is not None and event.get("AmdStatus") == status
        await probe.close()


@looptime
async def test_status_reports_the_asked_channel_variables() -> None:
    async with await start_simulator(callees=Always(CalleeFate("answer", ring_s=1, talk_s=100))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-v"))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        await probe.action("Status", Channel="att-v", Variables="ATTEMPT_ID,NOT_SET")
        status = await probe.wait_for(lambda m: m.event == "Status")
        # an unset variable reads "(null)", as on Asterisk 22 (faults/restart-reconcile: the phone's channels)
        assert status is not None and status.get_all("Variable") == ["ATTEMPT_ID=att-v", "NOT_SET=(null)"]
        await probe.close()


# ---- the callee world --------------------------------------------------------------------------------

def test_parametric_callees_follow_their_shares_and_repeat_with_a_seed() -> None:
    model = ParametricCallees(answer=0.4, busy=0.2, congestion=0.1, ring_s=(2, 6), talk_mean_s=90,
                              machine=0.25, seed=7)
    fates = [model.fate(str(n)) for n in range(20000)]
    shares = Counter(f.outcome for f in fates)
    assert shares["answer"] / 20000 == pytest.approx(0.4, abs=0.015)
    assert shares["busy"] / 20000 == pytest.approx(0.2, abs=0.015)
    assert shares["no_answer"] / 20000 == pytest.approx(0.3, abs=0.015)
    answered = [f for f in fates if f.outcome == "answer"]
    assert all(2 <= f.ring_s <= 6 for f in answered)
    assert sum(f.talk_s for f in answered) / len(answered) == pytest.approx(90, rel=0.05)
    assert sum(f.machine for f in answered) / len(answered) == pytest.approx(0.25, abs=0.03)
    assert all(math.isinf(f.patience_s) for f in answered)
    again = ParametricCallees(answer=0.4, busy=0.2, congestion=0.1, ring_s=(2, 6), talk_mean_s=90,
                              machine=0.25, seed=7)
    assert [again.fate(str(n)) for n in range(100)] == fates[:100]


def test_parametric_callees_refuse_shares_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="add up to 1"):
        ParametricCallees(answer=0.5, busy=0.3, congestion=0.1, no_answer=0.5)
    with pytest.raises(ValueError, match="busy share"):
        ParametricCallees(answer=0.5, busy=-0.1)


def test_scripted_callees_follow_the_reference_first_digit() -> None:
    model = ScriptedCallees()
    assert [model.fate(n).outcome for n in ("15550001", "2555", "3555", "4555", "5555", "+1555")] == [
        "answer", "busy", "no_answer", "congestion", "answer", "answer"]
    assert model.fate("6555").machine


@looptime
async def test_a_callee_sent_to_the_rating_menu_keys_in_its_score() -> None:
    fate = CalleeFate("answer", ring_s=1, talk_s=100, rating=5)
    async with await start_simulator(callees=Always(fate)) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-r", Variable=["ATTEMPT_ID=att-r"]))
        await probe.wait_for(lambda m: m.event == "UserEvent")
        await probe.action("Redirect", Channel="att-r", Context="dialer-rating", Exten="s", Priority="1")
        rated = await probe.wait_for(lambda m: m.event == "UserEvent" and m.get("UserEvent") == "DialerRating")
        assert rated is not None and (rated.get("Uniqueid"), rated.get("Score")) == ("att-r", "5")
        await probe.close()


@looptime
async def test_a_plus_number_fails_only_in_a_named_pstn_context_whose_patterns_are_digits() -> None:
    """As on Asterisk: Local/+7…@pstn-sim matches no _X. pattern (Reason 0); a context the simulator does
    not know stands for a trunk to the phone network, which takes +E.164 as it is."""
    async with await start_simulator(callees=Always(CalleeFate("busy", ring_s=1))) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-trunk", Channel="Local/+74951234567@pstn"))
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None and response.get("Reason") == "5"
        await probe.close()
    async with await start_simulator(callees=Always(CalleeFate("busy", ring_s=1)), callee_contexts={"pstn-sim"}) as sim:
        probe = await _session(sim)
        await probe.action("Originate", **_customer("att-plus", Channel="Local/+74951234567@pstn-sim"))
        response = await probe.wait_for(lambda m: m.event == "OriginateResponse")
        assert response is not None and response.get("Reason") == "0"
        await probe.close()
