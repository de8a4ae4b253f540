"""What the dialplan wrote down for a call no engine heard.

The dialplan tells the engine what happens on an answered call by UserEvents, which are lost when no
engine is listening (killed, crashed, AMI link down). At the two points where that loses a legal fact it
also writes a durable trace in Asterisk's own database (AstDB, ``Set(DB(dialer/<attempt id>)=<what> <phone>)``,
config/asterisk/extensions.conf), which outlives the channel:

* ``no-operator`` — the safety net ran: the call was answered and nobody took it, so it is abandoned;
* ``opt-out`` — the callee pressed 9 during the safe-harbor message: the number goes on the do-not-call
  list (and the call, in the safe-harbor message, was abandoned too).

Recovery reads the trace of every open attempt whose channel is gone before closing it, and deletes it
only once the store holds the outcome: a crash in between leaves the attempt open and the trace in place,
read again by the next recovery; an attempt closed is never read again, so nothing counts twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from enum import StrEnum

from ami.pbx import Pbx, PbxError

log = logging.getLogger(__name__)

FAMILY = "dialer"
# A recovery after a crash on a large floor reads thousands of traces: asked together (the AMI link carries
# them in one go), a hundred at a time, not one round trip after another.
ASKED_AT_ONCE = 100


class Trace(StrEnum):
    NO_OPERATOR = "no-operator"
    OPT_OUT = "opt-out"


async def read(pbx: Pbx, attempts: Iterable[tuple[int, str]]) -> dict[int, Trace] | None:
    """The traces these attempts (id, phone) left, by attempt id (none: not in the answer); None when the
    PBX cannot be asked, so that nothing is closed on a guess. A trace naming another number was left by
    another store's attempt of the same id (a store started afresh against the same Asterisk): not ours."""
    attempts = list(attempts)
    values: list[str | None] = []
    for start in range(0, len(attempts), ASKED_AT_ONCE):
        try:
            values += await asyncio.gather(*(pbx.db_get(FAMILY, str(attempt_id))
                                             for attempt_id, _ in attempts[start:start + ASKED_AT_ONCE]))
        except PbxError as exc:
            log.warning("cannot read what the dialplan wrote for %d attempt(s): %s", len(attempts), exc)
            return None
    found: dict[int, Trace] = {}
    for (attempt_id, phone), value in zip(attempts, values, strict=True):
        if value is None:
            continue
        what, _, named = value.partition(" ")
        if named.strip() and named.strip() != phone:
            log.warning("attempt %s: AstDB %s/%s = %r names another number than %s; left alone (an older "
                        "store's call)", attempt_id, FAMILY, attempt_id, value, phone)
            continue
        try:
            found[attempt_id] = Trace(what)
        except ValueError:
            log.warning("attempt %s: AstDB %s/%s holds %r, not one of %s; taken as answered without operator",
                        attempt_id, FAMILY, attempt_id, value, ", ".join(Trace))
            found[attempt_id] = Trace.NO_OPERATOR
    return found


async def forget(pbx: Pbx, attempt_ids: Iterable[int]) -> None:
    """Delete traces whose outcome the store now holds. A trace left behind (link down, or an AMI user
    without the ``system`` write class DBDel needs) is harmless: its attempt is closed and never read
    again."""
    for attempt_id in attempt_ids:
        try:
            await pbx.db_del(FAMILY, str(attempt_id))
        except PbxError as exc:
            log.info("AstDB %s/%s left in place (%s): its attempt is closed, it is never read again",
                     FAMILY, attempt_id, exc)
