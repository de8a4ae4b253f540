"""A run of ``benchmarks/engine.py`` written into its results file (``--record FILE``), newest first under the
file's title: the command, the commit, the time (UTC) and the load; the figures, each target met or not; and,
with ``--profile``, where the engine's CPU went (cProfile in CPU time over the window: its 25 costliest
functions by cumulative time and the 15 by own time). A profiled run's wall figures are the profiler's (it
slows the engine about twofold); its CPU shares are what it is for."""

from __future__ import annotations

import io
import pstats
import shlex
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return (git("rev-parse", "--short", "HEAD") or "unknown") + (" (with changes not committed)"
                                                                   if git("status", "--porcelain") else "")


def profile_text(path: Path) -> str:
    """The profile's costliest functions, by cumulative time then by own time, paths from the repository."""
    parts = []
    for order, top, title in (("cumulative", 25, "by cumulative time"), ("tottime", 15, "by own time")):
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).sort_stats(order).print_stats(top)
        lines = [line.replace(f"{ROOT}/", "") for line in out.getvalue().splitlines()
                 if line.strip() and str(path) not in line
                 and not line.lstrip().startswith(("Ordered by", "List reduced"))]
        parts += [f"-- {title} --", *lines]
    return "\n".join(parts)


def _loaded(result: dict[str, object]) -> str:
    busy = max(float(result["load_start"][0]), float(result["load_end"][0]))  # type: ignore[index]   # 1 min
    return "" if busy < 1.0 else " (loaded: the wall figures waited for a core; no target is judged on them)"


def section(result: dict[str, object], targets: dict[str, float], started: datetime, ended: datetime,
            profile: Path | None) -> str:
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/engine.py", *sys.argv[1:]])
    load = f"{result['load_start']} → {result['load_end']}"
    head = [f"## `benchmarks/engine.py` run of {started:%d %b %Y, %H:%M}–{ended:%H:%M} UTC ({_commit()})", "",
            f"Written by the run itself (`--record`). Load average (1, 5, 15 min) {load} on "
            f"{result['cores']} cores{'; under the profiler' if profile else ''}{_loaded(result)}:",
            "", f"    {command}", ""]
    rows = ["| figure | value | target |", "|---|---|---|"]
    for key, value in result.items():
        if key in ("slow_callbacks", "clock"):
            continue
        limit = targets.get(key)
        judged = "" if limit is None else f"< {limit:g}: {'met' if float(value) < limit else '**not met**'}"  # type: ignore[arg-type]
        rows.append(f"| {key} | {value} | {judged} |")
    notes = result.get("slow_callbacks") or []
    body = rows + (["", "```", *notes, "```"] if notes else [])  # type: ignore[list-item]
    if profile is not None:
        body += ["", "Where the CPU went (cProfile, CPU time, the window):", "", "```", profile_text(profile), "```"]
    return "\n".join(head + body) + "\n"


def record(path: Path, text: str) -> None:
    """Put the section under the file's title (its first line), above the earlier runs."""
    lines = path.read_text().splitlines(keepends=True) if path.exists() else ["# Results\n"]
    path.write_text("".join([lines[0], "\n", text, *lines[1:]]))
