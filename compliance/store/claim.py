"""The engine's two calls around a claim (which zones may be claimed now; the last word on each claimed lead),
and the per-number history they read: contact caps and the UK repeat block."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

import asyncpg

from compliance.caps import ContactHistory
from compliance.hours import open_zones
from compliance.rules import CampaignRules, LeadVerdict
from compliance.store.dnc_lists import registry_verdict
from compliance.store.rules import campaign_rules
from compliance.verdict import ComplianceError, Verdict, require_aware


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
    conn: asyncpg.Connection, rules: CampaignRules, claimed: Sequence[L], *, now: datetime,
    histories: Mapping[int, ContactHistory] | None = None,
) -> Screened[L]:
    """The last word on each claimed lead before originate: the callee's state law (US), the contact caps
    (Florida's 3 a day, Russia's 1/2/8 conversations) and the UK 72-hour block — what the claim's SQL
    filter does not know. One query for the whole batch, unless ``histories`` (per lead id, over
    ``HISTORY_LOOKBACK``, as ``lead_contact_history`` reads them) came with the claim."""
    require_aware(now)
    if not claimed:
        return Screened([], [])
    history = histories if histories is not None else await lead_contact_history(
        conn, [(lead.id, lead.phone) for lead in claimed], now=now)
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

# The longest of the caps' periods (a month) with a day to spare.
HISTORY_LOOKBACK = timedelta(days=31)


async def contact_history(
    conn: asyncpg.Connection, phones: Sequence[str], *, now: datetime, lookback: timedelta = HISTORY_LOOKBACK
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
    lookback: timedelta = HISTORY_LOOKBACK,
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
