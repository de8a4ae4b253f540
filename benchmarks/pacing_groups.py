"""Campaign groups and optimization targets, the sections ``benchmarks/pacing.py`` prints.

Group: two campaigns sharing a pool, shares 70/30, live answer rates 0.2 and 0.35 (talk 180 s lognormal,
wrap-up 10 s, 8-hour days), against the same two campaigns on split dedicated operators (70/30 of the
people), both predictive with the default abandonment setpoint. Targets: one campaign (answer rate 0.2,
talk 60 s, where predictive leaves progressive far behind) under each optimization target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pacing.group_simulation import GroupCampaign, GroupReport, simulate_group
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, SimulationReport, simulate
from pacing.world import World

GROUP = (GroupCampaign("A", World(answer_rate=0.2), share=70), GroupCampaign("B", World(answer_rate=0.35), share=30))
TARGET_WORLD = World(answer_rate=0.2, talk_mean_s=60.0)
TARGETS = (("abandon", None), ("wait", 40.0), ("busy", 0.6))
SHARE_TOLERANCE = 0.05      # relative
TARGET_TOLERANCE = 0.10     # relative


@dataclass(frozen=True)
class GroupRow:
    operators: int
    seed: int
    pool: GroupReport
    split_ops: tuple[int, ...]
    split_occupancy: float
    split_abandon: tuple[float, ...]


@dataclass(frozen=True)
class TargetRow:
    optimize: str
    target: float
    seed: int
    measured: float
    report: SimulationReport


def group_job(job: tuple[int, int, float]) -> GroupRow:
    """One seed: the pool, then the split floors (same worlds, same seed)."""
    operators, seed, hours = job
    pool = simulate_group(GROUP, operators, hours=hours, seed=seed)
    split_ops = [round(operators * c.share / sum(g.share for g in GROUP)) for c in GROUP]
    split_ops[-1] = operators - sum(split_ops[:-1])
    split = [simulate(c.world, n, PolicyPacer(PacingSettings(mode="predictive")), hours=hours, seed=seed)
             for c, n in zip(GROUP, split_ops, strict=True)]
    occupancy = sum(n * r.occupancy for n, r in zip(split_ops, split, strict=True)) / operators
    return GroupRow(operators, seed, pool, tuple(split_ops), occupancy, tuple(r.abandon_rate for r in split))


def target_job(job: tuple[str, float | None, int, float]) -> TargetRow:
    optimize, target, seed, hours = job
    settings = PacingSettings(mode="predictive", optimize=optimize, optimize_target=target)
    report = simulate(TARGET_WORLD, 20, PolicyPacer(settings), hours=hours, seed=seed)
    measured = {"abandon": report.abandon_rate, "wait": report.mean_wait_s, "busy": report.occupancy}[optimize]
    return TargetRow(optimize, settings.target_abandon if target is None else target, seed, measured, report)


def group_jobs(operators: Iterable[int], seeds: int, hours: float) -> list[tuple[int, int, float]]:
    return [(o, s, hours) for o in operators for s in range(seeds)]


def target_jobs(seeds: int, hours: float) -> list[tuple[str, float | None, int, float]]:
    return [(o, t, s, hours) for o, t in TARGETS for s in range(seeds)]


def print_groups(rows: list[GroupRow], out: Callable[[str], None] = print) -> list[str]:
    out("\ncampaign group 70/30, answer rates 0.2 / 0.35, talk 180 s: one pool vs split dedicated operators")
    out(f"{'ops':>4} {'seed':>4} | {'pool occ':>8} {'wait s':>6} {'share A':>8} {'share B':>8} {'aband A':>7} "
        f"{'aband B':>7} | {'split occ':>9} {'(ops)':>8} {'aband A/B':>11}")
    shares_ok = beats = True
    for row in sorted(rows, key=lambda r: (r.operators, r.seed)):
        a, b = row.pool.campaigns
        shares_ok &= all(abs(c.share - c.target_share) <= SHARE_TOLERANCE * c.target_share
                         for c in row.pool.campaigns)
        beats &= row.pool.occupancy > row.split_occupancy
        split_ab = "/".join(f"{100 * x:.2f}" for x in row.split_abandon)
        out(f"{row.operators:>4} {row.seed:>4} | {100 * row.pool.occupancy:7.1f}% {row.pool.mean_wait_s:6.1f} "
            f"{100 * a.share:7.2f}% {100 * b.share:7.2f}% {100 * a.abandon_rate:6.2f}% {100 * b.abandon_rate:6.2f}% | "
            f"{100 * row.split_occupancy:8.1f}% {row.split_ops!s:>8} {split_ab:>11}")
    return [f"group shares within ±{100 * SHARE_TOLERANCE:g} % (relative) of 70/30 in every seed: "
            f"{'yes' if shares_ok else 'NO'}",
            f"pool occupancy above split dedicated operators in every seed: {'yes' if beats else 'NO'}"]


def print_targets(rows: list[TargetRow], out: Callable[[str], None] = print) -> list[str]:
    out("\noptimization targets, 20 operators, answer rate 0.2, talk 60 s")
    out(f"{'optimize':>8} {'target':>7} {'seed':>4} | {'measured':>9} {'error':>7} {'occ':>6} {'wait s':>6} "
        f"{'abandon':>7} {'worst h':>7}")
    ok = True
    for row in sorted(rows, key=lambda r: (r.optimize, r.seed)):
        r = row.report
        error = row.measured / row.target - 1
        ok &= abs(error) <= TARGET_TOLERANCE and r.abandon_rate <= 0.03
        out(f"{row.optimize:>8} {row.target:7g} {row.seed:>4} | {row.measured:9.4g} {100 * error:6.1f}% "
            f"{100 * r.occupancy:5.1f}% {r.mean_wait_s:6.1f} {100 * r.abandon_rate:6.2f}% "
            f"{100 * r.worst_hour_abandon_rate:6.2f}%")
    return [f"every target mode within ±{100 * TARGET_TOLERANCE:g} % of its target, day abandonment <= 3 %: "
            f"{'yes' if ok else 'NO'}"]
