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
from dataclasses import fields

from lists.campaigns import Campaign
from pacing.policies import PacingSettings, calls_to_place
from pacing.snapshot import Snapshot

log = logging.getLogger(__name__)

Snapshotter = Callable[[int], Snapshot]
Dialer = Callable[[Campaign, int], Awaitable[int]]

_SETTING_NAMES = {f.name for f in fields(PacingSettings)}


def pacing_settings(campaign: Campaign) -> PacingSettings:
    """The campaign's mode and pacing document as the policy's settings; unknown keys are refused
    when the campaign is changed, so here they are ignored."""
    known = {k: v for k, v in campaign.pacing.items() if k in _SETTING_NAMES and k != "mode"}
    return PacingSettings(mode=campaign.mode, **known)


class CampaignRunner:
    def __init__(self, campaign: Campaign, *, snapshot: Snapshotter, dial: Dialer, tick_s: float,
                 can_dial: Callable[[], bool]) -> None:
        self.campaign = campaign
        self.settings = pacing_settings(campaign)
        self._snapshot = snapshot
        self._dial = dial
        self._tick_s = tick_s
        self._can_dial = can_dial
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.exhausted = False          # the last claim found nothing to dial
        self.decisions = 0
        self.alpha: float | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"campaign-{self.campaign.name}")

    def update(self, campaign: Campaign) -> None:
        """A live change (supervisor, CLI): applies at the next decision."""
        self.campaign = campaign
        self.settings = pacing_settings(campaign)
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._tick_s)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self._can_dial():
                continue
            snapshot = self._snapshot(self.campaign.id)
            wanted = calls_to_place(snapshot, self.settings, self.alpha)
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
