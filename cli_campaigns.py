"""``dialer campaign …`` and ``dialer operators …``: create, start, pause and tune campaigns, their caller
IDs and call script, and the operators who work them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import typer

from cli_store import console, fail, with_pool

campaign_app = typer.Typer(help="Create, start and pause campaigns.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators and the campaigns they work.", no_args_is_help=True)


@campaign_app.command("create")
def campaign_create(
    name: str,
    caller_id: str = typer.Option(..., "--caller-id", help="Number shown to the callee; required by law"),
    channel: str = typer.Option("PJSIP/{phone}@trunk", help="Dial string template; {phone} is E.164"),
    mode: str = typer.Option("progressive", help="preview | progressive | ratio | predictive"),
    timezone: str = typer.Option("UTC", help="The campaign's own time zone (its windows are in it)"),
    region: str = typer.Option("US", help="Default region for numbers without a country code"),
    ring_timeout: int = typer.Option(25, help="Seconds an unanswered call rings (at least 15)"),
) -> None:
    """Create a campaign (paused)."""
    from compliance.caller_id import CallerIdError, valid_caller_id
    from lists import campaigns

    try:
        caller_id = valid_caller_id(caller_id)
    except CallerIdError as exc:
        raise fail(str(exc)) from None

    async def work(pool: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.create(pool, name=name, channel_template=channel, caller_id=caller_id, mode=mode,
                                      timezone=timezone, default_region=region, ring_timeout_s=ring_timeout)

    campaign = with_pool(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{campaign.name}[/] created ({campaign.mode}, paused)")


def _set_campaign_state(name: str, state: str) -> None:
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(pool: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.set_state(pool, name, state, actor="cli", now=SystemClock().now())

    campaign = with_pool(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{campaign.name}[/] is {campaign.state}")


@campaign_app.command("start")
def campaign_start(name: str) -> None:
    """Start dialing (the engine that runs it picks it up within a second). Under a preset that wants the
    seller named (US, UK, RU), only once `dialer campaign prompts` has made its seller prompt."""
    from dialer import seller_prompt
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(pool: asyncpg.Pool) -> campaigns.Campaign:
        async with pool.acquire() as conn, conn.transaction():
            return await seller_prompt.start(conn, name, actor="cli", now=SystemClock().now())

    campaign = with_pool(work, expected=(campaigns.CampaignError,))
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

    from config.settings import load_settings
    from dialer import seller_prompt
    from dialer.clock import SystemClock
    from lists import campaigns

    settings = load_settings()
    language = language.strip().lower()    # Asterisk's language folders are lower case

    async def work(pool: asyncpg.Pool) -> seller_prompt.Made:
        chosen = language or (await campaigns.get(pool, name)).language or "en"
        return await seller_prompt.make(pool, name, seller=seller, language=chosen, wav=wav,
                                        sounds_dir=settings.prompts_dir(),
                                        actor=f"cli:{getpass.getuser()}", now=SystemClock().now())

    if language:   # judged before the store is opened: bad input fails at once
        try:
            seller_prompt.check_request(seller, language, wav)
        except seller_prompt.SellerPromptError as exc:
            raise fail(str(exc)) from None
    made = with_pool(work, expected=(campaigns.CampaignError,))
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
    from dialer.tuning import parse_assignments, validate_pacing
    from lists import campaigns

    try:
        changes = parse_assignments(assignments)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def work(pool: asyncpg.Pool) -> campaigns.Campaign:
        async with pool.acquire() as conn, conn.transaction():
            return await campaigns.set_pacing(conn, name, changes, actor=f"cli:{getpass.getuser()}",
                                              now=SystemClock().now(), validate=validate_pacing)

    campaign = with_pool(work, expected=(campaigns.CampaignError,))
    shown = ", ".join(f"{k}={v}" for k, v in {"mode": campaign.mode, **campaign.pacing}.items())
    console.print(f"campaign [bold]{campaign.name}[/]: {shown}")


@campaign_app.command("caller-ids")
def campaign_caller_ids(
    name: str,
    pool: list[str] = typer.Option([], "--pool", help="AREA=ID[,ID…]; AREA: E.164 prefix (+1305) or region (GB)"),
    clear: bool = typer.Option(False, help="Remove the pool: every callee sees the campaign's caller ID"),
) -> None:
    """Local presence: the caller IDs callees in an area see (the longest matching prefix wins)."""
    import getpass

    from compliance.caller_id import CallerIdError, valid_caller_id
    from dialer.clock import SystemClock
    from lists import campaigns

    entries: dict[str, list[str]] = {}
    try:
        for item in pool:
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

    campaign = with_pool(work, expected=(campaigns.CampaignError,))
    shown = ", ".join(f"{k}: {' '.join(v)}" for k, v in campaign.caller_id_pool.items()) or "none"
    console.print(f"campaign [bold]{campaign.name}[/]: caller ID {campaign.caller_id}; local presence: {shown}")


@campaign_app.command("list")
def campaign_list() -> None:
    """Every campaign with its mode and state."""
    from rich.table import Table

    from lists import campaigns

    rows = with_pool(campaigns.all_campaigns)
    table = Table("name", "state", "mode", "caller ID", "channel", "time zone", "seller prompt")
    for c in rows:
        prompt = f"{c.language}: {c.seller_prompt['seller']}" if c.seller_prompt else "none"
        table.add_row(c.name, c.state, c.mode, c.caller_id, c.channel_template, c.timezone, prompt)
    console.print(table)


@operator_app.command("add")
def operator_add(
    name: str,
    extension: str = typer.Option(..., help="Phone extension; its conference is op<extension>"),
    campaign: list[str] = typer.Option([], help="Campaign(s) this operator works (repeatable)"),
    simulated: bool = typer.Option(False, help="Driven by the engine's operator model (demo, tests)"),
) -> None:
    """Add an operator and assign them to campaigns."""
    from lists import campaigns, operators

    async def work(pool: asyncpg.Pool) -> None:
        found = [await campaigns.get(pool, c) for c in campaign]
        row = await operators.create(pool, name=name, extension=extension, simulated=simulated)
        for c in found:
            await operators.assign(pool, campaign_id=c.id, operator_ids=[row.id])

    with_pool(work, expected=(campaigns.CampaignError, operators.OperatorError))
    console.print(f"operator [bold]{name}[/] (ext {extension}) added")


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

    async def work(pool: asyncpg.Pool) -> int:
        return await scripts.store_script(pool, name, script.to_document())

    with_pool(work, expected=(campaigns.CampaignError,))
    console.print(f"campaign [bold]{name}[/]: script {script.title or file.name!r} with {len(script.steps)} steps")
    for step_id in script.unreachable():
        console.print(f"[yellow]warning:[/] step {step_id!r} is not reached by any answer from {script.start!r}")
