"""A day on the floor, one family of faults per test, each judged by every invariant of the day.

Each test lives part of a working day of one predictive campaign (virtual time: the demo's loop, the PBX
simulator over TCP, real PostgreSQL) with four simulated operators and two persons at the operator
console (Textual's pilot). The faults come when the calls are in the state the scenario waits for. After
the day the engine stops by its stop path and ``tests/floor/invariants.py`` judges the store and the
switch's own record: 0 leads lost, 0 double dials, every answer met within 2 s, every attempt with an
outcome and every connected call with an operator, the views' snapshot never older than 2 s, no ERROR
the test did not cause. A failure lists every invariant that broke, with attempt ids and virtual times.
"""

from __future__ import annotations

import os
import uuid

import pytest

from lists.dispositions import DEFAULT_CATALOGUE
from tests.conftest import store_url
from tests.floor.day import LATER, WorkingDay, run_day
from tests.floor.invariants import broken, summary
from tests.floor.record import DayRecord, DaySettings

pytestmark = [pytest.mark.db, pytest.mark.slow]

# Virtual hours per test (the faults come within its first 8 minutes), plus the last calls. CI lives 0.2 h;
# DIALER_FLOOR_HOURS=8 lives a whole working day (about a quarter of an hour of real time per test).
HOURS = float(os.environ.get("DIALER_FLOOR_HOURS", "0.2"))


def live(scenario: object, hours: float = HOURS) -> DayRecord:
    record = run_day(store_url(), f"t_{uuid.uuid4().hex[:12]}", scenario,  # type: ignore[arg-type]
                     DaySettings(hours=hours, leads=max(800, int(450 * hours))))
    print(summary(record))
    return record


def judge(record: DayRecord) -> None:
    problems = broken(record)
    assert not problems, f"{problems}\n{summary(record)}"


def answered(floor: WorkingDay) -> int:
    return sum(1 for life in floor.witness.channels.values() if life.answered is not None)


# ---- people change things: a supervisor the pacing, a manager the disposition list ------------------

async def people_change_things(floor: WorkingDay) -> None:
    campaign_id = floor.record.campaign_id
    anna = floor.record.consoles["Anna"]
    await floor.until(lambda: answered(floor) >= 15, "15 answers")
    await floor.set_pacing({"mode": "progressive"})
    await floor.expect(lambda: floor.life.engine.runners[campaign_id].campaign.mode == "progressive",
                       "the engine dialing progressive", within_s=5)
    # The manager replaces the list while Anna is in wrap-up with a code chosen that the new list lacks.
    anna.hold = True
    await floor.until(lambda: anna.on_wrap_up.is_set(), "Anna in wrap-up with her call on screen")
    assert anna.app is not None and anna.app.call is not None
    floor.record.marks["refused"] = anna.app.call.attempt_id
    floor.excuses.append("unknown disposition")
    without = [d for d in DEFAULT_CATALOGUE if d.code != "no_decision"]   # the simulated operators use it too
    await floor.replace_dispositions(without)
    anna.hold = False
    conversations = ended_conversations(floor)
    await floor.until(lambda: ended_conversations(floor) >= conversations + 10, "10 more conversations")
    await floor.replace_dispositions([*DEFAULT_CATALOGUE, LATER])
    await floor.set_pacing({"mode": "predictive", "target_abandon": 0.02})
    await floor.expect(lambda: floor.life.engine.runners[campaign_id].campaign.mode == "predictive",
                       "the engine dialing predictive again", within_s=5)


def ended_conversations(floor: WorkingDay) -> int:
    return sum(1 for life in floor.witness.channels.values() if life.joined and life.ended)


def test_a_supervisor_changing_pacing_and_a_manager_replacing_dispositions_during_a_wrap_up() -> None:
    record = live(people_change_things)
    judge(record)
    assert all(person.saved for person in record.consoles.values()), "a console operator never set a code"
    anna = record.consoles["Anna"]
    refused = record.marks["refused"]
    assert (refused, "interested_later") in anna.saved, f"Anna never sent the removed code: {anna.saved}"
    assert any("refused" in m and "interested_later" in m for m in anna.messages), \
        f"Anna's console never said her code was refused: {anna.messages}"
    final = {a["id"]: a["disposition"] for a in record.attempts}
    assert final[refused] == "not_interested", \
        f"attempt {refused} ends with {final[refused]!r}, not the code Anna chose after the refusal"


# ---- operators' phones and the PBX: a phone hangs up mid-call, the AMI link drops, the PBX restarts ----

async def phones_and_pbx_fail(floor: WorkingDay) -> None:
    consoles = {"201", "202"}
    await floor.until(lambda: floor.operator_on_call(consoles) is not None, "a console operator on a call")
    floor.hang_up_phone(floor.operator_on_call(consoles))  # type: ignore[arg-type]
    await floor.until(lambda: floor.operator_on_call(floor.phones_up() - consoles) is not None,
                      "a simulated operator on a call")
    floor.hang_up_phone(floor.operator_on_call(floor.phones_up() - consoles))  # type: ignore[arg-type]
    conversations = ended_conversations(floor)
    await floor.until(lambda: ended_conversations(floor) >= conversations + 10, "10 more conversations")
    await floor.until(lambda: floor.witness.connected_now() and floor.witness.ringing_now(),
                      "calls connected and ringing")
    heard = floor.drop_ami()
    await floor.expect(lambda: heard[:2] == ["LinkDown", "LinkUp"], "the engine's AMI link down and back", 30)
    await floor.until(lambda: len(floor.witness.connected_now()) >= 2 and floor.witness.ringing_now(),
                      "two calls connected and one ringing")
    before = floor.phones_up()
    await floor.restart_pbx()
    await floor.expect(lambda: floor.phones_up() >= before,
                       f"the phones of every operator logged in before the restart ({sorted(before)}) back in "
                       "their conferences", within_s=120)


def test_phones_hanging_up_mid_call_an_ami_drop_and_a_pbx_restart() -> None:
    judge(live(phones_and_pbx_fail))


# ---- the engine dies with customers talking to operators --------------------------------------------

async def engine_dead_while_a_conversation_ends(floor: WorkingDay) -> None:
    await floor.until(lambda: len(floor.witness.connected_now()) >= 2, "two calls connected")
    talking = {life.attempt_id for life in floor.witness.connected_now()}
    # the new engine starts once a conversation the dead one followed has ended meanwhile
    await floor.kill_engine(back_when=lambda: any(floor.witness.channels[a].ended for a in talking))


def test_an_engine_killed_while_customers_talk_to_operators() -> None:
    judge(live(engine_dead_while_a_conversation_ends))
