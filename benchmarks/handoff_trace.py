"""Where a hand-off's time goes: timestamps along its path, in the engine and in the simulator's process.

``benchmarks/engine.py --trace-handoff`` hangs these probes on the engine from outside (nothing in the engine
changes) and starts the simulator with ``install_simulator``, which notes in a file when the simulator
published an answer, read a Redirect and published the customer's ConfbridgeJoin. Both processes stamp with
``time.perf_counter`` (CLOCK_MONOTONIC on Linux: one clock for every process of the host), so the stages
join up across the socket:

    answer published (sim) → its bytes read (engine) → dispatched (the handler runs) → operator chosen
    → Redirect written → Redirect read (sim) → ConfbridgeJoin published (sim) → its bytes read (engine)
    → "connected" handled (engine)

"operator chosen" later than "dispatched" is a call that waited for a free operator: the floor's doing,
not the machinery's. The report gives each stage's p50/p99 over the window's hand-offs and, for the
slowest 1 %, each stage's mean share: what the tail is made of.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dialer.call import attempt_of_channel

STAGES = (   # (name, from mark, to mark)
    ("socket → engine (answer)", "sim_answer", "answer_read"),
    ("read → dispatched", "answer_read", "dispatched"),
    ("waited for an operator", "dispatched", "chosen"),
    ("chosen → Redirect written", "chosen", "redirect_written"),
    ("Redirect on the wire → sim read", "redirect_written", "sim_redirect"),
    ("sim: Redirect → ConfbridgeJoin", "sim_redirect", "sim_join"),
    ("socket → engine (join)", "sim_join", "join_read"),
    ("join read → connected", "join_read", "joined"),
)


def _attempt(pairs: Any) -> str | None:
    for key, value in pairs:
        if key == "Uniqueid" and attempt_of_channel(value) is not None:
            return str(value)
    return None


def install_simulator(path: str) -> None:
    """In the simulator's process, before it starts: note answers, Redirects read and joins, one line each."""
    from ami.simulator import actions, server

    out = open(path, "w", buffering=1)   # open for the process's life; line-buffered: it is killed, not closed
    publish = server.SimulatorServer.publish

    def traced_publish(self: server.SimulatorServer, name: str, category: str, pairs: Any) -> None:
        publish(self, name, category, pairs)
        t = time.perf_counter()
        if name == "ConfbridgeJoin" or (name == "UserEvent" and ("UserEvent", "DialerAnswered") in pairs) or (
                name == "OriginateResponse" and ("Response", "Success") in pairs):
            attempt = _attempt(pairs)
            if attempt is not None:
                out.write(f"{'sim_join' if name == 'ConfbridgeJoin' else 'sim_answer'} {attempt} {t!r}\n")

    redirect = actions._HANDLERS["redirect"]
    _loop_turns(out)

    def traced_redirect(session: Any, message: Any) -> Any:
        out.write(f"sim_redirect {message.get('Channel')} {time.perf_counter()!r}\n")
        return redirect(session, message)

    server.SimulatorServer.publish = traced_publish  # type: ignore[method-assign]
    actions._HANDLERS["redirect"] = traced_redirect
    started = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:   # the simulator's own collector's pauses
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            out.write(f"sim_gc{info['generation']} - {time.perf_counter() - started[0]!r}\n")

    gc.callbacks.append(collected)
    deliver = server.Session.deliver

    def traced_deliver(self: server.Session, category: str, block: bytes, text: str | None) -> None:
        deliver(self, category, block, text)
        if b"ConfbridgeJoin" in block[:40]:
            out.write(f"sim_unsent - {self.writer.transport.get_write_buffer_size()}\n")

    server.Session.deliver = traced_deliver  # type: ignore[method-assign]


def _loop_turns(out: Any) -> None:
    """In the simulator: each loop callback of 20 µs or more (start, duration, what) and each poll of its
    sockets, written out in batches (a few µs a callback), so that a Redirect read late can say what the loop
    ran between its write and its read."""
    import asyncio
    from selectors import DefaultSelector

    batch: list[str] = []
    run = asyncio.Handle._run

    def note(line: str) -> None:
        batch.append(line)
        if len(batch) >= 256:
            out.write("".join(batch))
            batch.clear()

    def timed_run(handle: asyncio.Handle) -> None:
        # read before it runs: a timer that ends its channel cancels itself, which drops both
        callback, args = handle._callback, handle._args  # type: ignore[attr-defined]
        began = time.perf_counter()
        try:
            run(handle)
        finally:
            took = time.perf_counter() - began
            if took >= 2e-5:
                if getattr(callback, "__qualname__", "") == "_Turns.due" and args:   # a channel timer: by what
                    callback = getattr(args[0], "_callback", None) or callback        # it ran
                task = getattr(callback, "__self__", None)
                what = (task.get_coro().__qualname__ if isinstance(task, asyncio.Task)
                        else getattr(callback, "__qualname__", type(callback).__name__))
                prefix = "timer:" if isinstance(handle, asyncio.TimerHandle) else ""
                note(f"sim_ran - {began:.6f},{took:.6f},{prefix}{what.replace(' ', '_')}\n")

    asyncio.Handle._run = timed_run  # type: ignore[method-assign]
    select = DefaultSelector.select

    def timed_select(selector: Any, timeout: float | None = None) -> Any:
        began = time.perf_counter()
        events = select(selector, timeout)
        note(f"sim_ran - {time.perf_counter():.6f},{time.perf_counter() - began:.6f},poll\n")
        return events

    DefaultSelector.select = timed_select  # type: ignore[method-assign]


