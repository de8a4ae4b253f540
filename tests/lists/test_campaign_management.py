"""`dialer campaign show | edit | archive | delete` and the checks at create, as a campaign manager meets them:
bad values are refused with one line naming the setting, and nothing changes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from lists import campaigns
from pacing.modes import MODES
from tests.lists.test_cli import runner_for

pytestmark = pytest.mark.db


async def dialed_once(db: asyncpg.Pool, campaign_id: int, operator_id: int | None = None) -> None:
    lead_id = await db.fetchval("INSERT INTO lead (campaign_id, phone) VALUES ($1, '+79161234567') RETURNING id",
                                  campaign_id)
    await db.execute(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, outcome, operator_id)
           VALUES ($1, $2, '+79161234567', '+74951234567', 'e1', $3, 'connected', $4)""",
        lead_id, campaign_id, datetime.now(UTC), operator_id)


async def create(run, name: str = "spring", *extra: str) -> None:
    code, output = await run("campaign", "create", name, "--caller-id", "+74951234567",
                             "--channel", "Local/{phone}@pstn", "--timezone", "Europe/Moscow", "--region", "RU", *extra)
    assert code == 0, output


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--timezone", "Mars/Olympus", "time zone 'Mars/Olympus'"),
    ("--region", "XX", "region 'XX'"),
    ("--channel", "{phone}", "TECHNOLOGY/RESOURCE"),
    ("--channel", "PJSIP/{number}@trunk", "{phone}"),
    ("--caller-id", "call me", "caller ID"),
])
async def test_create_refuses_a_bad_value_in_one_line_and_creates_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str], option: str, value: str, named: str) -> None:
    run = runner_for(store_schema)
    args = {"--caller-id": "+74951234567", "--channel": "Local/{phone}@pstn", "--timezone": "UTC", "--region": "RU"}
    args[option] = value
    code, output = await run("campaign", "create", "spring", *[x for kv in args.items() for x in kv])
    assert code == 2, output
    assert named in output and output.count("\n") == 1, output
    assert await db.fetchval("SELECT count(*) FROM campaign") == 0


async def test_edit_changes_what_the_campaign_dials_with_and_audits_each_change(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("campaign", "edit", "spring", "--caller-id", "+7 495 765-43-21",
                             "--channel", "PJSIP/{digits}@trunk", "--timezone", "Asia/Yekaterinburg",
                             "--ring-timeout", "30")
    assert code == 0, output
    campaign = await campaigns.get(db, "spring")
    assert (campaign.caller_id, campaign.channel_template, campaign.timezone, campaign.ring_timeout_s) == (
        "+74957654321", "PJSIP/{digits}@trunk", "Asia/Yekaterinburg", 30)
    audited = {r["setting"]: r["new_value"] for r in await db.fetch("SELECT setting, new_value FROM audit")}
    assert set(audited) == {"caller_id", "channel_template", "timezone", "ring_timeout_s"}


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--timezone", "Mars/Olympus", "time zone 'Mars/Olympus'"),
    ("--region", "XX", "region 'XX'"),
    ("--ring-timeout", "10", "ring_timeout_s"),
    ("--channel", "Local/nothing@pstn", "{phone}"),
    ("--caller-id", "", "blank"),
])
async def test_edit_refuses_a_bad_value_and_changes_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str], option: str, value: str, named: str) -> None:
    run = runner_for(store_schema)
    await create(run)
    before = await campaigns.get(db, "spring")
    code, output = await run("campaign", "edit", "spring", option, value, "--name", "autumn")
    assert code == 2 and named in output, output
    assert await campaigns.get(db, "spring") == before
    assert await db.fetchval("SELECT count(*) FROM audit") == 0


