"""``dialer report``: figures computed from attempt and operator_session rows of a known small day
(tests/reports/conftest.py).

The day (UTC; the campaign is in Moscow, UTC+3):
  Anna:  ready 05:50-06:00, on call 06:00-06:10, wrap-up 06:10-06:15, paused 06:15-06:30, ready 06:30-07:00
  Boris: ready 06:50-07:10, on call 07:10-07:20, wrap-up 07:20-07:30, ready 07:30-(still open)
  attempts: #1 Anna 06:00 talk 300 s sale (north), #2 Anna 06:20 talk 120 s not_interested (south),
            #3 Boris 07:10 talk 600 s sale (north), #4 06:30 answered and abandoned (north),
            #5 06:40 no answer (south)
The report is made at 08:00.
"""

from __future__ import annotations

import csv
from pathlib import Path

import asyncpg
import pytest

from dialer.reports import Report, ReportError, ReportRow, as_table, make_report, write_csv
from lists.campaigns import CampaignNotFound
from tests.reports.conftest import UNTIL, at

pytestmark = pytest.mark.db


def rows(report: Report) -> dict[str, ReportRow]:
    return {r.key: r for r in report.rows}


async def test_by_operator_counts_calls_talk_wrap_idle_occupancy_and_conversions(day: asyncpg.Pool) -> None:
    report = await make_report(day, "winter", by="operator", until=UNTIL)
    anna, boris = rows(report)["Anna"], rows(report)["Boris"]
    assert (anna.attempts, anna.answers, anna.connects, anna.abandons, anna.conversions) == (2, 2, 2, 0, 1)
    assert (anna.talk_s, anna.wrap_s, anna.idle_s) == (420.0, 300.0, 2400.0)   # the pause is not idle time
    assert anna.occupancy == pytest.approx(900 / 3300)
    assert anna.conversion_rate == pytest.approx(0.5)
    # Boris's open ready session counts until the report's moment
    assert (boris.talk_s, boris.wrap_s, boris.idle_s) == (600.0, 600.0, 3000.0)
    assert boris.occupancy == pytest.approx(1200 / 4200)
    unrouted = rows(report)["(no operator)"]
    assert (unrouted.attempts, unrouted.answers, unrouted.connects, unrouted.abandons) == (2, 1, 0, 1)
    assert unrouted.occupancy is None


async def test_the_total_covers_the_whole_campaign(day: asyncpg.Pool) -> None:
    total = (await make_report(day, "winter", by="disposition", until=UNTIL)).total
    assert (total.attempts, total.answers, total.connects, total.abandons, total.conversions) == (5, 4, 3, 1, 2)
    assert total.abandon_rate == pytest.approx(1 / 4)
    assert total.talk_s == 1020.0
    assert (total.wrap_s, total.idle_s) == (900.0, 5400.0)
    assert total.occupancy == pytest.approx(2100 / 7500)


async def test_by_hour_uses_the_campaigns_local_clock_and_splits_sessions_over_hours(day: asyncpg.Pool) -> None:
    by_hour = rows(await make_report(day, "winter", by="hour", until=UNTIL))
    assert list(by_hour) == ["2026-11-27 08:00", "2026-11-27 09:00", "2026-11-27 10:00"]
    early, nine, ten = by_hour.values()
    assert (early.attempts, early.idle_s, early.occupancy) == (0, 600.0, 0.0)
    assert (nine.attempts, nine.connects, nine.talk_s) == (4, 2, 420.0)
    assert (nine.wrap_s, nine.idle_s, nine.occupancy) == (300.0, 2400.0, pytest.approx(900 / 3300))
    assert (ten.attempts, ten.talk_s, ten.wrap_s, ten.idle_s) == (1, 600.0, 600.0, 2400.0)


