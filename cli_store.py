"""What every ``dialer`` command shares: the console, how a command fails, and the way to the store.

Also ``dialer db``, the store's own sub-app. The other ``cli_*.py`` modules import from here; nothing here
imports them.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import typer
from rich.console import Console

from config.settings import Settings, load_settings
from lists import database

db_app = typer.Typer(help="The store (PostgreSQL).", no_args_is_help=True,
                           rich_markup_mode=None)
console = Console(emoji=False)   # a column named phone:city is text, not ':phone:' → an emoji
T = TypeVar("T")
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # pgserver's platformdirs, harmless


def fail(message: str) -> typer.Exit:
    from rich.markup import escape  # a message may quote "[dispositions.sale]": text, not markup

    # one line however narrow the terminal: the message often ends in a command to copy
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=2)


def store_url(settings: Settings | None = None) -> str:
    """The store's URL: DIALER_DATABASE_URL, or the embedded server (started on first use)."""
    settings = settings or load_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        return database.locate(url, settings.data_dir).url
    except database.StoreError as exc:
        raise fail(str(exc)) from None


def with_pool(work: Callable[[asyncpg.Pool], Awaitable[T]], expected: tuple[type[Exception], ...] = ()) -> T:
    """Run one command's work on a pool of the migrated store; store errors, and the typed errors the work
    is ``expected`` to raise (a campaign that does not exist …), become clear messages."""

    async def main() -> T:
        pool = await database.open_pool(store_url(), max_size=2)
        try:
            return await work(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except (database.StoreError, *expected) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        if exc.filename is None:        # not a file: the store itself could not be reached
            raise fail(f"cannot reach the store: {exc}") from None
        raise fail(f"{exc.filename}: {exc.strerror}") from None
    except asyncpg.IntegrityConstraintViolationError as exc:
        # the store's own checks are the last line; the command should have said it first
        raise fail(f"the store refused the change: {exc.message}") from None


@db_app.command("status")
def db_status() -> None:
    """Print where the data lives and the schema version (migrating first)."""
    settings = load_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None

    async def main() -> None:
        location = database.locate(url, settings.data_dir)
        pool = await database.open_pool(location.url, max_size=1)
        async with pool.acquire() as conn:
            version = await database.schema_version(conn)
        await pool.close()
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

    async def work(pool: asyncpg.Pool) -> list[asyncpg.Record]:
        return await pool.fetch("SELECT id, at, engine, what, error, payload FROM dead_letter ORDER BY id DESC "
                                "LIMIT $1", limit)

    rows = with_pool(work)
    if not rows:
        console.print("no dead letters: every write the engines made is recorded")
        return
    table = Table("id", "when (UTC)", "engine", "what", "error")
    for row in rows:
        table.add_row(str(row["id"]), f"{row['at']:%Y-%m-%d %H:%M:%S}", row["engine"], row["what"], row["error"])
        if payload:
            table.add_row("", "", "", f"  {row['payload']}", "")
    console.print(table)
