"""Asterisk's own database (AstDB) and the AMI actions on it, answered as Asterisk 22's main/db.c does.

The dialplan writes here (``Set(DB(family/key)=value)``, func_db) what must outlive a call nobody heard;
DBGet reads it back: a key held answers ``Response: Success`` with ``EventList: start``, one
``DBGetResponse`` (ActionID last) and ``DBGetComplete``; a key not held ``Response: Error``
"Database entry not found". DBPut and DBDel answer a plain Success or Error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ami.wire import Message

if TYPE_CHECKING:
    from ami.simulator.server import Session


class AstDb:
    """family/key → value, as the sqlite file astdb.sqlite3 holds it (it survives calls, not tests)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def put(self, family: str, key: str, value: str) -> None:
        self.entries[(family, key)] = value

    def get(self, family: str, key: str) -> str | None:
        return self.entries.get((family, key))

    def delete(self, family: str, key: str) -> bool:
        return self.entries.pop((family, key), None) is not None


def _family_and_key(session: Session, message: Message, dot: str) -> tuple[str, str] | None:
    family, key = message.get("Family") or "", message.get("Key") or ""
    if not family:
        session.respond(message, "Error", f"No family specified{dot}")
    elif not key:
        session.respond(message, "Error", f"No key specified{dot}")
    else:
        return family, key
    return None


def db_get(session: Session, message: Message) -> None:
    """DBGet: authority system or reporting, so the engine's least-privilege user may read."""
    named = _family_and_key(session, message, ".")
    if named is None:
        return
    value = session.server.exchange.astdb.get(*named)
    if value is None:
        session.respond(message, "Error", "Database entry not found")
        return
    session.respond(message, "Success", "Result will follow", ("EventList", "start"))
    action_id = [("ActionID", message.action_id)] if message.action_id is not None else []
    session.send([("Event", "DBGetResponse"), ("Family", named[0]), ("Key", named[1]), ("Val", value), *action_id])
    session.send([("Event", "DBGetComplete"), *action_id, ("EventList", "Complete"), ("ListItems", "1")])


def db_put(session: Session, message: Message) -> None:
    """DBPut: authority system; the dialplan's Set(DB(...)) writes the same store."""
    named = _family_and_key(session, message, "")
    if named is None:
        return
    session.server.exchange.astdb.put(*named, message.get("Val") or "")
    session.respond(message, "Success", "Updated database successfully")


def db_del(session: Session, message: Message) -> None:
    """DBDel: authority system; a key not held is an error, as on Asterisk."""
    named = _family_and_key(session, message, ".")
    if named is None:
        return
    if session.server.exchange.astdb.delete(*named):
        session.respond(message, "Success", "Key deleted successfully")
    else:
        session.respond(message, "Error", "Database entry could not be deleted")
