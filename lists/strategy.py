"""A campaign's strategy: which lead category is dialed first at which time of day.

Call centres call new (cold) leads in the morning when decision makers pick up, and keep the afternoon
for the people who asked to be called back or were sent information. A strategy is a list of
time-of-day windows in the campaign's time zone; each window orders the four categories. Outside every
window the ``otherwise`` order holds (calling hours themselves are compliance's business, not this).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from lists.errors import StrategyError

CATEGORIES = ("cold", "callback", "follow_up", "retry")


@dataclass(frozen=True)
class Window:
    start: time
    end: time
    order: tuple[str, ...]

    def holds(self, at: time) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Strategy:
    windows: tuple[Window, ...]
    otherwise: tuple[str, ...] = ("callback", "follow_up", "retry", "cold")

    def order_at(self, now: datetime, timezone: str) -> tuple[str, ...]:
        """The category order in force at ``now`` (aware) in the campaign's zone."""
        local = now.astimezone(ZoneInfo(timezone)).time()
        for window in self.windows:
            if window.holds(local):
                return window.order
        return self.otherwise

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": [
                {"from": w.start.strftime("%H:%M"), "to": w.end.strftime("%H:%M"), "order": list(w.order)}
                for w in self.windows
            ],
            "otherwise": list(self.otherwise),
        }


DEFAULT = Strategy(
    windows=(
        Window(time(9), time(13), ("cold", "callback", "follow_up", "retry")),
        Window(time(13), time(20), ("callback", "follow_up", "retry", "cold")),
    )
)


def complete_order(order: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    """The given categories first, the unnamed ones after them in the canonical order."""
    unknown = [c for c in order if c not in CATEGORIES]
    if unknown:
        raise StrategyError(f"{where}: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                            f"{', '.join(unknown)} (known: {', '.join(CATEGORIES)})")
    if len(set(order)) != len(order):
        raise StrategyError(f"{where}: a category is named twice in {list(order)}")
    return tuple(order) + tuple(c for c in CATEGORIES if c not in order)


def _clock(text: str, where: str) -> time:
    try:
        hours, minutes = text.split(":")
        if text == "24:00":
            return time.max
        return time(int(hours), int(minutes))
    except ValueError:
        raise StrategyError(f"{where}: {text!r} is not a time of day HH:MM") from None


def parse_window(text: str) -> Window:
    """``09:00-13:00=cold,callback`` (the CLI form)."""
    span, sep, order = text.partition("=")
    start, dash, end = span.partition("-")
    if not sep or not dash:
        raise StrategyError(f"window {text!r} must look like 09:00-13:00=cold,callback,follow_up,retry")
    return _window(start.strip(), end.strip(), [c.strip() for c in order.split(",") if c.strip()], text)


def _window(start: str, end: str, order: list[str], where: str) -> Window:
    window = Window(_clock(start, where), _clock(end, where), complete_order(order, where))
    if window.start >= window.end:
        raise StrategyError(f"{where}: the window must start before it ends (no windows across midnight)")
    return window


def build(windows: list[Window], otherwise: tuple[str, ...] | None = None) -> Strategy:
    ordered = sorted(windows, key=lambda w: w.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise StrategyError(f"windows {a.start:%H:%M}-{a.end:%H:%M} and {b.start:%H:%M}-{b.end:%H:%M} overlap")
    return Strategy(tuple(ordered), otherwise or DEFAULT.otherwise)


def from_json(document: dict[str, Any] | None) -> Strategy:
    """The stored form (campaign.strategy); an empty document means the default strategy."""
    if not document:
        return DEFAULT
    try:
        windows = [_window(w["from"], w["to"], list(w["order"]), f"strategy window {w}")
                   for w in document.get("windows", [])]
    except (KeyError, TypeError):
        raise StrategyError("each strategy window needs 'from', 'to' and 'order'") from None
    otherwise = document.get("otherwise")
    return build(windows, complete_order(otherwise, "strategy 'otherwise'") if otherwise else None)


async def load(conn: asyncpg.Connection, campaign_id: int) -> Strategy:
    return from_json(_document(await conn.fetchval("SELECT strategy FROM campaign WHERE id = $1", campaign_id)))


async def save(conn: asyncpg.Connection, campaign_id: int, strategy: Strategy, *, actor: str, now: datetime) -> None:
    """Store the strategy and write who changed it to the audit trail; running engines hear of it by the
    campaign's NOTIFY and claim in the new order from their next round."""
    old = await conn.fetchval("SELECT strategy FROM campaign WHERE id = $1", campaign_id)
    new = json.dumps(strategy.to_json())
    async with conn.transaction():
        await conn.execute("UPDATE campaign SET strategy = $2::jsonb WHERE id = $1", campaign_id, new)
        await conn.execute(
            """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
               VALUES ($1, $2, $3, 'strategy', $4::jsonb, $5::jsonb)""",
            now, actor, campaign_id, old if isinstance(old, str) else json.dumps(old), new,
        )
        await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign_id))


def _document(value: object) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})
