"""Live tuning: turn ``key=value`` words into settings, and check them with pacing's own rules."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from dialer.floor import ROUTING_MODES
from pacing.policies import PacingSettings

_TYPES = {f.name: f.type for f in fields(PacingSettings)}


def parse_assignments(words: list[str]) -> dict[str, Any]:
    """``["target_abandon=0.02", "mode=predictive"]`` → typed values; unknown names are refused by name."""
    changes: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{word!r} is not setting=value")
        if key == "routing":
            if raw.strip() not in ROUTING_MODES:
                raise ValueError(f"routing must be one of {', '.join(ROUTING_MODES)}, got {raw!r}")
            changes[key] = raw.strip()
            continue
        if key not in _TYPES:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted([*_TYPES, 'routing']))}")
        kind = str(_TYPES[key])
        try:
            changes[key] = int(raw) if kind == "int" else float(raw) if kind == "float" else raw.strip()
        except ValueError:
            raise ValueError(f"{key} must be a number, got {raw!r}") from None
    return changes


def validate_pacing(mode: str, pacing: dict[str, Any]) -> None:
    unknown = set(pacing) - set(_TYPES) - {"routing"}
    if pacing.get("routing", ROUTING_MODES[0]) not in ROUTING_MODES:
        raise ValueError(f"routing must be one of {', '.join(ROUTING_MODES)}")
    pacing = {k: v for k, v in pacing.items() if k != "routing"}
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    PacingSettings(mode=mode, **pacing)
