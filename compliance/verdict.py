"""The answer every compliance rule gives: allowed or not, and why.

The reason is written for a person (the log, the supervisor's view, the compliance report), so it
names the rule and the local time or count that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ComplianceError(Exception):
    """A compliance rule was asked something it cannot answer safely; the message says what to fix."""


class NaiveMomentError(ComplianceError, ValueError):
    """Calling hours are about the callee's wall clock; a moment without a time zone cannot be placed."""

    def __init__(self, moment: datetime) -> None:
        super().__init__(
            f"moment {moment.isoformat()} has no time zone; pass an aware datetime (e.g. from the engine's clock)"
        )


def require_aware(moment: datetime) -> None:
    """Raise ``NaiveMomentError`` for a moment without a time zone: Python would read it in the server's zone,
    and a rule must place it in the callee's."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise NaiveMomentError(moment)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str) -> Verdict:
    """A yes, with the reason a person reads in the log and the report."""
    return Verdict(True, reason)


def deny(reason: str) -> Verdict:
    """A no, with the reason that names the rule that refused."""
    return Verdict(False, reason)
