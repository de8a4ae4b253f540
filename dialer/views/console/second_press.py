"""A key whose action cannot be undone in the middle of a call asks first: the same key again, soon, does it."""

from __future__ import annotations

from datetime import datetime

# F10 (log out) sits beside F8/F9: during a call it hangs the customer up, so it is done only when pressed
# again within this many seconds for the same call.
CONFIRM_S = 5.0


class SecondPress:
    def __init__(self, within_s: float = CONFIRM_S) -> None:
        self.within_s = within_s
        self._asked: tuple[object, datetime] | None = None   # what was asked about, and when

    def confirmed(self, subject: object, now: datetime) -> bool:
        """True when this press confirms one made for ``subject`` less than ``within_s`` ago; otherwise this
        press asks (the caller says what a second press would do) and the answer is False."""
        asked, self._asked = self._asked, None
        if asked is not None and asked[0] == subject and (now - asked[1]).total_seconds() <= self.within_s:
            return True
        self._asked = (subject, now)
        return False
