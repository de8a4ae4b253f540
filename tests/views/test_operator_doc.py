"""An operator's entry of the engine's picture: what the console's and the watch's "in state" timer reads."""

from __future__ import annotations

from dialer.control import operator_doc
from dialer.floor import FloorOperator, OperatorState


def test_a_call_re_attached_after_a_restart_keeps_its_time_on_call() -> None:
    # the engine came back at loop time 100 and found the operator 50 s into a conversation it re-attached:
    # the call goes on, so does the operator's time on it (it read 0:00 again)
    operator = FloorOperator(1, "Anna", "200", {1}, state=OperatorState.ON_CALL, since=100.0, talk_started=50.0)
    assert operator_doc(operator, 110.0)["since_s"] == 60.0


def test_a_wrap_up_counts_from_its_own_start_not_the_calls() -> None:
    operator = FloorOperator(1, "Anna", "200", {1}, state=OperatorState.WRAP_UP, since=100.0, talk_started=50.0)
    assert operator_doc(operator, 110.0)["since_s"] == 10.0


def test_a_call_taken_in_this_engines_life_counts_from_the_hand_off() -> None:
    # handed off at 100, put through at 101: in state since the hand-off, as before
    operator = FloorOperator(1, "Anna", "200", {1}, state=OperatorState.ON_CALL, since=100.0, talk_started=101.0)
    assert operator_doc(operator, 110.0)["since_s"] == 10.0
