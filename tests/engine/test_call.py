from hypothesis import given
from hypothesis import strategies as st

from dialer.call import Call, CallState


def new_call() -> Call:
    return Call(attempt_id=1, channel_id="attempt-1", campaign_id=1, lead_id=1, phone="+15550001", originated_at=0.0)


def test_busy_originate_response_ends_the_call_as_busy() -> None:
    call = new_call()
    assert call.fail(3.0, 5)
    assert (call.state, call.outcome) == (CallState.ENDED, "busy")


def test_reason_zero_uses_dial_status_to_tell_no_answer_from_failure() -> None:
    call = new_call()
    call.dial_status = "NOANSWER"
    call.fail(25.0, 0)
    assert call.outcome == "no_answer"
    other = new_call()
    other.fail(1.0, 0)
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


events = st.lists(st.sampled_from(["answer", "hand_off", "connect", "abandon", "fail", "hang_up"]), max_size=12)


@given(events)
def test_replaying_any_event_twice_changes_nothing_the_second_time(sequence: list[str]) -> None:
    call = new_call()
    for name in sequence:
        _apply(call, name)
        before = vars(call).copy()
        changed = _apply(call, name)
        assert not changed
        assert vars(call) == before


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
        "fail": lambda: call.fail(2.0, 5),
        "hang_up": lambda: call.hang_up(9.0, 16),
    }[name]()
