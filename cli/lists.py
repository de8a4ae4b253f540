"""``dialer lists …``: load a call list, show and export it, and set the campaign's strategy, retry rules,
callback grace and disposition catalogue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import typer

from cli.store import console, fail, with_db

lists_app = typer.Typer(help="Call lists: load, show, export; the campaign's strategy.", no_args_is_help=True,
                           rich_markup_mode=None)
T = TypeVar("T")


async def _campaign_id(db: asyncpg.Pool, name: str) -> int:
    from lists import campaigns

    return (await campaigns.get(db, name)).id


def _lists_run(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """with_pool, with the call lists' typed errors turned into clear messages."""
    from lists import campaigns
    from lists.errors import ListError

    return with_db(work, expected=(ListError, campaigns.CampaignError))


@lists_app.command("load")
def lists_load(
    campaign: str,
    file: Path = typer.Argument(..., help="CSV (any of , ; tab |; UTF-8 or cp1251) or XLSX"),
    map_: str | None = typer.Option(None, "--map", help="target=Column,… e.g. phone=Телефон,name=ФИО,alt_phone=Моб"),
    region: str | None = typer.Option(None, "--region", help="Default country of national numbers (e.g. RU)"),
    encoding: str | None = typer.Option(None, "--encoding", help="Override the detected encoding"),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Load the good rows even if some are bad"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, load nothing"),
    errors: Path | None = typer.Option(None, "--errors", help="Row report file (default FILE.errors.csv)"),
) -> None:
    """Load a list into a campaign: all or nothing, every bad row named by row and column."""
    from datetime import UTC

    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
    from rich.table import Table

    from lists import importer
    from lists.errors import ImportRejected

    report_path = errors or file.with_name(file.name + ".errors.csv")
    outcome: dict[str, Any] = {}

    async def work(db: asyncpg.Pool) -> importer.ImportReport:
        campaign_id = await _campaign_id(db, campaign)
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(f"loading {file.name}", total=max(file.stat().st_size, 1) if file.exists() else 1)
            async with db.acquire() as conn:
                try:
                    return await importer.import_file(
                        conn, campaign_id=campaign_id, path=file, now=datetime.now(UTC), mapping=map_,
                        region=region, encoding=encoding, allow_partial=allow_partial, dry_run=dry_run,
                        progress=lambda done, total: bar.update(task, completed=done, total=total))
                except ImportRejected as exc:
                    outcome["rejected"] = exc
                    return exc.report  # type: ignore[return-value]

    report = _lists_run(work)
    problems = sorted(report.errors + report.skipped, key=lambda p: p.row)
    if problems:
        importer.write_problems(report_path, problems)
        table = Table("row", "column", "problem", "value", title=f"{len(report.errors)} error(s), "
                      f"{len(report.skipped)} skipped row(s) — all in {report_path}")
        for p in problems[:20]:
            table.add_row(str(p.row), p.field, p.reason, p.value[:40])
        console.print(table)
    text_format = f", encoding {report.encoding}, delimiter {report.delimiter!r}" if report.delimiter else ""
    console.print(f"{file.name}: {report.kind}{text_format}; {report.plan}", markup=False)
    console.print(f"rows read {report.rows_read:,}; duplicates in file {report.duplicates_in_file:,}, "
                  f"already in campaign {report.duplicates_in_campaign:,}; on DNC lists {report.dnc_screened:,}; "
                  f"errors {len(report.errors):,}")
    if "rejected" in outcome:
        raise fail(str(outcome["rejected"]))
    verb = "would load" if dry_run else "loaded"
    console.print(f"[bold green]{verb} {report.loaded:,} leads[/] into campaign {campaign}"
                  + (" (dry run: nothing was written)" if dry_run else ""))


