"""A day on the floor with the live floor checked: after every PBX event and at every pacing decision the
engine compares its sections (kept by the call and operator transitions, ``dialer/sections.py``) with a
full rebuild from every call and operator (``dialer/floor_check.py``); a difference is an ERROR, which
fails the day's invariants. The day brings the transitions that are easiest to get wrong: phones hanging up
mid-call, an AMI drop, a PBX restart."""

from __future__ import annotations

import pytest

from tests.floor.day import WorkingDay
from tests.floor.test_day_on_the_floor import judge, live, phones_and_pbx_fail

pytestmark = [pytest.mark.db, pytest.mark.slow]


async def checked_while_phones_and_the_pbx_fail(floor: WorkingDay) -> None:
    await phones_and_pbx_fail(floor)
    check = floor.life.engine.floor_check
    assert check is not None, "DIALER_CHECK_FLOOR=1 did not turn the check on"
    await floor.until(lambda: check.checks >= 2_000, "2,000 checks of the live floor")
    floor.record.marks["floor checks"] = check.checks
    floor.record.marks["floor drifts"] = len(check.drifts)


def test_the_live_floor_equals_a_rebuild_after_every_event_of_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_CHECK_FLOOR", "1")
    record = live(checked_while_phones_and_the_pbx_fail)
    judge(record)
    assert record.marks["floor checks"] >= 2_000
    assert record.marks["floor drifts"] == 0
