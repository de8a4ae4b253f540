"""The supervisor's what-if answers: "what would these settings do?" and "how many operators?".

Thin on purpose: it turns command-line figures into a world, a pacer and a staffing question, and
hands back plain results; the mathematics lives in ``pacing``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from compliance.limits import check_pacing, legal_limits
from pacing.erlang import ErlangC
from pacing.group_simulation import GroupCampaign, GroupReport, simulate_group
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
    optimize: str = "abandon"
    optimize_target: float | None = None
    preset: str | None = None       # whose legal limits bind the settings


def _settings(question: WhatIf) -> PacingSettings:
    """The question's settings under the legal limits (no preset: the dialer's own): a target at or above
    the cap is refused, as `dialer campaign set` refuses it, rather than simulated past the law."""
    limits = legal_limits(question.preset)
    pacing = {"target_abandon": question.target_abandon, "optimize": question.optimize,
              "optimize_target": question.optimize_target}
    check_pacing(pacing, limits)
    return PacingSettings(mode=question.mode, abandon_cap=limits.abandon_cap, safe_harbor_s=limits.max_wait_s,
                          **pacing)


def simulate_campaign(question: WhatIf) -> SimulationReport:
    """One virtual day of the campaign under ``question.mode``; raises ValueError on impossible figures."""
    settings = _settings(question)
    world = World(answer_rate=question.answer_rate, talk_mean_s=question.talk_s, wrap_s=question.wrap_s)
    if question.hours <= 0 or question.operators < 1:
        raise ValueError("--agents must be at least 1 and --hours positive")
    return simulate(world, question.operators, PolicyPacer(settings), hours=question.hours, seed=question.seed)


_GROUP_KEYS = ("share", "answer", "talk", "wrap", "priority", "work")


def parse_group(spec: str, question: WhatIf) -> list[GroupCampaign]:
    """``"A:share=70,answer=0.2;B:share=30,answer=0.35,talk=90"`` → the group's campaigns.

    Keys: share (weight, default 1), answer (default --answer-rate), talk and wrap (seconds, default --talk
    and --wrap), priority (integer, default 0), work (hours with leads, ``FROM-TO``, default all day)."""
    campaigns = []
    settings = _settings(question)
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, _, rest = part.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"--group: {part!r} needs a campaign name before ':'")
        values: dict[str, str] = {}
        for item in filter(None, (i.strip() for i in rest.split(","))):
            key, sep, raw = item.partition("=")
            if not sep or key.strip() not in _GROUP_KEYS:
                raise ValueError(f"--group: campaign {name}: {item!r} is not key=value with a key among "
                                 f"{', '.join(_GROUP_KEYS)}")
            values[key.strip()] = raw.strip()
        try:
            share = float(values.get("share", 1))
            world = World(answer_rate=float(values.get("answer", question.answer_rate)),
                          talk_mean_s=float(values.get("talk", question.talk_s)),
                          wrap_s=float(values.get("wrap", question.wrap_s)))
            priority = int(values.get("priority", 0))
            work = tuple(float(h) for h in values["work"].split("-")) if "work" in values else None
        except ValueError as exc:
            raise ValueError(f"--group: campaign {name}: {exc}") from None
        if share <= 0 or (work is not None and (len(work) != 2 or work[0] >= work[1])):
            raise ValueError(f"--group: campaign {name}: share must be > 0 and work FROM-TO hours with FROM < TO")
        campaigns.append(GroupCampaign(name, world, share, priority, settings, work))  # type: ignore[arg-type]
    if not campaigns:
        raise ValueError("--group: no campaign given (e.g. \"A:share=70,answer=0.2;B:share=30,answer=0.35\")")
    return campaigns


def simulate_group_campaigns(question: WhatIf, spec: str, reserved: int = 0,
                             group_ledger: bool = False) -> GroupReport:
    """One virtual day of a campaign group on one pool of ``question.operators``; the optimization target
    (wait, busy) is the group's."""
    if question.hours <= 0:
        raise ValueError("--hours must be positive")
    campaigns = parse_group(spec, question)
    target = _settings(question) if question.optimize != "abandon" else None
    if target is not None:
        campaigns = [replace(c, settings=replace(c.settings, optimize="abandon", optimize_target=None))
                     for c in campaigns]
    return simulate_group(campaigns, question.operators, hours=question.hours, seed=question.seed,
                          reserved=reserved, target=target, group_ledger=group_ledger)


def staff_for_service_level(calls_per_hour: float, handle_s: float, service_level: float,
                            threshold_s: float) -> ErlangC:
    return operators_for_service_level(calls_per_hour, handle_s, service_level, threshold_s)


def staff_for_list(leads: int, hours: float, answer_rate: float, handle_s: float, attempts_per_lead: float,
                   occupancy: float) -> ListPlan:
    return operators_for_list(leads, hours, answer_rate, handle_s, attempts_per_lead, occupancy)
