"""A lead's numbers: which one the next attempt dials.

A lead may have several numbers (main, then the alternates of the file's other phone columns). As
dialers do when a list has them (VICIdial's "auto-alt-dial" is the common model), a number that did not
reach the person — busy, no answer, congestion, failed, an answering machine — hands the next attempt to
the lead's next number, round the list. A number the network says does not exist or is disconnected
is marked dead and never dialed again; a number on a do-not-call list is skipped. A callback keeps the
number the customer gave while that number lives: it is a promise to call *there*.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

# Q.850 causes that say the number itself is wrong, not that the network or the callee is busy:
# 1 unallocated (unassigned) number, 2 no route to the specified transit network, 3 no route to
# destination, 22 number changed, 28 invalid number format (incomplete number). Congestion (34),
# out of order (27, 38) or temporary failure (41) say nothing about the number: it is tried again.
DEAD_NUMBER_CAUSES = frozenset({1, 2, 3, 22, 28})
# Outcomes after which the next attempt tries the next number (abandoned and dropped calls reached a
# person on this number: it stays).
MOVE_ON = frozenset({"busy", "no_answer", "congestion", "failed", "machine"})


def is_dead(outcome: str, cause: int | None) -> bool:
    """The attempt showed the number cannot be reached at all."""
    return outcome in ("congestion", "failed") and cause in DEAD_NUMBER_CAUSES


def next_number(numbers: Sequence[str], dialed: str, outcome: str, *, dead: Collection[str],
                barred: Collection[str], keep: bool = False) -> str | None:
    """The number the next attempt dials, or None when the lead has no number left to dial.

    ``numbers``: the lead's own, main first. ``dialed``: the number this attempt dialed (maybe one a
    callback gave, not in ``numbers``). ``dead`` and ``barred`` (do-not-call) are never chosen. ``keep``:
    stay on ``dialed`` while it is usable (a callback's number)."""
    usable = [n for n in numbers if n not in dead and n not in barred]
    if dialed not in dead and dialed not in barred and (keep or outcome not in MOVE_ON):
        return dialed
    if not usable:
        return None
    if dialed not in numbers:
        return usable[0]
    start = list(numbers).index(dialed)
    for step in range(1, len(numbers) + 1):
        candidate = numbers[(start + step) % len(numbers)]
        if candidate in usable:
            return candidate
    return None
