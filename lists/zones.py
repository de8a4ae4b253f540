"""Sets of candidate time zones, shared by many leads (table ``timezone_set``).

A Russian mobile number may be in any of 16 zones; the set is stored once and each lead points at it, so
the claim can ask "are all of this lead's zones inside calling hours?" with one small lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from lists.errors import PhoneError
from lists.phones import normalize


async def zone_set_ids(conn: asyncpg.Connection, sets: Sequence[tuple[str, ...]]) -> list[int]:
    """The ``timezone_set`` id of each set of zones (created when new), in the order given."""
    if not sets:
        return []
    joined = [",".join(sorted(zones)) for zones in sets]
    await conn.execute(
        """INSERT INTO timezone_set (zones) SELECT string_to_array(s, ',') FROM unnest($1::text[]) AS s
           ON CONFLICT (zones) DO NOTHING""",
        joined,
    )
    rows = await conn.fetch(
        "SELECT id, array_to_string(zones, ',') AS key FROM timezone_set WHERE array_to_string(zones, ',') = ANY($1)",
        joined,
    )
    ids = {r["key"]: r["id"] for r in rows}
    return [ids[key] for key in joined]


async def zone_set_for(conn: asyncpg.Connection, phone: str, region: str, *, lead_phone: str | None = None,
                       lead_zone_set: int | None = None) -> int | None:
    """The zone set of one of a lead's numbers other than its main one: the number's own candidate zones,
    unless the lead's zone was given by the file (it differs from what its main number says) — that is
    where the person is, whichever number rings."""
    try:
        zones = normalize(phone, region).timezones
    except PhoneError:
        return lead_zone_set
    if lead_zone_set is not None and lead_phone is not None:
        own = await conn.fetchval("SELECT zones FROM timezone_set WHERE id = $1", lead_zone_set)
        try:
            main_zones = normalize(lead_phone, region).timezones
        except PhoneError:
            main_zones = ()
        if own is not None and tuple(sorted(own)) != tuple(sorted(main_zones)):
            return lead_zone_set
    if not zones:
        return lead_zone_set
    [zone_set] = await zone_set_ids(conn, [zones])
    return zone_set
