"""The queries that feed the compliance rules: DNC lists and registries, the abandonment ledger, contact
history, the UK repeat block, and the compliance report.

Every business time is a parameter (``now``); SQL never calls now().
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import asyncpg

from compliance import dnc
from compliance.abandonment import estimated_false_positives, window_rate
from compliance.caps import ContactHistory
from compliance.hours import may_call, open_zones
from compliance.report import ComplianceReport, WindowRow
from compliance.rules import CampaignRules, LeadVerdict
from compliance.verdict import ComplianceError, Verdict, allow, deny, require_aware

# A live answer: answered by a person (not a machine) and its fate known (connected or abandoned or over).
_LIVE = "outcome IS DISTINCT FROM 'machine' AND (ended_at IS NOT NULL OR connected_at IS NOT NULL OR abandoned)"


# ---- campaign rules -----------------------------------------------------------------------------


async def campaign_rules(conn: asyncpg.Connection, campaign_id: int) -> CampaignRules:
    row = await conn.fetchrow("SELECT * FROM campaign_compliance WHERE campaign_id = $1", campaign_id)
    if row is None:
        return CampaignRules()
    windows = row["windows"]
    if isinstance(windows, str):
        windows = json.loads(windows)
    if isinstance(windows, list):
        windows = tuple(windows)
    return CampaignRules(
        preset=row["preset"],
        windows=windows,
        holidays=frozenset(row["holidays"]),
        registries=tuple(row["registries"]),
        registry_max_age_days=row["registry_max_age_days"],
        amd_false_positive_rate=row["amd_false_positive_rate"],
    )


def rules_document(rules: CampaignRules) -> dict:
    """The rules as JSON-able values (for the audit trail and `dialer compliance show`)."""
    windows = rules.windows
    return {
        "preset": rules.preset,
        "windows": list(windows) if isinstance(windows, tuple) else windows,
        "holidays": [d.isoformat() for d in sorted(rules.holidays)],
        "registries": list(rules.registries),
        "registry_max_age_days": rules.registry_max_age_days,
        "amd_false_positive_rate": rules.amd_false_positive_rate,
    }


async def set_campaign_rules(
    conn: asyncpg.Connection, campaign_id: int, rules: CampaignRules, *, actor: str = "system",
    now: datetime | None = None,
) -> None:
    """Store the campaign's rules; with ``now``, the change goes to the audit trail (who, when, old, new)."""
    doc = rules_document(rules)
    async with conn.transaction():
        old = await campaign_rules(conn, campaign_id)
        await conn.execute(
            """INSERT INTO campaign_compliance (campaign_id, preset, windows, holidays, registries,
                                                registry_max_age_days, amd_false_positive_rate)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
               ON CONFLICT (campaign_id) DO UPDATE SET preset = $2, windows = $3::jsonb, holidays = $4,
                   registries = $5, registry_max_age_days = $6, amd_false_positive_rate = $7""",
            campaign_id, rules.preset, None if doc["windows"] is None else json.dumps(doc["windows"]),
            sorted(rules.holidays), list(rules.registries), rules.registry_max_age_days,
            rules.amd_false_positive_rate,
        )
        if now is not None:
            require_aware(now)
            await conn.execute(
                """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
                   VALUES ($1, $2, $3, 'compliance', $4::jsonb, $5::jsonb)""",
                now, actor, campaign_id, json.dumps(rules_document(old)), json.dumps(doc),
            )


# ---- do-not-call --------------------------------------------------------------------------------


