"""`dialer operators list | show | edit | assign | unassign | remove` as a campaign manager runs them."""

from __future__ import annotations

import asyncpg
import pytest

from dialer.views.operator_console import ConsoleError, find_operator
from tests.lists.test_campaign_management import create, dialed_once
from tests.lists.test_cli import runner_for

pytestmark = pytest.mark.db


async def test_an_operator_joins_a_second_campaign_and_leaves_the_first(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run, "spring")
    await create(run, "autumn")
    assert (await run("operators", "add", "Anna", "--extension", "101", "--campaign", "spring"))[0] == 0
    code, output = await run("operators", "assign", "Anna", "autumn")
    assert code == 0, output
    code, output = await run("operators", "list")
    assert "autumn, spring" in output, output
    code, output = await run("operators", "unassign", "Anna", "spring")
    assert code == 0, output
    code, output = await run("operators", "show", "Anna")
    assert "campaigns: autumn" in output and "now: logged_out" in output, output
    assert [r["setting"] for r in await db.fetch("SELECT setting FROM audit ORDER BY id")] == ["assign", "unassign"]


async def test_edit_renames_and_moves_an_operator_and_refuses_bad_values(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    assert (await run("operators", "add", "Anna", "--extension", "101"))[0] == 0
    assert (await run("operators", "add", "Boris", "--extension", "102"))[0] == 0
    code, output = await run("operators", "edit", "Anna", "--extension", "1x")
    assert code == 2 and "extension '1x' must be digits" in output, output
    code, output = await run("operators", "edit", "Anna", "--extension", "102")
    assert code == 2 and "another operator" in output, output
    code, output = await run("operators", "edit", "Anna", "--name", "Anna K", "--extension", "111", "--priority", "5")
    assert code == 0, output
    row = await db.fetchrow("SELECT name, extension, priority FROM operator WHERE name = 'Anna K'")
    assert tuple(row) == ("Anna K", "111", 5)


async def test_the_extension_cannot_change_while_the_operator_is_logged_in(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    assert (await run("operators", "add", "Anna", "--extension", "101"))[0] == 0
    await db.execute("""INSERT INTO operator_session (operator_id, state, started_at)
                          SELECT id, 'ready', now() FROM operator""")
    code, output = await run("operators", "edit", "Anna", "--extension", "111")
    assert code == 2 and "logged in" in output, output
    code, output = await run("operators", "remove", "Anna")
    assert code == 2 and "logged in" in output, output


async def test_remove_deletes_a_newcomer_and_retires_one_who_took_calls(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run, "spring")
    assert (await run("operators", "add", "Anna", "--extension", "101", "--campaign", "spring"))[0] == 0
    assert (await run("operators", "add", "Boris", "--extension", "102", "--campaign", "spring"))[0] == 0
    anna = await db.fetchval("SELECT id FROM operator WHERE name = 'Anna'")
    await dialed_once(db, await db.fetchval("SELECT id FROM campaign"), operator_id=anna)

    code, output = await run("operators", "remove", "Boris")
    assert code == 0 and "deleted" in output, output
    code, output = await run("operators", "remove", "Anna")
    assert code == 0 and "retired" in output, output
    assert await db.fetchval("SELECT operator_id FROM attempt") == anna          # her call stays hers
    assert "Anna" not in (await run("operators", "list"))[1]
    with pytest.raises(ConsoleError):
        await find_operator(db, "Anna")
    # a newcomer may take the name and extension
    code, output = await run("operators", "add", "Anna", "--extension", "101")
    assert code == 0, output


async def test_unknown_operator_or_campaign_is_named_in_one_line(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    for command in (("show", "Nobody"), ("edit", "Nobody", "--priority", "1"), ("remove", "Nobody"),
                    ("assign", "Nobody", "spring")):
        code, output = await run("operators", *command)
        assert code == 2 and ("no operator named 'Nobody'" in output or "no campaign" in output), output
    assert (await run("operators", "add", "Anna", "--extension", "101"))[0] == 0
    code, output = await run("operators", "assign", "Anna", "nosuch")
    assert code == 2 and "no campaign named 'nosuch'" in output, output


async def test_a_console_cannot_be_opened_for_a_simulated_operator(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    assert (await run("operators", "add", "Sim", "--extension", "101", "--simulated"))[0] == 0
    with pytest.raises(ConsoleError, match="simulated"):
        await find_operator(db, "Sim")
