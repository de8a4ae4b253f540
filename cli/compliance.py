"""``dialer compliance …``, ``dialer dnc …`` and ``dialer report compliance``: a campaign's calling hours,
caps and registries, the do-not-call lists, and the report that says whether a campaign stayed within them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import typer

from cli.store import console, fail, with_db

compliance_app = typer.Typer(help="Calling hours, caps and registries of a campaign.", no_args_is_help=True,
                           rich_markup_mode=None)
dnc_app = typer.Typer(help="Do-not-call lists: company, campaign, registry copies.", no_args_is_help=True,
                           rich_markup_mode=None)
T = TypeVar("T")


def _compliance_run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    from compliance.verdict import ComplianceError
    from lists import campaigns

    async def on_db(db: asyncpg.Pool) -> T:
        async with db.acquire() as conn:
            return await work(conn)

    return with_db(on_db, expected=(ComplianceError, campaigns.CampaignError))


@compliance_app.command("set")
def compliance_set(
    campaign: str,
    preset: str = typer.Option("", show_default=False, help="One of: US, UK, RU, none (unset: keeps the current one)"),
    window: list[str] = typer.Option(None, help="campaign window in the callee's local time, e.g. 09:00-20:00 "
                                     "or mon-fri=09:00-18:00 (repeatable; replaces the current windows)"),
    holiday: list[str] = typer.Option(None, help="a holiday date YYYY-MM-DD (repeatable; replaces the list)"),
    registry: list[str] = typer.Option(None, help="a DNC registry the campaign requires (repeatable)"),
    registry_max_age: int | None = typer.Option(None, min=1, show_default=False,
                                                help="days a registry copy stays usable (31 until set)"),
    amd_false_positive_rate: float | None = typer.Option(None, min=0.0, max=1.0, show_default=False,
                                                        help="UK: estimated share (0-1) of AMD 'machine' verdicts "
                                                        "that were people (0 until set)"),
) -> None:
    """Set a campaign's compliance preset, windows, holidays and registry rules (audited)."""
    import getpass
    from dataclasses import replace
    from datetime import date

    from compliance import store
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(conn: asyncpg.Connection) -> None:
        found = await campaigns.get(conn, campaign)
        rules = await store.campaign_rules(conn, found.id)
        changes: dict = {}
        if preset:
            changes["preset"] = None if preset.lower() == "none" else preset.upper()
        if window:
            by_day = dict(w.split("=", 1) for w in window if "=" in w)
            daily = [w for w in window if "=" not in w]
            changes["windows"] = {**({"daily": daily} if daily else {}), **by_day} if by_day else tuple(daily)
        if holiday:
            try:
                changes["holidays"] = frozenset(date.fromisoformat(h) for h in holiday)
            except ValueError as exc:
                raise fail(f"--holiday: {exc}; write YYYY-MM-DD") from None
        if registry:
            changes["registries"] = tuple(registry)
        if registry_max_age is not None:
            changes["registry_max_age_days"] = registry_max_age
        if amd_false_positive_rate is not None:
            changes["amd_false_positive_rate"] = amd_false_positive_rate
        new = replace(rules, **changes)
        await store.set_campaign_rules(conn, found.id, new, actor=f"cli:{getpass.getuser()}",
                                       now=SystemClock().now())
        console.print(f"campaign [bold]{found.name}[/]: {new.policy().name}; {new.abandon.source}")

    _compliance_run(work)


@compliance_app.command("show")
def compliance_show(campaign: str) -> None:
    """A campaign's compliance rules and whether its registries allow dialing now."""
    import json

    from compliance import store
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(conn: asyncpg.Connection) -> None:
        found = await campaigns.get(conn, campaign)
        rules = await store.campaign_rules(conn, found.id)
        console.print(json.dumps(store.rules_document(rules), indent=2, ensure_ascii=False), soft_wrap=True)
        console.print(f"policy: {rules.policy().name}; abandonment: {rules.abandon.source}")
        verdict = await store.registry_verdict(conn, campaign_id=found.id, now=SystemClock().now())
        console.print(f"registries: {verdict.reason}")

    _compliance_run(work)


