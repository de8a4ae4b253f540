"""Changing a campaign's disposition catalogue never loses a code silently: a file adds and changes, removal
is explicit, system codes stay with their effect, a used code is retired (kept for history) and refused in
wrap-up, and the default codes come back on reset."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from lists import disposition_catalogue, dispositions, leads, migrations
from lists.errors import DispositionError
from tests.lists.conftest import MORNING
from tests.lists.test_dispositions import dialed_lead

pytestmark = pytest.mark.db

DEFAULT_CODES = {d.code for d in dispositions.DEFAULT_CATALOGUE}
TWO = {"sale": {"label": "Deal", "final": True}, "brochure_sent": {"label": "Brochure sent", "follow_up_days": 5}}


async def test_a_file_with_two_codes_adds_and_changes_them_and_keeps_every_other(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    merged = await disposition_catalogue.merge(conn, campaign_id, disposition_catalogue.from_toml(TWO),
                                               actor="test", now=MORNING)
    codes = await dispositions.catalogue(conn, campaign_id)
    assert set(codes) == DEFAULT_CODES | {"brochure_sent"}
    assert codes["sale"].label == "Deal"
    assert codes["callback"].schedules_callback and codes["do_not_call"].final
    assert (merged.added, merged.changed) == (["brochure_sent"], ["sale"])
    assert merged.kept == sorted(DEFAULT_CODES - {"sale"})


async def test_a_file_may_relabel_the_system_codes_but_not_change_what_they_do(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    items = disposition_catalogue.from_toml({"do_not_call": {"label": "Opt-out"}, "callback": {"label": "Later"}})
    await disposition_catalogue.merge(conn, campaign_id, items, actor="test", now=MORNING)
    codes = await dispositions.catalogue(conn, campaign_id)
    assert (codes["do_not_call"].label, codes["do_not_call"].final) == ("Opt-out", True)
    assert (codes["callback"].label, codes["callback"].schedules_callback) == ("Later", True)
    for spec in ({"do_not_call": {"label": "x", "follow_up_days": 3}}, {"callback": {"label": "x", "final": True}}):
        with pytest.raises(DispositionError, match="is a system code, it always does this"):
            disposition_catalogue.from_toml(spec)


@pytest.mark.parametrize("code", ["do_not_call", "callback", "unknown"])
async def test_system_codes_cannot_be_removed(conn: asyncpg.Connection, campaign_id: int, code: str) -> None:
    await dispositions.catalogue(conn, campaign_id)
    with pytest.raises(DispositionError, match=rf"'{code}' is a system code.*cannot be removed"):
        await disposition_catalogue.remove(conn, campaign_id, ["no_decision", code], actor="test", now=MORNING)
    assert set(await dispositions.catalogue(conn, campaign_id)) == DEFAULT_CODES     # nothing removed at all


async def test_a_code_no_call_was_given_is_deleted(conn: asyncpg.Connection, campaign_id: int) -> None:
    removed = await disposition_catalogue.remove(conn, campaign_id, ["no_decision"], actor="test", now=MORNING)
    assert (removed.deleted, removed.retired) == (["no_decision"], [])
    assert "no_decision" not in await dispositions.catalogue(conn, campaign_id, retired=True)
    audit = await conn.fetchrow("SELECT old_value, new_value FROM audit WHERE setting = 'dispositions'")
    assert "no_decision" in audit["old_value"] and "no_decision" not in audit["new_value"]


async def test_a_used_code_is_retired_kept_for_history_and_refused_in_a_new_wrap_up(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    _, earlier = await dialed_lead(conn, campaign_id, "+74959374955")
    await leads.record_disposition(conn, attempt_id=earlier, code="no_decision", now=MORNING)
    removed = await disposition_catalogue.remove(conn, campaign_id, ["no_decision"], actor="test", now=MORNING)
    assert (removed.deleted, removed.retired) == ([], ["no_decision"])
    assert "no_decision" not in await dispositions.catalogue(conn, campaign_id)
    assert (await dispositions.catalogue(conn, campaign_id, retired=True))["no_decision"].retired_at == MORNING
    assert await conn.fetchval("SELECT disposition FROM attempt WHERE id = $1", earlier) == "no_decision"

    _, attempt_id = await dialed_lead(conn, campaign_id, "+74959374956")
    with pytest.raises(DispositionError, match=r"'no_decision' was retired.*choose another: .*information_sent"):
        await leads.record_disposition(conn, attempt_id=attempt_id, code="no_decision", now=MORNING)
    assert await conn.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) is None
    with pytest.raises(DispositionError, match="already retired"):
        await disposition_catalogue.remove(conn, campaign_id, ["no_decision"], actor="test", now=MORNING)

    kinds = {e.disposition.code: e.kind for e in await disposition_catalogue.listing(conn, campaign_id)}
    assert (kinds["no_decision"], kinds["do_not_call"], kinds["unknown"], kinds["sale"]) == \
        ("retired", "system", "system", "")

    # a file naming it again brings it back
    merged = await disposition_catalogue.merge(
        conn, campaign_id, disposition_catalogue.from_toml({"no_decision": {"label": "Thinking", "follow_up_days": 7}}),
        actor="test", now=MORNING)
    assert merged.restored == ["no_decision"]
    await leads.record_disposition(conn, attempt_id=attempt_id, code="no_decision", now=MORNING)


async def test_removing_a_code_the_campaign_does_not_have_names_the_ones_it_has(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    with pytest.raises(DispositionError, match="no disposition 'maybe' in this campaign; it has: callback"):
        await disposition_catalogue.remove(conn, campaign_id, ["maybe"], actor="test", now=MORNING)


async def test_reset_brings_back_the_missing_and_retired_default_codes_and_keeps_the_campaigns_own(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    await disposition_catalogue.merge(conn, campaign_id, disposition_catalogue.from_toml(TWO), actor="t", now=MORNING)
    _, attempt_id = await dialed_lead(conn, campaign_id)
    await leads.record_disposition(conn, attempt_id=attempt_id, code="not_interested", now=MORNING)
    await disposition_catalogue.remove(conn, campaign_id, ["not_interested", "not_our_audience"], actor="t",
                                       now=MORNING)
    back = await disposition_catalogue.restore_defaults(conn, campaign_id, actor="t", now=MORNING)
    assert sorted(back) == ["not_interested", "not_our_audience"]
    assert set(await dispositions.catalogue(conn, campaign_id)) == DEFAULT_CODES | {"brochure_sent"}
    assert await disposition_catalogue.restore_defaults(conn, campaign_id, actor="t", now=MORNING) == []


async def test_the_migration_gives_back_the_opt_out_and_callback_a_file_once_dropped(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    await dispositions.catalogue(conn, campaign_id)
    await conn.execute("DELETE FROM disposition WHERE campaign_id = $1 AND code = 'do_not_call'", campaign_id)
    await conn.execute("UPDATE disposition SET schedules_callback = false, follow_up_days = 2 WHERE code = 'callback'")
    sql = (Path(migrations.__file__).parent / "076_disposition_retire.sql").read_text()
    await conn.execute(sql.replace("ALTER TABLE disposition ADD COLUMN retired_at timestamptz;", ""))
    codes = await dispositions.catalogue(conn, campaign_id)
    assert codes["do_not_call"].final and codes["callback"].schedules_callback
    assert codes["callback"].follow_up_days is None