@lists_app.command("show")
def lists_show(campaign: str) -> None:
    """Counts of the campaign's leads by category and state, and when the ready ones fall due."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from rich.table import Table

    from lists import campaigns, dispositions, strategy, summary

    async def work(db: asyncpg.Pool) -> tuple[Any, Any, Any, Any]:
        row = await campaigns.get(db, campaign)
        async with db.acquire() as conn:
            now = datetime.now(UTC)
            return row, await summary.summarize(conn, campaign_id=row.id, now=now), \
                (await strategy.load(conn, row.id)).order_at(now, row.timezone), \
                await dispositions.to_set(conn, campaign_id=row.id, limit=10)

    row, result, order, (unknown_total, unknown_rows) = _lists_run(work)
    table = Table("category", "ready", "claimed", "done", title=f"campaign {campaign}: {result.total:,} leads")
    for category in strategy.CATEGORIES:
        table.add_row(category, *(f"{result.by_category_state.get((category, s), 0):,}"
                                  for s in ("ready", "claimed", "done")))
    console.print(table)
    console.print(f"due now: {result.due_now:,}; open callbacks: {result.open_callbacks:,}; "
                  f"order now: {' > '.join(order)}")
    if unknown_total:
        console.print(f"[yellow]{unknown_total:,} connected call(s) without a real code[/yellow] (unknown: ended "
                      "while no engine ran; no_code: the wrap-up ended, by its time limit or Ready, before a "
                      "code; their leads are not dialed again until a code says so): set the code with "
                      "`dialer lists dispose ATTEMPT CODE`")
        for r in unknown_rows:
            at = r["connected_at"].astimezone(ZoneInfo(row.timezone)).strftime("%a %d %b %H:%M") \
                if r["connected_at"] else "?"
            console.print(f"  attempt {r['id']}: {r['phone']}, {r['operator'] or 'no operator'}, connected {at}, "
                          f"{r['disposition']}")
    if result.due_by_hour:
        hours = Table("hour (" + row.timezone + ")", "falling due", title="ready leads due in the next 48 h")
        for hour, n in result.due_by_hour:
            hours.add_row(hour.strftime("%a %d %b %H:00"), f"{n:,}")
        console.print(hours)


@lists_app.command("dispose")
def lists_dispose(
    attempt: int = typer.Argument(..., help="The attempt id (`dialer lists show` lists those without a real code)"),
    code: str = typer.Argument(..., help="A code of the campaign's catalogue (`dialer lists strategy CAMPAIGN`)"),
    callback_at: str | None = typer.Option(None, "--callback-at", help="For a callback code: ISO date and time "
                                           "with its zone, e.g. 2026-12-08T15:00+03:00"),
    notes: str | None = typer.Option(None, "--notes", help="What was agreed, as far as anyone knows"),
) -> None:
    """Set the code of an ended call afterwards — one a restart marked `unknown`, or whose wrap-up ran out
    (`no_code`) — with its effect on the lead, as if set in wrap-up; recorded in the audit trail."""
    import getpass
    from datetime import UTC

    from compliance import store as compliance_store
    from dialer.commands import OPT_OUT_CODE
    from lists import attempts, dispositions

    when = None
    if callback_at is not None:
        try:
            when = datetime.fromisoformat(callback_at)
        except ValueError:
            raise fail(f"--callback-at {callback_at!r} is not an ISO date and time") from None

    async def work(db: asyncpg.Pool) -> str | None:
        actor, now = getpass.getuser(), datetime.now(UTC)
        async with db.acquire() as conn, conn.transaction():
            replaced = await dispositions.set_later(conn, attempt_id=attempt, code=code, actor=actor, now=now,
                                                    callback_at=when, notes=notes)
            if code == OPT_OUT_CODE:      # as from the console: the number goes on the company's DNC list
                phone = await attempts.phone_of(conn, attempt)
                await compliance_store.add_dnc(conn, phones=[phone], scope="company", source=f"opt-out:{actor}",
                                               now=now)
            return replaced

    replaced = _lists_run(work)
    console.print(f"attempt {attempt}: disposition {code} (was {replaced or 'none'})")


@lists_app.command("export")
def lists_export(campaign: str, file: Path) -> None:
    """Write the campaign's leads with their results to a CSV file (UTF-8, opens in Excel)."""
    from lists import export

    if not file.parent.is_dir():
        raise fail(f"cannot write {file}: there is no folder {file.parent}")
    if file.is_dir():
        raise fail(f"cannot write {file}: it is a folder; give a file name, e.g. {file / (campaign + '.csv')}")

    async def work(db: asyncpg.Pool) -> int:
        campaign_id = await _campaign_id(db, campaign)
        async with db.acquire() as conn:
            return await export.export_leads(conn, campaign_id=campaign_id, path=file)

    count = _lists_run(work)
    console.print(f"exported {count:,} leads to {file}")


