"""The simulated world behind the PBX simulator: pacing's world model seen through the simulator's port.

``ami`` knows nothing of ``pacing``; this adapter is where the two meet, so that the demo's PBX
simulator and ``dialer simulate`` draw callers from the same model.
"""

from __future__ import annotations

import numpy as np

from ami.simulator.callees import CalleeFate
from pacing.world import World


class WorldCallees:
    def __init__(self, world: World, *, seed: int = 0) -> None:
        self._world = world
        self._rng = np.random.default_rng(seed)

    def fate(self, number: str) -> CalleeFate:
        sample = self._world.sample_callee(self._rng)
        return CalleeFate(outcome=sample.outcome, ring_s=sample.ring_s, talk_s=sample.talk_s,
                          machine=sample.machine, patience_s=sample.patience_s)
