"""Pacing benchmark: our predictive mode against VICIdial's and OMniDialer's rules.

Grid: operators {3, 5, 10, 20, 50, 100} × answer rate {0.1, 0.2, 0.35} × mean talk {60, 180, 300} s
(lognormal, sigma 0.8), wrap-up 10 s, ring to answer uniform 5–20 s, no answer released at 25 s,
8-hour days, 5 seeds; plus the check cell (20 operators, answer rate 0.3, exponential talk
180 s, no wrap-up). Every policy sees the same callees for a given seed.

    .venv/bin/python benchmarks/pacing.py [--json FILE] [--quick] [--workers N] [--operators 3,5,10]
        [--answer-rates 0.1,0.35] [--talks 60,300] [--check-cell]        # a subset, or target (d)'s cell only
    .venv/bin/python benchmarks/pacing.py --groups [--quick]     # only the group and target sections
    .venv/bin/python benchmarks/pacing.py --scenarios [--quick]  # the days the grid does not show
                                                                 # (benchmarks/pacing_scenarios.py)

--quick: 2 seeds and 2-hour days (a smoke run; the figures of record come from the full grid).
Prints, per cell and policy: occupancy, talk minutes per operator-hour, abandonment of the worst
seed, mean operator wait; then the pacing targets (a)–(d), checked on the measured figures. Then the
campaign-group section (a 70/30 group on one pool against split dedicated operators) and the
optimization-target section (benchmarks/pacing_groups.py), with their checks.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pacing_groups import group_job, group_jobs, print_groups, print_targets, target_job, target_jobs
from pacing.pacers import BASELINES, PACERS
from pacing.simulation import simulate
from pacing.world import World

OPERATORS = (3, 5, 10, 20, 50, 100)
ANSWER_RATES = (0.1, 0.2, 0.35)
TALKS = (60.0, 180.0, 300.0)

Cell = tuple[int, float, float, str]      # operators, answer rate, talk, talk distribution


def world_for(cell: Cell) -> World:
    _, answer_rate, talk, shape = cell
    if shape == "exponential":
        return World(answer_rate=answer_rate, talk_mean_s=talk, talk_distribution="exponential", wrap_s=0.0)
    return World(answer_rate=answer_rate, talk_mean_s=talk)


def run_key(row: dict[str, object]) -> tuple[object, ...]:
    """What makes a run the same day: cell, policy and seed (a run found in two files counts once)."""
    return (row["operators"], row["answer_rate"], row["talk_s"], row["talk_shape"], row["pacer"], row["seed"])


def run_one(job: tuple[Cell, str, int, float]) -> dict[str, object]:
    cell, name, seed, hours = job
    started = time.perf_counter()
    pacer = PACERS[name]()
    timings: list[float] = []
    decide = pacer.decide

    cpu: list[float] = []

    def timed(floor: object) -> int:          # the pacer's decision time: wall (what the engine waits) and CPU
        t, c = time.perf_counter(), time.thread_time()
        n = decide(floor)
        timings.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
        return n

    pacer.decide = timed  # type: ignore[method-assign]
    report = simulate(world_for(cell), cell[0], pacer, hours=hours, seed=seed)
    row = report.as_dict()
    ms = np.asarray(timings) * 1000.0
    row.update(pacer=name, answer_rate=cell[1], talk_s=cell[2], talk_shape=cell[3],
               wall_s=time.perf_counter() - started, decisions=len(timings),
               decision_p99_ms=float(np.percentile(ms, 99)) if ms.size else 0.0,
               decision_max_ms=float(ms.max()) if ms.size else 0.0,
               decision_cpu_p99_ms=float(np.percentile(cpu, 99)) * 1000.0 if cpu else 0.0)
    return row


def run_jobs(jobs: list[tuple[Cell, str, int, float]], workers: int, *, every: int = 50,
             partial_json: Path | None = None) -> list[dict[str, object]]:
    """Every job through ``run_one`` on ``workers`` processes, with progress on stderr. ``partial_json``:
    rewritten after every run, so a run cut short keeps its rows."""
    started = time.perf_counter()
    rows: list[dict[str, object]] = []
    with multiprocessing.Pool(workers) as processes:
        for i, row in enumerate(processes.imap_unordered(run_one, jobs), 1):
            rows.append(row)
            if i % every == 0 or i == len(jobs):
                print(f"[{i}/{len(jobs)} runs, {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
            if partial_json:
                partial_json.write_text(json.dumps({"partial": True, "runs": rows}))
    return rows


def summarize(rows: list[dict[str, object]]) -> dict[tuple[Cell, str], dict[str, float]]:
    groups: dict[tuple[Cell, str], list[dict[str, object]]] = {}
    for row in rows:
        cell = (int(row["operators"]), float(row["answer_rate"]), float(row["talk_s"]), str(row["talk_shape"]))
        groups.setdefault((cell, str(row["pacer"])), []).append(row)
    out = {}
    for key, group in groups.items():
        def mean(name: str, g: list[dict[str, object]] = group) -> float:
            return sum(float(r[name]) for r in g) / len(g)
        out[key] = {"occupancy": mean("occupancy"), "talk": mean("talk_minutes_per_operator_hour"),
                    "abandon_worst": max(float(r["abandon_rate"]) for r in group),
                    "abandon_mean": mean("abandon_rate"), "wait": mean("mean_wait_s"), "seeds": len(group),
                    "decision_p99_ms": max(float(r.get("decision_p99_ms", 0.0)) for r in group),
                    "decision_cpu_p99_ms": max(float(r.get("decision_cpu_p99_ms", 0.0)) for r in group)}
    return out


def print_table(summary: dict[tuple[Cell, str], dict[str, float]]) -> None:
    cells = sorted({key[0] for key in summary})
    names = list(PACERS)
    print("occupancy % / talk min per op-hour / worst-seed abandonment % / mean wait s")
    print(f"{'ops':>4} {'ans':>5} {'talk':>5} | " + " | ".join(f"{n:^24}" for n in names))
    for cell in cells:
        parts = []
        for name in names:
            s = summary.get((cell, name))
            parts.append(f"{100 * s['occupancy']:5.1f} {s['talk']:4.1f} {100 * s['abandon_worst']:5.2f} "
                         f"{s['wait']:6.1f}" if s else f"{'-':^24}")
        label = f"{cell[0]:>4} {cell[1]:>5} {cell[2]:>5.0f}" + ("e" if cell[3] == "exponential" else " ")
        print(label + "| " + " | ".join(f"{p:^24}" for p in parts))


def markdown_table(summary: dict[tuple[Cell, str], dict[str, float]], targets: list[str], heading: str) -> str:
    """The table and the targets as markdown (for benchmarks/results)."""
    cells = sorted({key[0] for key in summary})
    names = [n for n in PACERS if any(key[1] == n for key in summary)]
    most = max(v["seeds"] for v in summary.values())
    out = [heading, "", "Per policy: occupancy % / talk min per operator-hour / worst-seed abandonment % / "
           f"mean operator wait s (means over {most} seeds, except the abandonment; fewer where marked).", "",
           "| ops | answer | talk s | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for cell in cells:
        parts = []
        for name in names:
            s = summary.get((cell, name))
            parts.append(f"{100 * s['occupancy']:.1f} / {s['talk']:.1f} / {100 * s['abandon_worst']:.2f} / "
                         f"{s['wait']:.1f}" + (f" ({s['seeds']} seeds)" if s["seeds"] != most else "") if s else "–")
        talk = f"{cell[2]:.0f}" + (" exp, no wrap" if cell[3] == "exponential" else "")
        out.append(f"| {cell[0]} | {cell[1]} | {talk} | " + " | ".join(parts) + " |")
    out += ["", "Targets:", ""] + [f"- {line}" for line in targets]
    return "\n".join(out) + "\n"


def check_targets(summary: dict[tuple[Cell, str], dict[str, float]]) -> list[str]:
    if not any(key[1] == "predictive" for key in summary):
        return ["no predictive runs: the targets were not checked"]
    lines = []
    cells = sorted({key[0] for key in summary if key[0][3] == "lognormal"})
    over = [c for c in cells if (c, "predictive") in summary and summary[(c, "predictive")]["abandon_worst"] > 0.03]
    lines.append(f"predictive abandonment <= 3% in every seed of every cell: {'yes' if not over else 'NO'}"
                 + (f" (over in {over})" if over else ""))
    beaten = []
    for c in cells:
        ours = summary.get((c, "predictive"))
        if not ours:
            continue
        for b in BASELINES:
            theirs = summary.get((c, b))
            if theirs and theirs["abandon_worst"] <= ours["abandon_worst"] + 1e-12 \
                    and theirs["occupancy"] > ours["occupancy"]:
                beaten.append((c, b))
    lines.append("predictive occupancy >= every baseline at equal or lower abandonment: "
                 + ("yes" if not beaten else f"NO in {len(beaten)} cell/baseline pairs: {beaten}"))
    short = []
    for c in cells:
        if c[0] <= 10 and (c, "predictive") in summary and (c, "vici-tapered") in summary:
            gain = summary[(c, "predictive")]["talk"] / max(summary[(c, "vici-tapered")]["talk"], 1e-9) - 1
            if gain < 0.15:
                # talk minutes per operator-hour of an operator who never waits: above that no dialer can go
                ceiling = 60.0 * c[2] / (c[2] + 10.0)
                need = 1.15 * summary[(c, "vici-tapered")]["talk"]
                short.append((c, round(100 * gain, 1), "impossible" if need > ceiling else "possible"))
    lines.append("<=10 operators: >= 15% more talk time than VICIdial ADAPT_TAPERED: "
                 + ("yes" if not short else f"NO in {len(short)} cells (gain %, and whether 1.15 x TAPERED's talk "
                    f"is below the talk time of operators who never wait): {short}"))
    big = [v for k, v in summary.items() if k[1] == "predictive" and k[0][0] >= 100]
    if big:
        lines.append("predictive decision time at 100 operators, worst run's p99 (target < 10 ms): "
                     f"{max(v['decision_p99_ms'] for v in big):.2f} ms wall (includes waiting for a loaded CPU), "
                     f"{max(v['decision_cpu_p99_ms'] for v in big):.2f} ms CPU (0 = not recorded)")
    check = summary.get(((20, 0.3, 180.0, "exponential"), "predictive"))
    if check:
        verdict = "yes" if check["occupancy"] >= 0.88 else "NO"
        lines.append(f"20 operators, answer 0.3, exponential talk 180 s, no wrap: occupancy "
                     f"{100 * check['occupancy']:.1f}% (target >= 88%): {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 2-hour days")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--hours", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pacers", default=",".join(p for p in PACERS if p != "predictive-fixed"),
                        help="comma-separated subset (predictive-fixed: α fixed at 0.025, no controller)")
    parser.add_argument("--seed-major", action="store_true", help="run seed 0 of every cell first, then seed 1 …")
    parser.add_argument("--markdown", type=Path, help="also write the table and the targets as markdown here")
    parser.add_argument("--merge", type=Path, nargs="+", help="summarize the runs of these --json files "
                        "(e.g. baselines and predictive run separately) instead of running")
    parser.add_argument("--operators", default=",".join(map(str, OPERATORS)),
                        help="comma-separated subset of team sizes")
    parser.add_argument("--answer-rates", default=",".join(map(str, ANSWER_RATES)),
                        help="comma-separated subset of answer rates")
    parser.add_argument("--talks", default=",".join(f"{t:g}" for t in TALKS),
                        help="comma-separated subset of mean talks")
    parser.add_argument("--no-groups", action="store_true", help="skip the group and target sections after the table")
    parser.add_argument("--check-cell", action="store_true",
                        help="only the check cell of target (d): 20 operators, 0.3, exponential 180 s, no wrap")
    parser.add_argument("--groups", action="store_true",
                        help="only the campaign-group and optimization-target sections")
    parser.add_argument("--group-operators", default="20,50", help="pool sizes of the group section")
    parser.add_argument("--scenarios", action="store_true", help="only the scenarios: strategy day, unforeseen "
                        "jump, 24-hour windows, check cell (benchmarks/pacing_scenarios.py)")
    parser.add_argument("--pacer", default="predictive", help="with --scenarios: the pacer to run")
    parser.add_argument("--pacing", action="append", metavar="KEY=VALUE",
                        help="with --scenarios: a pacing setting of our pacer (repeatable)")
    parser.add_argument("--only", help="with --scenarios: a subset of i,ii,iii,iv")
    parser.add_argument("--teams", help="with --scenarios: team sizes of (i) and (ii) (default 5,20,100)")
    parser.add_argument("--chains", type=int, help="with --scenarios: chains of days in (iii) (default: --seeds)")
    parser.add_argument("--days", type=int, help="with --scenarios: days per chain in (iii) (default 10)")
    parser.add_argument("--window-teams", help="with --scenarios: team sizes of (iii) (default 5,20)")
    args = parser.parse_args()
    if args.scenarios:
        from benchmarks.pacing_scenarios import run_scenarios
        run_scenarios(args)
        return
    if args.merge:
        loaded = [json.loads(f.read_text()) for f in args.merge]
        runs: dict[tuple[object, ...], dict[str, object]] = {}
        for row in (row for data in loaded for row in data["runs"]):     # a run done twice counts once
            runs.setdefault(run_key(row), row)
        summary = summarize(list(runs.values()))
        hours = sorted({float(row["hours"]) for row in runs.values()})
        print(f"merged {len(runs)} runs of {', '.join(map(str, args.merge))}"
              + ("" if all(data.get("seeds") for data in loaded) else " (some cut short)")
              + f"; days of {', '.join(f'{h:g}' for h in hours)} hours")
        print_table(summary)
        targets = check_targets(summary)
        print("\n".join(targets))
        if args.markdown:
            heading = f"Pacing benchmark (merged {len(args.merge)} files)"
            args.markdown.write_text(markdown_table(summary, targets, heading))
        return
    seeds = args.seeds or (2 if args.quick else 5)
    hours = args.hours or (2.0 if args.quick else 8.0)
    if args.groups:
        run_groups(args, min(seeds, 3), hours)
        return
    pacers = [p for p in args.pacers.split(",") if p]
    unknown = set(pacers) - set(PACERS)
    if unknown:
        parser.error(f"unknown pacer(s) {sorted(unknown)}; choose from {', '.join(PACERS)}")
    teams = [int(o) for o in args.operators.split(",") if o]
    rates = [float(a) for a in args.answer_rates.split(",") if a]
    talks = [float(t) for t in args.talks.split(",") if t]
    cells: list[Cell] = [] if args.check_cell else [(o, a, t, "lognormal") for o in teams for a in rates for t in talks]
    if 20 in teams or args.check_cell:
        cells.append((20, 0.3, 180.0, "exponential"))
    # big floors first: the pool then finishes with short jobs; --seed-major: every cell's first seed first,
    # so that a run cut short (a loaded machine) still covers the whole grid with fewer seeds
    jobs = sorted(((c, p, s, hours) for c in cells for p in pacers for s in range(seeds)),
                  key=lambda j: ((j[2],) if args.seed_major else ()) + (-j[0][0] * (3 if j[1] == "predictive" else 1),
                                                                         j[1], j[2]))
    started = time.perf_counter()
    rows = run_jobs(jobs, args.workers, partial_json=args.json)
    summary = summarize(rows)
    print(f"{len(rows)} runs ({seeds} seeds, {hours:g}-hour days) in {time.perf_counter() - started:.0f} s")
    print_table(summary)
    targets = check_targets(summary)
    print("\n".join(targets))
    if args.markdown:
        heading = f"Pacing benchmark ({seeds} seeds, {hours:g}-hour days)"
        args.markdown.write_text(markdown_table(summary, targets, heading))
    if not args.no_groups:
        run_groups(args, min(seeds, 3), hours)
    if args.json:
        args.json.write_text(json.dumps({
            "seeds": seeds, "hours": hours, "runs": rows, "targets": targets,
            "summary": [{"operators": k[0][0], "answer_rate": k[0][1], "talk_s": k[0][2], "talk_shape": k[0][3],
                         "pacer": k[1], **v} for k, v in sorted(summary.items())]}, indent=1))


def run_groups(args: argparse.Namespace, seeds: int, hours: float) -> None:
    """A campaign group against split operators, and each optimization target (3 seeds at most)."""
    started = time.perf_counter()
    teams = [int(o) for o in args.group_operators.split(",") if o]
    with multiprocessing.Pool(args.workers) as processes:
        groups = list(processes.imap_unordered(group_job, group_jobs(teams, seeds, hours)))
        targets = list(processes.imap_unordered(target_job, target_jobs(seeds, hours)))
    print(f"\ngroup and target sections: {seeds} seeds, {hours:g}-hour days, {time.perf_counter() - started:.0f} s")
    checks = print_groups(groups) + print_targets(targets)
    print("\n".join(checks))


if __name__ == "__main__":
    main()
