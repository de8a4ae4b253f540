"""The world behind the simulated trunk: what each dialed person does.

The simulator asks a ``CalleeModel`` once per call for the callee's fate and then plays it out in
loop time. Pacing's world model plugs in through the same Protocol, so it stays minimal.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

Outcome = Literal["answer", "busy", "congestion", "no_answer"]
OUTCOMES: tuple[Outcome, ...] = ("answer", "busy", "congestion", "no_answer")


@dataclass(frozen=True)
class CalleeFate:
    """What one dialed number does.

    ring_s: seconds from dial to answer / busy / congestion (a no-answer rings until the Originate
    Timeout). talk_s: after answer, the callee hangs up (cause 16) this long after answering, wherever
    the call is. patience_s: after answer, the callee hangs up if not yet connected to an operator.
    machine: an answering machine answered (AMD reports MACHINE).
    """
    outcome: Outcome
    ring_s: float = 2.0
    talk_s: float = 60.0
    machine: bool = False
    patience_s: float = math.inf
    opts_out: bool = False       # presses 9 (opt-out) if it hears the safe-harbor message
    rating: int | None = None    # the score (1-5) it keys in if sent to the rating menu

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"CalleeFate.outcome must be one of {OUTCOMES}, not {self.outcome!r}")
        if self.ring_s < 0 or self.talk_s < 0 or self.patience_s < 0:
            raise ValueError(f"CalleeFate times must be >= 0: {self}")


class CalleeModel(Protocol):
    def fate(self, number: str) -> CalleeFate: ...


class ScriptedCallees:
    """The first digit decides, as in the reference dialplan's ``pstn-sim`` context
    (tests/fixtures/asterisk/reference-extensions.conf), so the recorded transcripts can be replayed:
    1 answer after 2 s (talk 8.5 s), 2 busy after 1 s, 3 no answer, 4 congestion at once,
    5 answer after 1 s and talk 30.5 s. Any other first digit: no answer.
    ``Wait(n)`` after ``Answer()`` starts 0.5 s late on Asterisk, hence the half seconds.
    """

    SCRIPT: ClassVar[dict[str, CalleeFate]] = {
        "1": CalleeFate("answer", ring_s=2.0, talk_s=8.5),
        "2": CalleeFate("busy", ring_s=1.0),
        "3": CalleeFate("no_answer"),
        "4": CalleeFate("congestion", ring_s=0.0),
        "5": CalleeFate("answer", ring_s=1.0, talk_s=30.5),
    }

    def __init__(self, *, machine_digit: str | None = "6") -> None:
        # An extra, not in the reference: numbers starting with ``machine_digit`` are answering machines.
        self._machine_digit = machine_digit

    def fate(self, number: str) -> CalleeFate:
        digits = number.lstrip("+")
        first = digits[:1]
        if self._machine_digit is not None and first == self._machine_digit:
            return CalleeFate("answer", ring_s=2.0, talk_s=20.0, machine=True)
        return self.SCRIPT.get(first, CalleeFate("no_answer"))


class ParametricCallees:
    """A population described by shares and distributions; reproducible with a seed.

    Answered calls: ring time uniform in ``ring_s``, talk time lognormal with mean ``talk_mean_s``
    (shape ``talk_sigma``), patience exponential with mean ``patience_mean_s`` (``inf`` = never gives up),
    a ``machine`` share of answers are answering machines. Busy and congestion come after a short,
    uniform 0.5–2 s; no-answer rings until the Originate timeout.
    """

    def __init__(self, *, answer: float = 0.3, busy: float = 0.1, congestion: float = 0.02,
                 no_answer: float | None = None, ring_s: tuple[float, float] = (3.0, 15.0),
                 talk_mean_s: float = 120.0, talk_sigma: float = 0.8, patience_mean_s: float = math.inf,
                 machine: float = 0.0, seed: int | None = None) -> None:
        if no_answer is None:
            no_answer = 1.0 - answer - busy - congestion
            if no_answer < -1e-9:
                raise ValueError(f"ParametricCallees answer + busy + congestion shares add up to "
                                 f"{answer + busy + congestion:g}, more than 1")
            no_answer = max(0.0, no_answer)
        shares = {"answer": answer, "busy": busy, "congestion": congestion, "no_answer": no_answer}
        for name, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"ParametricCallees {name} share must be within 0..1, not {share}")
        if abs(sum(shares.values()) - 1.0) > 1e-9:
            raise ValueError(f"ParametricCallees shares must add up to 1, not {sum(shares.values()):g}: {shares}")
        low, high = ring_s
        if not 0 <= low <= high:
            raise ValueError(f"ParametricCallees ring_s must be (low, high) with 0 <= low <= high, not {ring_s}")
        if talk_mean_s <= 0 or talk_sigma < 0:
            raise ValueError("ParametricCallees talk_mean_s must be > 0 and talk_sigma >= 0")
        if not 0.0 <= machine <= 1.0:
            raise ValueError(f"ParametricCallees machine share must be within 0..1, not {machine}")
        self._outcomes: list[Outcome] = list(OUTCOMES)
        self._weights = [shares[o] for o in self._outcomes]
        self._ring = (low, high)
        # lognormal with the requested mean: mu = ln(mean) - sigma²/2
        self._talk_mu = math.log(talk_mean_s) - talk_sigma**2 / 2
        self._talk_sigma = talk_sigma
        self._patience_mean = patience_mean_s
        self._machine = machine
        self._random = random.Random(seed)

    def fate(self, number: str) -> CalleeFate:
        rnd = self._random
        outcome = rnd.choices(self._outcomes, self._weights)[0]
        if outcome == "answer":
            patience = math.inf if math.isinf(self._patience_mean) else rnd.expovariate(1 / self._patience_mean)
            return CalleeFate("answer", ring_s=rnd.uniform(*self._ring),
                              talk_s=rnd.lognormvariate(self._talk_mu, self._talk_sigma),
                              machine=rnd.random() < self._machine, patience_s=patience)
        if outcome == "no_answer":
            return CalleeFate("no_answer", ring_s=math.inf)
        return CalleeFate(outcome, ring_s=rnd.uniform(0.5, 2.0))