async def test_by_disposition_and_by_list(day: asyncpg.Pool) -> None:
    by_code = rows(await make_report(day, "winter", by="disposition", until=UNTIL))
    assert {k: r.attempts for k, r in by_code.items()} == {
        "sale": 2, "not_interested": 1, "(abandoned)": 1, "(no_answer)": 1}
    assert by_code["sale"].talk_s == 900.0 and by_code["sale"].conversions == 2
    assert by_code["sale"].wrap_s is None            # operator time is not attributable to a code
    by_list = rows(await make_report(day, "winter", by="list", until=UNTIL))
    assert [(k, r.attempts, r.answers, r.connects, r.abandons, r.conversions) for k, r in by_list.items()] == [
        ("north", 3, 3, 2, 1, 2), ("south", 2, 1, 1, 0, 0)]


async def test_a_period_clips_attempts_and_sessions(day: asyncpg.Pool) -> None:
    report = await make_report(day, "winter", by="operator", since=at(7, 0), until=UNTIL)
    assert list(rows(report)) == ["Boris"]
    boris = rows(report)["Boris"]
    assert (boris.attempts, boris.idle_s, boris.wrap_s) == (1, 2400.0, 600.0)


async def test_conversions_follow_the_catalogues_success_mark_and_ratings_are_averaged(day: asyncpg.Pool) -> None:
    # both columns are optional in the schema; the report uses them once they exist
    await day.execute("ALTER TABLE disposition ADD COLUMN IF NOT EXISTS success boolean NOT NULL DEFAULT false")
    await day.execute("ALTER TABLE attempt ADD COLUMN IF NOT EXISTS rating smallint")
    await day.execute(
        """INSERT INTO disposition (campaign_id, code, label, final, success)
           SELECT id, 'not_interested', 'Not interested', true, true FROM campaign WHERE name = 'winter'""")
    await day.execute("UPDATE attempt SET rating = 4 WHERE disposition = 'sale'")
    await day.execute("UPDATE attempt SET rating = 1 WHERE disposition = 'not_interested'")
    report = await make_report(day, "winter", by="operator", until=UNTIL)
    assert report.conversion_codes == ("not_interested",)
    anna = rows(report)["Anna"]
    assert anna.conversions == 1 and anna.rating == pytest.approx(2.5) and anna.ratings == 2


async def test_other_conversion_codes_can_be_given(day: asyncpg.Pool) -> None:
    report = await make_report(day, "winter", by="operator", until=UNTIL, conversions=("not_interested",))
    assert rows(report)["Anna"].conversions == 1 and rows(report)["Boris"].conversions == 0


async def test_csv_holds_the_raw_figures_and_the_total(day: asyncpg.Pool, tmp_path: Path) -> None:
    report = await make_report(day, "winter", by="operator", until=UNTIL)
    path = tmp_path / "r.csv"
    write_csv(report, path)
    with path.open() as f:
        lines = list(csv.DictReader(f))
    assert [line["operator"] for line in lines] == ["(no operator)", "Anna", "Boris", "total"]
    assert lines[1]["talk_s"] == "420.0" and lines[1]["occupancy"] == "0.273" and lines[0]["wrap_s"] == ""
    assert as_table(report).row_count == 4


async def test_bad_requests_are_refused_with_what_to_change(day: asyncpg.Pool) -> None:
    with pytest.raises(ReportError, match="--by must be one of operator, hour, disposition, list"):
        await make_report(day, "winter", by="weekday", until=UNTIL)
    with pytest.raises(ReportError, match="--since"):
        await make_report(day, "winter", by="hour", since=UNTIL, until=UNTIL)
    with pytest.raises(CampaignNotFound):
        await make_report(day, "summer", by="hour", until=UNTIL)


async def test_a_campaign_without_attempts_reports_zeros(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO campaign (name, channel_template, caller_id) VALUES ('new', 'L/{phone}', '1')")
    report = await make_report(db, "new", by="hour", until=UNTIL)
    assert report.rows == () and report.total.attempts == 0 and report.total.occupancy is None
