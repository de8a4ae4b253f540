"""The views' CLI commands, run as a user runs them (against the test's own schema)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from tests.views.test_script import EXAMPLE

pytestmark = pytest.mark.db


def _url_for(store_schema: tuple[str, str]) -> str:
    url, schema = store_schema
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def test_campaign_script_stores_a_valid_script_and_names_the_broken_step(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    await db.execute("INSERT INTO campaign (name, channel_template, caller_id) VALUES ('winter', 'L/{phone}', '1')")
    good, bad = tmp_path / "winter.toml", tmp_path / "broken.toml"
    good.write_text(EXAMPLE)
    bad.write_text(EXAMPLE.replace('next = "offer"', 'next = "ofer"'))
    env = {"DIALER_DATABASE_URL": _url_for(store_schema), "COLUMNS": "200"}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli.app, list(args), env=env)
        return result.exit_code, result.output

    # the CLI runs its own event loop: keep it off this test's loop
    code, output = await asyncio.to_thread(run, "campaign", "script", "winter", str(good))
    assert code == 0, output
    assert "script 'Winter offer' with 4 steps" in output
    stored = json.loads(await db.fetchval("SELECT script FROM campaign WHERE name = 'winter'"))
    assert stored["start"] == "greet" and set(stored["steps"]) == {"greet", "offer", "later", "close"}

    code, output = await asyncio.to_thread(run, "campaign", "script", "winter", str(bad))
    assert code == 2
    assert "step 'greet': answer 'Yes' jumps to 'ofer', which is not a step" in output
    code, output = await asyncio.to_thread(run, "campaign", "script", "summer", str(good))
    assert code == 2 and "no campaign named 'summer'" in output
