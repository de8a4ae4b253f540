"""What every ``dialer`` command shares: the console, how a command fails, and the way to the store.

The other modules of ``cli`` import from here; nothing here imports them.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import asyncpg
import typer
from rich.console import Console

from config.settings import Settings, SettingsError, load_settings
from lists import database

console = Console(emoji=False)   # a column named phone:city is text, not ':phone:' → an emoji
T = TypeVar("T")
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # pgserver's platformdirs, harmless


def fail(message: str) -> typer.Exit:
    from rich.markup import escape  # a message may quote "[dispositions.sale]": text, not markup

    # one line however narrow the terminal: the message often ends in a command to copy
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=2)


def moment(value: str) -> datetime:
    """A ``--since`` / ``--until`` value (typer's own parser answers a bad one with a raw pydantic message)."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date or time; give 2026-12-06, 2026-12-06T08:00 or "
                                 "2026-12-06T08:00+03:00 (ISO 8601)") from None


def settings_or_fail() -> Settings:
    """The ``DIALER_*`` settings, or the command stops with one line naming the bad variable."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def store_url(settings: Settings | None = None) -> str:
    """The store's URL: DIALER_DATABASE_URL, or the embedded server (started on first use)."""
    settings = settings or settings_or_fail()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        return database.locate(url, settings.data_dir).url
    except database.StoreError as exc:
        raise fail(str(exc)) from None


def with_db(work: Callable[[asyncpg.Pool], Awaitable[T]], expected: tuple[type[Exception], ...] = ()) -> T:
    """Run one command's work on a pool of the migrated store; store errors, and the typed errors the work
    is ``expected`` to raise (a campaign that does not exist …), become clear messages."""

    async def main() -> T:
        db = await database.open_db(store_url(), max_size=2)
        try:
            return await work(db)
        finally:
            await db.close()

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
