"""The supervisor's what-if answers: "what would these settings do?" and "how many operators?".

Thin on purpose: it turns command-line figures into a world, a pacer and a staffing question, and
hands back plain results; the mathematics lives in ``pacing``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from compliance.limits import check_pacing, legal_limits
from dialer.sim.scenario import (
    StrategyFile,
    check_talk_dist,
    measured_world,
    parse_before,
    parse_clock,
    parse_profile,
    parse_window,
    read_strategy,
    repeated_history,
    strategy_day,
)
from lists.attempt_samples import AttemptSamples
from lists.strategy import from_json
from pacing.dial_plan import DialPlan
from pacing.erlang import ErlangC
from pacing.group_simulation import GroupCampaign, GroupReport, simulate_group
from pacing.legal_window import WindowHistory
from pacing.pacers import BASELINES, PACERS
from pacing.policies import PacingSettings
from pacing.simulation import Pacer, PolicyPacer, SimulationReport, simulate
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
    talk_dist: str | None = None    # lognormal (default), exponential, gamma
    profile: str | None = None      # answer rate by hour of the day, "0:0.35,2:0.1,5:0.35"
    strategy: Path | None = None    # the campaign's strategy file, with an answer rate per category
    start: str = "09:00"            # the callees' clock when the day starts
    window: str | None = None       # the legal window, 24h or 30d (none: the jurisdiction's)
    before: str | None = None       # earlier days in the window: ANSWERS:ABANDONS, or 'simulate'
    pacer: str | None = None        # a benchmark baseline instead of the mode (pacing.pacers)


@dataclass(frozen=True)
class CampaignRecord:
    """What ``--from-campaign`` read from the store: the attempts' samples and the campaign's strategy."""
    name: str
    samples: AttemptSamples
    strategy: dict[str, Any]


def _settings(question: WhatIf) -> PacingSettings:
    """The question's settings under the legal limits (no preset: the dialer's own): a target at or above
    the cap is refused, as `dialer campaign set` refuses it, rather than simulated past the law."""
    limits = legal_limits(question.preset)
    pacing = {"target_abandon": question.target_abandon, "optimize": question.optimize,
              "optimize_target": question.optimize_target}
    check_pacing(pacing, limits)
    return PacingSettings(mode=question.mode, abandon_cap=limits.abandon_cap, safe_harbor_s=limits.max_wait_s,
                          **pacing)


def simulate_campaign(question: WhatIf, record: CampaignRecord | None = None) -> SimulationReport:
    """One virtual day of the campaign under ``question.mode`` (or a baseline pacer), against the world the
    question describes or ``record`` measured; raises ValueError on impossible figures."""
    if question.hours <= 0 or question.operators < 1:
        raise ValueError("--agents must be at least 1 and --hours positive")
    if question.profile is not None and question.strategy is not None:
        raise ValueError("give --profile (answer rate by hour, one category) or --strategy (categories), not both")
    limits = legal_limits(question.preset)
    window_s = parse_window(question.window, limits)
    settings = replace(_settings(question), window_hours=window_s / 3600.0)
    start_hour = parse_clock(question.start)
    talk_dist = check_talk_dist(question.talk_dist) if question.talk_dist is not None else None
    measured: dict[str, float] = {}
    if record is not None:
        world, measured = measured_world(record.samples, talk_dist, None)
    else:
        world = World(answer_rate=question.answer_rate, talk_mean_s=question.talk_s, wrap_s=question.wrap_s,
                      talk_distribution=talk_dist or "lognormal")  # type: ignore[arg-type]
    plan = _plan(question, start_hour, record, measured)
    pacer = _pacer(question, settings)
    history = _history(question, world, settings, plan, window_s)
    return simulate(world, question.operators, pacer, hours=question.hours, seed=question.seed, plan=plan,
                    history=history)


def _plan(question: WhatIf, start_hour: float, record: CampaignRecord | None,
          measured: dict[str, float]) -> DialPlan | None:
    if question.profile is not None:
        return parse_profile(question.profile, start_hour)
    if question.strategy is not None:
        return strategy_day(read_strategy(question.strategy), start_hour, question.hours, measured)
    if record is not None and measured:
        # the campaign's own strategy, over the categories it has dialed, at their measured rates
        return strategy_day(StrategyFile(from_json(record.strategy), {}), start_hour, question.hours, measured)
    return None


def _pacer(question: WhatIf, settings: PacingSettings) -> Pacer:
    if question.pacer is None:
        return PolicyPacer(settings)
    if question.pacer not in BASELINES:
        raise ValueError(f"--pacer: {question.pacer!r} is not one of {', '.join(BASELINES)} "
                         "(our own modes are --mode)")
    return PACERS[question.pacer]()


def _history(question: WhatIf, world: World, settings: PacingSettings, plan: DialPlan | None,
             window_s: float) -> WindowHistory | None:
    """The earlier days still in the window: none (a clean window), given, or one day simulated with the same
    settings and the previous seed, taken as each earlier day of the window."""
    if question.before is None:
        return None
    if question.before.strip().lower() != "simulate":
        return parse_before(question.before, window_s, question.hours)
    earlier = simulate(world, question.operators, _pacer(question, settings), hours=question.hours,
                       seed=question.seed - 1, plan=plan)
    return repeated_history(window_s, earlier.quarters)


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