@lists_app.command("strategy")
def lists_strategy(
    campaign: str,
    window: list[str] = typer.Option(
        None, "--window", help="HH:MM-HH:MM=category,… (repeat); e.g. 09:00-13:00=cold,callback"),
    reset: bool = typer.Option(False, "--reset", help="Back to the default strategy; the default dispositions "
                               "that are missing or retired come back (the campaign's own codes stay)"),
    file: Path | None = typer.Option(
        None, "--file", help="Campaign TOML: its [strategy], [retries], [callbacks] and [dispositions] tables "
        "(dispositions are added or changed; codes the file does not name stay)"),
    callback_grace: float | None = typer.Option(
        None, "--callback-grace", min=0, help="Minutes a due personal callback waits for its operator"),
) -> None:
    """Show or set which lead category is dialed first at which time of day (campaign's time zone), and
    the campaign's callback grace and disposition catalogue."""
    import getpass
    import tomllib
    from datetime import UTC

    from lists import callbacks, disposition_catalogue, retries, strategy
    from lists.errors import ListError, StrategyError

    document: dict[str, Any] = {}
    if file is not None:
        try:
            document = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise fail(f"{file}: {exc}") from None

    async def work(db: asyncpg.Pool) -> Any:
        campaign_id = await _campaign_id(db, campaign)
        async with db.acquire() as conn:
            actor, now = getpass.getuser(), datetime.now(UTC)
            if reset or window or "strategy" in document:
                if reset:
                    chosen = strategy.DEFAULT
                elif window:
                    chosen = strategy.build([strategy.parse_window(w) for w in window])
                else:
                    try:
                        chosen = strategy.from_json(document["strategy"])
                    except StrategyError as exc:
                        raise StrategyError(f"{file} [strategy]: {exc}") from None
                await strategy.save(conn, campaign_id, chosen, actor=actor, now=now)
            if "retries" in document:
                await retries.save(conn, campaign_id, retries.from_json(document["retries"]), actor=actor, now=now)
            grace = callback_grace
            if grace is None and "callbacks" in document:
                grace = document["callbacks"].get("personal_grace_minutes")
                if not isinstance(grace, int | float) or isinstance(grace, bool):
                    raise ListError(f"{file} [callbacks]: personal_grace_minutes must be minutes, not {grace!r}")
            if grace is not None:
                await callbacks.set_personal_grace(conn, campaign_id, grace, actor=actor, now=now)
            catalogue_said: list[str] = []
            if reset:
                if back := await disposition_catalogue.restore_defaults(conn, campaign_id, actor=actor, now=now):
                    catalogue_said.append(f"default dispositions back: {', '.join(back)}")
            if "dispositions" in document:
                try:
                    items = disposition_catalogue.from_toml(document["dispositions"])
                    merged = await disposition_catalogue.merge(conn, campaign_id, items, actor=actor, now=now)
                except ListError as exc:
                    raise ListError(f"{file}: {exc}") from None
                catalogue_said += [f"dispositions {what}: {', '.join(codes)}" for what, codes in (
                    ("added", merged.added), ("changed", merged.changed),
                    ("brought back from retirement", merged.restored)) if codes]
                if merged.kept:
                    catalogue_said.append(f"kept (not in {file.name}): {', '.join(merged.kept)} — remove a code "
                                          f"with `dialer lists dispositions {campaign} --remove CODE`")
            return (await strategy.load(conn, campaign_id), await disposition_catalogue.listing(conn, campaign_id),
                    await callbacks.personal_grace_s(conn, campaign_id),
                    catalogue_said)

    current, entries, grace_s, catalogue_said = _lists_run(work)
    for w in current.windows:
        console.print(f"{w.start:%H:%M}-{w.end:%H:%M}: {' > '.join(w.order)}")
    console.print(f"otherwise: {' > '.join(current.otherwise)}")
    console.print(f"personal callbacks wait {grace_s / 60:g} min for their operator, then anyone may take them")
    for line in catalogue_said:
        console.print(line, markup=False)
    for entry in entries:
        console.print(_disposition_line(entry), markup=False)


def _disposition_line(entry: Any) -> str:
    from lists.dispositions import describe

    d = entry.disposition
    mark = f" [{entry.kind}]" if entry.kind != "retired" else f" [retired {d.retired_at:%Y-%m-%d}]"
    return f"disposition {d.code} ({d.label}): {describe(d)}{mark if entry.kind else ''}"


