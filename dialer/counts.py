"""The engine's running totals: calls originated, answered, connected, abandoned and never dialed, for the
engine and per campaign (metrics, the control plane's figures and the demo read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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

    def campaign_totals(self, campaign_id: int) -> dict[str, int]:
        return asdict(self.by_campaign.setdefault(campaign_id, EngineStats()))
