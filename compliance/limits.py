"""The legal figures of a campaign's jurisdiction, each defined once: the abandonment cap and its window,
the safe-harbor seconds, the minimum ring. A setting may tighten them, never loosen them.

Pacing, validation, the compliance report and the simulator read them from here. Calling windows and
contact caps are the presets' own (``compliance.presets``); the figures below sit beside them per preset.

Sources:
- US: FCC 47 CFR 64.1200(a)(7) — at most 3 % of live answers abandoned per campaign over 30 days, a call
  counting as abandoned when no live representative takes it within 2 s of the completed greeting; and
  64.1200(a)(6) — an unanswered call rings at least 15 s or four rings. The FTC rule (16 CFR 310.4(b)(4))
  says the same.
- UK: Ofcom's revised statement of policy on persistent misuse (2016) — 3 % of live calls per campaign over
  24 hours, 2 s to connect, 15 s of ringing.
- Russia has no statute on abandoned calls; with the RU preset, and with no preset at all, the dialer holds
  itself to the strictest cap and timing above, over the longer window (it counts more calls), and says so.
We start the 2 s at answer, not at the end of the greeting: stricter, and detection time counts against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from compliance.presets import preset as find_preset
from compliance.verdict import ComplianceError


class LegalLimitError(ComplianceError, ValueError):
    """A setting that would loosen a legal figure; the message names the setting, the limit and the rule."""


@dataclass(frozen=True)
class LegalLimits:
    jurisdiction: str          # the preset's name, or "no preset"
    abandon_cap: float         # share of live answers
    abandon_window: timedelta
    abandon_source: str
    max_wait_s: float          # answer → operator (safe harbor)
    min_ring_s: float          # an unanswered call rings at least this long
    timing_source: str

    @property
    def preset(self) -> str | None:
        return None if self is _NONE else self.jurisdiction

    @property
    def the(self) -> str:
        """How a message names whose figure it is: "the US limit"; without a preset just "the limit" (its
        source then says it is the dialer's own), never "the no preset limit"."""
        return "the" if self.preset is None else f"the {self.jurisdiction}"

    @property
    def window_hours(self) -> float:
        return self.abandon_window / timedelta(hours=1)

    def describe(self) -> str:
        """One line for `dialer campaign show` and the report: even without a preset a campaign says its cap."""
        return (f"abandonment cap {self.abandon_cap:.0%} over {_window(self.abandon_window)} ({self.abandon_source}); "
                f"{self.max_wait_s:g} s to an operator, ring at least {self.min_ring_s:g} s ({self.timing_source})")


_US = LegalLimits("US", 0.03, timedelta(days=30), "47 CFR 64.1200(a)(7)", 2.0, 15.0, "47 CFR 64.1200(a)(6)-(7)")
_UK = LegalLimits("UK", 0.03, timedelta(hours=24), "Ofcom persistent-misuse policy", 2.0, 15.0,
                  "Ofcom persistent-misuse policy")
_OWN = "no statute: the dialer's own limit"
_RU = LegalLimits("RU", 0.03, timedelta(days=30), _OWN, 2.0, 15.0, _OWN)
_NONE = LegalLimits("no preset", 0.03, timedelta(days=30), _OWN, 2.0, 15.0, _OWN)
_LIMITS = {"US": _US, "UK": _UK, "RU": _RU}


def legal_limits(preset: str | None) -> LegalLimits:
    """The limits of a compliance preset (``None``: no preset). An unknown name is refused by the preset
    lookup, naming the choices."""
    if not preset:
        return _NONE
    return _LIMITS[find_preset(preset).name]


def check_pacing(pacing: Mapping[str, Any], limits: LegalLimits) -> None:
    """Refuse pacing settings that loosen a legal figure: a higher cap, ``target_abandon`` at or above
    it or ``max_hour_abandon`` above it, a longer window (holding every shorter window to the cap holds
    the longer one too, not the reverse), a longer safe harbor."""
    cap = pacing.get("abandon_cap")
    if cap is not None and float(cap) > limits.abandon_cap:
        raise _above("abandon_cap", cap, limits.abandon_cap, limits, limits.abandon_source)
    for key in ("target_abandon", "optimize_target"):
        value = pacing.get(key)
        if key == "optimize_target" and pacing.get("optimize", "abandon") != "abandon":
            continue
        if value is not None and float(value) >= limits.abandon_cap:
            raise LegalLimitError(f"{key} {float(value):g} is not below {limits.the} abandonment cap of "
                                  f"{limits.abandon_cap:g} ({limits.abandon_source})")
    hour = pacing.get("max_hour_abandon")
    if hour is not None and float(hour) > limits.abandon_cap:
        raise _above("max_hour_abandon", hour, limits.abandon_cap, limits, limits.abandon_source)
    window = pacing.get("window_hours")
    if window is not None and float(window) > limits.window_hours:
        raise _above("window_hours", window, limits.window_hours, limits, limits.abandon_source)
    wait = pacing.get("safe_harbor_s")
    if wait is not None and float(wait) > limits.max_wait_s:
        raise _above("safe_harbor_s", wait, limits.max_wait_s, limits, limits.timing_source)


def check_ring(ring_timeout_s: float, limits: LegalLimits) -> None:
    """Refuse a ring timeout under the jurisdiction's minimum ring: the law lets the dialer give up on an
    unanswered call only after it has rung that long."""
    if ring_timeout_s < limits.min_ring_s:
        raise LegalLimitError(f"ring_timeout_s {ring_timeout_s:g} is below {limits.the} minimum ring "
                              f"of {limits.min_ring_s:g} s ({limits.timing_source})")


def check_safe_harbor(safe_harbor_s: float, limits: LegalLimits) -> None:
    """Refuse a safe-harbor wait longer than the law's seconds from answer to operator (or not above 0)."""
    if not 0 < safe_harbor_s <= limits.max_wait_s:
        raise LegalLimitError(f"safe_harbor_s {safe_harbor_s:g} must be above 0 and at most {limits.the} "
                              f"limit of {limits.max_wait_s:g} s ({limits.timing_source})")


def within_limits(pacing: Mapping[str, Any], limits: LegalLimits) -> dict[str, Any]:
    """The pacing document as the engine may dial with it: every legal figure at most the limit, and the cap
    and safe harbor the law's own where the campaign set none (pacing's defaults are a model's, for
    simulations). Settings are checked when they are made; this holds even when the preset was made stricter
    afterwards."""
    held = {"abandon_cap": limits.abandon_cap, "safe_harbor_s": limits.max_wait_s, **pacing}
    for key, limit in (("abandon_cap", limits.abandon_cap), ("window_hours", limits.window_hours),
                       ("safe_harbor_s", limits.max_wait_s)):
        if key in held and float(held[key]) > limit:
            held[key] = limit
    cap = float(held.get("abandon_cap", limits.abandon_cap))
    if "target_abandon" in held and float(held["target_abandon"]) >= cap:
        held["target_abandon"] = cap * 5 / 6          # the usual distance of the setpoint under the cap
    if held.get("max_hour_abandon") is not None and float(held["max_hour_abandon"]) > cap:
        held["max_hour_abandon"] = cap                # a smoothness setting only ever tightens the cap
    return held


def _above(setting: str, value: Any, limit: float, limits: LegalLimits, source: str) -> LegalLimitError:
    return LegalLimitError(
        f"{setting} {float(value):g} is above {limits.the} limit of {limit:g} ({source})")


def _window(window: timedelta) -> str:
    if window >= timedelta(days=2):
        return f"{window.days} days"
    return f"{window / timedelta(hours=1):g} h"