@lists_app.command("dispositions")
def lists_dispositions(
    campaign: str,
    remove: list[str] = typer.Option(
        None, "--remove", help="Remove this code (repeat): deleted if no call was given it, else retired — kept "
        "for history and reports, no longer offered in wrap-up. System codes cannot be removed"),
) -> None:
    """Show every disposition code of the campaign, what it does to the lead, and which are system or
    retired codes; or remove codes. A campaign file (`lists strategy --file`) adds and changes codes; naming a
    retired code there brings it back."""
    import getpass
    from datetime import UTC

    from lists import disposition_catalogue

    async def work(db: asyncpg.Pool) -> tuple[Any, Any]:
        campaign_id = await _campaign_id(db, campaign)
        async with db.acquire() as conn:
            removed = None
            if remove:
                removed = await disposition_catalogue.remove(conn, campaign_id, remove, actor=getpass.getuser(),
                                                             now=datetime.now(UTC))
            return removed, await disposition_catalogue.listing(conn, campaign_id)

    from rich.table import Table
    from rich.text import Text

    from lists.dispositions import describe

    removed, entries = _lists_run(work)
    if removed is not None and removed.deleted:
        console.print(f"removed (no call was given them): {', '.join(removed.deleted)}", markup=False)
    if removed is not None and removed.retired:
        console.print(f"retired (calls were given them; kept for history, no longer offered in wrap-up): "
                      f"{', '.join(removed.retired)}", markup=False)
    table = Table("code", "label", "what it does", "kind", title=f"dispositions of {campaign}")
    for entry in entries:
        d = entry.disposition
        kind = f"retired {d.retired_at:%Y-%m-%d}" if entry.kind == "retired" else entry.kind
        table.add_row(*(Text(cell) for cell in (d.code, d.label, describe(d), kind)))   # labels as written
    console.print(table)


@lists_app.command("retries")
def lists_retries(
    campaign: str,
    delay: list[str] = typer.Option(None, "--delay", help="outcome=seconds (repeat), e.g. busy=600"),
    max_attempts: int | None = typer.Option(None, "--max-attempts", help="Attempts per lead in all"),
    max_per_day: int | None = typer.Option(None, "--max-per-day", help="Attempts per lead per campaign-local day"),
    preset: str | None = typer.Option(None, "--preset", help="default | uk (72 h after an abandoned call)"),
    alternate_delay: float | None = typer.Option(
        None, "--alternate-delay", min=0, help="Seconds before the next attempt when it dials another of the "
        "lead's numbers"),
) -> None:
    """Show or set what happens after an attempt that reached no operator (delay per outcome, caps)."""
    import getpass
    from dataclasses import replace
    from datetime import UTC

    from lists import retries
    from lists.errors import RetryRulesError

    presets = {"default": retries.DEFAULT, "uk": retries.UK}
    if preset is not None and preset not in presets:
        raise fail(f"--preset {preset!r} is not one of {', '.join(presets)}")

    async def work(db: asyncpg.Pool) -> Any:
        campaign_id = await _campaign_id(db, campaign)
        async with db.acquire() as conn:
            rules = presets[preset] if preset else await retries.load(conn, campaign_id)
            if delay or max_attempts is not None or max_per_day is not None or preset or alternate_delay is not None:
                delays = dict(rules.delays_s)
                for item in delay or []:
                    outcome, sep, seconds = item.partition("=")
                    if not sep or not seconds.strip().replace(".", "", 1).isdigit():
                        raise RetryRulesError(f"--delay {item!r} must look like busy=600")
                    delays[outcome.strip()] = float(seconds)
                rules = retries.from_json(replace(
                    rules, delays_s=delays, max_attempts=max_attempts or rules.max_attempts,
                    max_per_day=max_per_day or rules.max_per_day,
                    alternate_delay_s=rules.alternate_delay_s if alternate_delay is None else alternate_delay,
                ).to_json())
                await retries.save(conn, campaign_id, rules, actor=getpass.getuser(), now=datetime.now(UTC))
            return rules

    rules = _lists_run(work)
    for outcome, seconds in rules.delays_s.items():
        console.print(f"{outcome}: retry after {seconds / 60:g} min")
    console.print(f"at most {rules.max_attempts} attempts per lead, {rules.max_per_day} per day")
    console.print(f"another of the lead's numbers: after {rules.alternate_delay_s / 60:g} min")
