"""Each dial's chance of a live answer, from what the claim says of its lead (pacing.answer_model).

At dial time the engine knows the lead's category in the campaign's strategy, which attempt this is, the
hour in the callee's own zone and whether the number answered before: ``features_of`` turns a claimed lead
into ``DialFeatures``; ``AnswerChances`` (one per campaign) gives the call its chance, learns from how it
ended, and gives the chance of the next calls (those of the last leads claimed: a claim takes leads of one
kind, and a change of kind, such as the strategy moving from cold calls to callbacks, shows in the first
call of the new kind). The chance of each call ringing is the one it was given when dialed, kept by the
live floor beside its ring time (``dialer/sections.py``), so a decision reads it without asking the model
again for thousands of calls. (``dialer simulate`` asks the model again for each ringing call: on a ring
of under a minute the two differ little.)
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.call import Call
from lists.leads import ClaimedLead
from pacing.answer_model import AnswerModel
from pacing.dial_features import DialFeatures


def local_hour(now: datetime, zone: str | None, fallback: str) -> int:
    """The hour of ``now`` in the callee's zone (the campaign's when the lead has none or an unknown one)."""
    for name in (zone, fallback):
        if name:
            try:
                return now.astimezone(ZoneInfo(name)).hour
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return now.hour


def features_of(lead: ClaimedLead, now: datetime, campaign_zone: str) -> DialFeatures:
    """What pacing is told of this dial. ``lead.attempts`` already counts it (the claim adds it)."""
    answered = 0
    if lead.contact_history is not None:
        answered = sum(1 for talked in lead.contact_history[1] if talked)
    return DialFeatures(category=lead.category, attempt=max(lead.attempts, 1),
                        local_hour=local_hour(now, lead.timezone, campaign_zone),
                        answered_before=answered, dialed_before=max(lead.attempts - 1, 0))


class AnswerChances:
    """One campaign's answer model, and the chances the snapshot carries."""

    def __init__(self, model: AnswerModel | None = None) -> None:
        self.model = model or AnswerModel()
        self._next: tuple[float, ...] = ()
        self.next_category: str | None = None     # the category of the last lead claimed: what is dialed next

    def dialed(self, call: Call, features: DialFeatures) -> None:
        call.features = features
        call.answer_p = self.model.probability(features)
        self._next = (call.answer_p,)
        self.next_category = features.category

    def ended_ringing(self, now: float, call: Call, live: bool) -> None:
        """The call stopped ringing: answered by a person (``live``) or not."""
        if call.features is not None:
            self.model.observe(now, call.features, live)

    def next_calls(self) -> tuple[float, ...]:
        return self._next
