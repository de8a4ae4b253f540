"""What the operator console reads from the store when a call connects: the customer card
(``lists/customer_card.py``), the campaign's disposition catalogue and its call script. Read-only: the
console changes the store only through operator commands."""

from __future__ import annotations

import asyncpg

from dialer import script as call_script
from lists.attempts import lead_of
from lists.campaigns import CampaignNotFound
from lists.campaigns import states as campaign_states
from lists.customer_card import CustomerCard, EarlierAttempt, customer_card
from lists.dispositions import offered as dispositions
from lists.scripts import script_document

__all__ = ["CustomerCard", "EarlierAttempt", "campaign_script", "campaign_states", "customer_card", "dispositions",
           "lead_of"]


async def campaign_script(db: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> call_script.Script | None:
    """The campaign's script, None when it has none. A stored script is validated again on the way in:
    a document changed by hand in the database shows as an error, not as a broken console."""
    try:
        document = await script_document(db, campaign_id)
    except CampaignNotFound:
        return None
    if not document:
        return None
    return call_script.parse(document)
