"""``python -m dialer.web``: one session in this terminal (the login, then the person's screen), to try
on the server itself what a browser gets from ``dialer serve``. It takes the store's address from
``DIALER_DATABASE_URL``, or from the settings when that is not set."""

from __future__ import annotations

import asyncio
import os
import sys

from dialer.clock import SystemClock
from dialer.web.session import run_session
from lists import database


def main() -> None:
    async def session() -> None:
        db = await database.open_db(store_url(), max_size=2)
        try:
            await run_session(db, SystemClock())
        finally:
            await db.close()

    try:
        asyncio.run(session())
    except (database.StoreError, OSError) as exc:
        # the store's address is the server's business: say that it failed, not where it lives
        print(f"error: the store cannot be reached ({type(exc).__name__})", file=sys.stderr)
        sys.exit(2)


def store_url() -> str:
    url = os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url
    from config.settings import load_settings  # the settings decide

    settings = load_settings()
    given = settings.database_url.get_secret_value() if settings.database_url else None
    return database.locate(given, settings.data_dir).url


if __name__ == "__main__":
    main()