async def test_unknown_campaign_is_named_in_one_line(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    for command in (("show", "nosuch"), ("edit", "nosuch", "--timezone", "UTC"), ("archive", "nosuch"),
                    ("delete", "nosuch")):
        code, output = await run("campaign", *command)
        assert code == 2 and "no campaign named 'nosuch'" in output, (command, output)


async def test_show_prints_settings_preset_list_operators_and_last_changes(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    assert (await run("operators", "add", "Anna", "--extension", "101", "--campaign", "spring"))[0] == 0
    assert (await run("campaign", "edit", "spring", "--ring-timeout", "20"))[0] == 0
    code, output = await run("campaign", "show", "spring")
    assert code == 0, output
    for text in ("spring", "paused", "+74951234567", "Local/{phone}@pstn", "Europe/Moscow", "preset none",
                 "no leads", "operators: Anna", "ring_timeout_s 25 → 20"):
        assert text in output, (text, output)


async def test_archive_is_refused_while_running_then_keeps_history_and_never_runs_again(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    campaign = await campaigns.get(db, "spring")
    await dialed_once(db, campaign.id)
    assert (await run("campaign", "start", "spring"))[0] == 0
    code, output = await run("campaign", "archive", "spring")
    assert code == 2 and "pause it first" in output, output
    assert (await run("campaign", "pause", "spring"))[0] == 0
    code, output = await run("campaign", "delete", "spring")
    assert code == 2 and "dialer campaign archive spring" in output, output
    code, output = await run("campaign", "archive", "spring")
    assert code == 0, output

    code, output = await run("campaign", "start", "spring")
    assert code == 2 and "archived" in output, output
    assert "spring" not in (await run("campaign", "list"))[1]
    assert "archived" in (await run("campaign", "list", "--all"))[1]
    assert await db.fetchval("SELECT count(*) FROM attempt") == 1       # the history stays
    assert await db.fetchval("SELECT count(*) FROM audit WHERE setting = 'state'") == 3


async def test_a_campaign_that_never_dialed_can_be_deleted(db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run, "typo")
    code, output = await run("campaign", "delete", "typo")
    assert code == 0, output
    assert await db.fetchval("SELECT count(*) FROM campaign") == 0


async def test_set_refuses_to_loosen_a_legal_limit_naming_the_rule_and_changes_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    assert (await run("compliance", "set", "spring", "--preset", "US"))[0] == 0
    code, output = await run("campaign", "set", "spring", "safe_harbor_s=10", "abandon_cap=0.2")
    assert code == 2, output
    assert "abandon_cap 0.2 is above the US limit of 0.03 (47 CFR 64.1200(a)(7))" in output, output
    code, output = await run("campaign", "set", "spring", "safe_harbor_s=10")
    assert code == 2 and "safe_harbor_s 10 is above the US limit of 2" in output, output
    code, output = await run("campaign", "edit", "spring", "--ring-timeout", "12")
    assert code == 2 and "ring_timeout_s 12 is below the US minimum ring of 15 s" in output, output
    assert (await campaigns.get(db, "spring")).pacing == {}
    code, output = await run("campaign", "set", "spring", "abandon_cap=0.02", "target_abandon=0.015")
    assert code == 0, output                                            # tightening is the manager's right


async def test_without_a_preset_the_campaign_still_says_its_cap_and_keeps_it(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("campaign", "set", "spring", "abandon_cap=0.05")
    assert code == 2 and "abandon_cap 0.05 is above the limit of 0.03 (no statute" in output, output
    code, output = await run("campaign", "show", "spring")
    assert "abandonment cap 3% over 30 days" in output, output


async def test_simulate_refuses_a_target_above_the_cap(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    code, output = await run("simulate", "--agents", "5", "--talk", "60", "--hours", "0.1", "--target-abandon", "0.1")
    assert code == 2 and "target_abandon 0.1 is not below" in output, output


async def test_the_store_takes_exactly_the_dial_modes_pacing_names(db: asyncpg.Pool) -> None:
    """One list of modes (``pacing.modes``); the check constraint on ``campaign.mode`` must say the same."""
    definitions = await db.fetch(
        """SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE conrelid = 'campaign'::regclass AND contype = 'c'""")
    checks = [d["def"] for d in definitions if "mode" in d["def"] and "ANY" in d["def"]]
    assert len(checks) == 1, checks
    assert set(re.findall(r"'(\w+)'::text", checks[0])) == set(MODES)


async def test_the_list_on_an_80_column_terminal_cuts_no_caller_id_channel_or_time_zone(
        store_schema: tuple[str, str]) -> None:
    """Rich cut every long value with '…' at 80 columns (a plain terminal, or a pipe): caller ID, channel and
    time zone, the very figures one lists campaigns to read."""
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "80"}
    await create(runner_for(store_schema), "spring", "--mode", "predictive")
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["campaign", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output
    for value in ("+74951234567", "Europe/Moscow", "predictive"):
        assert value in result.output, result.output
    assert "Local/{phone}@pstn" in result.output, result.output


async def test_max_hour_abandon_may_only_tighten_the_cap_and_the_store_keeps_out_what_is_no_rate(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("campaign", "set", "spring", "max_hour_abandon=0.05")
    assert code != 0 and "max_hour_abandon" in output and output.strip().count("\n") == 0, output
    assert (await campaigns.get(db, "spring")).pacing == {}
    code, output = await run("campaign", "set", "spring", "max_hour_abandon=0.02")
    assert code == 0, output
    assert (await campaigns.get(db, "spring")).pacing == {"max_hour_abandon": 0.02}
    with pytest.raises(asyncpg.CheckViolationError, match="campaign_max_hour_abandon_rate"):
        await db.execute("""UPDATE campaign SET pacing = '{"max_hour_abandon": "a lot"}' WHERE name = 'spring'""")
