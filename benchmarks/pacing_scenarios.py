"""Pacing scenarios: the days the grid does not show (``benchmarks/pacing.py --scenarios``).

(i)   the strategy day: cold leads (answer 0.1) from 09:00, callbacks (0.4) from 13:00, follow-ups (0.25) from
      16:00 to 18:00 (benchmarks/strategy-day.json, read as ``dialer simulate --strategy`` reads it), with 5,
      20 and 100 operators;
(ii)  the unforeseen jump: one category, answer rate 0.35, 0.1 from hour 2, 0.35 again from hour 5; 8 hours;
(iii) the UK's 24-hour window: chains of strategy days, each starting with the day before in its window, for
      5 and 20 operators (10 chains of 10 days with 10 seeds: 100 windows);
(iv)  the grid's check cell: 20 operators, answer 0.3, exponential talk 180 s, no wrap-up, 8 hours.
Talk is lognormal 180 s (σ 0.8) with 10 s of wrap-up, as in the grid, except in (iv).

    .venv/bin/python benchmarks/pacing.py --scenarios [--quick] [--seeds 10] [--workers 2] [--pacer predictive]
        [--pacing KEY=VALUE …] [--only i,ii,iii,iv] [--teams 5,20,100] [--chains N] [--days N] [--window-teams 5,20]
        [--json FILE] [--markdown FILE]
    .venv/bin/python benchmarks/pacing.py --scenarios --merge days.json windows.json [--markdown FILE]

--pacing sets a pacing setting of our pacer (e.g. max_hour_abandon=0.03 where the settings have it).
--quick: 2 seeds, 2 chains of 3 days. Prints, and writes as markdown (benchmarks/results/pacing-scenarios.md
unless --quick): abandonment in the 15 and 60 minutes after each switch, each seed's day and worst hour,
the windows over 3 %, and occupancy per team size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.sim.scenario import read_strategy, strategy_day
from pacing.dial_plan import DialPlan, profile_plan
from pacing.legal_window import DAY_S, history_after
from pacing.pacers import PACERS
from pacing.simulation import Pacer, PolicyPacer, SimulationReport, simulate
from pacing.world import World

ROOT = Path(__file__).resolve().parents[1]
STRATEGY_FILE = ROOT / "benchmarks" / "strategy-day.json"
RESULTS = ROOT / "benchmarks" / "results" / "pacing-scenarios.md"
TEAMS = (5, 20, 100)
WINDOW_TEAMS = (5, 20)
GRID_CHECK_OCCUPANCY = 0.883        # benchmarks/results/pacing-grid.md, check cell, predictive
CAP = 0.03

Job = tuple[str, int, int, int, str, tuple[tuple[str, Any], ...]]   # scenario, operators, seed, days, pacer, settings


def strategy_plan() -> DialPlan:
    return strategy_day(read_strategy(STRATEGY_FILE), 9.0, 9.0)


def jump_plan() -> DialPlan:
    return profile_plan([(0, 0.35), (2, 0.1), (5, 0.35)])


def make_pacer(name: str, settings: tuple[tuple[str, Any], ...]) -> Pacer:
    pacer = PACERS[name]()
    if settings:
        if not isinstance(pacer, PolicyPacer):
            raise SystemExit(f"--pacing applies to our own pacers, not {name}")
        pacer = PolicyPacer(replace(pacer.settings, **dict(settings)), fixed_alpha=pacer.fixed_alpha)
    return pacer


def _row(scenario: str, report: SimulationReport, day: int = 0) -> dict[str, Any]:
    row = report.as_dict()
    row.update(scenario=scenario, day=day)
    return row


def run_job(job: Job) -> list[dict[str, Any]]:
    scenario, operators, seed, days, pacer, settings = job
    cpu = time.process_time()
    world = World(talk_mean_s=180.0)
    if scenario in ("strategy", "jump"):
        plan, hours = (strategy_plan(), 9.0) if scenario == "strategy" else (jump_plan(), 8.0)
        rows = [_row(scenario, simulate(world, operators, make_pacer(pacer, settings), hours, seed, plan=plan))]
    elif scenario == "check":
        world = World(answer_rate=0.3, talk_mean_s=180.0, talk_distribution="exponential", wrap_s=0.0)
        rows = [_row(scenario, simulate(world, operators, make_pacer(pacer, settings), 8.0, seed))]
    else:                       # a chain of days under the 24-hour window, each after the one before
        rows, before = [], []
        plan = strategy_plan()
        for day in range(days):
            history = history_after(DAY_S, before[-1:]) if before else None
            report = simulate(world, operators, make_pacer(pacer, settings), 9.0, 1000 * seed + day, plan=plan,
                              history=history)
            before.append(report.quarters)
            rows.append(_row(scenario, report, day))
    cpu = time.process_time() - cpu
    for row in rows:
        row["cpu_s"] = cpu / len(rows)
    return rows


def jobs_for(only: set[str], seeds: int, chains: int, days: int, pacer: str,
             settings: tuple[tuple[str, Any], ...], window_teams: tuple[int, ...] = WINDOW_TEAMS,
             teams: tuple[int, ...] = TEAMS) -> list[Job]:
    jobs: list[Job] = []
    if "iii" in only:
        jobs += [("window", o, s, days, pacer, settings) for o in window_teams for s in range(chains)]
    for key, scenario in (("i", "strategy"), ("ii", "jump")):
        if key in only:
            jobs += [(scenario, o, s, 1, pacer, settings) for o in teams for s in range(seeds)]
    if "iv" in only:
        jobs += [("check", 20, s, 1, pacer, settings) for s in range(seeds)]
    # the longest first, so the pool ends on short jobs
    return sorted(jobs, key=lambda j: -j[3] * (j[1] if j[1] < 50 else 10))


def rate(quarters: list[dict[str, Any]], start_s: float, length_s: float) -> float:
    inside = [q for q in quarters if start_s <= q["start_s"] < start_s + length_s]
    return sum(q["abandons"] for q in inside) / max(sum(q["answers"] for q in inside), 1)


def _mean(values: list[float]) -> float:
    return sum(values) / max(len(values), 1)


def _pc(x: float) -> str:
    return f"{100 * x:.2f}"


def figures(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Markdown lines of the figures, and the target lines (each with yes/NO on the measured figures)."""
    out: list[str] = []
    targets: list[str] = []
    by = lambda scenario, ops: [r for r in rows if r["scenario"] == scenario and r["operators"] == ops]  # noqa: E731
    strategy = [s for s, _ in strategy_plan().switches()]
    if any(r["scenario"] == "strategy" for r in rows):
        out += ["## (i) The strategy day (cold 0.1 from 09:00, callbacks 0.4 from 13:00, follow-ups 0.25 16:00–18:00)",
                "", "| operators | seeds | occupancy % | 15 min after 13:00 (mean / max) % | 60 min after 13:00 % | "
                "15 min after 16:00 (mean / max) % | 60 min after 16:00 % | day, worst seed % | worst hour per day % |",
                "|---|---|---|---|---|---|---|---|---|"]
        for ops in TEAMS:
            g = by("strategy", ops)
            if not g:
                continue
            cells = []
            for s in strategy:
                q15 = [rate(r["quarters"], s, 900) for r in g]
                cells += [f"{_pc(_mean(q15))} / {_pc(max(q15))}", _pc(_mean([rate(r["quarters"], s, 3600) for r in g]))]
            worst = sorted(r["worst_hour_abandon_rate"] for r in g)
            out.append(f"| {ops} | {len(g)} | {100 * _mean([r['occupancy'] for r in g]):.1f} | " + " | ".join(cells)
                       + f" | {_pc(max(r['abandon_rate'] for r in g))} | {', '.join(_pc(w) for w in worst)} |")
            after = [_mean([rate(r["quarters"], s, 900) for r in g]) for s in strategy]
            hours_ok = sum(r["worst_hour_abandon_rate"] <= CAP for r in g) / len(g)
            targets += [
                f"(i) {ops} operators: 15 min after each switch <= 4 % (mean over seeds): "
                f"{', '.join(_pc(a) for a in after)} %: {'yes' if max(after) <= 0.04 else 'NO'}",
                f"(i) {ops} operators: the day <= 3 % on every seed: worst {_pc(max(r['abandon_rate'] for r in g))} %: "
                f"{'yes' if max(r['abandon_rate'] for r in g) <= CAP else 'NO'}",
                f"(i) {ops} operators: worst hour <= 3 % on >= 90 % of days: {100 * hours_ok:.0f} % of days: "
                f"{'yes' if hours_ok >= 0.9 else 'NO'} (the target asks it with max_hour_abandon=0.03)"]
        out.append("")
    if any(r["scenario"] == "jump" for r in rows):
        out += ["## (ii) The unforeseen jump (one category: 0.35, 0.1 from hour 2, 0.35 from hour 5)", "",
                "| operators | seeds | occupancy % | 15 min after the drop % | 15 min after the rise (mean / max) % | "
                "60 min after the rise % | day, worst seed % | worst hour per day % |",
                "|---|---|---|---|---|---|---|---|"]
        for ops in TEAMS:
            g = by("jump", ops)
            if not g:
                continue
            rise15 = [rate(r["quarters"], 5 * 3600.0, 900) for r in g]
            rise60 = _mean([rate(r["quarters"], 5 * 3600.0, 3600) for r in g])
            worst = sorted(r["worst_hour_abandon_rate"] for r in g)
            out.append(f"| {ops} | {len(g)} | {100 * _mean([r['occupancy'] for r in g]):.1f} | "
                       f"{_pc(_mean([rate(r['quarters'], 2 * 3600.0, 900) for r in g]))} | "
                       f"{_pc(_mean(rise15))} / {_pc(max(rise15))} | {_pc(rise60)} | "
                       f"{_pc(max(r['abandon_rate'] for r in g))} | {', '.join(_pc(w) for w in worst)} |")
            targets += [f"(ii) {ops} operators: 15 min after the rise <= 6 %: {_pc(_mean(rise15))} %: "
                        f"{'yes' if _mean(rise15) <= 0.06 else 'NO'}; the hour after <= 3.5 %: {_pc(rise60)} %: "
                        f"{'yes' if rise60 <= 0.035 else 'NO'}"]
        out.append("")
    if any(r["scenario"] == "window" for r in rows):
        out += ["## (iii) 24-hour windows (UK): strategy days one after another, each with the day before in its "
                "window", "", "| operators | windows | occupancy % | day-end windows over 3 % | worst window in "
                "the day (>= 100 answers) % | windows over 3 % at any minute | worst hour <= 3 % on |",
                "|---|---|---|---|---|---|---|"]
        for ops in WINDOW_TEAMS:
            g = by("window", ops)
            if not g:
                continue
            over_end = sum(r["window_abandon_rate"] > CAP for r in g)
            over_any = sum(r["worst_window_abandon_rate"] > CAP for r in g)
            out.append(f"| {ops} | {len(g)} | {100 * _mean([r['occupancy'] for r in g]):.1f} | {over_end} | "
                       f"{_pc(max(r['worst_window_abandon_rate'] for r in g))} | {over_any} | "
                       f"{100 * sum(r['worst_hour_abandon_rate'] <= CAP for r in g) / len(g):.0f} % of days |")
            targets.append(f"(iii) {ops} operators: 24-hour windows over 3 % <= 1 in 100: {over_any} in {len(g)} "
                           f"(at any minute; {over_end} at the day's end): "
                           f"{'yes' if over_any <= len(g) / 100 else 'NO'}")
        out.append("")
    g = [r for r in rows if r["scenario"] == "check"]
    if g:
        occupancy = _mean([r["occupancy"] for r in g])
        out += ["## (iv) The grid's check cell (20 operators, answer 0.3, exponential talk 180 s, no wrap-up)", "",
                f"{len(g)} seeds: occupancy {100 * occupancy:.1f} %, day abandonment worst seed "
                f"{_pc(max(r['abandon_rate'] for r in g))} %, worst hour per day "
                f"{', '.join(_pc(w) for w in sorted(r['worst_hour_abandon_rate'] for r in g))} %.", ""]
        targets.append(f"(iv) check cell occupancy {100 * occupancy:.1f} % against {100 * GRID_CHECK_OCCUPANCY:.1f} % "
                       f"in pacing-grid.md (5 seeds there): loses <= 0.5 points: "
                       f"{'yes' if occupancy >= GRID_CHECK_OCCUPANCY - 0.005 else 'NO'}")
    return out, targets


