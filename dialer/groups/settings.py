"""``dialer group set`` words: the group's own settings beside the members' default pacing settings.

Pacing keys are parsed and checked by the same rules as ``dialer campaign set`` (``dialer.tuning``), so a
group's optimization target is refused or accepted exactly as a campaign's would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialer.tuning import parse_assignments

_TRUE = ("on", "true", "yes", "1")
_FALSE = ("off", "false", "no", "0")


@dataclass
class GroupChanges:
    reserved: int | None = None
    group_ledger: bool | None = None
    pacing: dict[str, Any] = field(default_factory=dict)   # None removes the key (``optimize=``)


def parse_group_assignments(words: list[str]) -> GroupChanges:
    """``["reserved=2", "group_ledger=on", "optimize=busy", "optimize_target=0.85"]`` → typed changes."""
    changes = GroupChanges()
    pacing_words = []
    for word in words:
        key, sep, raw = word.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise ValueError(f"{word!r} is not setting=value")
        if key == "reserved":
            if not raw.isdigit():
                raise ValueError(f"reserved must be a whole number of operators >= 0, got {raw!r}")
            changes.reserved = int(raw)
        elif key == "group_ledger":
            if raw.lower() not in (*_TRUE, *_FALSE):
                raise ValueError(f"group_ledger must be on or off, got {raw!r}")
            changes.group_ledger = raw.lower() in _TRUE
        elif key == "mode":
            raise ValueError("mode is a campaign's setting, not a group's (set it with `dialer campaign set`)")
        elif not raw:
            changes.pacing[key] = None
        else:
            pacing_words.append(f"{key}={raw}")
    changes.pacing.update(parse_assignments(pacing_words))
    return changes
