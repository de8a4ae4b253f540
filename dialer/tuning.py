"""Live tuning: turn ``key=value`` words into settings, and check them with pacing's own rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from functools import partial
from typing import Any

from compliance.limits import LegalLimits, check_pacing, legal_limits
from dialer.floor import ROUTING_MODES
from lists.campaigns import Campaign
from pacing.policies import PacingSettings

_TYPES = {f.name: f.type for f in fields(PacingSettings)}
# Settings of the campaign's floor that live beside the pacing ones (not pacing's business).
CAMPAIGN_SETTINGS = ("routing", "wrap_up_max_s", "servers")
SERVER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def validator_for(limits: LegalLimits) -> Callable[[str, dict[str, Any]], None]:
    """``validate_pacing`` bound to one campaign's legal limits, for ``lists.campaigns.set_pacing``."""
    return partial(validate_pacing, limits=limits)


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
        if key == "servers":      # the Asterisk servers the campaign may dial through; empty: any
            names = [name.strip() for name in raw.split(",") if name.strip()]
            bad = [name for name in names if not SERVER_NAME.match(name)]
            if bad:
                raise ValueError(f"servers must be server names separated by commas, got {bad[0]!r}")
            changes[key] = names
            continue
        if key == "wrap_up_max_s":
            try:
                changes[key] = float(raw)
            except ValueError:
                raise ValueError(f"wrap_up_max_s must be a number of seconds, got {raw!r}") from None
            if changes[key] <= 0:
                raise ValueError("wrap_up_max_s must be positive")
            continue
        if key not in _TYPES:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted([*_TYPES, *CAMPAIGN_SETTINGS]))}")
        kind = str(_TYPES[key])
        if kind == "float | None" and raw.strip().lower() in ("", "none"):
            changes[key] = None            # back to the default (e.g. optimize_target=none)
            continue
        try:
            changes[key] = int(raw) if kind == "int" else float(raw) if kind.startswith("float") else raw.strip()
        except ValueError:
            raise ValueError(f"{key} must be a number, got {raw!r}") from None
    return changes


def tuned(old: Campaign, new: Campaign) -> str:
    """What a live change of a running campaign changed, "setting old → new, …" (empty: no setting)."""
    before, after = {"mode": old.mode, **old.pacing}, {"mode": new.mode, **new.pacing}
    return ", ".join(f"{key} {before.get(key, 'default')} → {after.get(key, 'default')}"
                     for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key))


def validate_pacing(mode: str, pacing: dict[str, Any], limits: LegalLimits | None = None) -> None:
    """Refuse a pacing document by the setting's name: unknown keys, values out of pacing's ranges, and
    legal figures loosened beyond ``limits`` (the campaign's preset; none given: the dialer's own)."""
    check_pacing(pacing, limits or legal_limits(None))
    unknown = set(pacing) - set(_TYPES) - set(CAMPAIGN_SETTINGS)
    if pacing.get("routing", ROUTING_MODES[0]) not in ROUTING_MODES:
        raise ValueError(f"routing must be one of {', '.join(ROUTING_MODES)}")
    servers = pacing.get("servers", [])
    if not isinstance(servers, list) or not all(isinstance(s, str) and SERVER_NAME.match(s) for s in servers):
        raise ValueError("servers must be a list of server names")
    pacing = {k: v for k, v in pacing.items() if k not in CAMPAIGN_SETTINGS}
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    PacingSettings(mode=mode, **pacing)
