"""The supervisor's what-if answers: "what would these settings do?" and "how many operators?".

Thin on purpose: it turns command-line figures into a world, a pacer and a staffing question, and
hands back plain results; the mathematics lives in ``pacing``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacing.erlang import ErlangC
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, SimulationReport, simulate
from pacing.staffing import ListPlan, operators_for_list, operators_for_service_level
from pacing.world import World


@dataclass(frozen=True)
class WhatIf:
    operators: int
    answer_rate: float
    talk_s: float
    wrap_s: float
    hours: float
    mode: str
    target_abandon: float = 0.025
    seed: int = 1


def simulate_campaign(question: WhatIf) -> SimulationReport:
    """One virtual day of the campaign under ``question.mode``; raises ValueError on impossible figures."""
    settings = PacingSettings(mode=question.mode, target_abandon=question.target_abandon,
                              abandon_cap=max(0.03, question.target_abandon + 0.005))
    world = World(answer_rate=question.answer_rate, talk_mean_s=question.talk_s, wrap_s=question.wrap_s)
    if question.hours <= 0 or question.operators < 1:
        raise ValueError("--agents must be at least 1 and --hours positive")
    return simulate(world, question.operators, PolicyPacer(settings), hours=question.hours, seed=question.seed)


def staff_for_service_level(calls_per_hour: float, handle_s: float, service_level: float,
                            threshold_s: float) -> ErlangC:
    return operators_for_service_level(calls_per_hour, handle_s, service_level, threshold_s)


def staff_for_list(leads: int, hours: float, answer_rate: float, handle_s: float, attempts_per_lead: float,
                   occupancy: float) -> ListPlan:
    return operators_for_list(leads, hours, answer_rate, handle_s, attempts_per_lead, occupancy)
