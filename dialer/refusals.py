"""A campaign whose calls the PBX refuses one after another is paused, with the reason.

A wrong channel template (``Local/{phone}@pstn`` where the context's patterns take digits only, a trunk
name misspelt) makes Asterisk fail every Originate at once: Reason 0 or 1, no ring, no DialEnd. Left alone,
the pacer would claim the whole list in seconds and record every lead ``failed``. A network's own
failures (busy, congestion, no answer) and any answered call break the run: only calls that died before
ringing count, and only those whose end the PBX told: a call whose channel a recovery found gone (it ended
while the AMI link was down, or its Originate was lost with the link) says nothing about the route, and
neither counts nor breaks the run. Otherwise one link drop under ten thousand ringing calls, all ending
unseen as ``failed``, would pause a healthy campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dialer.call import Call

log = logging.getLogger(__name__)

IN_A_ROW = 10     # a healthy route fails a call now and then, never ten in a row


class RefusedCalls:
    def __init__(self, pause: Callable[[int, str], None], limit: int = IN_A_ROW) -> None:
        self._pause = pause
        self._limit = limit
        self._in_a_row: dict[int, int] = {}

    def ended(self, call: Call, channel_template: str) -> None:
        campaign_id = call.campaign_id
        if call.end_unseen:
            return
        refused = call.outcome == "failed" and call.answered_at is None and call.dial_status is None
        if not refused:
            self._in_a_row[campaign_id] = 0
            return
        count = self._in_a_row.get(campaign_id, 0) + 1
        self._in_a_row[campaign_id] = count
        if count == self._limit:
            reason = (f"the PBX refused {count} calls in a row before they rang (last: Originate Reason "
                      f"{call.originate_reason}, cause {call.hangup_cause}); check the channel template "
                      f"{channel_template!r} (a Local context whose patterns take digits wants {{digits}}, "
                      f"not {{phone}}) and the trunk")
            log.error("campaign %s: %s: paused", campaign_id, reason)
            self._pause(campaign_id, reason)
            self._in_a_row[campaign_id] = 0
