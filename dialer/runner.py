"""One campaign's pacing loop: snapshot → policy → claim → originate.

It wakes on every event that changes the answer (an operator freed, a call answered or failed) and at
least every ``tick_s`` of loop time, asks ``pacing`` how many calls to place, claims that many leads
(compliance filters applied in the claim) and originates them. Originates never go out while the AMI
link is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace

from dialer.ledger import AbandonLedger
from lists.campaigns import Campaign
from pacing.abandonment import AbandonmentController
from pacing.policies import PacingSettings, calls_to_place
from pacing.snapshot import Snapshot

log = logging.getLogger(__name__)

Snapshotter = Callable[[int, bool], Snapshot]   # (campaign id, with estimates)
Dialer = Callable[[Campaign, int], Awaitable[int]]

_SETTING_NAMES = {f.name for f in fields(PacingSettings)}
EXHAUSTED_RETRY_S = 5.0


def pacing_settings(campaign: Campaign) -> PacingSettings:
    """The campaign's mode and pacing document as the policy's settings; unknown keys are refused
    when the campaign is changed, so here they are ignored."""
    known = {k: v for k, v in campaign.pacing.items() if k in _SETTING_NAMES and k != "mode"}
    return PacingSettings(mode=campaign.mode, **known)


class CampaignRunner:
    def __init__(self, campaign: Campaign, *, snapshot: Snapshotter, dial: Dialer, tick_s: float,
                 can_dial: Callable[[], bool], ledger: AbandonLedger) -> None:
        self.campaign = campaign
        self.settings = pacing_settings(campaign)
        self.ledger = ledger
        self.controller = self._controller()
        self.fallback = False           # predictive campaign dialing progressive: the window nears the cap
        self._snapshot = snapshot
        self._dial = dial
        self._tick_s = tick_s
        self._can_dial = can_dial
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.exhausted = False          # the last claim found nothing to dial
        self.decisions = 0
        self.alpha: float | None = None
        self._quiet_until = 0.0
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"campaign-{self.campaign.name}")
        self.wake()   # decide at once: operators may have become ready before the runner existed

    def update(self, campaign: Campaign) -> None:
        """A live change (supervisor, CLI): applies at the next decision."""
        self.campaign = campaign
        self.settings = pacing_settings(campaign)
        self.controller = self._controller()
        self.wake()

    def _controller(self) -> AbandonmentController:
        return AbandonmentController(setpoint=self.settings.target_abandon, cap=self.settings.abandon_cap)

    def _effective_settings(self, now: float) -> PacingSettings:
        """Predictive dials with the controller's α, or progressive when the window nears the cap."""
        if self.settings.mode != "predictive":
            return self.settings
        answers, abandons = self.ledger.counts(now)
        decision = self.controller.update(now, answers, abandons)
        self.alpha = decision.alpha
        if decision.fallback != self.fallback:
            self.fallback = decision.fallback
            if self.fallback:
                log.warning("campaign %s: abandonment %.2f%% of %d live answers in the window; the next abandons "
                            "could pass the %.1f%% cap: dialing progressive", self.campaign.name,
                            100 * decision.rate, answers, 100 * self.settings.abandon_cap)
            else:
                log.warning("campaign %s: abandonment back to %.2f%%: predictive again",
                            self.campaign.name, 100 * decision.rate)
        return replace(self.settings, mode="progressive") if self.fallback else self.settings

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            # Predictive re-decides every tick: busy operators' elapsed handle times move its answer.
            # The other modes change their answer only on events; a slow tick is their safety net.
            timeout = self._tick_s if self.settings.mode == "predictive" else max(self._tick_s, 1.0)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives as the
            # event is set, and stop() would then wait forever; the flag is a second guard.
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass
            if self._stopping:
                return
            self._wake.clear()
            if not self._can_dial():
                continue
            loop_now = asyncio.get_running_loop().time()
            if loop_now < self._quiet_until:
                continue
            settings = self._effective_settings(asyncio.get_running_loop().time())
            snapshot = self._snapshot(self.campaign.id, settings.mode == "predictive")
            wanted = calls_to_place(snapshot, settings, self.alpha)
            self.decisions += 1
            if wanted <= 0:
                continue
            try:
                placed = await self._dial(self.campaign, wanted)
            except Exception:  # one bad round must not stop the campaign; the next tick tries again
                log.exception("campaign %s: dialing round failed", self.campaign.name)
                await asyncio.sleep(self._tick_s)
                continue
            self.exhausted = placed == 0
            if self.exhausted:
                # Nothing dialable now (list done, retries not due): ask again in a few seconds,
                # not on every event; a list loaded meanwhile starts within that time.
                self._quiet_until = asyncio.get_running_loop().time() + EXHAUSTED_RETRY_S
