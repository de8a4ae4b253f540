"""Erlang-B, Erlang-C and Erlang-A (Palm's M/M/n+M) for staffing and what-if answers.

Everything runs on the Erlang-B recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which never forms a
factorial or a power, so 5,000 operators at 4,900 Erlangs are as safe as 5 operators at 3 Erlangs.
Formulas: Erlang C from B (Cooper, *Introduction to Queueing Theory*, 2nd ed., §4.4); Erlang A from the
birth–death chain of M/M/n+M (Palm 1943; Garnett, Mandelbaum & Reiman 2002, "Designing a call center
with impatient customers").
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class ErlangInputError(ValueError):
    """A staffing question that has no answer (no operators, negative load, …)."""


def _check(operators: int, load: float) -> None:
    if operators < 1:
        raise ErlangInputError(f"operators must be at least 1, got {operators}")
    if not math.isfinite(load) or load < 0:
        raise ErlangInputError(f"offered load (Erlangs) must be a finite number >= 0, got {load}")


def erlang_b(operators: int, load: float) -> float:
    """Blocking probability of M/M/n/n with offered load ``load`` Erlangs."""
    _check(operators, load)
    b = 1.0
    for k in range(1, operators + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(operators: int, load: float) -> float:
    """Probability that a call waits (M/M/n); 1.0 when the queue is unstable (load >= operators)."""
    _check(operators, load)
    if load >= operators:
        return 1.0
    b = erlang_b(operators, load)
    rho = load / operators
    return b / (1.0 - rho * (1.0 - b))


@dataclass(frozen=True)
class ErlangC:
    """Answers for one interval: calls, handle time, operators."""
    operators: int
    load: float                  # Erlangs offered
    p_wait: float
    service_level: float         # share answered within the threshold
    asa_s: float                 # average speed of answer (mean wait over all calls)
    occupancy: float


def erlang_c_metrics(calls: float, interval_s: float, handle_s: float, operators: int,
                     threshold_s: float) -> ErlangC:
    """Erlang C for ``calls`` arriving in ``interval_s`` with mean handle time ``handle_s``."""
    if interval_s <= 0 or handle_s <= 0:
        raise ErlangInputError("interval and handle time must be positive seconds")
    load = calls / interval_s * handle_s
    p_wait = erlang_c(operators, load)
    if load >= operators:
        return ErlangC(operators, load, 1.0, 0.0, math.inf, 1.0)
    margin = operators - load
    service_level = 1.0 - p_wait * math.exp(-margin * threshold_s / handle_s)
    asa = p_wait * handle_s / margin
    return ErlangC(operators, load, p_wait, service_level, asa, load / operators)


@dataclass(frozen=True)
class ErlangA:
    operators: int
    p_wait: float
    p_abandon: float
    mean_queue: float


def erlang_a(operators: int, arrival_rate: float, service_rate: float, patience_rate: float,
             tolerance: float = 1e-15) -> ErlangA:
    """M/M/n+M: Poisson arrivals, exponential service and exponential patience.

    States j < n follow Erlang B; above n, each extra waiting call multiplies the probability by
    λ / (nμ + kθ). The tail is summed relative to state n until the terms vanish, so it stays finite
    for any load (abandonment keeps the chain stable even when λ > nμ).
    """
    if arrival_rate < 0 or service_rate <= 0 or patience_rate <= 0:
        raise ErlangInputError("rates must be positive (arrivals may be 0)")
    load = arrival_rate / service_rate
    _check(operators, load)
    if arrival_rate == 0:
        return ErlangA(operators, 0.0, 0.0, 0.0)
    b = erlang_b(operators, load)
    below = 1.0 / b                     # Σ_{j<=n} π_j / π_n
    tail = 0.0                          # Σ_{k>=1} π_{n+k} / π_n
    tail_k = 0.0                        # Σ_{k>=1} k π_{n+k} / π_n
    term = 1.0
    k = 0
    while True:
        k += 1
        term *= arrival_rate / (operators * service_rate + k * patience_rate)
        tail += term
        tail_k += k * term
        if term < tolerance * (below + tail) and k * patience_rate > arrival_rate:
            break
    pi_n = 1.0 / (below + tail)
    p_wait = pi_n * (1.0 + tail)
    mean_queue = pi_n * tail_k
    p_abandon = patience_rate * mean_queue / arrival_rate
    return ErlangA(operators, p_wait, p_abandon, mean_queue)
