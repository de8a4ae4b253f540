"""Pacing for a campaign group: one pool of operators, several campaigns dialing for it.

The free operators of the pool (minus the reserved ones) are the supply. How many calls the pool may have
ringing is one decision, because an answer of any campaign takes any free operator of the pool; which
campaign places the next call is another, taken call by call like weighted fair queueing: the campaign
furthest behind its share of the operators' handle time (talk + wrap-up) goes next, counting what its
calls in flight are expected to use, so a campaign whose callees answer less often simply places more
calls for the same share. Members without work drop out and their share flows to the others; among
members behind their share the higher priority goes first, which is what decides when capacity is short.

Abandonment stays per campaign: an answer that finds nobody free can be any campaign's, in proportion to
its answers, so every campaign sees about the same abandonment rate. The bound
E[overflow] ≤ α·E[answers] with the smallest α of the campaigns in the mix therefore keeps each one
within its own α (each campaign's own controller moves its α from its own ledger).

The pool dials as its most careful member: one progressive member (a campaign in fall-back near its cap,
or one still warming up) makes the whole pool progressive, since its calls would take the same risks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pacing.mixed_answers import CampaignLaw, checkpoints, law, safe_prefix
from pacing.policies import PacingSettings
from pacing.pool_queue import safe_prefix_queued
from pacing.snapshot import Snapshot


@dataclass(frozen=True)
class Member:
    name: str                       # campaign key (the engine uses str(campaign_id))
    share: float                    # > 0; weights, normalized over the members with work
    snapshot: Snapshot              # this campaign's calls in flight and estimates (its operators are ignored)
    settings: PacingSettings
    alpha: float | None = None      # from the campaign's own abandonment controller (None: target_abandon)
    priority: int = 0
    has_work: bool = True           # False: nothing dialable now, its share flows to the others


@dataclass(frozen=True)
class Pool:
    free_operators: int             # free and skilled for at least one member
    busy_elapsed_s: tuple[float, ...] = ()
    reserved: int = 0               # kept free for inbound or callbacks: never dialed for

    def __post_init__(self) -> None:
        if self.free_operators < 0 or self.reserved < 0:
            raise ValueError(f"free_operators ({self.free_operators}) and reserved ({self.reserved}) "
                             "cannot be negative")

    @property
    def supply(self) -> int:
        return max(0, self.free_operators - self.reserved)

    @property
    def logged_in(self) -> int:
        """Operators the pool dials for (the reserved ones excluded)."""
        return max(0, self.free_operators + len(self.busy_elapsed_s) - self.reserved)


def _in_flight(member: Member) -> int:
    return len(member.snapshot.ringing_elapsed_s) + member.snapshot.waiting_answered


def _handle_per_dial(member: Member) -> float:
    """Operator seconds one more dial of this campaign is expected to use."""
    est = member.snapshot.estimates
    return max(est.answer_rate, 0.01) * max(est.mean_talk_s + est.mean_wrap_s, 1.0)


def call_order(members: Sequence[Member], used_s: Mapping[str, float], calls: int) -> list[int]:
    """Which member (index into ``members``) places each of the next ``calls`` calls."""
    total_share = sum(m.share for m in members)
    weights = [m.share / total_share for m in members]
    cost = [_handle_per_dial(m) for m in members]
    handle = [max(m.snapshot.estimates.mean_talk_s + m.snapshot.estimates.mean_wrap_s, 1.0) for m in members]
    projected = [used_s.get(m.name, 0.0) + (len(m.snapshot.ringing_elapsed_s) * m.snapshot.estimates.answer_rate
                                            + m.snapshot.waiting_answered) * h
                 for m, h in zip(members, handle, strict=True)]
    order = []
    indices = range(len(members))
    priorities = [m.priority for m in members]
    for _ in range(calls):
        total = sum(projected)
        lags = [weights[i] * total - projected[i] for i in indices]
        best = max(indices, key=lambda i: (lags[i] > 1e-9, priorities[i], lags[i], -i))
        order.append(best)
        projected[best] += cost[best]
    return order


def _pool_mode(members: Sequence[Member]) -> str:
    modes = set()
    for m in members:
        mode = m.settings.mode
        if mode == "predictive" and m.snapshot.estimates.samples < m.settings.warmup_answers:
            mode = "progressive"
        modes.add(mode)
    for mode in ("progressive", "ratio"):
        if mode in modes:
            return mode
    return "predictive"


def _counts(members: Sequence[Member], order: Sequence[int]) -> dict[str, int]:
    out = {m.name: 0 for m in members}
    for i in order:
        out[members[i].name] += 1
    return out


def plan(pool: Pool, members: Sequence[Member], used_s: Mapping[str, float]) -> dict[str, int]:
    """New calls to originate now, per member name (every member is in the answer, 0 when it places none).

    ``used_s``: operator handle seconds each member's calls have used (a running total, or a forgetting one
    from ``ShareMeter`` so that a member back from having no work does not starve the others)."""
    answer = {m.name: 0 for m in members}
    dialing = [m for m in members if m.has_work and m.settings.mode != "preview" and m.share > 0]
    if not dialing or pool.free_operators < pool.reserved:
        return answer          # the reserve is short: the next operators to free refill it, nobody dials for them
    in_flight = sum(_in_flight(m) for m in members)
    lines = min(m.settings.max_lines_per_operator for m in dialing)
    room = max(0, math.floor(lines * pool.logged_in + 1e-9) - in_flight)
    progressive = max(0, min(pool.supply - in_flight, room))
    mode = _pool_mode(dialing)
    if mode == "progressive":
        calls = progressive
    elif mode == "ratio":
        ratio = min(m.settings.ratio for m in dialing if m.settings.mode == "ratio")
        calls = max(0, min(math.floor(ratio * pool.supply + 1e-9) - in_flight, room))
    elif room <= progressive or (pool.supply == 0 and not _queued(pool, dialing)):
        calls = progressive
    else:
        answer.update(_counts(dialing, _predictive_order(pool, members, dialing, used_s, room, progressive)))
        return answer
    answer.update(_counts(dialing, call_order(dialing, used_s, calls)))
    return answer


def _queued(pool: Pool, dialing: Sequence[Member]) -> bool:
    """Credit the busy operators (pacing.pool_queue) on pools up to the members' queue size, as a lone
    campaign does on its floor (pacing.policies.predictive), once every member's handle time is settled;
    larger pools count free operators only."""
    return all(m.settings.busy_credit and m.snapshot.estimates.handle_settled for m in dialing) and \
        pool.logged_in + pool.reserved <= min(m.settings.queue_max_operators for m in dialing)


def _predictive_order(pool: Pool, members: Sequence[Member], dialing: Sequence[Member],
                      used_s: Mapping[str, float], room: int, progressive: int) -> list[int]:
    """The longest run of calls, in share order, whose expected abandons stay within α of the answers.

    As a lone campaign (pacing.policies.predictive): the larger of the free-only exact law and, on pools up
    to the queue size, the queue that credits busy operators."""
    in_mix = [m for m in members if m in dialing or _in_flight(m) > 0]
    alpha = min(m.settings.target_abandon if m.alpha is None else m.alpha for m in in_mix)
    if alpha <= 0:
        return call_order(dialing, used_s, progressive)
    if not _queued(pool, dialing):
        order = call_order(dialing, used_s, _free_only_room(pool, members, dialing, alpha, room, progressive))
        return order[:max(progressive, min(_free_only_prefix(pool, members, order, dialing, alpha), len(order)))]
    order = call_order(dialing, used_s, room)
    index = [next(j for j, m in enumerate(members) if m is dialing[i]) for i in order]
    n = safe_prefix_queued(pool.free_operators - pool.reserved, pool.busy_elapsed_s,
                           [(m.snapshot, m.share) for m in members], index, alpha,
                           min(m.settings.safe_harbor_s for m in dialing))
    if n < len(order):
        n = max(n, _free_only_prefix(pool, members, order, dialing, alpha))
    return order[:max(progressive, min(n, len(order)))]


def _laws(members: Sequence[Member]) -> tuple[np.ndarray, dict[str, CampaignLaw]]:
    taus = checkpoints([m.snapshot.estimates for m in members])
    return taus, {m.name: law(m.snapshot.estimates, taus) for m in members}


def _free_only_room(pool: Pool, members: Sequence[Member], dialing: Sequence[Member], alpha: float, room: int,
                    progressive: int) -> int:
    """Past this many calls their mean answers alone overflow the free operators (E[(X−K)⁺] ≥ E[X] − K):
    no need to order or weigh more."""
    _, laws = _laws(members)
    base_answers = sum(laws[m.name].ringing(m.snapshot.ringing_elapsed_s)[1] for m in members)
    waiting = sum(m.snapshot.waiting_answered for m in members)
    slope = min(laws[m.name].new_p[-1] for m in dialing) - alpha * max(laws[m.name].new_answer for m in dialing)
    if slope > 0:
        room = min(room, max(progressive, math.ceil((pool.supply + alpha * (waiting + base_answers)) / slope) + 1))
    return room


def _free_only_prefix(pool: Pool, members: Sequence[Member], order: Sequence[int], dialing: Sequence[Member],
                      alpha: float) -> int:
    """Largest prefix of ``order`` safe against the operators free now only (exact mixed law)."""
    if pool.supply == 0:
        return 0
    taus, laws = _laws(members)
    ringing = [laws[m.name].ringing(m.snapshot.ringing_elapsed_s) for m in members]
    base = np.concatenate([terms for terms, _ in ringing]) if ringing else np.zeros((0, taus.size))
    base_answers = sum(expected for _, expected in ringing)
    waiting = sum(m.snapshot.waiting_answered for m in members)
    new_terms = np.array([laws[dialing[i].name].new_p for i in order]).reshape(len(order), taus.size)
    new_answers = np.array([laws[dialing[i].name].new_answer for i in order])
    return safe_prefix(base, waiting, base_answers, pool.supply, new_terms, new_answers, alpha)


class ShareMeter:
    """Operator handle seconds per member: what ``plan`` steers the shares on.

    Day totals make the steering an exact integral: a bias in the estimates (an answer rate a little
    off) is corrected by the totals themselves. But a campaign that had no leads for an hour would,
    once back, take every call until it had caught up; so a member that comes back (absent from the
    members with work at the last call, or new) is forgiven all but ``catch_up_s`` handle seconds of its
    debt — its unused share went to the others, as the group's rule says. A member that has work all
    along is never forgiven anything (forgiving its ordinary lag would bias its share down)."""

    def __init__(self, catch_up_s: float = 1800.0) -> None:
        if catch_up_s <= 0:
            raise ValueError(f"catch_up_s must be positive, got {catch_up_s}")
        self.catch_up_s = catch_up_s
        self._totals: dict[str, float] = {}
        self._present: set[str] = set()

    def add(self, now: float, name: str, seconds: float) -> None:
        """A call of ``name`` ended its handle time (talk + wrap-up) of ``seconds`` at ``now`` (day totals
        need no clock; ``now`` keeps the engine's and the simulation's calls alike)."""
        self._totals[name] = self._totals.get(name, 0.0) + max(seconds, 0.0)

    def used(self, now: float, shares: Mapping[str, float] | None = None) -> dict[str, float]:
        """Totals for ``plan``. ``shares``: the members that have work now, with their shares; without it no
        debt is forgiven (a member back from having no work catches up fully)."""
        if shares is None:
            return dict(self._totals)
        weight = sum(shares.values())
        if weight > 0:
            total = sum(self._totals.get(name, 0.0) for name in shares)
            for name, share in shares.items():
                floor = share / weight * total - self.catch_up_s
                if name not in self._present and self._totals.get(name, 0.0) < floor:
                    self._totals[name] = floor
        self._present = set(shares)
        return dict(self._totals)
