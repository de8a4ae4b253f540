"""What a newcomer types wrong gets one line that names the file, option or campaign, never a traceback or
a screen that opens onto nothing."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.lists.test_campaign_management import create
from tests.lists.test_cli import runner_for

pytestmark = pytest.mark.db


def one_line_error(code: int, output: str) -> bool:
    return code == 2 and "Traceback" not in output and len(output.strip().splitlines()) <= 3


async def test_export_into_a_missing_folder_says_which(store_schema: tuple[str, str], tmp_path: Path) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("lists", "export", "spring", str(tmp_path / "nonexistent" / "x.csv"))
    assert one_line_error(code, output) and "there is no folder" in output, output
    code, output = await run("lists", "export", "spring", str(tmp_path))
    assert one_line_error(code, output) and "it is a folder" in output, output
    code, output = await run("lists", "export", "spring", str(tmp_path / "x.csv"))
    assert code == 0 and (tmp_path / "x.csv").exists(), output


async def test_a_share_out_of_range_is_refused_by_its_option(db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("compliance", "set", "spring", "--amd-false-positive-rate", "2")
    assert code == 2 and "--amd-false-positive-rate" in output and "Traceback" not in output, output
    assert await db.fetchval("SELECT count(*) FROM campaign_compliance") == 0


async def test_views_name_an_unknown_campaign_or_operator_before_opening(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    code, output = await run("watch", "nosuch")
    assert one_line_error(code, output) and "no campaign named 'nosuch'" in output, output
    code, output = await run("operator", "--name", "Nobody")
    assert one_line_error(code, output) and "no operator named 'Nobody'" in output, output


async def test_views_without_a_terminal_say_so_instead_of_spinning(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    await create(run)
    code, output = await run("watch", "spring")
    assert one_line_error(code, output) and "needs a terminal" in output, output


async def test_staffing_says_what_it_needs(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    code, output = await run("staffing", "--handle", "190")
    assert one_line_error(code, output) and "give --calls-per-hour" in output and "not both" not in output, output


async def test_bad_figures_and_moments_are_named_by_their_option(store_schema: tuple[str, str]) -> None:
    """--handle 0 said "interval and handle time must be positive" (there is no interval option), and
    --since yesterday a raw pydantic message."""
    run = runner_for(store_schema)
    code, output = await run("staffing", "--handle", "0", "--calls-per-hour", "100")
    assert one_line_error(code, output) and "--handle must be a positive" in output, output
    assert "interval" not in output
    await create(run)
    for command in (["report", "spring"], ["report", "group", "g"]):
        code, output = await run(*command, "--since", "yesterday")
        assert code == 2 and "Invalid value for '--since': 'yesterday' is not a date or time; give 2026-12-06" \
            in " ".join(output.split()) and "pydantic" not in output and "Input should" not in output, output


async def test_help_keeps_square_brackets_and_lists_choices(store_schema: tuple[str, str]) -> None:
    run = runner_for(store_schema)
    assert "[script] table" in (await run("campaign", "script", "--help"))[1]
    assert "[strategy], [retries]" in " ".join((await run("lists", "strategy", "--help"))[1].split())
    help_text = (await run("compliance", "set", "--help"))[1]
    assert "[default: 0]" not in help_text and "[default: -1.0]" not in help_text
    assert "<preview|progressive|ratio|predictive>" in (await run("campaign", "create", "--help"))[1]
    assert "<abandon|wait|busy>" in (await run("simulate", "--help"))[1]


async def test_a_column_named_like_an_emoji_code_is_printed_as_written(
        store_schema: tuple[str, str], tmp_path: Path) -> None:
    run = runner_for(store_schema)
    await create(run)
    path = tmp_path / "colon.csv"
    path.write_text("name:phone:city\nAnna:+79161234567:Tver\n")
    _code, output = await run("lists", "load", "spring", str(path), "--dry-run")
    assert "name:phone:city" in " ".join(output.split()) and "☎" not in output, output


async def test_an_xlsx_load_does_not_speak_of_encodings_and_delimiters(
        store_schema: tuple[str, str], tmp_path: Path) -> None:
    import openpyxl

    run = runner_for(store_schema)
    await create(run)
    book = openpyxl.Workbook()
    book.active.append(["phone", "name"])
    book.active.append(["+79161234567", "Anna"])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    code, output = await run("lists", "load", "spring", str(path), "--dry-run")
    assert code == 0, output
    assert "leads.xlsx: xlsx" in output and "delimiter" not in output and "encoding" not in output, output
