"""``dialer report CAMPAIGN …`` through the CLI, beside the named reports (``dialer report compliance``)."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from tests.reports.conftest import UNTIL

pytestmark = pytest.mark.db


async def test_report_campaign_by_list_prints_and_writes_csv(
        day: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "200"}
    out = tmp_path / "by_list.csv"

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli.app, list(args), env=env)
        return result.exit_code, result.output

    code, output = await asyncio.to_thread(run, "report", "winter", "--by", "list", "--until", UNTIL.isoformat(),
                                           "--csv", str(out))
    assert code == 0, output
    assert "winter by list" in output and "north" in output and "south" in output
    with out.open() as f:
        assert [(r["list"], r["attempts"]) for r in csv.DictReader(f)] == [("north", "3"), ("south", "2"),
                                                                          ("total", "5")]
    code, output = await asyncio.to_thread(run, "report", "--by", "list", "winter", "--until", UNTIL.isoformat())
    assert code == 0 and "winter by list" in output                 # options first works too
    code, output = await asyncio.to_thread(run, "report", "winter", "--by", "weekday")
    assert code == 2 and "--by must be one of" in output
    code, output = await asyncio.to_thread(run, "report", "compliance", "--help")
    assert code == 0 and "Per window" in output


@pytest.mark.parametrize("columns", [120, 80])
@pytest.mark.parametrize("by", ["operator", "hour", "list"])
async def test_a_report_cuts_no_header_no_hour_and_drops_no_column(
        day: asyncpg.Pool, store_schema: tuple[str, str], by: str, columns: int) -> None:
    """80 columns is a plain terminal's width and what rich assumes when the output is piped to a file:
    the report is split in two tables there rather than losing its last columns or cutting the hours."""
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": str(columns)}
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["report", "winter", "--by", by, "--until",
                                                                  UNTIL.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= columns
    for header in ("dials", "answered", "connected", "abandoned", "aband.%", "talk", "wrap", "idle", "occup.",
                   "conv.", "conv.%", "rating"):
        assert header in result.output, result.output
