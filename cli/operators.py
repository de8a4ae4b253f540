"""``dialer operators …``: the people who take the calls — add, list, show, edit, assign to campaigns,
take off campaigns, remove. Every change is audited with who made it."""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta

import asyncpg
import typer

from cli.store import console, fail, with_db

operator_app = typer.Typer(help="Operators and the campaigns they work.", no_args_is_help=True,
                           rich_markup_mode=None)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    from dialer.clock import SystemClock

    return SystemClock().now()


async def _campaign_ids(db: asyncpg.Pool, names: list[str]) -> dict[str, int]:
    from lists import campaigns

    return {name: (await campaigns.get(db, name)).id for name in names}


def _expected() -> tuple[type[Exception], ...]:
    from lists import campaigns, operators

    return (campaigns.CampaignError, operators.OperatorError)


@operator_app.command("add")
def operator_add(
    name: str,
    extension: str = typer.Option(..., help="Phone extension; its conference is op<extension>"),
    campaign: list[str] = typer.Option([], help="Campaign(s) this operator works (repeatable)"),
    simulated: bool = typer.Option(False, help="Driven by the engine's operator model (demo, tests)"),
) -> None:
    """Add an operator and assign them to campaigns."""
    from lists import operators

    async def work(db: asyncpg.Pool) -> None:
        async with db.acquire() as conn, conn.transaction():
            ids = await _campaign_ids(conn, campaign)
            row = await operators.create(conn, name=name, extension=extension, simulated=simulated)
            for campaign_id in ids.values():
                await operators.assign(conn, campaign_id=campaign_id, operator_ids=[row.id])

    with_db(work, expected=_expected())
    console.print(f"operator [bold]{name}[/] (ext {extension}) added")


@operator_app.command("list")
def operator_list() -> None:
    """Every operator: extension, campaigns, what they are doing now, calls connected today."""
    from rich.table import Table

    from lists import operators

    since = _now() - timedelta(hours=24)
    cards = with_db(lambda db: operators.cards(db, since=since))
    table = Table("name", "ext", "kind", "campaigns", "now", "calls 24 h")
    for card in cards:
        table.add_row(card.row.name, card.row.extension, "simulated" if card.row.simulated else "person",
                      ", ".join(card.campaigns) or "-", card.state, str(card.calls_today))
    console.print(table if cards else "no operators yet: add one with `dialer operators add NAME --extension N`")


@operator_app.command("show")
def operator_show(name: str) -> None:
    """One operator: extension, routing priority, campaigns, state and since when, calls in 24 h."""
    from lists import operators

    since = _now() - timedelta(hours=24)

    async def work(db: asyncpg.Pool) -> operators.OperatorCard:
        await operators.get(db, name)      # a clear error for an unknown name
        [card] = await operators.cards(db, name=name, since=since)
        return card

    card = with_db(work, expected=_expected())
    row = card.row
    console.print(f"[bold]{row.name}[/] ({'simulated' if row.simulated else 'person'})")
    console.print(f"  extension {row.extension} (conference op{row.extension}), routing priority {row.priority}")
    console.print(f"  campaigns: {', '.join(card.campaigns) or 'none'}")
    since_text = f" since {card.since:%Y-%m-%d %H:%M:%S %Z}" if card.since else ""
    console.print(f"  now: {card.state}{since_text}; calls connected in 24 h: {card.calls_today}")


@operator_app.command("edit")
def operator_edit(
    name: str,
    rename: str | None = typer.Option(None, "--name", help="New name"),
    extension: str | None = typer.Option(None, help="New extension (only while logged out)"),
    priority: int | None = typer.Option(None, help="Routing priority (higher: chosen first by 'experienced first')"),
) -> None:
    """Change an operator's name, extension or routing priority."""
    from lists import operators

    changes = {k: v for k, v in {"name": rename, "extension": extension, "priority": priority}.items()
               if v is not None}
    if not changes:
        raise fail("nothing to change: give --name, --extension or --priority")

    async def work(db: asyncpg.Pool) -> operators.OperatorRow:
        async with db.acquire() as conn, conn.transaction():
            return await operators.edit(conn, name, changes, actor=_actor(), now=_now())

    row = with_db(work, expected=_expected())
    console.print(f"operator [bold]{row.name}[/]: extension {row.extension}, priority {row.priority}")


def _set_campaigns(name: str, campaign: list[str], *, join: bool) -> None:
    from lists import operators

    async def work(db: asyncpg.Pool) -> None:
        async with db.acquire() as conn, conn.transaction():
            ids = await _campaign_ids(conn, campaign)
            await operators.set_campaigns(conn, name, ids, join=join, actor=_actor(), now=_now())

    with_db(work, expected=_expected())
    console.print(f"operator [bold]{name}[/] {'now works' if join else 'no longer works'} {', '.join(campaign)}")


@operator_app.command("assign")
def operator_assign(name: str, campaign: list[str] = typer.Argument(..., help="Campaign name(s)")) -> None:
    """Let an operator work more campaigns (an operator may work several at once)."""
    _set_campaigns(name, campaign, join=True)


@operator_app.command("unassign")
def operator_unassign(name: str, campaign: list[str] = typer.Argument(..., help="Campaign name(s)")) -> None:
    """Take an operator off campaigns; their calls in progress finish normally."""
    _set_campaigns(name, campaign, join=False)


@operator_app.command("remove")
def operator_remove(name: str) -> None:
    """Remove an operator: deleted if they never took a call, else retired (their records stay)."""
    from lists import operators

    async def work(db: asyncpg.Pool) -> str:
        async with db.acquire() as conn, conn.transaction():
            return await operators.remove(conn, name, actor=_actor(), now=_now())

    done = with_db(work, expected=_expected())
    note = "; their calls stay in the reports" if done == "retired" else ""
    console.print(f"operator [bold]{name}[/] {done}{note}")
