"""The world a what-if day runs against, from what the supervisor types: answer rates through the day (a
profile, or the campaign's strategy with a rate per category), the talk law, the legal window and what the
earlier days left in it, and the laws measured from a campaign's stored attempts.

Every bad input becomes a ValueError whose message names the option and says what was expected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

import numpy as np

from compliance.limits import LegalLimits
from lists.attempt_samples import AttemptSamples
from lists.errors import StrategyError
from lists.strategy import CATEGORIES, Strategy, from_json
from pacing.dial_plan import DialPlan, DialPlanError, profile_plan, strategy_plan
from pacing.handle_time import fit_shape
from pacing.legal_window import Quarter, WindowHistory, given_history, history_after, window_days
from pacing.world import TALK_DISTRIBUTIONS, World

DAY_S = 86400.0


def parse_clock(text: str, option: str = "--start") -> float:
    """``09:30`` → 9.5 (hours after midnight)."""
    hours, sep, minutes = text.strip().partition(":")
    try:
        value = time(int(hours), int(minutes) if sep else 0)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a time of day HH:MM") from None
    return value.hour + value.minute / 60.0


def parse_profile(text: str, start_hour: float) -> DialPlan:
    """``"0:0.35,2:0.1,5:0.35"``: from hour 0 of the day the answer rate is 0.35, from hour 2 0.1, …"""
    points = []
    for item in filter(None, (i.strip() for i in text.split(","))):
        hour, sep, rate = item.partition(":")
        try:
            if not sep:
                raise ValueError
            points.append((float(hour), float(rate)))
        except ValueError:
            raise ValueError(f"--profile: {item!r} is not HOUR:RATE (e.g. \"0:0.35,2:0.1,5:0.35\": the answer "
                             "rate from each hour of the day on)") from None
    if not points:
        raise ValueError("--profile: no HOUR:RATE given (e.g. \"0:0.35,2:0.1,5:0.35\")")
    try:
        return profile_plan(points, start_hour)
    except DialPlanError as exc:
        raise ValueError(f"--profile: {exc}") from None


@dataclass(frozen=True)
class StrategyFile:
    strategy: Strategy
    answer_rates: dict[str, float]      # per category; may be empty when measured rates fill it in


def read_strategy(path: Path) -> StrategyFile:
    """The campaign's strategy in its stored form (``dialer campaign show`` prints it; ``lists/strategy.py``),
    with ``"answer_rates": {"cold": 0.1, "callback": 0.4, …}`` beside ``windows`` and ``otherwise``."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"--strategy: there is no file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--strategy: cannot read {str(path)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--strategy: {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(document, dict):
        raise ValueError(f"--strategy: {path} must hold an object with 'windows' (and 'answer_rates')")
    rates = document.pop("answer_rates", {})
    if not isinstance(rates, dict):
        raise ValueError(f"--strategy: {path}: 'answer_rates' must map categories to rates, e.g. {{\"cold\": 0.1}}")
    try:
        strategy = from_json(document)
    except StrategyError as exc:
        raise ValueError(f"--strategy: {path}: {exc}") from None
    answer_rates = {}
    for category, rate in rates.items():
        if category not in CATEGORIES:
            raise ValueError(f"--strategy: {path}: answer_rates names {category!r}, not a category "
                             f"({', '.join(CATEGORIES)})")
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"--strategy: {path}: answer_rates[{category!r}] must be a number within [0, 1]")
        answer_rates[category] = float(rate)
    return StrategyFile(strategy, answer_rates)


def dialed_categories(strategy: Strategy, start_hour: float, hours: float,
                      available: set[str] | None = None) -> list[tuple[float, str]]:
    """The category dialed from each second of the day on: the first of the order in force that has leads
    (``available``; none: every category has, and the lists never run dry in a what-if)."""
    start_s = start_hour * 3600.0
    edges = {0.0}
    for window in strategy.windows:
        for at in (window.start, window.end):
            clock = DAY_S if at == time.max else at.hour * 3600.0 + at.minute * 60.0
            for day in (0.0, DAY_S):
                offset = clock + day - start_s
                if 0.0 < offset < hours * 3600.0:
                    edges.add(offset)
    out = []
    for edge in sorted(edges):
        clock_s = (start_s + edge) % DAY_S
        local = time(int(clock_s // 3600), int(clock_s % 3600 // 60), int(clock_s % 60))
        order = next((w.order for w in strategy.windows if w.holds(local)), strategy.otherwise)
        out.append((edge, next((c for c in order if available is None or c in available), order[0])))
    return out


def strategy_day(file: StrategyFile, start_hour: float, hours: float,
                 measured: dict[str, float] | None = None) -> DialPlan:
    """The strategy's day as a dial plan: the file's answer rates, else those measured per category (then
    only the categories the campaign has dialed are dialed)."""
    rates = {**(measured or {}), **file.answer_rates}
    available = set(measured) if measured and not file.answer_rates else None
    try:
        return strategy_plan(dialed_categories(file.strategy, start_hour, hours, available), rates, start_hour)
    except DialPlanError as exc:
        raise ValueError(f"--strategy: {exc} (give \"answer_rates\" in the file)") from None


def parse_window(text: str | None, limits: LegalLimits) -> float:
    """``24h`` or ``30d`` (seconds); none: the jurisdiction's own. A window longer than the law's is refused
    (holding every shorter window to the cap holds the longer one too, not the reverse)."""
    if text is None:
        return limits.abandon_window.total_seconds()
    value = {"24h": timedelta(hours=24), "30d": timedelta(days=30)}.get(text.strip().lower())
    if value is None:
        raise ValueError(f"--window: {text!r} is not 24h or 30d")
    if value > limits.abandon_window:
        raise ValueError(f"--window {text} is longer than the {limits.jurisdiction} window of "
                         f"{limits.window_hours:g} h ({limits.abandon_source})")
    return value.total_seconds()


def parse_before(text: str, window_s: float, hours: float) -> WindowHistory:
    """``ANSWERS:ABANDONS``: the earlier days' live answers and abandons still in the window at the start."""
    answers, sep, abandons = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return given_history(window_s, int(answers), int(abandons), hours * 3600.0)
    except ValueError as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ValueError(f"--before: {text!r} is not ANSWERS:ABANDONS of the earlier days in the window, "
                         f"e.g. 2400:60, or 'simulate'{detail}") from None


def repeated_history(window_s: float, quarters: Sequence[Quarter]) -> WindowHistory:
    """One simulated earlier day taken as each earlier day of the window."""
    return history_after(window_s, [quarters] * window_days(window_s))


def measured_world(samples: AttemptSamples, talk_dist: str | None,
                   wrap_s: float | None) -> tuple[World, dict[str, float]]:
    """The world a campaign's attempts measured (answer rate, talk law, wrap-up) and its per-category rates."""
    if samples.total_dials < 50 or len(samples.talk_s) < 20:
        raise ValueError(f"--from-campaign: too few attempts to measure ({samples.total_dials} dials, "
                         f"{len(samples.talk_s)} conversations; at least 50 and 20)")
    rates = {c: samples.answers.get(c, 0) / n for c, n in samples.dials.items() if n >= 20}
    answer_rate = sum(samples.answers.values()) / samples.total_dials
    talk = np.maximum(np.asarray(samples.talk_s), 1.0)
    logs = np.log(talk)
    sigma, shape = fit_shape(float(talk.mean()), float(logs.mean()), float(logs.var()))
    law = talk_dist or ("gamma" if shape > 0 else "lognormal")
    if law == "gamma" and shape > 0:
        sigma = math.sqrt(math.log1p(1.0 / shape))      # World keeps a gamma's spread as the lognormal's σ
    wrap = wrap_s if wrap_s is not None else (float(np.mean(samples.wrap_s)) if samples.wrap_s else 10.0)
    world = World(answer_rate=answer_rate, talk_mean_s=float(talk.mean()), talk_distribution=law,  # type: ignore[arg-type]
                  talk_sigma=max(sigma, 0.05), wrap_s=wrap)
    return world, rates


def check_talk_dist(name: str) -> str:
    if name not in TALK_DISTRIBUTIONS:
        raise ValueError(f"--talk-dist: {name!r} is not one of {', '.join(TALK_DISTRIBUTIONS)}")
    return name
