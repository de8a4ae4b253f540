"""The engine's check of who sent a command (``operator_command.person_id``) before applying it.

A command row written by ``dialer serve`` names the logged-in person; the engine looks them up and asks
``people.rights`` whether they may act on this operator (and on the attempt a disposition names), so a
forged row — a person's id with another operator's — is refused here, whatever the screens allow. A row
without a person comes from a terminal on the server itself, which holds the store's credentials anyway.

A campaign's tuning, start and pause are not command rows but changes the view makes itself, in the server's
process; ``campaign_refusal`` checks them there, against the person as the store has them now (a
supervisor taken off a campaign, or disabled, since they logged in is refused), whatever the view offered.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from lists import attempts, operators
from people import rights
from people import store as people
from people.rights import Person

log = logging.getLogger(__name__)


async def refusal(db: asyncpg.Pool, person_id: int, operator_id: int, command: str,
                  args: dict[str, Any]) -> str | None:
    person = await people.get(db, person_id)
    if person is None:
        reason = "the person who sent this command is not in the store"
    else:
        campaigns = await operators.campaign_ids_of(db, operator_id)
        owners: list[int | None] = []
        if "attempt_id" in args:
            try:
                attempt_id = int(args["attempt_id"])
            except (TypeError, ValueError):
                return f"attempt_id {args['attempt_id']!r} is not a number"
            owners.append(await attempts.operator_of(db, attempt_id))
        spy_extension = str(args["supervisor_extension"]) if "supervisor_extension" in args else None
        reason = rights.command_refusal(person, command, operator_id, campaigns, owners, spy_extension)
    if reason is not None:
        log.warning("command %s for operator %d from person %d refused: %s", command, operator_id, person_id, reason)
    return reason


async def campaign_refusal(conn: asyncpg.Connection | asyncpg.Pool, person: Person | None, campaign_id: int,
                           campaign: str) -> str | None:
    """None when ``person`` may tune, start or pause the campaign (None: a terminal on the server); else
    the reason, also logged."""
    if person is None:
        return None
    now = await people.get(conn, person.id)
    if now is None or not rights.may_manage_campaign(now, campaign_id):
        reason = (f"{person.name} may not change campaign {campaign}" +
                  (": the account is disabled" if now is not None and now.disabled else
                   " (a supervisor changes only the campaigns they supervise)"))
        log.warning("change of campaign %s by person %d refused: %s", campaign, person.id, reason)
        return reason
    return None
