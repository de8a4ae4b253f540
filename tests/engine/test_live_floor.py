"""The live floor: the sections kept by the call and operator transitions agree with a full rebuild, and
an operator moves only as its table says."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.call import Call, channel_id_of
from dialer.floor import TRANSITIONS, Floor, FloorOperator, OperatorState, PoolReserve
from dialer.floor_check import FloorCheck
from dialer.sections import ROUTING_KEYS

S = OperatorState


@dataclass
class _Waiting:
    waiting: list[Call] = field(default_factory=list)


@dataclass
class _Engine:
    """What the check reads of an engine: the floor, the calls followed, the hand-off's waiting queue."""
    floor: Floor = field(default_factory=Floor)
    calls: dict[str, Call] = field(default_factory=dict)
    handoff: _Waiting = field(default_factory=_Waiting)

    def follow(self, call: Call) -> None:
        self.calls[call.channel_id] = call
        self.floor.follow(call)


def seated(floor: Floor, op_id: int, campaigns: set[int], priority: int = 0) -> FloorOperator:
    operator = FloorOperator(op_id, f"op{op_id}", str(100 + op_id), set(campaigns), priority)
    floor.add(operator)
    return operator


def test_a_ready_operator_without_a_phone_in_the_conference_waits_as_logging_in() -> None:
    floor = Floor()
    anna = seated(floor, 1, {1})
    floor.set_state(anna, S.LOGGING_IN, 1.0)
    floor.set_state(anna, S.READY, 2.0)
    assert anna.state is S.LOGGING_IN and floor.section(1).free.operators() == []
    floor.set_phone(anna, True)
    floor.set_state(anna, S.READY, 3.0)
    assert anna.state is S.READY and floor.choose(1) is anna


def test_a_move_the_table_does_not_list_is_refused_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    floor = Floor()
    anna = seated(floor, 1, {1})
    with caplog.at_level(logging.ERROR):
        assert not floor.set_state(anna, S.ON_CALL, 1.0)     # logged out: no call can reach her
    assert anna.state is S.OFFLINE and floor.busy_for(1) == []
    assert "no move from logged_out to on_call" in caplog.text


def test_every_state_may_log_out_and_every_ready_move_has_its_phone_twin() -> None:
    assert all((state, S.OFFLINE) in TRANSITIONS for state in S if state is not S.OFFLINE)
    for (state, new) in TRANSITIONS:
        if new is S.READY and state is not S.OFFLINE:       # an adopted phone is in its conference
            assert (state, S.LOGGING_IN) in TRANSITIONS or state is S.LOGGING_IN


def test_calls_ringing_and_waiting_are_counted_by_their_transitions() -> None:
    engine = _Engine()
    calls = [Call(attempt_id=i, channel_id=channel_id_of(i), campaign_id=7, lead_id=i, phone="+1", originated_at=i)
             for i in range(3)]
    for call in calls:
        engine.follow(call)
    section = engine.floor.section(7)
    assert list(section.ringing_elapsed(10.0)) == [10.0, 9.0, 8.0]
    calls[1].answer(10.0)
    engine.handoff.waiting.append(calls[1])
    assert section.waiting == 1 and list(section.ringing_elapsed(10.0)) == [10.0, 8.0]
    calls[1].abandon()
    engine.handoff.waiting.remove(calls[1])
    calls[0].not_dialed(11.0)
    assert section.waiting == 0 and list(section.ringing_elapsed(12.0)) == [10.0]
    check = FloorCheck(engine)
    check.everything(12.0)
    assert check.drifts == []


def test_the_check_finds_a_write_around_the_floor() -> None:
    engine = _Engine()
    anna = seated(engine.floor, 1, {1})
    engine.floor.set_phone(anna, True)
    engine.floor.set_state(anna, S.READY, 1.0)
    anna.phone_up = False                     # what tests/test_architecture.py forbids in dialer/
    check = FloorCheck(engine)
    check.everything(2.0)
    assert any("free" in drift for drift in check.drifts)


def even(operator: FloorOperator) -> bool:
    return operator.id % 2 == 0


def scanned_choice(operators: list[FloorOperator], campaign: int, prefer: int, routing: str) -> FloorOperator | None:
    """The choice as the floor made it by scanning every operator (before it kept its sections)."""
    free = [o for o in operators if o.free and campaign in o.campaigns and even(o)]
    if not free:
        return None
    if any(o.id == prefer for o in free):
        return next(o for o in free if o.id == prefer)
    db = [o for o in operators if o.free and not o.campaigns.isdisjoint({1, 2})]
    if campaign in (1, 2) and len(db) <= 2:
        return None
    return min(free, key=ROUTING_KEYS[routing])


_MOVES = [S.LOGGING_IN, S.READY, S.RESERVED, S.ON_CALL, S.WRAP_UP, S.PAUSED, S.OFFLINE]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["move", "phone", "assign", "take", "drop", "ask"]),
                          st.integers(0, 6), st.integers(1, 3)), max_size=120))
def test_any_sequence_of_operator_changes_keeps_the_sections_equal_to_a_rebuild(
        steps: list[tuple[int, str, int, int]]) -> None:
    engine = _Engine()
    floor = engine.floor
    operators = [seated(floor, i, {1 + i % 3}, priority=i % 4) for i in range(12)]
    floor.reserves[1] = floor.reserves[2] = PoolReserve(frozenset({1, 2}), 2)
    floor.pool(frozenset({1, 2}))
    check = FloorCheck(engine)
    now = 0.0
    for who, what, which, campaign in steps:
        now += 1.0
        operator = operators[who]
        if what == "move":
            floor.set_state(operator, _MOVES[which], now)
        elif what == "phone":
            floor.set_phone(operator, which % 2 == 0)
        elif what == "assign":
            floor.assign(operator, campaign)
        elif what == "take":
            floor.take_call(operator, which, which, now - which)
        elif what == "drop":
            floor.drop_call(operator)
        else:
            routing = list(ROUTING_KEYS)[which % 3]
            assert floor.choose(campaign, prefer=which, routing=routing, accept=even) \
                is scanned_choice(operators, campaign, which, routing)
        check.everything(now)
    assert check.drifts == []
    assert check.checks == len(steps)
    for campaign in (1, 2, 3):
        assert [o.id for o in floor.free_for(campaign)] == [o.id for o in operators
                                                            if o.free and campaign in o.campaigns]
        assert [o.id for o in floor.busy_for(campaign)] == [
            o.id for o in operators if o.state in (S.RESERVED, S.ON_CALL, S.WRAP_UP) and campaign in o.campaigns]
