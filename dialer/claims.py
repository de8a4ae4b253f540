"""One dialing round's claim: the next leads of a campaign, screened by compliance, each with its attempt
row open, in one transaction.

The engine runs this many times a second per campaign and ``benchmarks/lists.py`` runs exactly this, so
the benchmark's leads per second are the engine's. Round trips are what a claim costs, more than its
queries: BEGIN, the claim (which also checks the campaign is still this engine's, and returns who last
talked to each lead and, when the campaign's rules count contacts, each lead's contact history), the
attempt rows, COMMIT. The campaign's strategy comes with the campaign the engine already holds, and the
zones in calling hours are judged from the gate's cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from compliance.caller_id import CallerIdError, caller_id_for
from dialer.gate import ComplianceGate
from dialer.store.plans import generic_plans
from lists import attempts, leads
from lists.attempts import NewAttempt
from lists.campaigns import Campaign
from lists.claim_statement import ClaimCursor
from lists.leads import ClaimedLead, ClaimPlan

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Fence:
    """Campaign ownership as a claim checks it (dialer/ownership/campaigns.py). The claim statement itself takes leads
    only while the campaign's owner row carries (``engine``, ``epoch``), and holds that row FOR SHARE until
    commit; ``still_ours`` is asked only when a claim came back empty, to tell a lost campaign (which it
    acts on) from an empty list."""

    engine: str
    epoch: int
    still_ours: Callable[[asyncpg.Connection], Awaitable[bool]]


class NothingToDial(Exception):
    """A dialing round that must place nothing (the reason is logged once where it is raised)."""


@dataclass(frozen=True)
class ToDial:
    lead: ClaimedLead
    attempt_id: int
    caller_id: str


class Claimer:
    """Claims for one campaign: its compliance gate, its claim plan and where its last claim stopped,
    kept between rounds."""

    def __init__(self, campaign_id: int) -> None:
        self.gate = ComplianceGate(campaign_id)
        self.cursor = ClaimCursor()
        self._plan: tuple[Campaign, ClaimPlan] | None = None

    def plan(self, campaign: Campaign) -> ClaimPlan:
        if self._plan is None or self._plan[0] != campaign:
            self._plan = (campaign, ClaimPlan.of(campaign.timezone, campaign.strategy,
                                                 campaign.personal_callback_grace_s))
        return self._plan[1]

    def invalidate(self) -> None:
        self.gate.invalidate()
        self.cursor.rewind()
        self._plan = None

    async def claim(self, conn: asyncpg.Connection, campaign: Campaign, *, wanted: int, now: datetime,
                    engine: str, pbx: str | None, lease_s: float, fence: Fence | None = None,
                    free_operators: Sequence[int] | None = None) -> list[ToDial]:
        """Up to ``wanted`` leads to dial now. All or nothing: an error (or ``NothingToDial``) rolls the
        claims back, so a lead is never left claimed without its attempt row. ``fence``: campaign
        ownership, checked by the claim statement itself (is the campaign still this engine's?).
        ``free_operators``: a personal callback is dialed only while its operator is among them (until
        its grace ends)."""
        try:
            return await self._claim(conn, campaign, wanted=wanted, now=now, engine=engine, pbx=pbx,
                                     lease_s=lease_s, fence=fence, free_operators=free_operators)
        except BaseException:
            self.cursor.rewind()    # the claims rolled back: those leads are ready again, behind the cursor
            raise

    async def _claim(self, conn: asyncpg.Connection, campaign: Campaign, *, wanted: int, now: datetime,
                     engine: str, pbx: str | None, lease_s: float, fence: Fence | None,
                     free_operators: Sequence[int] | None) -> list[ToDial]:
        gate = self.gate
        async with generic_plans(conn):
            zones = await gate.allowed_timezones(conn, now)
            if not zones:
                return []
            claimed = await leads.claim(conn, campaign_id=campaign.id, engine=engine, n=wanted, now=now,
                                        lease_s=lease_s, allowed_timezones=zones, plan=self.plan(campaign),
                                        free_operators=free_operators, cursor=self.cursor,
                                        loop_now=asyncio.get_running_loop().time(),
                                        owner=None if fence is None else (fence.engine, fence.epoch),
                                        history_since=gate.history_since(now))
            if not claimed:
                if fence is not None:
                    await fence.still_ours(conn)     # a lost campaign is noticed (and given up) here
                return []
            claimed = await gate.screen(conn, claimed, engine=engine, now=now)
            try:
                shown = [caller_id_for(campaign.caller_id, lead.phone, caller_ids=campaign.caller_id_pool)
                         for lead in claimed]
            except CallerIdError as exc:
                if gate.blocked_reason != str(exc):
                    log.error("campaign %s: not dialing: %s", campaign.name, exc)
                    gate.blocked_reason = str(exc)
                raise NothingToDial from exc   # the transaction rolls back: claims undone, nothing dialed
            ids = await attempts.open_attempts(
                conn, [NewAttempt(lead.id, campaign.id, lead.phone, caller) for lead, caller in zip(
                    claimed, shown, strict=True)],
                engine=engine, pbx=pbx, now=now)
        return [ToDial(lead, attempt_id, caller) for lead, attempt_id, caller in zip(claimed, ids, shown, strict=True)]
