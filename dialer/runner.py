"""One campaign's pacing loop: snapshot → policy → claim → originate.

It wakes on every event that changes the answer (an operator freed, a call answered or failed) and at
least every ``tick_s`` of loop time, asks ``pacing`` how many calls to place, claims that many leads
(compliance filters applied in the claim) and originates them. Originates never go out while the AMI
link is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

import numpy as np

from compliance.limits import LegalLimits, legal_limits, within_limits
from compliance.windows import HoursRule
from dialer.answer_chances import AnswerChances
from dialer.ledger import AbandonLedger
from dialer.pacing_loop import PacingLoop
from dialer.tasks import Supervisor
from dialer.window_outlook import answers_to_come, pace, seconds_left_today
from lists.campaigns import Campaign
from pacing.abandonment import falls_back, window_room
from pacing.hour_ahead import HOUR_S, hours_ahead, window_ends, windows_ahead
from pacing.policies import PacingSettings, calls_to_place, lines_room, progressive
from pacing.snapshot import Snapshot
from pacing.targets import TargetController

log = logging.getLogger(__name__)

Snapshotter = Callable[[int, bool], Snapshot]   # (campaign id, with estimates)
Dialer = Callable[[Campaign, int], Awaitable[int]]

SETTING_NAMES = {f.name for f in fields(PacingSettings)}
EXHAUSTED_RETRY_S = 5.0


def pacing_settings(campaign: Campaign, defaults: Mapping[str, Any] | None = None,
                    limits: LegalLimits | None = None) -> PacingSettings:
    """The campaign's mode and pacing document as the policy's settings; unknown keys are refused
    when the campaign is changed, so here they are ignored. ``defaults``: its group's pacing document
    (e.g. the group's optimization target), which the campaign's own keys override. ``limits``: its
    preset's legal figures (none given: the dialer's own), which no document can loosen."""
    merged = within_limits({**(defaults or {}), **campaign.pacing}, limits or legal_limits(None))
    known = {k: v for k, v in merged.items() if k in SETTING_NAMES and k != "mode"}
    return PacingSettings(mode=campaign.mode, **known)


def fallback_message(campaign: str, rate: float, answers: int, cap: float) -> str:
    """Why predictive (or ratio) dials progressive now: already over the cap (early in a day a couple of abandons
    are), or near enough that the next abandons could pass it."""
    why = (f" is over the {100 * cap:.1f}% cap" if rate > cap
           else f"; the next abandons could pass the {100 * cap:.1f}% cap")
    return f"campaign {campaign}: abandonment {100 * rate:.2f}% of {answers} live answers in the window{why}: " \
           "dialing progressive"


def _answers_in_flight(snapshot: Snapshot) -> float:
    """The live answers expected from the calls ringing (each call's own chance, when known) and those waiting."""
    chances = snapshot.ringing_answer_p
    ringing = float(np.sum(chances)) if len(chances) else \
        len(snapshot.ringing_elapsed_s) * snapshot.estimates.answer_rate
    return ringing + snapshot.waiting_answered


class CampaignRunner(PacingLoop):
    """Alone, it runs its own loop (``start``). In a campaign group it does not: the group's loop
    (``dialer/groups/runner.py``) asks it for its settings and α and has it place the calls the pool's
    plan gives it (``place``), and its ``wake`` wakes the group."""

    def __init__(self, campaign: Campaign, *, snapshot: Snapshotter, dial: Dialer, tick_s: float,
                 can_dial: Callable[[], bool], ledger: AbandonLedger, limits: LegalLimits | None = None,
                 supervisor: Supervisor | None = None, hours: HoursRule | None = None,
                 wall_clock: Callable[[], datetime] | None = None, chances: AnswerChances | None = None) -> None:
        super().__init__(f"campaign-{campaign.name}", tick_s, supervisor)
        self.campaign = campaign
        self.defaults: Mapping[str, Any] = {}    # the group's pacing settings, under the campaign's own
        self.limits = limits or legal_limits(None)   # its compliance preset's (set again when it changes)
        self.settings = pacing_settings(campaign, limits=self.limits)
        self.ledger = ledger
        self.controller = self._controller()
        self.fallback = False           # predictive or ratio dialing progressive: the window nears the cap
        self._snapshot = snapshot
        self._dial = dial
        self._can_dial = can_dial
        self.exhausted = False          # the last claim found nothing to dial
        self.alpha: float | None = None
        self._quiet_until = 0.0
        self.group_wake: Callable[[], None] | None = None   # set while a group paces this campaign
        # its preset's calling hours and the wall clock: the window's outlook for the confidence bound
        self.hours = hours
        self._wall_clock = wall_clock
        self._chances = chances         # the category dialed next: the controller's α is kept per category

    def update(self, campaign: Campaign) -> None:
        """A live change (supervisor, CLI): applies at the next decision."""
        self.campaign = campaign
        self.settings = pacing_settings(campaign, self.defaults, self.limits)
        self.controller = self._controller()
        self.wake()

    def set_defaults(self, defaults: Mapping[str, Any]) -> None:
        """The group's pacing settings changed (or the campaign joined or left a group)."""
        if dict(defaults) != dict(self.defaults):
            self.defaults = dict(defaults)
            self.update(self.campaign)

    def _controller(self) -> TargetController:
        return TargetController(self.settings)

    def effective_settings(self, now: float, snapshot: Snapshot | None = None) -> PacingSettings:
        """Predictive dials with the controller's α, or progressive when the window nears the cap (ratio too). With the
        campaign's ``snapshot`` (alone, not in a group) the α also moves toward its wait or busy target;
        in a group those are the pool's figures, steered by the group."""
        if self.settings.mode == "ratio":
            # A fixed ratio knows nothing of abandons: set too high it would abandon without end. The
            # controller's fall-back guards it as it guards predictive (a setting never loosens the cap).
            answers, abandons = self.ledger.counts(now)
            room = window_room(answers, abandons, self.settings.abandon_cap, self._windows_ahead(now, self._left()))
            rate = abandons / answers if answers else 0.0
            return self._fall_back(falls_back(room, 1.0, self.fallback), rate, answers)
        if self.settings.mode != "predictive":
            return self.settings
        answers, abandons = self.ledger.counts(now)
        free, busy = (None, None) if snapshot is None else (snapshot.free_operators, len(snapshot.busy_elapsed_s))
        # the live answers still to come from the calls in flight (the hour keeps room for them)
        answering = None if snapshot is None else _answers_in_flight(snapshot)
        to_come = staying = None
        left = self._left()
        if left is not None:
            to_come = answers_to_come(self.ledger, now, left)
            staying = self.ledger.counts_staying(now, now + left)        # what is still in it tonight
        hour, ahead = None, ()
        if self.settings.max_hour_abandon is not None:
            # the last hour, and the hours that end over the next minutes if nothing more is abandoned
            answer_times, abandon_times = self.ledger.times_since(now - HOUR_S)
            hour = (len(answer_times), len(abandon_times))
            ahead = hours_ahead(answer_times, abandon_times, now, pace(self.ledger, now))
        windows = self._windows_ahead(now, left)
        category = self._chances.next_category if self._chances is not None else None
        decision = self.controller.update(now, answers, abandons, free, busy, answers_to_come=to_come, hour=hour,
                                          staying=staying, category=category, hours_ahead=ahead,
                                          windows_ahead=windows, in_flight_answers=answering)
        self.alpha = decision.alpha
        return self._fall_back(decision.fallback, decision.rate, answers)

    def _left(self) -> float | None:
        """Seconds until its calling hours close today (None: its hours or the wall clock not known)."""
        if self.hours is None or self._wall_clock is None:
            return None
        return seconds_left_today(self._wall_clock(), self.campaign.timezone, self.hours)

    def _windows_ahead(self, now: float, left: float | None) -> np.ndarray:
        """The legal window ending at each minute of the next hour: its oldest answers leave it, its abandons may
        stay (pacing.hour_ahead)."""
        staying = self.ledger.counts_staying_at(now, window_ends(now))
        if staying[0] == staying[-1]:
            # none leaves within the hour: every window ahead holds the one now and more answers, never less
            # room, so the window now rules alone (a campaign's first day; yesterday's quiet hours)
            return np.empty((0, 2))
        return windows_ahead(staying, pace(self.ledger, now), left)

    def _fall_back(self, fallback: bool, rate: float, answers: int) -> PacingSettings:
        """The settings to dial with: progressive while falling back; each change said once in the log."""
        if fallback != self.fallback:
            self.fallback = fallback
            if self.fallback:
                log.warning("%s", fallback_message(self.campaign.name, rate, answers, self.settings.abandon_cap))
            else:
                log.warning("campaign %s: abandonment back to %.2f%%: %s again",
                            self.campaign.name, 100 * rate, self.settings.mode)
        return replace(self.settings, mode="progressive") if self.fallback else self.settings

    def _wanted(self, now: float, snapshot: Snapshot, settings: PacingSettings) -> int:
        if settings.mode != "predictive":
            return calls_to_place(snapshot, settings, self.alpha)
        # a wait or busy target may pace predictive down toward progressive
        return self.controller.throttle(now, progressive(snapshot, settings), lines_room(snapshot, settings),
                                        lambda: calls_to_place(snapshot, settings, self.alpha))

    def wake(self) -> None:
        if self.group_wake is not None:
            self.group_wake()
        else:
            super().wake()

    def has_work(self, now: float) -> bool:
        """False for a few seconds after a claim found nothing to dial (its share flows to the others)."""
        return now >= self._quiet_until

    def _timeout(self) -> float:
        # Predictive re-decides every tick: busy operators' elapsed handle times move its answer.
        # The other modes change their answer only on events; a slow tick is their safety net.
        return self._tick_s if self.settings.mode == "predictive" else max(self._tick_s, 1.0)

    async def _round(self) -> None:
        if not self._can_dial():
            return
        loop_now = asyncio.get_running_loop().time()
        if not self.has_work(loop_now):
            return
        snapshot = self._snapshot(self.campaign.id, self.settings.mode == "predictive")
        settings = self.effective_settings(loop_now, snapshot)
        wanted = self._wanted(loop_now, snapshot, settings)
        self.decisions += 1
        await self.place(wanted)

    async def place(self, wanted: int) -> int:
        """Claim and originate ``wanted`` calls (compliance gate, caller ID, leases); how many went out."""
        if wanted <= 0:
            return 0
        try:
            placed = await self._dial(self.campaign, wanted)
        except Exception:  # one bad round must not stop the campaign; the next tick tries again
            log.exception("campaign %s: dialing round failed", self.campaign.name)
            await asyncio.sleep(self._tick_s)
            return 0
        if (placed == 0) != self.exhausted:    # said once, when it changes: operators wait, and why
            log.info("campaign %s: %s", self.campaign.name,
                     "nothing to dial now: no lead is due within calling hours" if placed == 0 else "dialing again")
        self.exhausted = placed == 0
        if self.exhausted:
            # Nothing dialable now (list done, retries not due): ask again in a few seconds,
            # not on every event; a list loaded meanwhile starts within that time.
            self._quiet_until = asyncio.get_running_loop().time() + EXHAUSTED_RETRY_S
        return placed
