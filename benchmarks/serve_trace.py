"""The workers' own account of each card (``dialer/web/trace.py``, switched on by ``DIALER_SERVE_TRACE=1``)
laid beside the engine's, the store's and the client's times: where the slowest cards spent theirs, and
which stalls of their worker's event loop (garbage collections, long callbacks) fell inside them."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

CARD = re.compile(r"\[(\d+)\]: card (\S+) (\d+): news ([\d.]+) reading ([\d.]+) shown ([\d.]+) painted ([\d.]+) "
                  r"sent ([\d.]+)")
STALL = re.compile(r"\[(\d+)\]: stall ([\d.]+) for ([\d.]+) ms")
SLOW = re.compile(r"\[(\d+)\]: slow ([\d.]+) for ([\d.]+) ms \(([\d.]+) ms of CPU\): (.*)")
PAUSE = re.compile(r"\[(\d+)\]: garbage collection of generation (\d) stopped the sessions for (\d+) ms "
                   r"\((\d+) ms of CPU, (\d+) freed\) at ([\d.]+)")
STAGES = ("engine", "store", "to worker", "queued", "reads", "paint", "write", "to client")


@dataclass
class Worker:
    stalls: list[tuple[float, float]] = field(default_factory=list)          # (start, ms)
    pauses: list[tuple[float, float, int]] = field(default_factory=list)     # (start, ms, generation)
    slow: list[tuple[float, float, float, str]] = field(default_factory=list)  # (start, ms, CPU ms, callback)


def read_log(log: Path) -> tuple[dict[str, tuple[int, list[float]]], dict[int, Worker]]:
    cards: dict[str, tuple[int, list[float]]] = {}
    workers: dict[int, Worker] = {}
    for line in log.read_text(errors="replace").splitlines():
        if (m := CARD.search(line)) is not None:
            cards.setdefault(m[2], (int(m[1]), [float(m[i]) for i in range(4, 9)]))   # the first call only
        elif (m := STALL.search(line)) is not None:
            workers.setdefault(int(m[1]), Worker()).stalls.append((float(m[2]), float(m[3])))
        elif (m := SLOW.search(line)) is not None:
            workers.setdefault(int(m[1]), Worker()).slow.append((float(m[2]), float(m[3]), float(m[4]), m[5]))
        elif (m := PAUSE.search(line)) is not None:
            workers.setdefault(int(m[1]), Worker()).pauses.append((float(m[6]), float(m[3]), int(m[2])))
    return cards, workers


def report(log: Path, connected: dict[str, datetime], sent: dict[str, datetime], heard: dict[str, datetime],
           shown: dict[str, datetime], *, slowest: int = 8) -> None:
    cards, workers = read_log(log)
    rows: list[tuple[str, int, list[float]]] = []
    for name, (pid, (news, reading, set_, painted, out)) in cards.items():
        if not all(name in d for d in (connected, sent, heard, shown)):
            continue
        moments = [connected[name].timestamp(), sent[name].timestamp(), heard[name].timestamp(), news, reading,
                   set_, painted, out, shown[name].timestamp()]
        rows.append((name, pid, moments))
    if not rows:
        print("  no traced cards (DIALER_SERVE_TRACE=1 in the server's environment?)")
        return
    print(f"  inside the workers ({len(rows)} traced cards), ms p50 / p99 / max:")
    for i, stage in enumerate(STAGES):
        spans = [(m[i + 1] - m[i]) * 1000 for _, _, m in rows]
        q = statistics.quantiles(spans, n=100) if len(spans) > 1 else spans * 99
        print(f"    {stage:>10}: {q[49]:7.1f} / {q[98]:7.1f} / {max(spans):7.1f}")
    rows.sort(key=lambda row: row[2][-1] - row[2][0], reverse=True)
    print(f"  the {slowest} slowest cards (ms per stage: {', '.join(STAGES)}), and what stopped their worker:")
    for name, pid, m in rows[:slowest]:
        spans = " ".join(f"{(m[i + 1] - m[i]) * 1000:.0f}" for i in range(len(STAGES)))
        worker = workers.get(pid, Worker())
        start, end = m[2], m[7]    # from the store's NOTIFY to the bytes written
        stalls = [f"{ms:.0f}" for at, ms in worker.stalls if at < end and at + ms / 1000 > start]
        pauses = [f"gen{g} {ms:.0f}" for at, ms, g in worker.pauses if at < end and at + ms / 1000 > start]
        slow = [f"{ms:.0f} ({cpu:.0f} CPU) {what}" for at, ms, cpu, what in worker.slow
                if at < end and at + ms / 1000 > start]
        print(f"    {name}: {(m[-1] - m[0]) * 1000:.0f} ms = {spans}; stalls (ms) {', '.join(stalls) or 'none'}; "
              f"collections {', '.join(pauses) or 'none'}")
        for line in slow:
            print(f"        slow callback {line}")
    for pid, worker in sorted(workers.items()):
        costly: dict[str, list[float]] = {}
        for _, _ms, cpu, what in worker.slow:
            costly.setdefault(what, []).append(cpu)
        for what, cpus in sorted(costly.items(), key=lambda item: -sum(item[1]))[:6]:
            print(f"  worker {pid}: {len(cpus)} callbacks ≥ 30 ms, {sum(cpus):.0f} ms of CPU in all, worst "
                  f"{max(cpus):.0f}: {what}")
        longest = sorted((ms for _, ms in worker.stalls), reverse=True)[:5]
        print(f"  worker {pid}: {len(worker.stalls)} stalls ≥ 30 ms, longest "
              f"{', '.join(f'{x:.0f}' for x in longest)} ms; {len(worker.pauses)} collections ≥ 30 ms")