def run_scenarios(args: argparse.Namespace) -> None:
    settings = tuple((k, _value(v)) for k, _, v in (item.partition("=") for item in args.pacing or []))
    if args.pacer not in PACERS:
        raise SystemExit(f"unknown pacer {args.pacer!r}; choose from {', '.join(PACERS)}")
    seeds = args.seeds or (2 if args.quick else 10)
    chains = args.chains or (2 if args.quick else seeds)
    days = args.days or (3 if args.quick else 10)
    only = set(args.only.split(",")) if args.only else {"i", "ii", "iii", "iv"}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    if args.merge:          # summarize runs made separately (e.g. the windows apart from the days)
        loaded = [json.loads(f.read_text()) for f in args.merge]
        rows = [row for data in loaded for row in data["rows"]]
        how = "merged: " + "; ".join(f"{f}: {data.get('how', 'cut short')}" for f, data in zip(args.merge, loaded,
                                                                                               strict=True))
    else:
        teams = tuple(int(t) for t in args.window_teams.split(",")) if args.window_teams else WINDOW_TEAMS
        day_teams = tuple(int(t) for t in args.teams.split(",")) if args.teams else TEAMS
        jobs = jobs_for(only, seeds, chains, days, args.pacer, settings, teams, day_teams)
        rows, how = _run(args, jobs, commit.strip(), settings)
    lines, targets = figures(rows)
    command = "    " + " ".join(["python", *sys.argv])
    text = "\n".join(["# Pacing scenarios", "", how.replace("; ", ";\n"), "", command, "", *lines,
                      "## Targets", "", *[f"- {t}" for t in targets]]) + "\n"
    print(text)
    markdown = args.markdown or (None if args.quick else RESULTS)
    if markdown:
        markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "targets": targets, "how": how}))


def _run(args: argparse.Namespace, jobs: list[Job], commit: str,
         settings: tuple[tuple[str, Any], ...]) -> tuple[list[dict[str, Any]], str]:
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with multiprocessing.Pool(args.workers) as processes:
        for i, part in enumerate(processes.imap_unordered(run_job, jobs), 1):
            rows += part
            print(f"[{i}/{len(jobs)} jobs, {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
            if args.json:
                args.json.write_text(json.dumps({"partial": True, "rows": rows}))
    wall = time.perf_counter() - started
    cpu = sum(r["cpu_s"] for r in rows)
    days = sorted({r["scenario"] for r in rows})
    how = (f"{datetime.now(UTC):%d %b %Y %H:%M} UTC, commit {commit}, pacer {args.pacer}"
           + (f" with {', '.join(f'{k}={v}' for k, v in settings)}" if settings else "")
           + f", {', '.join(days)}; {wall:.0f} s wall, {cpu:.0f} s CPU in {args.workers} workers; load average "
           f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    return rows, how


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