@dnc_app.command("add")
def dnc_add(
    phones: list[str] = typer.Argument(..., help="numbers, +E.164 or national with --region"),
    campaign: str = typer.Option("", help="only this campaign's list (default: the company list)"),
    source: str = typer.Option("manual", help="who or what asked (kept with the entry)"),
    region: str = typer.Option("", help="region for national-format numbers, e.g. US or RU"),
) -> None:
    """Put numbers on the company's (or one campaign's) do-not-call list; the next claim honours it."""
    from compliance import store
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(conn: asyncpg.Connection) -> None:
        scope = f"campaign:{(await campaigns.get(conn, campaign)).id}" if campaign else "company"
        added = await store.add_dnc(conn, phones, scope=scope, source=source,
                                    now=SystemClock().now(), region=region or None)
        console.print(f"{added} new do-not-call entries ({len(phones) - added} already there)")

    _compliance_run(work)


@dnc_app.command("import")
def dnc_import(
    file: str = typer.Argument(..., help="the registry copy: one number per line"),
    name: str = typer.Option(..., help="registry name, e.g. us-national"),
    copy_date: str = typer.Option(..., help="the date of the copy (YYYY-MM-DD), as the registry states it"),
    region: str = typer.Option("US", help="region of national-format numbers in the file"),
    max_age: int = typer.Option(31, help="refuse a copy older than this many days"),
) -> None:
    """Replace a registry's entries with a fresh copy (all or nothing; a stale copy is refused)."""
    from datetime import date
    from pathlib import Path

    from compliance import store
    from dialer.clock import SystemClock

    try:
        when = date.fromisoformat(copy_date)
    except ValueError as exc:
        raise fail(f"--copy-date {copy_date!r}: {exc}; write YYYY-MM-DD") from None

    async def work(conn: asyncpg.Connection) -> None:
        copy = await store.import_registry(conn, Path(file), name=name, copy_date=when, now=SystemClock().now(),
                                           region=region or None, max_age_days=max_age)
        console.print(f"registry [bold]{copy.name}[/]: {copy.entries} numbers, copy of {copy.copy_date}")

    _compliance_run(work)


@dnc_app.command("list")
def dnc_list(
    campaign: str = typer.Option("", help="only this campaign's entries"),
    phone: str = typer.Option("", help="only this number (+E.164)"),
    limit: int = typer.Option(100, help="at most this many rows, newest first"),
) -> None:
    """Do-not-call entries, newest first, and the registry copies with their dates."""
    from rich.table import Table

    from compliance import store
    from lists import campaigns

    async def work(conn: asyncpg.Connection) -> None:
        scope = f"campaign:{(await campaigns.get(conn, campaign)).id}" if campaign else None
        table = Table("phone", "scope", "source", "added")
        for e in await store.list_dnc(conn, scope=scope, phone=phone or None, limit=limit):
            table.add_row(e.phone, e.scope, e.source, e.added_at.isoformat(timespec="seconds"))
        console.print(table)
        for r in await store.registries(conn):
            console.print(f"registry {r.name}: {r.entries} numbers, copy of {r.copy_date}, "
                          f"imported {r.imported_at:%F %R}")

    _compliance_run(work)


def report_compliance(campaign: str) -> None:
    """Per window: live answers, abandons, rate against the cap, calls outside hours and to DNC numbers
    (both must be 0), leads held back by DNC, registry freshness. Exit code 1 when anything is wrong."""
    from rich.table import Table

    from compliance import store
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(conn: asyncpg.Connection) -> store.ComplianceReport:
        found = await campaigns.get(conn, campaign)
        return await store.compliance_report(conn, campaign_id=found.id, now=SystemClock().now())

    report = _compliance_run(work)
    console.print(f"campaign [bold]{report.campaign_name}[/] — {report.policy}; {report.abandon_rule}")
    table = Table("window", "calls", "live answers", "abandons", "rate", "cap", "outside hours", "to DNC")
    for r in report.rows:
        rate = f"{r.rate:.2%}" + (" [red]OVER[/]" if r.over_cap else "")
        estimate = f" (incl. {r.false_positive_estimate} AMD est.)" if r.false_positive_estimate else ""
        live = f"{r.live_answers}{estimate}"
        table.add_row(r.label, str(r.attempts), live, str(r.abandons), rate, f"{r.cap:.0%}",
                      str(r.calls_outside_hours), str(r.calls_to_dnc))
    console.print(table)
    console.print(f"leads held back by do-not-call lists: {report.leads_held_by_dnc}")
    console.print(f"registries: {report.registry}")
    for example in report.outside_hours_examples:
        console.print(f"[red]outside hours:[/] {example}")
    console.print("[green]clean[/]" if report.clean else "[bold red]NOT clean: see above[/]")
    if not report.clean:
        raise typer.Exit(code=1)
