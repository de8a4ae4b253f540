"""``dialer campaign …``: create, start, pause, tune, edit and archive campaigns, their caller IDs and call
script."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import asyncpg
import typer
from rich.markup import escape

if TYPE_CHECKING:
    from compliance.limits import LegalLimits

from cli.store import console, fail, settings_or_fail, with_db
from pacing.modes import MODES

campaign_app = typer.Typer(help="Create, start and pause campaigns.", no_args_is_help=True,
                           rich_markup_mode=None)


@campaign_app.command("create")
def campaign_create(
    name: str,
    caller_id: str = typer.Option(..., "--caller-id", help="Number shown to the callee; required by law"),
    channel: str = typer.Option("PJSIP/{phone}@trunk", help="Dial string template; {phone} is E.164"),
    mode: Literal[MODES] = typer.Option("progressive", help="The dial mode"),
    timezone: str = typer.Option("UTC", help="The campaign's own time zone (its windows are in it)"),
    region: str = typer.Option("US", help="Default region for numbers without a country code"),
    ring_timeout: int = typer.Option(25, help="Seconds an unanswered call rings (at least 15)"),
) -> None:
    """Create a campaign (paused)."""
    from compliance.caller_id import CallerIdError, valid_caller_id
    from compliance.limits import LegalLimitError, check_ring, legal_limits
    from lists import campaigns

    try:
        caller_id = valid_caller_id(caller_id)
        check_ring(ring_timeout, legal_limits(None))
    except (CallerIdError, LegalLimitError) as exc:
        raise fail(str(exc)) from None

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.create(db, name=name, channel_template=channel, caller_id=caller_id, mode=mode,
                                      timezone=timezone, default_region=region, ring_timeout_s=ring_timeout)

    campaign = with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{campaign.name}[/] created ({campaign.mode}, paused)")


def _set_campaign_state(name: str, state: str) -> None:
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.set_state(db, name, state, actor="cli", now=SystemClock().now())

    campaign = with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{campaign.name}[/] is {campaign.state}")


@campaign_app.command("start")
def campaign_start(name: str) -> None:
    """Start dialing (the engine that runs it picks it up within a second). Under a preset that wants the
    seller named (US, UK, RU), only once `dialer campaign prompts` has made its seller prompt."""
    from dialer import seller_prompt
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        async with db.acquire() as conn, conn.transaction():
            return await seller_prompt.start(conn, name, actor="cli", now=SystemClock().now())

    campaign = with_db(work, expected=(campaigns.CampaignError,))
    if campaign.seller_prompt is None:
        console.print(f"[yellow]warning:[/] no seller prompt: an abandoned call's message reads out only the "
                      f"callback number (`dialer campaign prompts {name} --seller …`)")
    console.print(f"campaign [bold]{campaign.name}[/] is {campaign.state}")


@campaign_app.command("pause")
def campaign_pause(name: str) -> None:
    """Stop placing new calls; calls in progress finish normally."""
    _set_campaign_state(name, "paused")


@campaign_app.command("prompts")
def campaign_prompts(
    name: str,
    seller: str = typer.Option(..., "--seller", help="Who calls, as the message names them (the law wants it)"),
    language: str = typer.Option("", help="en or ru: the language of the campaign's prompts (default: the "
                                 "campaign's, else en)"),
    wav: Path = typer.Option(None, "--wav", help="A recorded prompt (WAV) instead of espeak-ng's voice; it "
                             "plays just before the callback number is read out"),
) -> None:
    """Make the seller prompt the safe-harbor message plays (who calls, then the number to call back), with
    espeak-ng or from a recording, into DIALER_SOUNDS_DIR/<language>/dialer/ where Asterisk reads it."""
    import getpass

    from dialer import seller_prompt
    from dialer.clock import SystemClock
    from lists import campaigns

    settings = settings_or_fail()
    language = language.strip().lower()    # Asterisk's language folders are lower case

    async def work(db: asyncpg.Pool) -> seller_prompt.Made:
        chosen = language or (await campaigns.get(db, name)).language or "en"
        return await seller_prompt.make(db, name, seller=seller, language=chosen, wav=wav,
                                        sounds_dir=settings.prompts_dir(),
                                        actor=f"cli:{getpass.getuser()}", now=SystemClock().now())

    if language:   # judged before the store is opened: bad input fails at once
        try:
            seller_prompt.check_request(seller, language, wav)
        except seller_prompt.SellerPromptError as exc:
            raise fail(str(exc)) from None
    made = with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{made.campaign.name}[/]: seller prompt ({made.campaign.language}, "
                  f"{made.sound.seconds:.1f} s) written to {made.sound.path}")
    if settings.sounds_dir is None:
        console.print("copy it to Asterisk's sounds directory (same subfolders), or set DIALER_SOUNDS_DIR")


@campaign_app.command("set")
def campaign_set(
    name: str,
    assignments: list[str] = typer.Argument(..., help="setting=value pairs, e.g. target_abandon=0.02 mode=predictive"),
) -> None:
    """Change mode or pacing settings live: the engine running the campaign applies it within a second,
    and the audit trail records who changed what and when."""
    import getpass

    from dialer.clock import SystemClock
    from dialer.tuning import parse_assignments, validator_for
    from lists import campaigns

    try:
        changes = parse_assignments(assignments)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        async with db.acquire() as conn, conn.transaction():
            limits = await _limits(conn, name)
            return await campaigns.set_pacing(conn, name, changes, actor=f"cli:{getpass.getuser()}",
                                              now=SystemClock().now(), validate=validator_for(limits))

    campaign = with_db(work, expected=(campaigns.CampaignError,))
    shown = ", ".join(f"{k}={v}" for k, v in {"mode": campaign.mode, **campaign.pacing}.items())
    console.print(f"campaign [bold]{campaign.name}[/]: {shown}")


@campaign_app.command("caller-ids")
def campaign_caller_ids(
    name: str,
    caller_ids: list[str] = typer.Option([], "--pool", help="AREA=ID[,ID…]; AREA: E.164 prefix (+1305) or region (GB)"),
    clear: bool = typer.Option(False, help="Remove the pool: every callee sees the campaign's caller ID"),
) -> None:
    """Local presence: the caller IDs callees in an area see (the longest matching prefix wins)."""
    import getpass

    from compliance.caller_id import CallerIdError, valid_caller_id
    from dialer.clock import SystemClock
    from lists import campaigns

    entries: dict[str, list[str]] = {}
    try:
        for item in caller_ids:
            area, sep, ids = item.partition("=")
            if not sep or not area.strip() or not ids.strip():
                raise ValueError(f"--pool {item!r} is not AREA=ID[,ID…]")
            entries[area.strip()] = [valid_caller_id(i, where=f"caller ID for {area.strip()}")
                                     for i in ids.split(",")]
    except (ValueError, CallerIdError) as exc:
        raise fail(str(exc)) from None
    if not entries and not clear:
        raise fail("give --pool AREA=ID[,ID…] (repeatable), or --clear")

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.set_caller_id_pool(db, name, entries, actor=f"cli:{getpass.getuser()}",
                                                  now=SystemClock().now())

    campaign = with_db(work, expected=(campaigns.CampaignError,))
    shown = ", ".join(f"{k}: {' '.join(v)}" for k, v in campaign.caller_id_pool.items()) or "none"
    console.print(f"campaign [bold]{campaign.name}[/]: caller ID {campaign.caller_id}; local presence: {shown}")


@campaign_app.command("list")
def campaign_list(
    all_: bool = typer.Option(False, "--all", help="Archived campaigns too"),
) -> None:
    """Every campaign with its mode and state (archived ones with --all)."""
    from rich import box
    from rich.table import Table

    from dialer.reports import natural_width
    from lists import campaigns

    rows = [c for c in with_db(campaigns.all_campaigns) if all_ or c.state != "archived"]
    if not rows:
        console.print("no campaigns yet: create one with `dialer campaign create NAME --caller-id …`")
        return
    cells = [{"name": c.name, "state": c.state, "mode": c.mode, "caller ID": c.caller_id,
              "channel": c.channel_template, "time zone": c.timezone,
              "seller prompt": f"{c.language}: {c.seller_prompt['seller']}" if c.seller_prompt else "none"}
             for c in rows]

    def table(headers: tuple[str, ...]) -> Table:
        out = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for header in headers:
            out.add_column(header, no_wrap=header != "seller prompt")
        for row in cells:
            out.add_row(*(row[h] for h in headers))
        return out

    # too wide for the terminal (80 columns, or a pipe) rich would cut the caller ID, channel and time zone
    # with '…': then the campaigns are listed twice, once with what they are, once with how they dial
    whole = table(tuple(cells[0]))
    halves = [whole] if natural_width(whole) <= console.width else [
        table(("name", "state", "mode", "caller ID")), table(("name", "channel", "time zone", "seller prompt"))]
    for half in halves:
        console.print(half)


@campaign_app.command("show")
def campaign_show(name: str) -> None:
    """One campaign: its settings, compliance preset, list, work done, operators and last changes."""
    from compliance import store as compliance_store
    from compliance.limits import legal_limits
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> tuple[campaigns.Campaign, campaigns.CampaignFigures, str | None]:
        campaign = await campaigns.get(db, name)
        async with db.acquire() as conn:
            rules = await compliance_store.campaign_rules(conn, campaign.id)
        return campaign, await campaigns.figures(db, campaign.id), rules.preset

    c, figures, preset = with_db(work, expected=(campaigns.CampaignError,))
    pacing = ", ".join(f"{k}={v}" for k, v in c.pacing.items()) or "defaults"
    leads = ", ".join(f"{n} {state}" for state, n in sorted(figures.leads.items())) or "no leads"
    show = console.print
    show(f"[bold]{c.name}[/] — {c.state}, {c.mode}")
    show(f"  caller ID {c.caller_id}; channel {escape(c.channel_template)}; ring {c.ring_timeout_s} s; "
         f"safe harbor {c.safe_harbor_s:g} s")
    show(f"  time zone {c.timezone}; default region {c.default_region}; compliance preset {preset or 'none'}")
    show(f"  legal limits: {legal_limits(preset).describe()}")
    show(f"  pacing: {escape(pacing)}")
    show(f"  leads: {leads}; attempts {figures.attempts}, connected {figures.connected}")
    show(f"  operators: {', '.join(figures.operators) or 'none (dialer operators assign NAME ' + c.name + ')'}")
    for at, actor, setting, old, new in figures.last_changes:
        show(f"  {at:%Y-%m-%d %H:%M} {actor}: {setting} {escape(str(old))} → {escape(str(new))}")


@campaign_app.command("edit")
def campaign_edit(
    name: str,
    rename: str | None = typer.Option(None, "--name", help="New name"),
    caller_id: str | None = typer.Option(None, "--caller-id", help="Number shown to the callee"),
    channel: str | None = typer.Option(None, help="Dial string template; {phone} is E.164, {digits} without +"),
    timezone: str | None = typer.Option(None, help="IANA time zone, e.g. Europe/Moscow"),
    region: str | None = typer.Option(None, help="Default region for numbers without a country code, e.g. RU"),
    ring_timeout: int | None = typer.Option(None, help="Seconds an unanswered call rings (at least 15)"),
) -> None:
    """Change a campaign's name, caller ID, channel, time zone, region or ring time; audited, and a running
    engine uses the new values from the next call."""
    from compliance.caller_id import CallerIdError, valid_caller_id
    from compliance.limits import LegalLimitError, check_ring
    from lists import campaigns

    if caller_id is not None:
        try:
            caller_id = valid_caller_id(caller_id)
        except CallerIdError as exc:
            raise fail(str(exc)) from None
    changes = {k: v for k, v in {"name": rename, "caller_id": caller_id, "channel_template": channel,
                                 "timezone": timezone, "default_region": region,
                                 "ring_timeout_s": ring_timeout}.items() if v is not None}
    if not changes:
        raise fail("nothing to change: give --name, --caller-id, --channel, --timezone, --region or --ring-timeout")

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        async with db.acquire() as conn, conn.transaction():
            if ring_timeout is not None:
                check_ring(ring_timeout, await _limits(conn, name))
            return await campaigns.edit(conn, name, changes, actor=_actor(), now=_now())

    c = with_db(work, expected=(campaigns.CampaignError, LegalLimitError))
    console.print(f"campaign [bold]{c.name}[/]: caller ID {c.caller_id}, channel {escape(c.channel_template)}, "
                  f"time zone {c.timezone}, region {c.default_region}, ring {c.ring_timeout_s} s")


@campaign_app.command("archive")
def campaign_archive(name: str) -> None:
    """Put a campaign away: it cannot run again, and its attempts and reports stay (refused while running)."""
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> campaigns.Campaign:
        async with db.acquire() as conn, conn.transaction():
            return await campaigns.archive(conn, name, actor=_actor(), now=_now())

    with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{name}[/] archived; its reports stay (`dialer report {name}`)")


@campaign_app.command("delete")
def campaign_delete(name: str) -> None:
    """Delete a campaign that never dialed (a mistake at creation); any other is archived instead."""
    from lists import campaigns

    async def work(db: asyncpg.Pool) -> None:
        async with db.acquire() as conn, conn.transaction():
            await campaigns.delete(conn, name)

    with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{name}[/] deleted")


async def _limits(conn: asyncpg.Connection, name: str) -> LegalLimits:
    """The legal limits of a campaign's compliance preset (``dialer compliance set``)."""
    from compliance import store as compliance_store
    from compliance.limits import legal_limits
    from lists import campaigns

    campaign = await campaigns.get(conn, name)
    return legal_limits((await compliance_store.campaign_rules(conn, campaign.id)).preset)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    from dialer.clock import SystemClock

    return SystemClock().now()


@campaign_app.command("script")
def campaign_script(
    name: str, file: Path = typer.Argument(..., help="Campaign TOML file with a [script] table")
) -> None:
    """Load the call script (steps, answers, fields) from a campaign file; the consoles show it from the
    next call on."""
    from dialer.script import ScriptError, load_file
    from lists import campaigns, scripts

    try:
        script = load_file(file)
    except ScriptError as exc:
        raise fail(f"{file}: {exc}") from None

    async def work(db: asyncpg.Pool) -> int:
        return await scripts.store_script(db, name, script.to_document())

    with_db(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{name}[/]: script {script.title or file.name!r} with {len(script.steps)} steps")
    for step_id in script.unreachable():
        console.print(f"[yellow]warning:[/] step {step_id!r} is not reached by any answer from {script.start!r}")
