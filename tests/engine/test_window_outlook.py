"""The window's outlook the runner gives the controller: the campaign's pace until its calling hours close."""

from __future__ import annotations

from datetime import UTC, datetime

from compliance.presets import preset
from dialer.ledger import AbandonLedger
from dialer.window_outlook import answers_to_come, seconds_left_today

UK = preset("UK").rule


def test_the_time_left_is_until_the_calling_hours_close_in_the_campaigns_zone() -> None:
    summer_noon_utc = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)              # 13:00 in London
    assert seconds_left_today(summer_noon_utc, "Europe/London", UK) == 8 * 3600.0
    assert seconds_left_today(datetime(2026, 7, 1, 21, 0, tzinfo=UTC), "Europe/London", UK) == 0.0


def test_the_answers_to_come_are_the_last_quarter_hours_pace_over_the_time_left() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    for k in range(30):
        ledger.add(1000.0 + 30.0 * k, abandoned=False)                    # 30 answers in 15 minutes
    assert answers_to_come(ledger, 1900.0, 3600.0) == 120.0
    assert answers_to_come(ledger, 1900.0, 48 * 3600.0) == 30 / 900.0 * 24 * 3600.0   # never past the window


def test_what_stays_in_the_window_tonight_leaves_out_the_calls_that_age_out_before() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    ledger.add(1800.0, abandoned=True)                # yesterday 09:30
    ledger.add(5 * 3600.0, abandoned=False)           # yesterday 14:00
    ledger.add(24 * 3600.0, abandoned=True)           # this morning 09:00
    now = 24 * 3600.0 + 60.0
    assert ledger.counts(now) == (3, 2)
    assert ledger.counts_staying(now, now + 8 * 3600.0) == (1, 1)      # yesterday is gone by tonight
    assert ledger.counts_staying(now, now + 3600.0) == (2, 1)          # yesterday 14:00 is still in at 10:01


def test_the_ledger_gives_the_last_hours_answer_and_abandon_times_oldest_first() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    for at, abandoned in ((100.0, False), (3000.0, True), (3500.0, False), (3590.0, True)):
        ledger.add(at, abandoned)
    assert ledger.times_since(3590.0 - 3600.0 + 1000.0) == ([3000.0, 3500.0, 3590.0], [3000.0, 3590.0])
