"""The compliance gate in front of every claim: which time zones may be dialed now, which claimed leads
must still be given back.

The rules are pure (``compliance``); this keeps what feeds them (the campaign's rules, the zones its
leads live in, the registry verdict) cached per campaign, so the hot path costs no extra query. Hours
are judged from the engine's clock once per wall-clock minute (nothing they depend on changes inside a
minute), so no call leaves a second after a window closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from compliance import store as compliance_store
from compliance.caps import ContactHistory
from compliance.hours import open_zones
from compliance.rules import CampaignRules
from compliance.verdict import Verdict
from lists import leads
from lists.leads import ClaimedLead

log = logging.getLogger(__name__)

REFRESH_S = 60.0   # rules and registry freshness are re-read this often (and at every campaign change)
# Zones in play are re-read more often: a lead moving on to an alternate number may bring a zone the list
# had not used; the query reads only the small zone-set table and a partial index.
ZONES_REFRESH_S = 5.0


@dataclass(frozen=True)
class DialedByHand:
    """A number an operator dials by hand, as the per-lead rules read a claimed lead (no lead yet: id 0)."""

    phone: str
    timezones: tuple[str, ...]
    timezone: str | None = None
    id: int = 0
    fields: dict = field(default_factory=dict)


class ComplianceGate:
    def __init__(self, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        self.rules = CampaignRules()
        self.zones: set[str] = set()
        self.registry: Verdict | None = None
        self._loaded_at = -REFRESH_S
        self._zones_at = -ZONES_REFRESH_S
        self.blocked_reason: str | None = None   # why nothing may be claimed now (for logs and views)
        self._judged: tuple[tuple[int, float], list[str]] | None = None

    def invalidate(self) -> None:
        self._loaded_at = -REFRESH_S
        self._zones_at = -ZONES_REFRESH_S

    def _open_zones(self, now: datetime) -> list[str]:
        """``open_zones`` for this minute. Windows are whole minutes of wall-clock time, holidays whole days,
        and every zone's offset and DST change fall on a whole minute, so the answer cannot change inside a
        minute: judged once per minute (and after each refresh) instead of at each claim."""
        minute = int(now.timestamp() // 60)
        key = (minute, self._loaded_at)
        if self._judged is None or self._judged[0] != key:
            self._judged = (key, sorted(open_zones(self.zones, now, self.rules.policy())))
        return self._judged[1]

    async def allowed_timezones(self, conn: asyncpg.Connection, now: datetime) -> list[str]:
        """Zones whose leads may be claimed now; empty means: dial nothing."""
        loop_now = await self._load_rules(conn, now)
        if loop_now - self._zones_at >= ZONES_REFRESH_S:
            zones = await leads.zones_in_play(conn, campaign_id=self.campaign_id)
            if zones != self.zones:
                self.zones = zones
                self._judged = None
            self._zones_at = loop_now
        reason = None
        if self.registry is not None and not self.registry.allowed:
            reason = self.registry.reason
            zones: list[str] = []
        else:
            zones = self._open_zones(now)
            if self.zones and not zones:
                reason = "outside calling hours in every time zone of the list"
        if reason != self.blocked_reason:
            if reason:
                log.warning("campaign %s: not dialing: %s", self.campaign_id, reason)
            self.blocked_reason = reason
        return zones

    async def _load_rules(self, conn: asyncpg.Connection, now: datetime) -> float:
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._loaded_at >= REFRESH_S:
            self.rules = await compliance_store.campaign_rules(conn, self.campaign_id)
            self.registry = await compliance_store.registry_verdict(conn, campaign_id=self.campaign_id, now=now)
            self._loaded_at = loop_now
        return loop_now

    async def refuse_by_hand(self, conn: asyncpg.Connection, number: DialedByHand, now: datetime) -> str | None:
        """Why an operator may not dial ``number`` by hand now, or None. The same rules as the dialer's own
        calls, judged the same way: the registries' freshness, then ``compliance.store.screen_claimed`` (the
        calling hours in the callee's zone and state, the contact caps, the repeat block) — the operator's
        call is still a call to that person. (Do-not-call lists are checked by the manual claim itself.)"""
        await self._load_rules(conn, now)
        if self.registry is not None and not self.registry.allowed:
            return self.registry.reason
        screened = await compliance_store.screen_claimed(conn, self.rules, [number], now=now)
        return screened.refused[0][1].reason if screened.refused else None

    def history_since(self, now: datetime) -> datetime | None:
        """From when the claim should bring each lead's contact history: only the preset's rules read it."""
        return None if self.rules.preset is None else now - compliance_store.HISTORY_LOOKBACK

    async def screen(self, conn: asyncpg.Connection, claimed: Sequence[ClaimedLead], *, engine: str,
                     now: datetime) -> list[ClaimedLead]:
        """The per-lead rules (state laws, contact caps, the UK 72-hour block); refused leads go back,
        due when the rule allows them again. A campaign without a preset has none of these rules."""
        if not claimed or self.rules.preset is None:
            return list(claimed)
        histories = None
        if all(lead.contact_history is not None for lead in claimed):    # read by the claim itself
            histories = {lead.id: ContactHistory(*lead.contact_history) for lead in claimed}
        screened = await compliance_store.screen_claimed(conn, self.rules, claimed, now=now, histories=histories)
        for lead, verdict in screened.refused:
            log.info("lead %s held back: %s", lead.id, verdict.reason)
            await leads.postpone(conn, lead_id=lead.id, engine=engine, due=verdict.retry_at or now)
        return screened.dialable
