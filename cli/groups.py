"""``dialer group …``: campaign groups, the campaigns that share one pool of operators.

A typer sub-app beside ``cli.py`` (which adds it as ``group``); like the other ``cli_*.py`` modules, each
command parses its arguments and calls into ``lists.groups`` — no logic here.
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
import typer

from cli.store import console, fail, moment, with_db

group_app = typer.Typer(help="Campaign groups: campaigns sharing one pool of operators.", no_args_is_help=True,
                           rich_markup_mode=None)


def _change(work: Callable[[asyncpg.Connection], Awaitable[object]]) -> None:
    """Run one change in a transaction (the change and its audit rows, or nothing) and show the group."""
    from lists.campaigns import CampaignError
    from lists.groups import CampaignGroup

    async def main(db: asyncpg.Pool) -> object:
        async with db.acquire() as conn, conn.transaction():
            return await work(conn)

    group = with_db(main, expected=(CampaignError,))   # GroupError is one
    assert isinstance(group, CampaignGroup)
    _print(group)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@group_app.command("create")
def group_create(
    name: str,
    settings: list[str] = typer.Argument(None, help="reserved=N group_ledger=on and pacing defaults for the "
                                                     "members, e.g. optimize=busy optimize_target=0.85"),
) -> None:
    """Create a campaign group (no members yet; add them with `dialer group add`)."""
    from dialer.clock import SystemClock
    from dialer.groups.settings import parse_group_assignments
    from dialer.tuning import validate_pacing
    from lists import groups

    try:
        changes = parse_group_assignments(settings or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    pacing = {k: v for k, v in changes.pacing.items() if v is not None}
    _change(lambda conn: groups.create(conn, name, reserved=changes.reserved or 0, pacing=pacing,
                                       group_ledger=bool(changes.group_ledger), actor=_actor(),
                                       now=SystemClock().now(), validate=validate_pacing))


@group_app.command("add")
def group_add(
    name: str,
    campaign: str,
    share: float | None = typer.Option(None, help="Weight of the pool's operator time, e.g. 70 (default 1)"),
    priority: int | None = typer.Option(None, help="Higher goes first when operators are short (default 0)"),
) -> None:
    """Add a campaign to the group, or change its share or priority (live: applied within a second)."""
    from dialer.clock import SystemClock
    from lists import groups

    _change(lambda conn: groups.set_member(conn, name, campaign, share=share, priority=priority, actor=_actor(),
                                           now=SystemClock().now()))


@group_app.command("remove")
def group_remove(name: str, campaign: str) -> None:
    """Take a campaign out of the group: it paces alone again."""
    from dialer.clock import SystemClock
    from lists import groups

    _change(lambda conn: groups.remove_member(conn, name, campaign, actor=_actor(), now=SystemClock().now()))


@group_app.command("set")
def group_set(
    name: str,
    settings: list[str] = typer.Argument(..., help="reserved=N, group_ledger=on|off, or a pacing default such "
                                                   "as optimize=wait optimize_target=8 (KEY= removes it)"),
) -> None:
    """Change the group live: reserved operators, group-level ledger, the members' pacing target (audited)."""
    from dialer.clock import SystemClock
    from dialer.groups.settings import parse_group_assignments
    from dialer.tuning import validate_pacing
    from lists import groups

    try:
        changes = parse_group_assignments(settings)
    except ValueError as exc:
        raise fail(str(exc)) from None
    _change(lambda conn: groups.set_settings(conn, name, reserved=changes.reserved, group_ledger=changes.group_ledger,
                                             pacing=changes.pacing, actor=_actor(), now=SystemClock().now(),
                                             validate=validate_pacing))


@group_app.command("show")
def group_show(name: str) -> None:
    """The group's settings and members with their target shares."""
    from lists import groups

    group = with_db(lambda db: groups.get_group(db, name), expected=(groups.GroupError,))
    _print(group)


@group_app.command("list")
def group_list() -> None:
    """Every campaign group with its members and shares."""
    from rich.table import Table

    from lists import groups

    table = Table("group", "reserved", "ledger", "pacing", "members (share %)")
    for group in with_db(groups.all_groups):
        shares = group.target_shares()
        table.add_row(group.name, str(group.reserved), "group" if group.group_ledger else "campaign",
                      _pacing(group.pacing),
                      ", ".join(f"{m.name} {100 * shares[m.campaign_id]:.0f}" for m in group.members) or "none")
    console.print(table)


def _pacing(pacing: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(pacing.items())) or "-"


def _print(group: object) -> None:
    from rich.table import Table

    from lists.groups import CampaignGroup

    assert isinstance(group, CampaignGroup)
    console.print(f"group [bold]{group.name}[/]: reserved {group.reserved} operator(s); abandonment ledger per "
                  f"{'campaign and group' if group.group_ledger else 'campaign'}; pacing {_pacing(group.pacing)}")
    shares = group.target_shares()
    table = Table("campaign", "state", "share", "target %", "priority")
    for m in group.members:
        table.add_row(m.name, m.state, f"{m.share:g}", f"{100 * shares[m.campaign_id]:.1f}", str(m.priority))
    console.print(table)


def report_group(
    name: str,
    since: datetime | None = typer.Option(None, parser=moment, help="Start of the period (first member's time "
                                                                    "unless a zone is given)"),
    until: datetime | None = typer.Option(None, parser=moment, help="End of the period (default: now)"),
) -> None:
    """A campaign group per campaign and per pool: target and realized shares of the pool's handle time,
    attempts, answers, connects, abandons, talk and wrap-up, and the pool's occupancy."""
    from dialer.clock import SystemClock
    from dialer.groups.report import as_table, make_group_report
    from dialer.reports import ReportError
    from lists.campaigns import CampaignError

    report = with_db(lambda db: make_group_report(db, name, since=since, until=until or SystemClock().now()),
                       expected=(CampaignError, ReportError))   # GroupError is a CampaignError
    console.print(as_table(report))
