"""The orders in which Asterisk 22 sends the burst that ends a call never answered.

A failed Originate ends with one burst, within 1–2 ms: its OriginateResponse, the Hangup of each half
of the Local channel (``near`` = ;1, ``far`` = ;2) and, for busy and congestion, DialEnd. Their order is
a race between Asterisk's threads and changes from run to run; these are the orders recorded from a
real Asterisk 22.10.1 (tests/fixtures/asterisk/transcripts/faults/README.md), with how often each came.
The simulator picks one per call with its own seeded random (a seed gives the same orders), or a test
forces one by its index, so that every order the engine must survive can be produced on purpose.
"""

from __future__ import annotations

import random
from typing import Literal

Kind = Literal["no_answer", "busy", "congestion"]
Step = Literal["response", "dial_end", "near", "far"]
Order = tuple[Step, ...]

# (order, times seen). A no-answer timeout sends no DialEnd at all.
SEEN: dict[Kind, tuple[tuple[Order, int], ...]] = {
    "no_answer": (
        (("response", "near", "far"), 7),
        (("far", "near", "response"), 1),
        (("near", "response", "far"), 1),
    ),
    # DialEnd came first in every busy call kept; OriginateResponse never after both Hangups.
    "busy": (
        (("dial_end", "response", "near", "far"), 3),
        (("dial_end", "response", "far", "near"), 2),
        (("dial_end", "near", "response", "far"), 2),
        (("dial_end", "far", "response", "near"), 4),
    ),
    "congestion": (
        (("dial_end", "response", "near", "far"), 4),
        (("dial_end", "response", "far", "near"), 2),
        (("dial_end", "far", "response", "near"), 2),
        (("response", "dial_end", "far", "near"), 2),
        (("response", "dial_end", "near", "far"), 1),
    ),
}


class BurstOrders:
    """Chooses the order of each failed call's burst: weighted as seen (``seed``), or always the
    ``force``-th seen order of its kind (wrapping round), for tests that need a given one."""

    def __init__(self, *, seed: int | None = None, force: int | None = None) -> None:
        if force is not None and force < 0:
            raise ValueError(f"burst order index must be >= 0, not {force}")
        self._random = random.Random(seed)
        self._force = force

    def pick(self, kind: Kind, *, far: bool = True) -> Order:
        """The order for one call; without a far half (a trunk channel) its ``far`` step is left out."""
        seen = SEEN[kind]
        if self._force is not None:
            order = seen[self._force % len(seen)][0]
        else:
            order = self._random.choices([o for o, _ in seen], [n for _, n in seen])[0]
        return order if far else tuple(step for step in order if step != "far")
