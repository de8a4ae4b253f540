"""One write the store cannot apply is set aside in the dead letters; the recorder carries on with the rest."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial

import asyncpg
import pytest
from typer.testing import CliRunner

from cli import app
from dialer.recorder import Recorder
from lists import leads
from lists.attempts import AttemptUpdate
from lists.errors import DispositionError
from tests.engine.test_engine import make_campaign

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def _note(conn: asyncpg.Connection, *, text: str) -> None:
    await conn.execute("INSERT INTO audit (at, actor, setting) VALUES ($1, 'recorder-test', $2)",
                       NOW, text)


async def _refused(conn: asyncpg.Connection) -> None:
    raise DispositionError("unknown disposition 'vanished' for campaign c1")


async def test_a_write_that_cannot_be_applied_is_set_aside_and_the_others_are_written(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    await make_campaign(db, operators_n=0, leads_n=0)
    recorder = Recorder(db, linger_s=0.0, engine="e1")
    recorder.put("note before", partial(_note, text="before"))
    recorder.put("disposition 7 vanished", _refused)
    recorder.put("note after", partial(_note, text="after"))
    recorder.start()
    try:
        await recorder.drain()
        recorder.put("note later", partial(_note, text="later"))   # the recorder still runs
        await recorder.drain()
    finally:
        await recorder.close(timeout_s=2)
    notes = await db.fetch("SELECT setting FROM audit WHERE actor = 'recorder-test' ORDER BY id")
    assert [r["setting"] for r in notes] == ["before", "after", "later"]
    [letter] = await db.fetch("SELECT engine, what, error FROM dead_letter")
    assert (letter["engine"], letter["what"]) == ("e1", "disposition 7 vanished")
    assert "DispositionError" in letter["error"] and "vanished" in letter["error"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "disposition 7 vanished" in errors[0].getMessage()


async def test_a_disposition_the_campaign_no_longer_knows_is_readable_with_dialer_db_dead_letters(
        db: asyncpg.Pool, store_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id = await make_campaign(db, operators_n=0, leads_n=1)
    lead_id = await db.fetchval("SELECT id FROM lead")
    attempt_id = await db.fetchval(
        "INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, state, claimed_at) "
        "VALUES ($1, $2, '+15550000000', '+15550000000', 'e1', 'connected', $3) RETURNING id",
        lead_id, campaign_id, NOW)
    recorder = Recorder(db, linger_s=0.0, engine="e1")
    recorder.put("disposition vanished", partial(leads.record_disposition, attempt_id=attempt_id, code="vanished",
                                                 now=NOW, operator_id=None, callback_at=None))
    recorder.put_attempt(AttemptUpdate(attempt_id, state="ended", ended_at=NOW, outcome="connected"))
    recorder.start()
    try:
        await recorder.drain()
    finally:
        await recorder.close(timeout_s=2)
    assert await db.fetchval("SELECT state FROM attempt WHERE id = $1", attempt_id) == "ended"
    url, schema = store_schema
    monkeypatch.setenv("DIALER_DATABASE_URL", f"{url}{'&' if '?' in url else '?'}search_path={schema}")
    monkeypatch.setenv("COLUMNS", "200")
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "dead-letters", "--payload"])
    assert result.exit_code == 0, result.output
    assert "disposition vanished" in result.output
    assert "vanished" in result.output and "DispositionError" in result.output
    assert f'"attempt_id": {attempt_id}' in result.output
