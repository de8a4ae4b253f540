from dataclasses import asdict

from hypothesis import assume, given
from hypothesis import strategies as st

from dialer.call import FAR, NEAR, Call, CallState


def new_call() -> Call:
    return Call(attempt_id=1, channel_id="attempt-1", campaign_id=1, lead_id=1, phone="+15550001", originated_at=0.0)


def test_busy_originate_response_ends_the_call_as_busy() -> None:
    call = new_call()
    assert call.originate_failed(3.0, 5)
    assert (call.state, call.outcome) == (CallState.ENDED, "busy")


def test_reason_zero_uses_dial_status_to_tell_no_answer_from_failure() -> None:
    call = new_call()
    call.dial_status = "NOANSWER"
    call.originate_failed(25.0, 0)
    assert call.outcome == "no_answer"
    other = new_call()
    other.originate_failed(1.0, 0)
    assert other.outcome == "failed"


def test_answered_call_connected_to_an_operator_ends_connected() -> None:
    call = new_call()
    assert call.answer(5.0)
    assert call.hand_off(operator_id=7)
    assert call.connect(5.01)
    assert call.hang_up(60.0, 16)
    assert call.outcome == "connected"
    assert not call.abandoned


def test_answered_call_sent_to_the_message_is_abandoned() -> None:
    call = new_call()
    call.answer(5.0)
    assert call.abandon()
    call.hang_up(9.0, 16)
    assert call.outcome == "abandoned"
    assert call.abandoned


def test_caller_hanging_up_while_waiting_is_dropped_and_counted_as_abandoned() -> None:
    call = new_call()
    call.answer(5.0)
    call.hang_up(5.5, 16)
    assert call.outcome == "dropped"
    assert call.abandoned


# A failed call's burst as Asterisk 22 sends it (tests/fixtures/asterisk/transcripts/faults): Reason, DialEnd
# status (None: no DialEnd), the cause on ;1 and on ;2, and the row it must give whatever the order.
BURSTS = {
    "no answer": ((3, None, 19, 19), ("no_answer", 3, None, 19)),
    "busy": ((5, "BUSY", 0, 17), ("busy", 5, "BUSY", 17)),
    "congestion": ((8, "CONGESTION", 0, 34), ("congestion", 8, "CONGESTION", 34)),
    "plus sign": ((0, None, 0, 0), ("failed", 0, None, 0)),
    "core stop now while ringing": ((0, "NOANSWER", 0, 0), ("no_answer", 0, "NOANSWER", 0)),
}


@given(st.sampled_from(sorted(BURSTS)), st.permutations(["response", "dial_end", "near", "far"]))
def test_a_failed_call_ends_once_with_the_same_row_whatever_the_order_of_its_burst(
        kind: str, order: list[str]) -> None:
    """Only the order within one channel is fixed: DialEnd (of ;1) comes before the Hangup of ;1."""
    assume(order.index("dial_end") < order.index("near"))
    (reason, status, near, far), row = BURSTS[kind]
    call = new_call()
    call.expect_legs("Local/15550001@pstn")
    ends = 0
    for step in order:
        if step == "response":
            ends += call.originate_failed(5.0, reason)
        elif step == "dial_end" and status is not None:
            call.dial_ended(status)
        elif step == "near":
            ends += call.leg_hung_up(5.0, NEAR, near)
        elif step == "far":
            ends += call.leg_hung_up(5.0, FAR, far)
    assert ends == 1
    assert (call.outcome, call.originate_reason, call.dial_status, call.hangup_cause) == row


def test_a_timed_out_call_is_not_over_at_its_first_hangup() -> None:
    """noanswer-timeout-order-2: Hangup ;1 (cause 19) came before OriginateResponse Reason 3."""
    call = new_call()
    call.expect_legs("Local/35550002@pstn-hidden")
    assert not call.leg_hung_up(5.6, FAR, 19)
    assert not call.leg_hung_up(5.6, NEAR, 19)
    assert call.ringing
    assert call.originate_failed(5.6, 3)
    assert call.outcome == "no_answer"


def test_a_trunk_call_has_one_channel_to_hear_of() -> None:
    call = new_call()
    call.expect_legs("PJSIP/+15550001@trunk")
    assert not call.originate_failed(1.0, 5)
    assert call.leg_hung_up(1.0, NEAR, 17)
    assert (call.outcome, call.hangup_cause) == ("busy", 17)


def test_an_answered_call_keeps_the_reason_of_its_originate_response() -> None:
    call = new_call()
    call.dial_ended("ANSWER")
    call.heard_response(4)
    assert call.answer(2.0)
    assert call.leg_hung_up(9.0, FAR, 16) is False
    assert call.leg_hung_up(9.0, NEAR, 16)
    assert (call.outcome, call.originate_reason, call.dial_status, call.hangup_cause) == ("dropped", 4, "ANSWER", 16)


def test_an_originate_never_carried_out_is_not_dialed() -> None:
    call = new_call()
    assert call.not_dialed(0.5)
    assert (call.state, call.outcome) == (CallState.ENDED, "not_dialed")
    assert not call.originate_failed(0.6, 0)


events = st.lists(st.sampled_from(["answer", "hand_off", "connect", "abandon", "fail", "hang_up"]), max_size=12)


@given(events)
def test_replaying_any_event_twice_changes_nothing_the_second_time(sequence: list[str]) -> None:
    call = new_call()
    for name in sequence:
        _apply(call, name)
        before = asdict(call)   # Call has __slots__: no __dict__
        changed = _apply(call, name)
        assert not changed
        assert asdict(call) == before


@given(events)
def test_an_ended_call_has_exactly_one_outcome_and_never_changes(sequence: list[str]) -> None:
    call = new_call()
    outcome = None
    for name in sequence:
        _apply(call, name)
        if outcome is not None:
            assert call.outcome == outcome
        if call.state is CallState.ENDED:
            outcome = call.outcome
            assert outcome


def _apply(call: Call, name: str) -> bool:
    return {
        "answer": lambda: call.answer(1.0),
        "hand_off": lambda: call.hand_off(3),
        "connect": lambda: call.connect(1.5),
        "abandon": lambda: call.abandon(),
        "fail": lambda: call.originate_failed(2.0, 5),
        "hang_up": lambda: call.hang_up(9.0, 16),
    }[name]()