async def add_dnc(
    conn: asyncpg.Connection,
    phones: Iterable[str],
    *,
    scope: str = dnc.COMPANY,
    source: str,
    now: datetime,
    region: str | None = None,
) -> int:
    """Put numbers on a do-not-call list; returns how many entries are new. All or nothing: one bad number
    raises ``DncError`` and adds none. An opt-out taken during a call goes through here with source
    'opt-out:operator' or 'opt-out:keypress'; the claim reads the table, so it holds from the next claim."""
    require_aware(now)
    dnc.check_scope(scope)
    if not source.strip():
        raise dnc.DncError("a do-not-call entry needs a source (who or what asked for it)")
    numbers = sorted({dnc.normalize_phone(p, region) for p in phones})
    if not numbers:
        return 0
    result = await conn.execute(
        """INSERT INTO dnc (phone, scope, source, added_at) SELECT unnest($1::text[]), $2, $3, $4
           ON CONFLICT DO NOTHING""",
        numbers, scope, source, now,
    )
    return int(result.rsplit(" ", 1)[1])


async def is_dnc(conn: asyncpg.Connection, phone: str, campaign_id: int) -> bool:
    """On the company list, a registry, or this campaign's list."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM dnc WHERE phone = $1 AND scope IN ('company', $2))",
        phone, dnc.campaign_scope(campaign_id),
    )


@dataclass(frozen=True)
class DncEntry:
    phone: str
    scope: str
    source: str
    added_at: datetime


async def list_dnc(
    conn: asyncpg.Connection, *, scope: str | None = None, phone: str | None = None, limit: int = 100
) -> list[DncEntry]:
    rows = await conn.fetch(
        """SELECT phone, scope, source, added_at FROM dnc
           WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR phone = $2)
           ORDER BY added_at DESC, phone LIMIT $3""",
        scope, phone, limit,
    )
    return [DncEntry(**dict(r)) for r in rows]


@dataclass(frozen=True)
class RegistryCopy:
    name: str
    copy_date: date
    imported_at: datetime
    entries: int


async def import_registry(
    conn: asyncpg.Connection,
    path: Path,
    *,
    name: str,
    copy_date: date,
    now: datetime,
    region: str | None = "US",
    max_age_days: int = dnc.DEFAULT_REGISTRY_MAX_AGE_DAYS,
) -> RegistryCopy:
    """Replace the entries of registry ``name`` with the numbers in ``path`` (one per line).

    Refuses a copy already older than ``max_age_days`` (it could not be dialed against anyway) and any
    file with a bad line; either way the previous copy stays as it was.
    """
    require_aware(now)
    verdict = dnc.registry_verdict(name, copy_date, now.astimezone(UTC).date(), max_age_days)
    if not verdict:
        if copy_date > now.astimezone(UTC).date():
            raise dnc.DncError(verdict.reason)
        raise dnc.StaleRegistryError(name, copy_date, now.astimezone(UTC).date(), max_age_days)
    if not name or not all(c.isalnum() or c in "_.-" for c in name):
        raise dnc.DncError(f"registry name {name!r}: use letters, digits, '_', '.', '-'")
    try:
        with path.open(encoding="utf-8-sig", errors="strict") as lines:
            numbers = sorted(set(dnc.parse_registry_lines(lines, file_name=path.name, region=region)))
    except UnicodeDecodeError as exc:
        raise dnc.DncError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise dnc.DncError(f"cannot read {path}: {exc.strerror}") from None
    source = f"registry:{name}"
    async with conn.transaction():
        await conn.execute("DELETE FROM dnc WHERE source = $1", source)
        await conn.execute("CREATE TEMP TABLE registry_import (phone text) ON COMMIT DROP")
        await conn.copy_records_to_table("registry_import", records=[(n,) for n in numbers])
        await conn.execute(
            """INSERT INTO dnc (phone, scope, source, added_at)
               SELECT phone, 'company', $1, $2 FROM registry_import ON CONFLICT DO NOTHING""",
            source, now,
        )
        await conn.execute(
            """INSERT INTO dnc_registry (name, copy_date, imported_at, entries, file_name)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (name) DO UPDATE SET copy_date = $2, imported_at = $3, entries = $4, file_name = $5""",
            name, copy_date, now, len(numbers), path.name,
        )
    return RegistryCopy(name, copy_date, now, len(numbers))


async def registries(conn: asyncpg.Connection) -> list[RegistryCopy]:
    rows = await conn.fetch("SELECT name, copy_date, imported_at, entries FROM dnc_registry ORDER BY name")
    return [RegistryCopy(**dict(r)) for r in rows]


async def registry_verdict(conn: asyncpg.Connection, *, campaign_id: int, now: datetime) -> Verdict:
    """May this campaign dial as far as registries go? Every registry it names must be imported and fresh;
    a campaign that names none is held to every imported registry."""
    require_aware(now)
    rules = await campaign_rules(conn, campaign_id)
    copies = {c.name: c for c in await registries(conn)}
    today = now.astimezone(UTC).date()
    for name in rules.registries:
        if name not in copies:
            return deny(f"do-not-call registry {name!r} is required by the campaign but was never imported")
    names = rules.registries or tuple(copies)
    for name in names:
        verdict = dnc.registry_verdict(name, copies[name].copy_date, today, rules.registry_max_age_days)
        if not verdict:
            return verdict
    return allow(f"fresh: {', '.join(names)}" if names else "no do-not-call registry in use")


async def require_fresh_registries(conn: asyncpg.Connection, *, campaign_id: int, now: datetime) -> None:
    """Raise ``StaleRegistryError`` (a campaign must not dial) when ``registry_verdict`` refuses."""
    verdict = await registry_verdict(conn, campaign_id=campaign_id, now=now)
    if not verdict:
        raise StaleRegistryRefusal(verdict.reason)


class StaleRegistryRefusal(ComplianceError):
    """The campaign's registries are missing or too old: pause it and say this message."""


