"""A campaign group's own optimization target (operator wait or busy factor, the pool's figures) applied to
the pool's plan. Shared by the engine's group loop and the group simulation, so both pace alike.

The pool's ``TargetController`` turns the target into a pace (see ``pacing.targets``): at pace 1 the plan
is unchanged; below, the calls beyond what the members' careful (progressive) settings would place are
released at that pace, never more than the plan wants, and given to the members the plan favours most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pacing.pool import Member, Pool, plan
from pacing.targets import TargetController


def paced_plan(now: float, pool: Pool, members: Sequence[Member], careful: Sequence[Member],
               used_s: Mapping[str, float], target: TargetController | None) -> dict[str, int]:
    """``plan`` under the pool's target. ``careful``: the same members dialing progressive."""
    if target is None or target.pace >= 1.0 or not members:
        return plan(pool, members, used_s)
    base = plan(pool, careful, used_s)
    counts: dict[str, int] = {}

    def wanted() -> int:
        counts.update(plan(pool, members, used_s))
        return sum(counts.values())

    lines = min(m.settings.max_lines_per_operator for m in members)
    in_flight = sum(len(m.snapshot.ringing_elapsed_s) + m.snapshot.waiting_answered for m in members)
    most = math.floor(lines * pool.logged_in) - in_flight
    extra = target.throttle(now, sum(base.values()), most, wanted) - sum(base.values())
    for name in sorted(counts, key=lambda n: base[n] - counts[n]):     # most extra first
        take = min(max(extra, 0), counts[name] - base[name])
        base[name] += take
        extra -= take
    return base
