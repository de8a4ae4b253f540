"""People's views: the operator's console, the supervisor's ``watch``, and ``dialer report`` (the campaign
report; the named reports beside it come from their rooms and are mounted by ``cli.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import typer
from typer.core import TyperGroup

from cli.store import console, fail, moment, with_db


def operator_console(
    name: str = typer.Option(..., "--name", help="The operator's name (see `dialer operators`)"),
) -> None:
    """The operator's console: state and timer, customer card, call script, dispositions, callbacks."""
    from dialer.clock import SystemClock
    from dialer.views.operator_console import ConsoleError, OperatorConsole, find_operator

    async def work(db: asyncpg.Pool) -> None:
        operator = await find_operator(db, name)
        _need_terminal("dialer operator")
        await OperatorConsole(db, operator, SystemClock()).run_async()

    with_db(work, expected=(ConsoleError,))


def watch(
    campaign: str | None = typer.Argument(None, help="Campaign to show (default: the first running one)"),
    extension: str | None = typer.Option(None, "--extension", help="Your phone, for listen / whisper / barge"),
) -> None:
    """The supervisor's live view: operators, calls in flight, pacing, abandonment; tune and spy from it."""
    import getpass

    from dialer.clock import SystemClock
    from dialer.views.watch import WatchApp
    from lists import campaigns

    if extension is not None and not extension.isdigit():
        raise fail(f"--extension {extension!r} must be digits (your phone's extension)")

    async def work(db: asyncpg.Pool) -> None:
        if campaign is not None:
            await campaigns.get(db, campaign)      # a clear error before the screen opens
        _need_terminal("dialer watch")
        await WatchApp(db, SystemClock(), campaign=campaign, supervisor_extension=extension,
                       actor=f"supervisor:{getpass.getuser()}").run_async()

    with_db(work, expected=(campaigns.CampaignError,))


def _need_terminal(command: str) -> None:
    """A full-screen view without a terminal has nobody to show to (and spins a core redrawing for
    nobody): say so instead. Served to a browser, the view has its own terminal."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise fail(f"{command} is a full-screen view and needs a terminal (run it in one, or under tmux)")


def report_campaign(
    campaign: str,
    by: str = typer.Option("operator", "--by", help="operator | hour | disposition | list"),
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write the raw figures to this CSV file"),
    since: datetime | None = typer.Option(None, parser=moment,
                                          help="Start of the period (campaign time unless a zone is given)"),
    until: datetime | None = typer.Option(None, parser=moment, help="End of the period (default: now)"),
    conversion: list[str] = typer.Option(["sale"], help="Codes counted as conversions when the catalogue marks "
                                                          "none as success (repeatable)"),
) -> None:
    """Attempts, answers, connects, abandons, talk / wrap-up / idle time, occupancy, conversions and ratings."""
    from dialer.clock import SystemClock
    from dialer.reports import ReportError, as_tables, make_report, write_csv
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> Any:
        return await make_report(db, campaign, by=by, since=since, until=until or SystemClock().now(),
                                 conversions=tuple(conversion))

    report = with_db(work, expected=(ReportError, campaigns.CampaignError))
    for table in as_tables(report, console.width):
        console.print(table)
    if csv_file is not None:
        write_csv(report, csv_file)
        console.print(f"written to {csv_file}")


class ReportGroup(TyperGroup):
    """``dialer report CAMPAIGN …`` is the campaign report; named reports (``dialer report compliance …``)
    sit beside it. A first word that names no report is taken as the campaign."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["campaign", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(help="Reports.", no_args_is_help=True,
                           rich_markup_mode=None, cls=ReportGroup)
