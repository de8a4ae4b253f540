"""``dialer db``: where the store lives, its schema version, and the writes it could not take."""

from __future__ import annotations

import asyncio

import asyncpg
import typer

from cli.store import console, fail, settings_or_fail, with_db
from dialer.store import dead_letters
from dialer.store.dead_letters import DeadLetter
from lists import database

db_app = typer.Typer(help="The store (PostgreSQL).", no_args_is_help=True, rich_markup_mode=None)


@db_app.command("status")
def db_status() -> None:
    """Print where the data lives and the schema version (migrating first)."""
    settings = settings_or_fail()
    url = settings.database_url.get_secret_value() if settings.database_url else None

    async def main() -> None:
        location = database.locate(url, settings.data_dir)
        db = await database.open_db(location.url, max_size=1)
        async with db.acquire() as conn:
            version = await database.schema_version(conn)
        await db.close()
        console.print(f"store: {location.describe()}")
        console.print(f"schema version: {version}")

    try:
        asyncio.run(main())
    except database.StoreError as exc:
        raise fail(str(exc)) from None


@db_app.command("dead-letters")
def db_dead_letters(
    limit: int = typer.Option(50, min=1, help="How many, newest first"),
    payload: bool = typer.Option(False, "--payload", help="Also print each write's arguments (JSON)"),
) -> None:
    """Writes the engine could not record (kept aside so the rest went on): what, why, when, which engine."""
    from rich.table import Table

    async def work(db: asyncpg.Pool) -> list[DeadLetter]:
        return await dead_letters.newest(db, limit)

    rows = with_db(work)
    if not rows:
        console.print("no dead letters: every write the engines made is recorded")
        return
    table = Table("id", "when (UTC)", "engine", "what", "error")
    for row in rows:
        table.add_row(str(row.id), f"{row.at:%Y-%m-%d %H:%M:%S}", row.engine, row.what, row.error)
        if payload:
            table.add_row("", "", "", f"  {row.payload}", "")
    console.print(table)