# ---- abandonment ledger -------------------------------------------------------------------------


async def ledger(
    conn: asyncpg.Connection,
    *,
    campaign_id: int,
    now: datetime,
    window: timedelta,
    campaign_ids: Sequence[int] | None = None,
    amd_false_positive_rate: float = 0.0,
) -> tuple[int, int]:
    """(live answers, abandons) answered in ``(now − window, now]`` for the campaign (or a group).

    With an AMD false-positive rate (UK), the estimated people among machine answers are added to both:
    they were live calls that got no operator."""
    require_aware(now)
    ids = list(campaign_ids) if campaign_ids else [campaign_id]
    row = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE {_LIVE}) AS live,
                   count(*) FILTER (WHERE {_LIVE} AND abandoned) AS abandons,
                   count(*) FILTER (WHERE outcome = 'machine') AS machines
            FROM attempt
            WHERE campaign_id = ANY($1::bigint[]) AND answered_at > $2 AND answered_at <= $3""",
        ids, now - window, now,
    )
    estimate = estimated_false_positives(row["machines"], amd_false_positive_rate)
    return row["live"] + estimate, row["abandons"] + estimate


# ---- the engine's two calls around a claim ----------------------------------------------------------


class ClaimableLead(Protocol):
    """What ``lists.leads.ClaimedLead`` offers: its id, the number about to be dialed, its zone (or candidate
    zones), fields."""

    @property
    def id(self) -> int: ...
    @property
    def phone(self) -> str: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def fields(self) -> dict: ...
    @property
    def timezones(self) -> tuple[str, ...]: ...


L = TypeVar("L", bound=ClaimableLead)


@dataclass(frozen=True)
class ClaimPermit:
    """What the claim may take now: ``allowed_timezones`` for ``lists.leads.claim``; ``registry`` refuses
    the whole campaign when its do-not-call registries are missing or stale."""

    allowed_timezones: list[str]
    registry: Verdict

    @property
    def may_claim(self) -> bool:
        return self.registry.allowed and bool(self.allowed_timezones)


async def before_claim(
    conn: asyncpg.Connection, *, campaign_id: int, now: datetime, zones: Iterable[str],
    rules: CampaignRules | None = None,
) -> ClaimPermit:
    """``zones``: every zone the campaign's ready leads may be in (``lists.leads.zones_in_play``, cached by
    the engine and refreshed when a list is loaded)."""
    rules = rules or await campaign_rules(conn, campaign_id)
    registry = await registry_verdict(conn, campaign_id=campaign_id, now=now)
    return ClaimPermit(sorted(open_zones(zones, now, rules.policy())), registry)


@dataclass(frozen=True)
class Screened(Generic[L]):
    dialable: list[L]
    refused: list[tuple[L, LeadVerdict]]  # give back to the list, due at verdict.retry_at


async def screen_claimed(
    conn: asyncpg.Connection, rules: CampaignRules, claimed: Sequence[L], *, now: datetime
) -> Screened[L]:
    """The last word on each claimed lead before originate: the callee's state law (US), the contact caps
    (Florida's 3 a day, Russia's 1/2/8 conversations) and the UK 72-hour block — what the claim's SQL
    filter does not know. One query for the whole batch."""
    require_aware(now)
    if not claimed:
        return Screened([], [])
    history = await lead_contact_history(conn, [(lead.id, lead.phone) for lead in claimed], now=now)
    dialable: list[L] = []
    refused: list[tuple[L, LeadVerdict]] = []
    for lead in claimed:
        try:
            zone = rules.zone_of(lead.phone, lead.timezones, lead.timezone)
        except ComplianceError as exc:
            refused.append((lead, LeadVerdict(False, str(exc), None)))
            continue
        verdict = rules.check(lead.phone, now, zone=zone, history=history[lead.id], fields=lead.fields)
        if verdict:
            dialable.append(lead)
        else:
            refused.append((lead, verdict))
    return Screened(dialable, refused)


# ---- per-number history: caps and the UK repeat block --------------------------------------------


async def contact_history(
    conn: asyncpg.Connection, phones: Sequence[str], *, now: datetime, lookback: timedelta = timedelta(days=31)
) -> dict[str, ContactHistory]:
    """Attempts (claimed_at), conversations (connected_at) and abandoned answers (answered_at) per number
    over ``lookback``, across all campaigns — the law counts calls to a person, not per campaign.
    One indexed query for a whole claimed batch (attempt_phone_time)."""
    require_aware(now)
    rows = await conn.fetch(
        """SELECT phone, claimed_at, connected_at, CASE WHEN abandoned THEN answered_at END AS abandoned_at
           FROM attempt
           WHERE phone = ANY($1::text[]) AND claimed_at > $2 AND claimed_at <= $3""",
        list(set(phones)), now - lookback, now,
    )
    found: dict[str, tuple[list[datetime], list[datetime], list[datetime]]] = {p: ([], [], []) for p in phones}
    for r in rows:
        attempts, talks, abandons = found[r["phone"]]
        attempts.append(r["claimed_at"])
        if r["connected_at"] is not None:
            talks.append(r["connected_at"])
        if r["abandoned_at"] is not None:
            abandons.append(r["abandoned_at"])
    return {p: ContactHistory(*(tuple(sorted(x)) for x in found[p])) for p in phones}


async def lead_contact_history(
    conn: asyncpg.Connection, leads: Sequence[tuple[int, str]], *, now: datetime,
    lookback: timedelta = timedelta(days=31),
) -> dict[int, ContactHistory]:
    """Per lead id: the history of its number (any campaign) merged with every attempt on the lead itself
    (its other numbers too) — a debtor's conversation caps count the person, not one number."""
    require_aware(now)
    # Two index lookups (attempt_phone_time, attempt_lead), not one OR: with an OR the planner may walk
    # every attempt of the lookback window by time instead.
    rows = await conn.fetch(
        """SELECT id, lead_id, phone, claimed_at, connected_at, CASE WHEN abandoned THEN answered_at END AS abandoned_at
           FROM attempt WHERE phone = ANY($1::text[]) AND claimed_at > $3 AND claimed_at <= $4
           UNION
           SELECT id, lead_id, phone, claimed_at, connected_at, CASE WHEN abandoned THEN answered_at END
           FROM attempt WHERE lead_id = ANY($2::bigint[]) AND claimed_at > $3 AND claimed_at <= $4""",
        list({p for _, p in leads}), list({i for i, _ in leads}), now - lookback, now,
    )
    by_phone: dict[str, list[asyncpg.Record]] = {}
    by_lead: dict[int, list[asyncpg.Record]] = {}
    for r in rows:
        by_phone.setdefault(r["phone"], []).append(r)
        by_lead.setdefault(r["lead_id"], []).append(r)
    result = {}
    for lead_id, phone in leads:
        merged = {r["id"]: r for r in by_phone.get(phone, []) + by_lead.get(lead_id, [])}.values()
        result[lead_id] = ContactHistory(
            tuple(sorted(r["claimed_at"] for r in merged)),
            tuple(sorted(r["connected_at"] for r in merged if r["connected_at"] is not None)),
            tuple(sorted(r["abandoned_at"] for r in merged if r["abandoned_at"] is not None)),
        )
    return result


