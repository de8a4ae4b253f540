"""The ``dialer`` command: campaign managers, operators and supervisors start here.

Each command parses its arguments, opens what it needs and calls into ``dialer/``; no logic lives here.
"""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from config.settings import load_settings
from lists import database

app = typer.Typer(help="Predictive/progressive outbound dialer for Asterisk.", no_args_is_help=True)
db_app = typer.Typer(help="The store (PostgreSQL).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


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


if __name__ == "__main__":
    app()
