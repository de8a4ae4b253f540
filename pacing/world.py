"""The world a dialer works against: callees who answer (or not) and operators who talk and wrap up.

One parameterized model serves three masters: the PBX simulator (through ``sample_callee``), the
fast simulation behind ``dialer simulate`` and the benchmarks. Figures are per dial; durations in
seconds. Defaults are those of the pacing benchmark's grid (ring to answer 5–20 s, no answer released at
25 s), so ``dialer simulate`` and the benchmark describe the same callees unless told otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Outcome = Literal["answer", "busy", "congestion", "no_answer"]
TalkDistribution = Literal["lognormal", "exponential", "gamma"]
TALK_DISTRIBUTIONS: tuple[TalkDistribution, ...] = ("lognormal", "exponential", "gamma")


class WorldError(ValueError):
    """A world that cannot exist (shares above 1, negative times …)."""


@dataclass(frozen=True)
class CalleeSample:
    outcome: Outcome
    ring_s: float          # until answer, or until busy/congestion/no-answer is reported
    talk_s: float          # conversation length if a person answers and reaches an operator
    machine: bool          # answered by a machine (only with outcome 'answer')
    patience_s: float      # how long an answered person waits in silence before hanging up


@dataclass(frozen=True)
class World:
    answer_rate: float = 0.3              # live person answers
    machine_rate: float = 0.0             # a machine answers
    busy_share: float = 0.10              # of the dials nobody answers
    congestion_share: float = 0.02        # of the dials nobody answers
    ring_min_s: float = 5.0               # ring time to answer ~ uniform(min, max)
    ring_max_s: float = 20.0
    no_answer_s: float = 25.0             # ring timeout: the dialer releases the call
    busy_s: float = 4.0
    congestion_s: float = 1.0
    talk_mean_s: float = 180.0
    talk_distribution: TalkDistribution = "lognormal"
    talk_sigma: float = 0.8               # sigma of log(talk) when lognormal; gamma takes the same spread
    wrap_s: float = 10.0                  # operator wrap-up after each call (constant)
    patience_mean_s: float = 60.0         # exponential patience of an answered person left in silence

    def __post_init__(self) -> None:
        if not 0 <= self.answer_rate <= 1 or not 0 <= self.machine_rate <= 1:
            raise WorldError("answer_rate and machine_rate must be within [0, 1]")
        if self.answer_rate + self.machine_rate > 1:
            raise WorldError("answer_rate + machine_rate cannot exceed 1")
        if self.busy_share + self.congestion_share > 1 or min(self.busy_share, self.congestion_share) < 0:
            raise WorldError("busy_share + congestion_share must be within [0, 1]")
        if not 0 <= self.ring_min_s <= self.ring_max_s <= self.no_answer_s:
            raise WorldError("need 0 <= ring_min_s <= ring_max_s <= no_answer_s")
        if self.talk_mean_s <= 0 or self.wrap_s < 0 or self.patience_mean_s <= 0:
            raise WorldError("talk_mean_s and patience_mean_s must be positive, wrap_s >= 0")
        if self.talk_distribution not in TALK_DISTRIBUTIONS:
            raise WorldError(f"talk_distribution must be one of {', '.join(TALK_DISTRIBUTIONS)}; "
                             f"got {self.talk_distribution!r}")
        if self.talk_sigma <= 0:
            raise WorldError("talk_sigma must be positive")

    @property
    def talk_gamma_shape(self) -> float:
        """Shape of the gamma law with the lognormal's mean and variance: CV² = exp(σ²) − 1, shape = 1/CV²."""
        return 1.0 / math.expm1(self.talk_sigma ** 2)

    def sample_talk(self, rng: np.random.Generator) -> float:
        return float(_talks(self, rng, None))

    def sample_callee(self, rng: np.random.Generator) -> CalleeSample:
        u = rng.random()
        patience = float(rng.exponential(self.patience_mean_s))
        if u < self.answer_rate + self.machine_rate:
            ring = float(rng.uniform(self.ring_min_s, self.ring_max_s))
            machine = u >= self.answer_rate
            return CalleeSample("answer", ring, self.sample_talk(rng), machine, patience)
        v = rng.random()
        if v < self.busy_share:
            return CalleeSample("busy", self.busy_s, 0.0, False, patience)
        if v < self.busy_share + self.congestion_share:
            return CalleeSample("congestion", self.congestion_s, 0.0, False, patience)
        return CalleeSample("no_answer", self.no_answer_s, 0.0, False, patience)


@dataclass(frozen=True)
class CalleeBlock:
    """Many callees at once (the fast simulation draws them in blocks; numpy per call is slow)."""
    outcome: np.ndarray        # 0 answer, 1 busy, 2 congestion, 3 no answer
    ring_s: np.ndarray
    talk_s: np.ndarray
    machine: np.ndarray
    patience_s: np.ndarray


OUTCOME_CODES: tuple[Outcome, ...] = ("answer", "busy", "congestion", "no_answer")


@dataclass(frozen=True)
class CalleeDraws:
    """The random draws behind ``n`` callees, before an answer rate says who answers: a simulation whose
    answer rate moves through the day decides each callee at the moment it is dialed, from the same draws."""
    u: np.ndarray              # answered (live or machine) when below the answer rate (+ machine rate)
    v: np.ndarray              # of the others: busy, congestion or no answer
    ring_s: np.ndarray         # ring to answer, for those who answer
    talk_s: np.ndarray
    patience_s: np.ndarray


def draw_callees(world: World, rng: np.random.Generator, n: int) -> CalleeDraws:
    """``n`` callees' draws under the world's laws. The lognormal's μ = ln(mean) − σ²/2 keeps the mean talk
    time at ``talk_mean_s``."""
    u = rng.random(n)
    v = rng.random(n)
    ring = rng.uniform(world.ring_min_s, world.ring_max_s, n)
    return CalleeDraws(u, v, ring, _talks(world, rng, n), rng.exponential(world.patience_mean_s, n))


def sample_block(world: World, rng: np.random.Generator, n: int) -> CalleeBlock:
    """``n`` callees under the laws of ``World.sample_callee``, drawn as arrays (not the same draws per seed)."""
    d = draw_callees(world, rng, n)
    answered = d.u < world.answer_rate + world.machine_rate
    machine = answered & (d.u >= world.answer_rate)
    outcome = np.where(answered, 0, np.where(d.v < world.busy_share, 1,
                                             np.where(d.v < world.busy_share + world.congestion_share, 2, 3)))
    ring = np.where(outcome == 0, d.ring_s,
                    np.choose(np.minimum(outcome, 3), [0.0, world.busy_s, world.congestion_s, world.no_answer_s]))
    return CalleeBlock(outcome, ring, d.talk_s, machine, d.patience_s)


def _talks(world: World, rng: np.random.Generator, n: int | None) -> np.ndarray | float:
    """Talk times under the world's law: one (``n`` None) or ``n`` of them."""
    if world.talk_distribution == "exponential":
        return rng.exponential(world.talk_mean_s, n)
    if world.talk_distribution == "gamma":
        shape = world.talk_gamma_shape
        return rng.gamma(shape, world.talk_mean_s / shape, n)
    return rng.lognormal(math.log(world.talk_mean_s) - world.talk_sigma ** 2 / 2, world.talk_sigma, n)