async def repeat_blocked_phones(
    conn: asyncpg.Connection, *, now: datetime, block: timedelta = timedelta(hours=72),
    phones: Sequence[str] | None = None,
) -> set[str]:
    """Numbers that got an abandoned call in ``(now − block, now]`` (any campaign): not to be redialed."""
    require_aware(now)
    rows = await conn.fetch(
        """SELECT DISTINCT phone FROM attempt
           WHERE abandoned AND answered_at > $1 AND answered_at <= $2
             AND ($3::text[] IS NULL OR phone = ANY($3::text[]))""",
        now - block, now, None if phones is None else list(phones),
    )
    return {r["phone"] for r in rows}


def repeat_block_condition(*, phone_sql: str, now_param: str, block: timedelta) -> str:
    """A SQL condition for the claim's WHERE: true when the number got no abandoned call in the block.

    ``phone_sql`` is the lead's number expression (e.g. ``coalesce(l.dial_phone, l.phone)``), ``now_param``
    the placeholder of the claim's time (e.g. ``$3``). Served by the index attempt_abandoned_phone."""
    seconds = int(block.total_seconds())
    return (
        f"NOT EXISTS (SELECT 1 FROM attempt ab WHERE ab.abandoned AND ab.phone = {phone_sql} "
        f"AND ab.answered_at > {now_param}::timestamptz - interval '{seconds} seconds' "
        f"AND ab.answered_at <= {now_param}::timestamptz)"
    )


