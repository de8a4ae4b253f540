"""The channels of the bus (the store's LISTEN/NOTIFY, DESIGN §6), named once for the engine and the views.

* ``dialer_picture``: an engine wrote its whole picture (``engine_picture``); the payload names the engine.
* ``dialer_operator_<id>``: one operator's entry changed; the payload carries the entry itself, so the
  operator's console has it without reading the whole floor. One channel per operator: a console wakes
  for its own operator's changes only, not for every change on a floor of thousands.
* ``dialer_command``: a console or a supervisor wrote an ``operator_command`` row.

Notifications reach every listener of a database, whatever its schema, while each store lives in its own
schema (tests, several installations on one server): a payload that carries an entry names its schema.
"""

from __future__ import annotations

from typing import Any

import asyncpg

PICTURE_CHANNEL = "dialer_picture"
COMMAND_CHANNEL = "dialer_command"
NOTIFY_PAYLOAD_LIMIT = 8000   # bytes: PostgreSQL refuses a longer NOTIFY payload


def operator_channel(operator_id: int) -> str:
    return f"dialer_operator_{operator_id}"


def listening(conn: Any) -> bool:
    """A LISTEN connection is open. One the store dropped (a restart, a network cut) hears nothing more and
    must be replaced; asyncpg's pool takes a lost one back, and then it answers with InterfaceError."""
    try:
        return conn is not None and not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
