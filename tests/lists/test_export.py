"""Export and summary: what a manager takes away from the list."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from lists import callbacks, leads
from lists.export import export_leads
from lists.importer import import_file
from lists.summary import summarize
from tests.lists.conftest import MORNING, make_campaign

pytestmark = pytest.mark.db


async def test_an_exported_list_loads_back_into_another_campaign(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Телефон;ФИО\n8 (495) 937-49-55;Иванов\n+7 916 123-45-67;Петрова\n", encoding="utf-8")
    await import_file(conn, campaign_id=campaign_id, path=source, now=MORNING)
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    await leads.settle(conn, lead_id=lead.id, engine="e1", outcome="busy", now=MORNING)

    out = tmp_path / "out.csv"
    assert await export_leads(conn, campaign_id=campaign_id, path=out) == 2
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["phone"], r["ФИО"], r["last_outcome"]) for r in rows] == [
        ("+74959374955", "Иванов", "busy"), ("+79161234567", "Петрова", "")]

    other = await make_campaign(conn, "other")
    report = await import_file(conn, campaign_id=other, path=out, now=MORNING)
    assert report.loaded == 2


async def test_the_summary_counts_by_category_and_state_and_due_hour(
        conn: asyncpg.Connection, campaign_id: int, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("phone\n+74959374955\n+74959374956\n+74959374957\n", encoding="utf-8")
    await import_file(conn, campaign_id=campaign_id, path=source, now=MORNING)
    lead_id = await conn.fetchval("SELECT min(id) FROM lead")
    await callbacks.schedule(conn, lead_id=lead_id, due_at=MORNING + timedelta(hours=3, minutes=10), now=MORNING)
    result = await summarize(conn, campaign_id=campaign_id, now=MORNING)
    assert result.by_category_state == {("cold", "ready"): 2, ("callback", "ready"): 1}
    assert result.due_now == 2 and result.open_callbacks == 1
    [(hour, count)] = result.due_by_hour
    assert (hour.hour, count) == (13, 1)  # 10:10 UTC is 13:10 in Moscow
    assert result.total == 3