# ---- report -------------------------------------------------------------------------------------


async def compliance_report(
    conn: asyncpg.Connection, *, campaign_id: int, now: datetime, max_outside_examples: int = 5
) -> ComplianceReport:
    """Per window (the legal one, the last 24 h, the campaign to date): live answers, abandons, rate against
    the cap, calls outside hours and calls to DNC numbers (both must be 0)."""
    require_aware(now)
    name = await conn.fetchval("SELECT name FROM campaign WHERE id = $1", campaign_id)
    if name is None:
        raise ComplianceError(f"no campaign with id {campaign_id}")
    rules = await campaign_rules(conn, campaign_id)
    abandon = rules.abandon
    first = await conn.fetchval("SELECT min(claimed_at) FROM attempt WHERE campaign_id = $1", campaign_id)
    windows: list[tuple[str, datetime | None, bool]] = [(f"legal window ({_span(abandon.window)})",
                                                         now - abandon.window, True)]
    if abandon.window != timedelta(hours=24):
        windows.append(("last 24 h", now - timedelta(hours=24), False))
    windows.append(("campaign to date", None, False))
    earliest = (first or now) - timedelta(microseconds=1)
    # Every call that went out since the earliest window start, each re-checked once.
    sent = await conn.fetch(
        """SELECT a.phone, a.originated_at,
                  -- a call to another of the lead's numbers is judged in that number's own zones
                  CASE WHEN a.phone = l.phone THEN l.timezone END AS timezone,
                  CASE WHEN a.phone = l.phone THEN s.zones END AS timezones, l.fields,
                  EXISTS (SELECT 1 FROM dnc d WHERE d.phone = a.phone AND d.scope IN ('company', $4)
                                                AND d.added_at <= a.originated_at) AS on_dnc
           FROM attempt a JOIN lead l ON l.id = a.lead_id
                LEFT JOIN timezone_set s ON s.id = l.timezone_set  -- every zone of the number (lists)
           WHERE a.campaign_id = $1 AND a.originated_at > $2 AND a.originated_at <= $3
           ORDER BY a.originated_at""",
        campaign_id, min(earliest, *(s for _, s, _ in windows if s is not None)), now,
        dnc.campaign_scope(campaign_id),
    )
    # Judged by the law (preset, state, holiday calendar), not by today's campaign windows: narrowing the
    # windows later must not turn yesterday's lawful calls into findings.
    legal_rules = replace(rules, windows=None)
    checked = [(r["originated_at"], _inside_hours(legal_rules, r), r["on_dnc"]) for r in sent]
    examples = [f"{r['phone']} at {r['originated_at'].isoformat()}"
                for r, (_, inside, _) in zip(sent, checked, strict=True) if not inside][-max_outside_examples:]
    rows = []
    for label, start, legal in windows:
        since = start if start is not None else earliest
        counts = await conn.fetchrow(
            f"""SELECT count(*) FILTER (WHERE {_LIVE}) AS live,
                       count(*) FILTER (WHERE {_LIVE} AND abandoned) AS abandons,
                       count(*) FILTER (WHERE outcome = 'machine') AS machines
                FROM attempt WHERE campaign_id = $1 AND answered_at > $2 AND answered_at <= $3""",
            campaign_id, since, now,
        )
        estimate = estimated_false_positives(counts["machines"], abandon.amd_false_positive_rate)
        live, abandons = counts["live"] + estimate, counts["abandons"] + estimate
        in_window = [c for c in checked if c[0] > since]
        rows.append(WindowRow(
            label=label, start=start, end=now, attempts=len(in_window), live_answers=live, abandons=abandons,
            machine_answers=counts["machines"], false_positive_estimate=estimate,
            rate=window_rate(live, abandons), cap=abandon.cap,
            calls_outside_hours=sum(1 for c in in_window if not c[1]),
            calls_to_dnc=sum(1 for c in in_window if c[2]), legal=legal,
        ))
    held = await conn.fetchval(
        """SELECT count(*) FROM lead l WHERE l.campaign_id = $1 AND l.state <> 'done'
             AND EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone AND d.scope IN ('company', $2))""",
        campaign_id, dnc.campaign_scope(campaign_id),
    )
    registry = await registry_verdict(conn, campaign_id=campaign_id, now=now)
    return ComplianceReport(
        campaign_id=campaign_id, campaign_name=name, policy=rules.policy().name, abandon_rule=abandon.source,
        now=now, rows=tuple(rows), leads_held_by_dnc=held, registry=registry.reason,
        registry_ok=registry.allowed, outside_hours_examples=tuple(dict.fromkeys(examples)),
    )


def _inside_hours(rules: CampaignRules, attempt: asyncpg.Record) -> bool:
    """Re-check one call that went out, with the zone and state the claim would have used."""
    fields = attempt["fields"]
    if isinstance(fields, str):
        fields = json.loads(fields)
    try:
        zone = rules.zone_of(attempt["phone"], attempt["timezones"] or (), attempt["timezone"])
    except ComplianceError:
        return False  # a call to a number of unknown zone cannot be shown to be inside hours
    policy = rules.policy(rules.state_of(attempt["phone"], fields))
    return may_call(zone, attempt["originated_at"], policy).allowed


def _span(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0) and window > timedelta(days=1):
        return f"{window.days} days"
    return f"{window / timedelta(hours=1):g} h"
