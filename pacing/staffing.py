"""Erlang-C staffing: how many operators an hour of calls needs, and how many finish a list in time.

Outbound work is planned as if answered calls were arrivals: a predictive dialer keeps operators
busy at roughly the occupancy an inbound queue with the same load would give, which is what the
supervisor wants to know before the shift ("dialer staffing").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pacing.erlang import ErlangC, ErlangInputError, erlang_c_metrics

MAX_OPERATORS = 5000


def operators_for_service_level(calls_per_hour: float, handle_s: float, service_level: float,
                                threshold_s: float, max_occupancy: float = 1.0) -> ErlangC:
    """The smallest team meeting the service level (and occupancy ceiling) for one hour of calls."""
    if not 0 < service_level < 1:
        raise ErlangInputError(f"service level must be between 0 and 1 (exclusive), got {service_level}")
    if calls_per_hour <= 0:
        raise ErlangInputError("calls per hour must be positive")
    load = calls_per_hour / 3600.0 * handle_s
    n = max(1, math.floor(load) + 1)
    while n <= MAX_OPERATORS:
        metrics = erlang_c_metrics(calls_per_hour, 3600.0, handle_s, n, threshold_s)
        if metrics.service_level >= service_level and metrics.occupancy <= max_occupancy:
            return metrics
        n += 1
    raise ErlangInputError(f"more than {MAX_OPERATORS} operators would be needed; split the load")


@dataclass(frozen=True)
class ListPlan:
    """Operators needed to work through a list before a deadline."""
    operators: int
    dials: int
    answers: float
    work_hours: float              # operator-hours of talk and wrap-up
    occupancy: float               # the occupancy assumed for the plan


def operators_for_list(leads: int, hours: float, answer_rate: float, handle_s: float,
                       attempts_per_lead: float = 1.0, occupancy: float = 0.85) -> ListPlan:
    """Operators to finish ``leads`` within ``hours``: answered calls × handle time, at an occupancy a
    predictive dialer sustains (0.85 by default; progressive dialing reaches far less on low answer
    rates, so pass the figure ``dialer simulate`` gives for your mode)."""
    if leads <= 0 or hours <= 0:
        raise ErlangInputError("leads and hours must be positive")
    if not 0 < answer_rate <= 1:
        raise ErlangInputError(f"answer rate must be in (0, 1], got {answer_rate}")
    if not 0 < occupancy <= 1:
        raise ErlangInputError(f"occupancy must be in (0, 1], got {occupancy}")
    dials = math.ceil(leads * attempts_per_lead)
    answers = dials * answer_rate
    work_hours = answers * handle_s / 3600.0
    operators = max(1, math.ceil(work_hours / (hours * occupancy)))
    return ListPlan(operators, dials, answers, work_hours, occupancy)
