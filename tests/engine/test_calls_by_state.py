"""The picture's count of a campaign's calls by state is kept by the calls' transitions (the section's
``calls``), not counted by walking every call each second; the floor check finds it equal to a walk."""

from __future__ import annotations

from dialer.call import Call, CallState, channel_id_of
from dialer.floor_check import FloorCheck
from tests.engine.test_live_floor import _Engine


def test_the_calls_by_state_follow_every_transition() -> None:
    engine = _Engine()
    calls = [Call(attempt_id=i, channel_id=channel_id_of(i), campaign_id=7, lead_id=i, phone="+1", originated_at=i)
             for i in range(4)]
    for call in calls:
        engine.follow(call)
    section = engine.floor.section(7)
    assert section.by_state[CallState.ORIGINATING] == 4
    calls[1].answer(10.0)
    engine.handoff.waiting.append(calls[1])
    calls[2].not_dialed(11.0)
    engine.calls.pop(calls[2].channel_id)
    assert {state: n for state, n in section.by_state.items() if n} == {CallState.ORIGINATING: 2, CallState.WAITING: 1}
    check = FloorCheck(engine)
    check.everything(12.0)
    assert check.drifts == []
