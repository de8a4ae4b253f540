"""The engine's running totals: calls originated, answered, connected, abandoned and never dialed, for the
engine and per campaign (metrics, the control plane's figures and the demo read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from dialer.call import Call


@dataclass
class EngineStats:
    originated: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    not_dialed: int = 0


@dataclass
class Counts:
    total: EngineStats = field(default_factory=EngineStats)
    by_campaign: dict[int, EngineStats] = field(default_factory=dict)

    def count(self, campaign_id: int, what: str) -> None:
        for stats in (self.total, self.by_campaign.setdefault(campaign_id, EngineStats())):
            setattr(stats, what, getattr(stats, what) + 1)

    def count_call(self, call: Call, what: str) -> None:
        """``answered``, ``connected`` or ``abandoned`` of one call. Its connect or abandon counts only when
        its answer was counted here, so the totals read as a funnel (connected + abandoned ≤ answered): a
        call answered before this engine started, or dialed by hand (never a dialer's answer), is left out."""
        if what == "answered":
            if call.answer_counted:
                return
            call.answer_counted = True
        elif not call.answer_counted:
            return
        self.count(call.campaign_id, what)

    def campaign_totals(self, campaign_id: int) -> dict[str, int]:
        return asdict(self.by_campaign.setdefault(campaign_id, EngineStats()))
