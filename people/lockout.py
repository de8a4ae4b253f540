"""When failed logins lock an account: five in a row lock it for five minutes (a guessing attack gets
about 1,400 tries a day per name instead of thousands a second, and a person who forgot is not locked
out for long). A successful login clears the count."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=5)


@dataclass(frozen=True)
class Standing:
    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> Standing:
        failures = self.failures + 1
        if failures >= MAX_FAILURES:
            return Standing(0, now + LOCK_FOR)
        return Standing(failures, None)

    def minutes_left(self, now: datetime) -> int:
        if self.locked_until is None:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds() / 60))


CLEAR = Standing()
