"""The pacers a simulated day can be run with, by name: ours as the engine runs them, and the baselines.

One table for ``dialer simulate --pacer`` and the benchmarks, so that a what-if and a benchmark run name the
same rules the same way. The baselines (``pacing.baselines``) are other dialers' rules read from their
public sources; the engine never uses them.
"""

from __future__ import annotations

from collections.abc import Callable

from pacing.baselines.omnidialer import OmniDialerPacer
from pacing.baselines.vicidial import VicidialAdapt
from pacing.policies import PacingSettings
from pacing.simulation import Pacer, PolicyPacer

PACERS: dict[str, Callable[[], Pacer]] = {
    "predictive": lambda: PolicyPacer(PacingSettings(mode="predictive")),
    # not in the grid by default: the model alone, α fixed at the 2.5 % setpoint, no outer controller (what
    # the controller costs or gains; pass --pacers predictive,predictive-fixed)
    "predictive-fixed": lambda: PolicyPacer(PacingSettings(mode="predictive"), fixed_alpha=0.025),
    # the predictive pacer without each call's chance of an answer and with the fixed setpoint (what they gain)
    "predictive-plain": lambda: PolicyPacer(PacingSettings(mode="predictive"), informed=False),
    "progressive": lambda: PolicyPacer(PacingSettings(mode="progressive")),
    "ratio-1.5": lambda: PolicyPacer(PacingSettings(mode="ratio", ratio=1.5)),
    "vici-hard": lambda: VicidialAdapt("ADAPT_HARD_LIMIT"),
    "vici-tapered": lambda: VicidialAdapt("ADAPT_TAPERED"),
    "vici-average": lambda: VicidialAdapt("ADAPT_AVERAGE"),
    "omnidialer": OmniDialerPacer,
}
BASELINES = ("ratio-1.5", "vici-hard", "vici-tapered", "vici-average", "omnidialer")
