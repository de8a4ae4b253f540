"""The ``dialer`` command: campaign managers, operators and supervisors start here.

Each command parses its arguments, opens what it needs and calls into ``dialer/``; no logic lives here.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from typer.core import TyperGroup

from cli_groups import group_app, report_group
from config.settings import Settings, load_settings
from lists import database

if TYPE_CHECKING:
    from dialer.whatif import GroupReport

app = typer.Typer(help="Predictive/progressive outbound dialer for Asterisk.", no_args_is_help=True)
db_app = typer.Typer(help="The store (PostgreSQL).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
T = TypeVar("T")
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # pgserver's platformdirs, harmless


def fail(message: str) -> typer.Exit:
    from rich.markup import escape  # a message may quote "[dispositions.sale]": text, not markup

    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code=2)


def store_url(settings: Settings | None = None) -> str:
    """The store's URL: DIALER_DATABASE_URL, or the embedded server (started on first use)."""
    settings = settings or load_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        return database.locate(url, settings.data_dir).url
    except database.StoreError as exc:
        raise fail(str(exc)) from None


def with_pool(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run one command's work on a pool of the migrated store; store errors become clear messages."""

    async def main() -> T:
        pool = await database.open_pool(store_url(), max_size=2)
        try:
            return await work(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except database.StoreError as exc:
        raise fail(str(exc)) from None


@db_app.command("status")
def db_status() -> None:
    """Print where the data lives and the schema version (migrating first)."""
    settings = load_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None

    async def main() -> None:
        location = database.locate(url, settings.data_dir)
        pool = await database.open_pool(location.url, max_size=1)
        async with pool.acquire() as conn:
            version = await database.schema_version(conn)
        await pool.close()
        console.print(f"store: {location.describe()}")
        console.print(f"schema version: {version}")

    try:
        asyncio.run(main())
    except database.StoreError as exc:
        raise fail(str(exc)) from None

# ---- campaigns and operators -------------------------------------------------------------------

campaign_app = typer.Typer(help="Create, start and pause campaigns.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
operator_app = typer.Typer(help="Operators and the campaigns they work.", no_args_is_help=True)
app.add_typer(operator_app, name="operators")
app.add_typer(group_app, name="group")   # cli_groups.py


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

    try:
        campaign = with_pool(work)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
    console.print(f"campaign [bold]{campaign.name}[/] created ({campaign.mode}, paused)")


def _set_campaign_state(name: str, state: str) -> None:
    from dialer.clock import SystemClock
    from lists import campaigns

    async def work(pool: asyncpg.Pool) -> campaigns.Campaign:
        return await campaigns.set_state(pool, name, state, actor="cli", now=SystemClock().now())

    try:
        campaign = with_pool(work)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
    console.print(f"campaign [bold]{campaign.name}[/] is {campaign.state}")


@campaign_app.command("start")
def campaign_start(name: str) -> None:
    """Start dialing (the engine that runs it picks it up within a second)."""
    _set_campaign_state(name, "running")


@campaign_app.command("pause")
def campaign_pause(name: str) -> None:
    """Stop placing new calls; calls in progress finish normally."""
    _set_campaign_state(name, "paused")


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

    try:
        campaign = with_pool(work)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
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

    try:
        campaign = with_pool(work)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
    shown = ", ".join(f"{k}: {' '.join(v)}" for k, v in campaign.caller_id_pool.items()) or "none"
    console.print(f"campaign [bold]{campaign.name}[/]: caller ID {campaign.caller_id}; local presence: {shown}")


@campaign_app.command("list")
def campaign_list() -> None:
    """Every campaign with its mode and state."""
    from rich.table import Table

    from lists import campaigns

    rows = with_pool(campaigns.all_campaigns)
    table = Table("name", "state", "mode", "caller ID", "channel", "time zone")
    for c in rows:
        table.add_row(c.name, c.state, c.mode, c.caller_id, c.channel_template, c.timezone)
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

    try:
        with_pool(work)
    except (campaigns.CampaignError, operators.OperatorError) as exc:
        raise fail(str(exc)) from None
    console.print(f"operator [bold]{name}[/] (ext {extension}) added")


# ---- people's views: call script, operator console, watch, campaign report ---------------------


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

    try:
        with_pool(work)
    except campaigns.CampaignError as exc:
        raise fail(str(exc)) from None
    console.print(f"campaign [bold]{name}[/]: script {script.title or file.name!r} with {len(script.steps)} steps")
    for step_id in script.unreachable():
        console.print(f"[yellow]warning:[/] step {step_id!r} is not reached by any answer from {script.start!r}")


@app.command("operator")
def operator_console(
    name: str = typer.Option(..., "--name", help="The operator's name (see `dialer operators`)"),
) -> None:
    """The operator's console: state and timer, customer card, call script, dispositions, callbacks."""
    from dialer.clock import SystemClock
    from dialer.views.operator_console import ConsoleError, OperatorConsole, find_operator

    async def work(pool: asyncpg.Pool) -> None:
        await OperatorConsole(pool, await find_operator(pool, name), SystemClock()).run_async()

    try:
        with_pool(work)
    except ConsoleError as exc:
        raise fail(str(exc)) from None


@app.command("watch")
def watch(
    campaign: str | None = typer.Argument(None, help="Campaign to show (default: the first running one)"),
    extension: str | None = typer.Option(None, "--extension", help="Your phone, for listen / whisper / barge"),
) -> None:
    """The supervisor's live view: operators, calls in flight, pacing, abandonment; tune and spy from it."""
    import getpass

    from dialer.clock import SystemClock
    from dialer.views.watch import WatchApp

    if extension is not None and not extension.isdigit():
        raise fail(f"--extension {extension!r} must be digits (your phone's extension)")

    async def work(pool: asyncpg.Pool) -> None:
        await WatchApp(pool, SystemClock(), campaign=campaign, supervisor_extension=extension,
                       actor=f"supervisor:{getpass.getuser()}").run_async()

    with_pool(work)


def report_campaign(
    campaign: str,
    by: str = typer.Option("operator", "--by", help="operator | hour | disposition | list"),
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write the raw figures to this CSV file"),
    since: datetime | None = typer.Option(None, help="Start of the period (campaign time unless a zone is given)"),
    until: datetime | None = typer.Option(None, help="End of the period (default: now)"),
    conversion: list[str] = typer.Option(["sale"], help="Codes counted as conversions when the catalogue marks "
                                                          "none as success (repeatable)"),
) -> None:
    """Attempts, answers, connects, abandons, talk / wrap-up / idle time, occupancy, conversions and ratings."""
    from dialer.clock import SystemClock
    from dialer.reports import ReportError, as_table, make_report, write_csv
    from lists import campaigns

    async def work(pool: asyncpg.Pool) -> Any:
        return await make_report(pool, campaign, by=by, since=since, until=until or SystemClock().now(),
                                 conversions=tuple(conversion))

    try:
        report = with_pool(work)
    except (ReportError, campaigns.CampaignError) as exc:
        raise fail(str(exc)) from None
    console.print(as_table(report))
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


# ---- running -----------------------------------------------------------------------------------


@app.command("run")
def run(
    operator_channel: str = typer.Option("PJSIP/{ext}", help="How operators' phones are called"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=0, max=65535,
                                            help="Serve Prometheus metrics at http://HOST:PORT/metrics"),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host",
                                     help="Address the metrics endpoint binds to (0.0.0.0: every interface)"),
) -> None:
    """Run the engine: the running campaigns it owns, against the Asterisk server(s) given by DIALER_AMI_*."""
    from dialer.service import serve

    settings = load_settings()
    try:
        asyncio.run(serve(settings, store_url(settings), operator_channel=operator_channel, console=console,
                          metrics=(metrics_host, metrics_port) if metrics_port is not None else None))
    except KeyboardInterrupt:
        console.print("stopped")
    except Exception as exc:  # the message is ours (typed errors); the secret is never in it
        raise fail(str(exc)) from None


@app.command("demo")
def demo(
    leads: int = typer.Option(3000, min=1, help="Leads in the generated list"),
    operators: int = typer.Option(6, min=1, help="Simulated operators"),
    hours: float = typer.Option(8.0, min=0.1, help="Length of the working day (virtual time)"),
    mode: str = typer.Option("predictive", help="Dial mode"),
    seed: int = typer.Option(1, help="Random seed: the same seed gives the same day"),
    live: bool = typer.Option(False, "--live", help="Show the floor while the day runs"),
    servers: int = typer.Option(1, min=1, max=16, help="Simulated Asterisk servers (operators dealt among them)"),
    max_channels: int = typer.Option(100, min=1, help="Channel limit per server (with --servers 2 or more)"),
    cps: int = typer.Option(10, min=1, help="Originates per second per server (with --servers 2 or more)"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=0, max=65535,
                                            help="Serve Prometheus metrics on 127.0.0.1:PORT while the day runs"),
) -> None:
    """A full simulated campaign on the embedded store: a working day in virtual time."""
    from dialer.demo import DemoSettings, run_demo
    from dialer.demo_view import DemoView, print_result

    settings = DemoSettings(leads=leads, operators=operators, hours=hours, mode=mode, seed=seed, servers=servers,
                            max_channels=max_channels, cps=cps, metrics_port=metrics_port)
    url = store_url()
    console.print(f"store: {database.redact(url)} (schema dialer_demo)")
    if live:
        with DemoView(console) as view:
            result = run_demo(url, settings, progress=view.update)
    else:
        result = run_demo(url, settings)
    print_result(console, settings, result)


@app.command("sim-pbx")
def sim_pbx(
    port: int = typer.Option(5038, help="TCP port for AMI (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    answer: float = typer.Option(0.3, help="Share of calls answered."),
    busy: float = typer.Option(0.1, help="Share of calls busy."),
    congestion: float = typer.Option(0.02, help="Share of calls failing with congestion (the rest: no answer)."),
    ring: str = typer.Option("3-15", help="Ring time before answer, seconds LOW-HIGH."),
    talk: float = typer.Option(120.0, help="Mean talk time after answer, seconds (lognormal)."),
    patience: float = typer.Option(0.0, help="Mean patience of an answered callee left unconnected, seconds "
                                             "(0: waits forever)."),
    machine: float = typer.Option(0.0, help="Share of answers that are answering machines."),
    seed: int | None = typer.Option(None, help="Seed for a reproducible world."),
    scripted: bool = typer.Option(False, help="First digit decides instead (1 answer, 2 busy, 3 no answer, "
                                              "4 congestion, 5 long talk), as the reference dialplan."),
    manager_conf: str | None = typer.Option(None, help="Take the AMI users from this manager.conf "
                                                        "(e.g. config/asterisk/manager.conf)."),
) -> None:
    """A PBX simulator speaking AMI as Asterisk 22 does (the dialplan of config/asterisk), in real time."""
    from pathlib import Path

    from ami.simulator import ParametricCallees, ScriptedCallees, SimulatorHandle
    from ami.simulator.permissions import PermissionSpecError, users_from_manager_conf
    from ami.simulator.standalone import parse_range, serve

    try:
        callees = ScriptedCallees() if scripted else ParametricCallees(
            answer=answer, busy=busy, congestion=congestion, ring_s=parse_range(ring, option="--ring"),
            talk_mean_s=talk, patience_mean_s=patience or float("inf"), machine=machine, seed=seed)
        users = users_from_manager_conf(Path(manager_conf).read_text(), source=manager_conf) if manager_conf else None
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None

    def ready(handle: SimulatorHandle) -> None:
        console.print(f"AMI simulator (Asterisk 22 dialect) listening on {handle.host}:{handle.port}; Ctrl-C stops")
        for user in handle.users.values():
            secret = "(secret from the file)" if manager_conf else f"secret {user.secret!r}"
            console.print(f"  user {user.name!r}, {secret}: read {user.describe_read()}; write {user.describe_write()}",
                          soft_wrap=True)

    try:
        asyncio.run(serve(host, port, callees, users, ready))
    except KeyboardInterrupt:
        console.print("simulator stopped")
    except (OSError, PermissionSpecError) as exc:
        raise fail(str(exc)) from None


# ---- compliance: rules, do-not-call lists, report ----------------------------------------------------

compliance_app = typer.Typer(help="Calling hours, caps and registries of a campaign.", no_args_is_help=True)
app.add_typer(compliance_app, name="compliance")
dnc_app = typer.Typer(help="Do-not-call lists: company, campaign, registry copies.", no_args_is_help=True)
app.add_typer(dnc_app, name="dnc")
report_app = typer.Typer(help="Reports.", no_args_is_help=True, cls=ReportGroup)
app.add_typer(report_app, name="report")
report_app.command("campaign")(report_campaign)
report_app.command("group")(report_group)   # cli_groups.py


def _compliance_run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    from compliance.verdict import ComplianceError
    from lists import campaigns

    async def on_pool(pool: asyncpg.Pool) -> T:
        async with pool.acquire() as conn:
            return await work(conn)

    try:
        return with_pool(on_pool)
    except (ComplianceError, campaigns.CampaignError) as exc:
        raise fail(str(exc)) from None


@compliance_app.command("set")
def compliance_set(
    campaign: str,
    preset: str = typer.Option("", help="US, UK, RU, or 'none'; empty keeps the current one"),
    window: list[str] = typer.Option(None, help="campaign window in the callee's local time, e.g. 09:00-20:00 "
                                     "or mon-fri=09:00-18:00 (repeatable; replaces the current windows)"),
    holiday: list[str] = typer.Option(None, help="a holiday date YYYY-MM-DD (repeatable; replaces the list)"),
    registry: list[str] = typer.Option(None, help="a DNC registry the campaign requires (repeatable)"),
    registry_max_age: int = typer.Option(0, help="days a registry copy stays usable (default 31)"),
    amd_false_positive_rate: float = typer.Option(-1.0, help="UK: estimated share of AMD 'machine' verdicts "
                                                  "that were people"),
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
        if registry_max_age:
            changes["registry_max_age_days"] = registry_max_age
        if amd_false_positive_rate >= 0:
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


@report_app.command("compliance")
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


# ---- call lists: load, show, export, strategy ---------------------------------------------------

lists_app = typer.Typer(help="Call lists: load, show, export; the campaign's strategy.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")


async def _campaign_id(pool: asyncpg.Pool, name: str) -> int:
    from lists import campaigns

    return (await campaigns.get(pool, name)).id


def _lists_run(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """with_pool, with the call lists' typed errors turned into clear messages."""
    from lists import campaigns
    from lists.errors import ListError

    try:
        return with_pool(work)
    except (ListError, campaigns.CampaignError) as exc:
        raise fail(str(exc)) from None


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

    async def work(pool: asyncpg.Pool) -> importer.ImportReport:
        campaign_id = await _campaign_id(pool, campaign)
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(f"loading {file.name}", total=max(file.stat().st_size, 1) if file.exists() else 1)
            async with pool.acquire() as conn:
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
    console.print(f"{file.name}: {report.kind}, encoding {report.encoding or '-'}, "
                  f"delimiter {report.delimiter!r}; {report.plan}")
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

    from rich.table import Table

    from lists import campaigns, strategy, summary

    async def work(pool: asyncpg.Pool) -> tuple[Any, Any, Any]:
        row = await campaigns.get(pool, campaign)
        async with pool.acquire() as conn:
            now = datetime.now(UTC)
            return row, await summary.summarize(conn, campaign_id=row.id, now=now), \
                (await strategy.load(conn, row.id)).order_at(now, row.timezone)

    row, result, order = _lists_run(work)
    table = Table("category", "ready", "claimed", "done", title=f"campaign {campaign}: {result.total:,} leads")
    for category in strategy.CATEGORIES:
        table.add_row(category, *(f"{result.by_category_state.get((category, s), 0):,}"
                                  for s in ("ready", "claimed", "done")))
    console.print(table)
    console.print(f"due now: {result.due_now:,}; open callbacks: {result.open_callbacks:,}; "
                  f"order now: {' > '.join(order)}")
    if result.due_by_hour:
        hours = Table("hour (" + row.timezone + ")", "falling due", title="ready leads due in the next 48 h")
        for hour, n in result.due_by_hour:
            hours.add_row(hour.strftime("%a %d %b %H:00"), f"{n:,}")
        console.print(hours)


@lists_app.command("export")
def lists_export(campaign: str, file: Path) -> None:
    """Write the campaign's leads with their results to a CSV file (UTF-8, opens in Excel)."""
    from lists import export

    async def work(pool: asyncpg.Pool) -> int:
        campaign_id = await _campaign_id(pool, campaign)
        async with pool.acquire() as conn:
            return await export.export_leads(conn, campaign_id=campaign_id, path=file)

    count = _lists_run(work)
    console.print(f"exported {count:,} leads to {file}")


@lists_app.command("strategy")
def lists_strategy(
    campaign: str,
    window: list[str] = typer.Option(
        None, "--window", help="HH:MM-HH:MM=category,… (repeat); e.g. 09:00-13:00=cold,callback"),
    reset: bool = typer.Option(False, "--reset", help="Back to the default strategy"),
    file: Path | None = typer.Option(
        None, "--file", help="Campaign TOML: its [strategy], [retries], [callbacks] and [dispositions] tables"),
    callback_grace: float | None = typer.Option(
        None, "--callback-grace", min=0, help="Minutes a due personal callback waits for its operator"),
) -> None:
    """Show or set which lead category is dialed first at which time of day (campaign's time zone), and
    the campaign's callback grace and disposition catalogue."""
    import getpass
    import tomllib
    from datetime import UTC

    from lists import callbacks, dispositions, retries, strategy
    from lists.errors import ListError, StrategyError

    document: dict[str, Any] = {}
    if file is not None:
        try:
            document = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise fail(f"{file}: {exc}") from None

    async def work(pool: asyncpg.Pool) -> Any:
        campaign_id = await _campaign_id(pool, campaign)
        async with pool.acquire() as conn:
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
            if "dispositions" in document:
                try:
                    items = dispositions.catalogue_from_toml(document["dispositions"])
                except ListError as exc:
                    raise ListError(f"{file}: {exc}") from None
                await dispositions.replace_catalogue(conn, campaign_id, items, actor=actor, now=now)
            return (await strategy.load(conn, campaign_id), await dispositions.catalogue(conn, campaign_id),
                    await conn.fetchval("SELECT personal_callback_grace_s FROM campaign WHERE id = $1", campaign_id))

    current, catalogue, grace_s = _lists_run(work)
    for w in current.windows:
        console.print(f"{w.start:%H:%M}-{w.end:%H:%M}: {' > '.join(w.order)}")
    console.print(f"otherwise: {' > '.join(current.otherwise)}")
    console.print(f"personal callbacks wait {grace_s / 60:g} min for their operator, then anyone may take them")
    for d in catalogue.values():
        console.print(f"disposition {d.code} ({d.label}): {dispositions.describe(d)}")


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

    async def work(pool: asyncpg.Pool) -> Any:
        campaign_id = await _campaign_id(pool, campaign)
        async with pool.acquire() as conn:
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



@app.command("simulate")
def simulate_cmd(
    agents: int = typer.Option(..., "--agents", min=1, help="Operators logged in (with --group: the pool)"),
    answer_rate: float = typer.Option(0.3, "--answer-rate", help="Share of dials a person answers (0-1)"),
    talk: float = typer.Option(..., "--talk", help="Mean talk time, seconds (lognormal)"),
    wrap: float = typer.Option(10.0, "--wrap", help="Wrap-up after each call, seconds"),
    hours: float = typer.Option(8.0, "--hours", help="Length of the day (virtual time)"),
    mode: str = typer.Option("predictive", "--mode", help="preview | progressive | ratio | predictive"),
    target_abandon: float = typer.Option(0.025, "--target-abandon", help="Abandonment setpoint (cap 3 %)"),
    optimize: str = typer.Option("abandon", "--optimize", help="abandon | wait | busy: what predictive aims at"),
    target: float | None = typer.Option(None, "--target", help="Its value: abandonment rate, mean operator wait "
                                                               "between calls (s), or busy factor (0-1)"),
    group: str | None = typer.Option(None, "--group", help='A campaign group on one pool, e.g. '
                                     '"A:share=70,answer=0.2;B:share=30,answer=0.35" (keys: share, answer, talk, '
                                     'wrap, priority, work=FROM-TO hours)'),
    reserved: int = typer.Option(0, "--reserved", min=0, help="With --group: operators kept free (not dialed for)"),
    group_ledger: bool = typer.Option(False, "--group-ledger", help="With --group: one abandonment ledger for "
                                                                   "the pool (regimes counting per call centre)"),
    seed: int = typer.Option(1, "--seed", help="Same seed, same day"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
) -> None:
    """What would these settings do? A day of the campaign (or of a campaign group) against a simulated world,
    in seconds."""
    import json
    from dataclasses import asdict

    from dialer.whatif import WhatIf, simulate_campaign, simulate_group_campaigns

    question = WhatIf(agents, answer_rate, talk, wrap, hours, mode, target_abandon, seed, optimize, target)
    try:
        if group is not None:
            pool_report = simulate_group_campaigns(question, group, reserved, group_ledger)
        else:
            report = simulate_campaign(question)
    except ValueError as exc:
        raise fail(str(exc)) from None
    aim = "" if optimize == "abandon" and target is None else f", optimizing {optimize} = {target:g}"
    if group is not None:
        if as_json:
            console.print_json(json.dumps(asdict(pool_report)))
            return
        _print_group(pool_report, f"{mode}{aim}, pool of {agents} operators ({reserved} reserved), {hours:g} h, "
                                  f"seed {seed}")
        return
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    console.print(f"{mode}{aim}, {agents} operators, {hours:g} h, answer rate {answer_rate:g}, talk {talk:g} s, "
                  f"wrap {wrap:g} s (seed {seed})")
    console.print(f"  occupancy                      {100 * report.occupancy:6.1f} %")
    console.print(f"  talk minutes per operator-hour {report.talk_minutes_per_operator_hour:6.1f}")
    console.print(f"  abandonment (day / worst hour) {100 * report.abandon_rate:6.2f} % / "
                  f"{100 * report.worst_hour_abandon_rate:.2f} %")
    console.print(f"  operator wait between calls    {report.mean_wait_s:6.1f} s mean, {report.p95_wait_s:.1f} s p95")
    console.print(f"  calls placed per answer        {report.dials_per_answer:6.2f}  "
                  f"({report.dials} dials, {report.answers} answers, {report.abandons} abandoned)")


def _print_group(report: GroupReport, title: str) -> None:
    console.print(title)
    console.print(f"  pool: occupancy {100 * report.occupancy:.1f} %, operator wait {report.mean_wait_s:.1f} s mean "
                  f"({report.p95_wait_s:.1f} s p95), abandonment {100 * report.abandon_rate:.2f} %")
    console.print(f"  {'campaign':<12} {'share':>7} {'target':>7} {'dials':>7} {'answers':>8} {'abandoned':>10}")
    for c in report.campaigns:
        console.print(f"  {c.name:<12} {100 * c.share:6.1f}% {100 * c.target_share:6.1f}% {c.dials:>7} "
                      f"{c.answers:>8} {100 * c.abandon_rate:9.2f}%")


@app.command("staffing")
def staffing_cmd(
    handle: float = typer.Option(..., "--handle", help="Mean handle time (talk + wrap-up), seconds"),
    calls_per_hour: float | None = typer.Option(None, "--calls-per-hour", help="Answered calls to serve per hour"),
    service_level: float = typer.Option(0.8, "--service-level", help="Share answered within --threshold"),
    threshold: float = typer.Option(20.0, "--threshold", help="Service-level threshold, seconds"),
    leads: int | None = typer.Option(None, "--leads", help="Leads to finish (instead of --calls-per-hour)"),
    hours: float = typer.Option(8.0, "--hours", help="Hours until the deadline (with --leads)"),
    answer_rate: float = typer.Option(0.3, "--answer-rate", help="Share of dials answered (with --leads)"),
    attempts: float = typer.Option(1.0, "--attempts", help="Dials per lead on average (with --leads)"),
    occupancy: float = typer.Option(0.85, "--occupancy", help="Occupancy the dial mode sustains (with --leads)"),
) -> None:
    """Operators needed: per hour for a service level (Erlang C), or to finish a list by a deadline."""
    from dialer.whatif import staff_for_list, staff_for_service_level
    from pacing.erlang import ErlangInputError

    if (calls_per_hour is None) == (leads is None):
        raise fail("give either --calls-per-hour (service level) or --leads (finish a list), not both")
    try:
        if calls_per_hour is not None:
            m = staff_for_service_level(calls_per_hour, handle, service_level, threshold)
            console.print(f"{m.operators} operators: service level {100 * m.service_level:.1f} % within "
                          f"{threshold:g} s, P(wait) {100 * m.p_wait:.1f} %, ASA {m.asa_s:.1f} s, "
                          f"occupancy {100 * m.occupancy:.1f} % ({m.load:.1f} Erlangs)")
        else:
            assert leads is not None
            plan = staff_for_list(leads, hours, answer_rate, handle, attempts, occupancy)
            console.print(f"{plan.operators} operators: {plan.dials} dials, {plan.answers:.0f} answers, "
                          f"{plan.work_hours:.1f} operator-hours of handle time at {100 * occupancy:.0f} % occupancy "
                          f"within {hours:g} h")
    except ErlangInputError as exc:
        raise fail(str(exc)) from None

if __name__ == "__main__":
    app()
