"""``python -m dialer.web``: one browser session, started by ``dialer serve`` (textual-serve) for each
browser that connects. Its own small entry point rather than a ``dialer`` subcommand: a session process
should not import every room of the CLI (numpy and scipy come with the what-if tools), since a server
holds one such process per person at work."""

from __future__ import annotations

import os

import asyncpg

from cli_store import with_pool
from dialer.clock import SystemClock
from dialer.web.session import run_session


def main() -> None:
    web = os.environ.get("TEXTUAL_DRIVER", "").endswith("web_driver:WebDriver")   # started by textual-serve

    async def work(pool: asyncpg.Pool) -> None:
        await run_session(pool, SystemClock(), web=web)

    with_pool(work)


if __name__ == "__main__":
    main()
