"""How one engine talks to its PBX: context names and channel templates of config/asterisk/."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EngineConfig:
    name: str = "engine-1"
    pbx_name: str = "asterisk-1"
    tick_s: float = 0.25                  # pacing decides at least this often (and on every event)
    max_calls_per_round: int = 200        # claims and Originates per dialing round (bursts wait a round)
    lease_s: float = 600.0                # a claim lives this long unless the engine heart-beats
    heartbeat_s: float = 30.0
    record_linger_s: float = 0.05         # the recorder gathers writes this long per transaction
    wrap_up_max_s: float = 120.0          # after-call work ends by itself after this long
    safe_harbor_margin_s: float = 0.2     # Redirect to the message this much before the legal limit
    operator_channel_template: str = "PJSIP/{ext}"
    answered_context: str = "dialer-answered"
    handoff_context: str = "operator-join"
    safe_harbor_context: str = "dialer-safeharbor"
    rating_context: str = "dialer-rating"
    operators_context: str = "operators"
    phone_ring_s: float = 30.0            # an operator's phone rings this long (login, call-back) before giving up
    phone_call_back_s: float = 2.0        # a phone that hung up is called back this long after
    # People logged out by a clean stop are logged in again by a start this soon after it (an upgrade, a
    # restart); later they may have gone home, and log in themselves.
    restore_logins_s: float = 900.0
    # Compare the live floor with a full rebuild after every event and decision (dialer/floor_check.py):
    # for tests and debugging, it walks every call and operator each time.
    check_floor: bool = field(default_factory=lambda: _flag("DIALER_CHECK_FLOOR"))


def _flag(name: str) -> bool:
    """A switch in the environment: 1 on, 0 or unset off; anything else is refused, not read as off."""
    value = os.environ.get(name, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{name}={value!r}: give 1 (on) or 0 (off)")
    return value == "1"
