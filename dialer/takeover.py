"""What a new owner does with what a dead owner left of a campaign (issue #8, item 4).

The same rules as a restarted engine's own recovery (``Engine._recover``), for another engine's name and
one campaign: an open attempt whose channel is gone ended while nobody watched (``lost``, the lead
settled for a retry by the retry rules); a channel still alive is a call going on in Asterisk, and
dialing that person again now would be a second call, so it is left alone (its lead stays claimed until
the lease expires). Leads the dead engine claimed with no open attempt go back to the list.

``faults`` owns recovery (see /work/notes/RELIABILITY.md); when its richer recovery lands (re-attaching
live calls), ``recover_campaign`` is the one place to switch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ami.pbx import PbxError
from lists import attempts, leads
from lists.attempts import AttemptUpdate

if TYPE_CHECKING:
    from dialer.engine import Engine

log = logging.getLogger(__name__)


async def recover_campaign(engine: Engine, *, dead_engine: str, campaign_id: int) -> None:
    left = await engine.pool.fetch(
        "SELECT id, lead_id FROM attempt WHERE engine = $1 AND campaign_id = $2 AND ended_at IS NULL",
        dead_engine, campaign_id)
    alive: set[str] = set()
    if left:
        try:
            alive = {c.channel_id for c in await engine.pbx.list_channels()}
        except PbxError as exc:
            # Without the channel list we cannot tell a live call from a lost one: leave both; the leases
            # expire by the heartbeat rules and the attempts stay open for the next look.
            log.warning("campaign %s: cannot list channels to recover %d attempt(s) of engine %s: %s",
                        campaign_id, len(left), dead_engine, exc)
            return
    lost = [row for row in left if f"attempt-{row['id']}" not in alive]
    now = engine.clock.now()
    async with engine.pool.acquire() as conn, conn.transaction():
        await attempts.apply_updates(conn, [AttemptUpdate(row["id"], state="ended", ended_at=now, outcome="lost")
                                            for row in lost])
        for row in lost:
            await leads.settle(conn, lead_id=row["lead_id"], engine=dead_engine, outcome="failed", now=now)
        status = await conn.execute(
            """UPDATE lead SET state = 'ready', claimed_by = NULL, lease_until = NULL
               WHERE campaign_id = $1 AND state = 'claimed' AND claimed_by = $2
                 AND NOT EXISTS (SELECT 1 FROM attempt a
                                 WHERE a.lead_id = lead.id AND a.engine = $2 AND a.ended_at IS NULL)""",
            campaign_id, dead_engine)
    returned = int(status.rsplit(" ", 1)[1])
    if left or returned:
        log.warning("campaign %s: from engine %s: %d attempt(s) lost, %d still on the line, %d lead(s) back "
                    "to the list", campaign_id, dead_engine, len(lost), len(left) - len(lost), returned)
