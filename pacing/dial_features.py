"""What the dialer knows about a number at the moment it dials it.

The answer rate of a campaign is not one figure: a callback that a person asked for is answered far more
often than a cold call, a third attempt less often than a first, and the hour in the callee's own zone
matters. The engine knows all of this before the phone rings, so pacing is given it with every dial
instead of learning each change from the abandons it causes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DialFeatures:
    """One dial as pacing sees it: plain values, no store rows."""
    category: str = ""          # the lead's category in the campaign's strategy ("cold", "callback", …)
    attempt: int = 1            # 1 for the first dial of this lead
    local_hour: int = 12        # hour of the day in the callee's zone, 0-23
    answered_before: int = 0    # earlier dials of this number answered by a person
    dialed_before: int = 0      # earlier dials of this number
