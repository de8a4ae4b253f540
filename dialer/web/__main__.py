"""``python -m dialer.web``: one browser session, started by ``dialer serve`` (textual-serve) for each
browser that connects. Its own small entry point rather than a ``dialer`` subcommand: a session process
should not import every room of the CLI (numpy and scipy come with the what-if tools), since a server
holds one such process per person at work. For the same reason it takes the store's address from
``DIALER_DATABASE_URL``, which ``dialer serve`` sets for its sessions (the embedded store's too), and
loads the settings model (pydantic) only when started by hand without it."""

from __future__ import annotations

import asyncio
import os
import sys

from dialer.clock import SystemClock
from dialer.web.session import run_session
from lists import database


def main() -> None:
    web = os.environ.get("TEXTUAL_DRIVER", "").endswith("web_driver:WebDriver")   # started by textual-serve

    async def session() -> None:
        pool = await database.open_pool(store_url(), max_size=2)
        try:
            await run_session(pool, SystemClock(), web=web)
        finally:
            await pool.close()

    try:
        asyncio.run(session())
    except BrokenPipeError:
        # the server went away (its end of the screen is closed): nobody is left to tell, and the
        # interpreter's own last flush must not fail on that pipe either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (database.StoreError, OSError) as exc:
        # the store's address is the server's business: say that it failed, not where it lives
        print(f"error: the store cannot be reached ({type(exc).__name__})", file=sys.stderr)
        sys.exit(2)


def store_url() -> str:
    url = os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url
    from config.settings import load_settings  # a session started by hand: the settings decide

    settings = load_settings()
    given = settings.database_url.get_secret_value() if settings.database_url else None
    return database.locate(given, settings.data_dir).url


if __name__ == "__main__":
    main()
