"""`dialer lists dispositions` and the [dispositions] of `dialer lists strategy --file` as a campaign manager
runs them: a file never drops a code silently, removal is explicit and refused for system codes, a used code
is retired, and --reset brings the default codes back."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from lists import dispositions
from tests.lists.test_cli import make_spring, runner_for

pytestmark = pytest.mark.db

TWO_CODES = """
[dispositions.sale]
label = "Deal"
final = true

[dispositions.brochure_sent]
label = "Brochure sent"
follow_up_days = 5
"""


async def codes(db: asyncpg.Pool, campaign_id: int) -> set[str]:
    async with db.acquire() as conn:
        return set(await dispositions.catalogue(conn, campaign_id))


async def test_a_file_with_two_codes_keeps_the_others_and_says_which(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    path = tmp_path / "spring.toml"
    path.write_text(TWO_CODES, encoding="utf-8")
    code, output = await run("lists", "strategy", "spring", "--file", str(path))
    assert code == 0, output
    assert "dispositions added: brochure_sent" in output and "dispositions changed: sale" in output, output
    assert ("kept (not in spring.toml): callback, do_not_call, information_sent, no_decision, not_interested, "
            "not_our_audience — remove a code with `dialer lists dispositions spring --remove CODE`") in output
    assert "disposition do_not_call (Do not call me (opt-out)): finishes the lead; the number goes on the " \
           "company DNC list [system]" in output
    assert await codes(db, campaign_id) == {d.code for d in dispositions.DEFAULT_CATALOGUE} | {"brochure_sent"}


async def test_the_listing_shows_every_code_what_it_does_and_which_are_system_or_retired(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    campaign_id = await make_spring(db)
    await db.execute(
        "INSERT INTO lead (campaign_id, phone, state, last_disposition) VALUES ($1, '+74959374955', 'done', "
        "'not_interested')", campaign_id)
    run = runner_for(store_schema)
    code, output = await run("lists", "dispositions", "spring", "--remove", "not_interested", "--remove",
                             "no_decision")
    assert code == 0, output
    assert "removed (no call was given them): no_decision" in output
    assert "retired (calls were given them; kept for history, no longer offered in wrap-up): not_interested" \
        in output
    code, output = await run("lists", "dispositions", "spring")
    assert code == 0, output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in output.splitlines() if line.count("│") == 5}
    assert rows["sale"] == ["Sale", "finishes the lead", ""]
    assert rows["information_sent"] == ["Information sent", "follow-up in 3 day(s)", ""]
    assert rows["callback"] == ["Call back later", "callback at the time the operator sets", "system"]
    assert rows["do_not_call"][1:] == ["finishes the lead; the number goes on the company DNC list", "system"]
    assert rows["unknown"][2] == "system"
    assert rows["not_interested"][2].startswith("retired 20"), output
    assert "no_decision" not in rows
    assert await codes(db, campaign_id) == {d.code for d in dispositions.DEFAULT_CATALOGUE} - \
        {"not_interested", "no_decision"}

    code, output = await run("lists", "strategy", "spring", "--reset")
    assert code == 0 and "default dispositions back: not_interested, no_decision" in output, output
    assert await codes(db, campaign_id) == {d.code for d in dispositions.DEFAULT_CATALOGUE}


@pytest.mark.parametrize(("args", "says"), [
    (["--remove", "do_not_call"], "'do_not_call' is a system code (finishes the lead; the number goes on the "
                                  "company DNC list): it cannot be removed; its label may change"),
    (["--remove", "callback"], "'callback' is a system code"),
    (["--remove", "unknown"], "'unknown' is a system code, set only by the engine: it cannot be removed"),
    (["--remove", "maybe"], "no disposition 'maybe' in this campaign; it has: callback, do_not_call"),
])
async def test_a_removal_that_is_refused_says_why_on_one_line_and_changes_nothing(
        db: asyncpg.Pool, store_schema: tuple[str, str], args: list[str], says: str) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    code, output = await run("lists", "dispositions", "spring", *args)
    assert code == 2 and says in output and "Traceback" not in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert await codes(db, campaign_id) == {d.code for d in dispositions.DEFAULT_CATALOGUE}


async def test_an_unknown_campaign_is_named(db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    code, output = await run("lists", "dispositions", "nosuch")
    assert code == 2 and "nosuch" in output and "Traceback" not in output, output


@pytest.mark.parametrize(("table", "says"), [
    ('[dispositions.do_not_call]\nlabel = "Later maybe"\nfollow_up_days = 3\n',
     "[dispositions.do_not_call]: 'do_not_call' is a system code, it always does this: finishes the lead"),
    ('[dispositions.sale]\nlabel = "Sale"\nremove = true\n',
     "unknown key(s) remove (known: callback, final, follow_up_days, label, retry_after_s) (to remove a code: "
     "dialer lists dispositions CAMPAIGN --remove CODE)"),
    ('[dispositions.unknown]\nlabel = "Who knows"\n', "'unknown' is a system code, set only by the engine"),
])
async def test_a_file_cannot_change_what_a_system_code_does_nor_remove_a_code(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path, table: str, says: str) -> None:
    campaign_id = await make_spring(db)
    run = runner_for(store_schema)
    path = tmp_path / "bad.toml"
    path.write_text(table, encoding="utf-8")
    code, output = await run("lists", "strategy", "spring", "--file", str(path))
    assert code == 2 and says in output.replace("\n", ""), output
    assert await codes(db, campaign_id) == {d.code for d in dispositions.DEFAULT_CATALOGUE}
    async with db.acquire() as conn:
        do_not_call = (await dispositions.catalogue(conn, campaign_id))["do_not_call"]
    assert do_not_call.final     # its effect unchanged
