"""`dialer lists …` as a campaign manager runs it: the printed and written row report, the campaign TOML
(strategy, callback grace, disposition catalogue)."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from lists import callbacks, dispositions, leads
from tests.lists.conftest import MORNING

pytestmark = pytest.mark.db


def runner_for(store_schema: tuple[str, str]):
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "200"}
    runner = CliRunner()

    async def run(*args: str) -> tuple[int, str]:
        # the CLI runs its own event loop: keep it off this test's loop
        result = await asyncio.to_thread(runner.invoke, cli.app, list(args), env=env)
        return result.exit_code, result.output

    return run


async def make_spring(db: asyncpg.Pool) -> int:
    return await db.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone, default_region)
           VALUES ('spring', 'Local/{phone}@t', '+74950000000', 'Europe/Moscow', 'RU') RETURNING id""")


async def test_load_prints_each_bad_row_writes_the_report_and_loads_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    path = tmp_path / "клиенты.csv"
    path.write_bytes("ФИО;Телефон;Город\nИванов;8 (495) 937-49-55;Москва\nПетров;12;Тверь\n".encode("cp1251"))

    code, output = await run("lists", "load", "spring", str(path), "--map", "phone=Телефон,name=ФИО")
    assert code == 2, output
    assert "│ 3   │ Телефон │ not a valid number (default region RU) │ 12" in output    # row, field, reason, value
    assert "nothing was loaded" in output.replace("\n", " ")
    report = path.with_name(path.name + ".errors.csv")
    with report.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "field", "reason", "value"]
    assert [r[:2] for r in rows[1:]] == [["3", "Телефон"]] and rows[1][3] == "12"
    assert await db.fetchval("SELECT count(*) FROM lead WHERE campaign_id = $1", campaign_id) == 0

    code, output = await run("lists", "load", "spring", str(path), "--map", "phone=Телефон", "--dry-run",
                             "--allow-partial")
    assert code == 0 and "would load 1 leads" in output, output
    assert await db.fetchval("SELECT count(*) FROM lead WHERE campaign_id = $1", campaign_id) == 0

    code, output = await run("lists", "load", "spring", str(path), "--map", "phone=Телефон", "--allow-partial")
    assert code == 0 and "loaded 1 leads" in output, output
    assert await db.fetchval("SELECT phone FROM lead WHERE campaign_id = $1", campaign_id) == "+74959374955"


CAMPAIGN_TOML = """
[strategy]
windows = [{ from = "10:00", to = "14:00", order = ["callback", "cold"] }]

[callbacks]
personal_grace_minutes = 10

[dispositions.sale]
label = "Sale"
final = true

[dispositions.brochure_sent]
label = "Brochure sent"
follow_up_days = 5

[dispositions.wrong_person]
label = "Not our audience"
final = true
"""


async def test_the_campaign_toml_sets_strategy_callback_grace_and_dispositions(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    path = tmp_path / "spring.toml"
    path.write_text(CAMPAIGN_TOML, encoding="utf-8")

    code, output = await run("lists", "strategy", "spring", "--file", str(path))
    assert code == 0, output
    assert "10:00-14:00: callback > cold" in output
    assert "personal callbacks wait 10 min" in output
    assert "disposition brochure_sent (Brochure sent): follow-up in 5 day(s)" in output
    async with db.acquire() as conn:
        # the file adds and changes codes; the ones it does not name stay (opt-out and callback included)
        assert set(await dispositions.catalogue(conn, campaign_id)) == \
            {d.code for d in dispositions.DEFAULT_CATALOGUE} | {"brochure_sent", "wrong_person"}
        # the catalogue decides: 5 days after "brochure sent", not the default 3
        [lead_id] = [await conn.fetchval(
            "INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, '+74959374955', 'Europe/Moscow') RETURNING id",
            campaign_id)]
        await dispositions.apply_disposition(conn, lead_id=lead_id, code="brochure_sent", now=MORNING)
        assert await conn.fetchval("SELECT next_due_at FROM lead WHERE id = $1", lead_id) == MORNING + timedelta(days=5)

        # the grace decides when a personal callback becomes anyone's: 10 minutes, not 30
        anna = await conn.fetchval("INSERT INTO operator (name, extension) VALUES ('anna', '101') RETURNING id")
        await callbacks.schedule(conn, lead_id=lead_id, due_at=MORNING, now=MORNING, scope="personal",
                                 operator_id=anna)
        assert await leads.claim(conn, campaign_id=campaign_id, engine="e", n=1,
                                 now=MORNING + timedelta(minutes=9), free_operators=[]) == []
        [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=1,
                                   now=MORNING + timedelta(minutes=10), free_operators=[])
        assert lead.owner_operator is None

    code, output = await run("lists", "strategy", "spring", "--callback-grace", "45", "--window",
                             "09:00-12:00=retry")
    assert code == 0 and "personal callbacks wait 45 min" in output, output
    assert "09:00-12:00: retry > cold > callback > follow_up" in output


@pytest.mark.parametrize(("table", "named"), [
    ('[dispositions.sale]\nfinal = true\n', "[dispositions.sale]: label is missing"),
    ('[dispositions.maybe]\nlabel = "Maybe"\nfollow_up_days = 2\nfinal = true\n', "choose one of"),
    ('[dispositions.maybe]\nlabel = "Maybe"\nfollow_up_days = "two"\n', "follow_up_days must be a whole number"),
    ('[callbacks]\npersonal_grace_minutes = "soon"\n', "personal_grace_minutes must be minutes"),
])
async def test_a_broken_campaign_toml_names_the_table_and_changes_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path, table: str, named: str) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    path = tmp_path / "broken.toml"
    path.write_text(table, encoding="utf-8")
    code, output = await run("lists", "strategy", "spring", "--file", str(path))
    assert code == 2 and named in output.replace("\n", ""), output
    async with db.acquire() as conn:
        assert set(await dispositions.catalogue(conn, campaign_id)) == {d.code for d in dispositions.DEFAULT_CATALOGUE}


async def test_a_manager_sees_the_calls_left_unknown_and_sets_their_code(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    campaign_id = await make_spring(db)
    lead_id = await db.fetchval(
        "INSERT INTO lead (campaign_id, phone, state, last_disposition) VALUES ($1, '+74959374955', 'done', 'unknown') "
        "RETURNING id", campaign_id)
    attempt_id = await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at, connected_at,
                               ended_at, state, outcome, disposition)
           VALUES ($1, $2, '+74959374955', '+74950000000', 'e1', $3, $3, $3, $3, 'ended', 'connected', 'unknown')
           RETURNING id""", lead_id, campaign_id, MORNING)
    run = runner_for(store_schema)
    code, output = await run("lists", "show", "spring")
    assert code == 0 and "1 connected call(s) without a real code" in output, output
    assert f"attempt {attempt_id}: +74959374955" in output

    code, output = await run("lists", "dispose", str(attempt_id), "unknown")
    assert code != 0 and "'unknown' is a system code" in output, output
    code, output = await run("lists", "dispose", str(attempt_id), "do_not_call")
    assert code == 0 and f"attempt {attempt_id}: disposition do_not_call (was unknown)" in output, output
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == "do_not_call"
    assert await db.fetchval("SELECT count(*) FROM dnc WHERE phone = '+74959374955' AND scope = 'company'") == 1
    assert await db.fetchval("SELECT count(*) FROM audit WHERE setting = $1",
                               f"disposition of attempt {attempt_id}") == 1
    code, output = await run("lists", "show", "spring")
    assert "without a real code" not in output, output
