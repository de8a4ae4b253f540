"""What a new owner does with what a dead owner left of a campaign.

The open attempts are resolved by the engine's recovery (``dialer/recovery.py``, owned by the
reliability work on restarts): live calls re-attached and made ours, gone ones closed as ``lost`` and
their leads settled for a retry; when the PBX cannot be asked nothing is resolved and those leads stay
claimed (a live call's lead must never be dialed again). What recovery does not cover is added here:
leads the dead engine had claimed with no open attempt (its settle was still queued when it died) go
back to the list — no call of theirs can be on the line.
"""

from __future__ import annotations

import logging
from typing import Protocol

from dialer.recovery import Recovery
from dialer.surface import EngineSurface
from lists import leads

log = logging.getLogger(__name__)


class TakingOver(EngineSurface, Protocol):
    """The engine as a takeover sees it (``dialer.engine.Engine``): its store and its recovery."""

    recovery: Recovery


async def recover_campaign(engine: TakingOver, *, dead_engine: str, campaign_id: int) -> bool:
    """True when every open attempt of the dead engine on this campaign is resolved."""
    report = await engine.recovery.recover(dead_engine, campaign_id)
    returned = await leads.return_unattempted(engine.db, campaign_id=campaign_id, engine=dead_engine)
    log.warning("campaign %s taken over from engine %s: %d call(s) re-attached, %d attempt(s) lost, %d connected "
                "call(s) ended meanwhile (disposition unknown), %d not resolved (PBX unreachable), %d lead(s) back "
                "to the list", campaign_id, dead_engine, len(report.reattached), len(report.lost), len(report.talked),
                report.unresolved, returned)
    return report.unresolved == 0