class HandoffTrace:
    """The engine's side: the marks of each attempt's hand-off, by channel id."""

    def __init__(self, simulator_file: Path) -> None:
        self.simulator_file = simulator_file
        self.marks: dict[str, dict[str, float]] = {}
        self.write_buffer: list[int] = []      # the AMI transport's unsent bytes when a Redirect is written
        self._chunk_t = 0.0
        self.backlog: list[int] = []
        self.originates: list[float] = []     # when each Originate was written
        self.reads: list[float] = []          # the read time of each AMI event handled
        self.read_names: list[str] = []       # and its name
        self.reader: Any = None

    def attach(self, engine: Any, pbx: Any) -> None:
        from ami import wire

        blocks = wire.Parser.blocks
        trace = self

        def stamped_blocks(parser: wire.Parser, data: bytes) -> list[bytes]:
            trace._chunk_t = time.perf_counter()   # the bytes just came off the socket
            if trace.reader is not None:
                trace.backlog.append(len(trace.reader._buffer))   # what the transport holds behind them
            return blocks(parser, data)

        wire.Parser.blocks = stamped_blocks  # type: ignore[method-assign]

        def raw(message: Any) -> None:
            uid = message.get("Uniqueid")
            if uid is None or attempt_of_channel(uid) is None:
                return
            event = (message.event or "").lower()
            if event == "confbridgejoin":
                self._mark(uid, "join_read", self._chunk_t)
            elif ((event == "userevent" and (message.get("UserEvent") or "") == "DialerAnswered")
                  or (event == "originateresponse" and message.get("Response") == "Success")):
                self._mark(uid, "answer_read", self._chunk_t)

        pbx.subscribe_raw(raw)
        handoff = engine.handoff
        self._wrap(handoff, "answered", lambda call, *a, **k: self._mark(call.channel_id, "dispatched"))
        self._wrap(handoff, "_send_to", lambda call, *a, **k: self._mark(call.channel_id, "chosen"))
        self._wrap(handoff, "joined", lambda call, *a, **k: self._mark(call.channel_id, "joined"))
        redirect = pbx.redirect

        def traced_redirect(channel_id: str, *args: Any, **kwargs: Any) -> Any:
            session = pbx._session
            control = getattr(pbx, "_control", None) or session
            if session is not None:
                self.reader = session._reader
                self.write_buffer.append(control._writer.transport.get_write_buffer_size())
            self._mark(channel_id, "redirect_written")
            return redirect(channel_id, *args, **kwargs)    # written before it returns (AmiClient.redirect)

        pbx.redirect = traced_redirect
        originate = pbx.originate

        async def traced_originate(request: Any) -> None:
            self.originates.append(time.perf_counter())
            await originate(request)

        pbx.originate = traced_originate

        def read(message: Any) -> None:
            self.reads.append(self._chunk_t)
            self.read_names.append(message.event or "")

        pbx.subscribe_raw(read)

    def _wrap(self, target: Any, name: str, before: Callable[..., None]) -> None:
        method = getattr(target, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            before(*args, **kwargs)
            return method(*args, **kwargs)

        setattr(target, name, wrapped)

    def _mark(self, channel_id: str, mark: str, t: float | None = None) -> None:
        marks = self.marks.setdefault(channel_id, {})
        marks.setdefault(mark, time.perf_counter() if t is None else t)   # the first: a resend is not a stage

    def report(self, since: float, until: float) -> list[str]:
        """Each stage's p50/p99 over the hand-offs connected in [since, until], and the slowest 1 %'s make-up."""
        sim_gc: dict[str, list[float]] = {}
        unsent: list[float] = []
        ran: list[tuple[float, float, str]] = []
        for line in self.simulator_file.read_text().splitlines():
            if line.startswith("sim_ran "):
                a, d, kind = line[9:].split(",", 2)
                ran.append((float(a), float(d), kind))
                continue
            mark, attempt, t = line.split()
            if mark.startswith("sim_gc"):
                sim_gc.setdefault(mark, []).append(float(t))
            elif mark == "sim_unsent":
                unsent.append(float(t))
            else:
                self.marks.setdefault(attempt, {}).setdefault(mark, float(t))
        done = [m for m in self.marks.values()
                if "joined" in m and "dispatched" in m and since <= m["joined"] <= until
                and all(a in m and b in m for _, a, b in STAGES)]
        if not done:
            return ["hand-off trace: no complete hand-off in the window"]
        total = np.array([m["joined"] - m["dispatched"] for m in done]) * 1000
        tail = [m for m, t in zip(done, total, strict=True) if t >= np.percentile(total, 99)]
        lines = [f"hand-off trace: {len(done)} hand-offs; dispatched → connected p50 {np.percentile(total, 50):.2f} "
                 f"p99 {np.percentile(total, 99):.2f} ms; the slowest 1 % ({len(tail)}) from "
                 f"{min(m['joined'] - m['dispatched'] for m in tail) * 1000:.1f} ms",
                 f"{'stage':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'slowest 1 %: mean ms':>21}"]
        for name, a, b in STAGES:
            d = np.array([m[b] - m[a] for m in done]) * 1000
            t = np.array([m[b] - m[a] for m in tail]) * 1000
            lines.append(f"{name:<34} {np.percentile(d, 50):>8.2f} {np.percentile(d, 99):>8.2f} {d.max():>8.1f} "
                         f"{t.mean():>21.1f}")
        sent, read = np.array(self.originates), np.array(self.reads)

        def around(ms: list[dict[str, float]]) -> str:
            before = np.mean([np.count_nonzero((sent > m["redirect_written"] - 0.3) & (sent <= m["redirect_written"]))
                              for m in ms])
            events = np.mean([np.count_nonzero((read > m["redirect_written"]) & (read <= m["join_read"])) for m in ms])
            return f"{before:.0f} Originates written in the 300 ms before the Redirect, {events:.0f} events read " \
                   f"between the Redirect and the join"

        names: Counter[str] = Counter()
        for m in tail:
            inside = np.flatnonzero((read > m["redirect_written"]) & (read <= m["join_read"]))
            names.update(self.read_names[i] for i in inside)
        lines.append(f"the events read meanwhile, by name: {dict(names.most_common(8))}")
        median = [m for m, t in zip(done, total, strict=True) if t <= np.percentile(total, 50)]
        lines.append(f"the slowest 1 %: {around(tail)}; the fastest half: {around(median)}")
        lines += _redirect_waits(done, sorted(ran))
        for mark, pauses in sorted(sim_gc.items()):
            lines.append(f"simulator collector generation {mark[-1]}: {len(pauses)} pauses, "
                         f"{1000 * sum(pauses):.0f} ms in all, longest {1000 * max(pauses):.1f} ms (whole run)")
        if unsent:
            lines.append(f"simulator's unsent bytes to the engine after a ConfbridgeJoin: p50 "
                         f"{np.percentile(unsent, 50):.0f}, p99 {np.percentile(unsent, 99):.0f}, max {max(unsent):.0f}")
        if self.backlog:
            lines.append(f"engine: bytes read but not yet handled when a read is handled: p50 "
                         f"{np.percentile(self.backlog, 50):.0f}, p99 {np.percentile(self.backlog, 99):.0f}, "
                         f"max {max(self.backlog)}")
        if self.write_buffer:
            lines.append(f"AMI write buffer at a Redirect: p50 {np.percentile(self.write_buffer, 50):.0f} B, "
                         f"p99 {np.percentile(self.write_buffer, 99):.0f} B, max {max(self.write_buffer)} B")
        return lines


def _redirect_waits(done: list[dict[str, float]], ran: list[tuple[float, float, str]]) -> list[str]:
    """For the slowest 1 % of the Redirects by "on the wire → sim read": what the simulator's loop ran between
    the Redirect written and read (the time of each kind of callback, the polls of its sockets)."""
    if not ran:
        return []
    waits = np.array([m["sim_redirect"] - m["redirect_written"] for m in done])
    cut = np.percentile(waits, 99)
    slow = [m for m, w in zip(done, waits, strict=True) if w >= cut]
    starts = [r[0] for r in ran]
    kinds: Counter[str] = Counter()
    polls = longest = 0.0
    for m in slow:
        inside = ran[bisect_left(starts, m["redirect_written"]):bisect_right(starts, m["sim_redirect"])]
        for _, d, k in inside:
            kinds[k] += d * 1000 / len(slow)
        polls += sum(k == "poll" for _, _, k in inside) / len(slow)
        longest += max((d for _, d, k in inside if k != "poll"), default=0.0) * 1000 / len(slow)
    shown = ", ".join(f"{k} {v:.2f}" for k, v in kinds.most_common(6))
    return [f"the slowest 1 % of Redirects by wire → sim read ({len(slow)}, from {cut * 1000:.1f} ms): the "
            f"simulator ran meanwhile (mean ms each, callbacks of 20 µs or more): {shown}; {polls:.1f} polls of "
            f"its sockets; longest callback {longest:.2f} ms"]
