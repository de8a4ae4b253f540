"""Campaign groups in the store and on the command line: membership, shares, reserved operators, audit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from dialer.groups.settings import parse_group_assignments
from dialer.tuning import validate_pacing
from lists import campaigns, groups

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def two_campaigns(db: asyncpg.Pool) -> None:
    for name in ("sales", "survey"):
        await campaigns.create(db, name=name, channel_template="Local/{digits}@pstn", caller_id="+15550000000")


async def test_a_group_shares_its_pool_70_30_and_every_change_is_audited(db: asyncpg.Pool) -> None:
    await two_campaigns(db)
    await groups.create(db, "floor1", reserved=1, actor="t", now=NOW, validate=validate_pacing)
    await groups.set_member(db, "floor1", "sales", share=70, priority=1, actor="t", now=NOW)
    group = await groups.set_member(db, "floor1", "survey", share=30, actor="t", now=NOW)
    assert [(m.name, m.share, m.priority) for m in group.members] == [("sales", 70, 1), ("survey", 30, 0)]
    sales, survey = [await campaigns.get(db, n) for n in ("sales", "survey")]
    assert group.target_shares() == {sales.id: pytest.approx(0.7), survey.id: pytest.approx(0.3)}
    assert (await groups.group_of(db, sales.id)) == group

    group = await groups.set_member(db, "floor1", "survey", share=50, actor="t", now=NOW)
    group = await groups.set_settings(db, "floor1", reserved=2, group_ledger=True, pacing={"target_abandon": 0.02},
                                      actor="t", now=NOW, validate=validate_pacing)
    assert (group.reserved, group.group_ledger, group.pacing) == (2, True, {"target_abandon": 0.02})
    rows = await db.fetch("SELECT setting, campaign_id, old_value, new_value FROM audit WHERE group_id = $1 "
                            "ORDER BY id", group.id)
    assert [(r["setting"], r["campaign_id"], json.loads(r["old_value"]), json.loads(r["new_value"]))
            for r in rows[3:]] == [("share", survey.id, 30, 50), ("reserved", None, 1, 2),
                                   ("group_ledger", None, False, True), ("target_abandon", None, None, 0.02)]

    group = await groups.remove_member(db, "floor1", "survey", actor="t", now=NOW)
    assert [m.name for m in group.members] == ["sales"]
    assert await groups.group_of(db, survey.id) is None


async def test_bad_group_settings_are_refused_naming_the_setting(db: asyncpg.Pool) -> None:
    await two_campaigns(db)
    await groups.create(db, "floor1", actor="t", now=NOW, validate=validate_pacing)
    await groups.create(db, "floor2", actor="t", now=NOW, validate=validate_pacing)
    await groups.set_member(db, "floor1", "sales", share=70, actor="t", now=NOW)
    cases = [
        (groups.set_member(db, "floor1", "survey", share=0, actor="t", now=NOW), "share must be a positive"),
        (groups.set_member(db, "floor2", "sales", actor="t", now=NOW), "is in group 'floor1' already"),
        (groups.set_member(db, "floor1", "nosuch", actor="t", now=NOW), "no campaign named 'nosuch'"),
        (groups.set_member(db, "nosuch", "sales", actor="t", now=NOW), "no campaign group named 'nosuch'"),
        (groups.set_settings(db, "floor1", reserved=-1, actor="t", now=NOW, validate=validate_pacing), "reserved"),
        (groups.set_settings(db, "floor1", pacing={"target_abandon": 0.5}, actor="t", now=NOW,
                             validate=validate_pacing), "target_abandon"),
        (groups.set_settings(db, "floor1", pacing={"speed": 3}, actor="t", now=NOW, validate=validate_pacing),
         "unknown setting(s): speed"),
        (groups.create(db, "floor1", actor="t", now=NOW, validate=validate_pacing), "exists already"),
    ]
    for change, message in cases:
        with pytest.raises(campaigns.CampaignError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await change
    assert (await groups.get_group(db, "floor1")).members[0].share == 70    # nothing half-applied


def test_group_set_words_are_typed_and_bad_ones_named() -> None:
    changes = parse_group_assignments(["reserved=2", "group_ledger=on", "target_abandon=0.02",
                                       "max_lines_per_operator="])
    assert (changes.reserved, changes.group_ledger, changes.pacing) == (2, True, {"target_abandon": 0.02,
                                                                                  "max_lines_per_operator": None})
    for words, message in ((["reserved=two"], "reserved must be a whole number"),
                           (["group_ledger=maybe"], "group_ledger must be on or off"),
                           (["mode=predictive"], "mode is a campaign's setting"),
                           (["speed=3"], "unknown setting 'speed'")):
        with pytest.raises(ValueError, match=message):
            parse_group_assignments(words)


async def test_dialer_group_commands_create_fill_change_and_show_a_group(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    await two_campaigns(db)
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "200"}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli.app, ["group", *args], env=env)
        return result.exit_code, result.output

    for args in (("create", "floor1", "reserved=1"), ("add", "floor1", "sales", "--share", "70", "--priority", "1"),
                 ("add", "floor1", "survey", "--share", "30"), ("set", "floor1", "group_ledger=on")):
        code, output = await asyncio.to_thread(run, *args)
        assert code == 0, output
    code, output = await asyncio.to_thread(run, "show", "floor1")
    assert "reserved 1 operator(s); abandonment ledger per campaign and group" in output
    cells = [line.replace("│", " ").replace("┃", " ").split() for line in output.splitlines()]
    assert [c[:5] for c in cells if c[:1] in (["sales"], ["survey"])] == [
        ["sales", "paused", "70", "70.0", "1"], ["survey", "paused", "30", "30.0", "0"]]
    code, output = await asyncio.to_thread(run, "list")
    assert "sales 70, survey 30" in output
    code, output = await asyncio.to_thread(run, "add", "floor1", "survey", "--share", "-3")
    assert code == 2 and "share must be a positive number" in output
    code, output = await asyncio.to_thread(run, "set", "floor1", "reserved=-1")
    assert code == 2 and "reserved must be a whole number" in output
    actors = {r["actor"] for r in await db.fetch("SELECT actor FROM audit WHERE group_id IS NOT NULL")}
    assert len(actors) == 1 and actors.pop().startswith("cli:")
