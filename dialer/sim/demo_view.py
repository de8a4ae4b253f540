"""How ``dialer demo`` shows itself: a live floor while the day runs (--live), a summary at the end."""

from __future__ import annotations

import math
from datetime import timedelta
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from compliance.limits import LegalLimits, legal_limits
from dialer.call import CallState
from dialer.engine import Engine
from dialer.sim.demo import DemoResult, DemoSettings


class DemoView:
    def __init__(self, console: Console) -> None:
        self._live = Live(Table(), console=console, refresh_per_second=8, transient=False)
        self._last = -1.0

    def __enter__(self) -> DemoView:
        self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._live.__exit__(kind, exc, tb)

    def update(self, engine: Engine, elapsed_s: float) -> None:
        if elapsed_s - self._last < 30:  # one redraw per 30 virtual seconds keeps the day fast
            return
        self._last = elapsed_s
        hours, rest = divmod(int(elapsed_s), 3600)
        floor = Table("operator", "state", "calls", "talk min", title=f"floor at +{hours}h{rest // 60:02d}m")
        for operator in engine.floor.operators.values():
            floor.add_row(operator.name, operator.state.value, str(operator.calls), f"{operator.talk_s / 60:.1f}")
        states = {s: 0 for s in CallState}
        for call in engine.calls.values():
            states[call.state] += 1
        calls = Table("calls in flight", "n")
        for state, n in states.items():
            if state is not CallState.ENDED:
                calls.add_row(state.value, str(n))
        stats = engine.stats
        totals = Table("originated", "answered", "connected", "abandoned")
        totals.add_row(str(stats.originated), str(stats.answered), str(stats.connected), str(stats.abandoned))
        self._live.update(Group(floor, calls, totals))


class DemoProgress:
    """The default while the day runs: a bar over the virtual day with what a manager watches — calls,
    abandonment against the cap, how much the operators talk — so two minutes of waiting say something."""

    def __init__(self, console: Console, hours: float) -> None:
        self._progress = Progress(TextColumn("{task.fields[clock]}"), BarColumn(bar_width=16),
                                  TextColumn("{task.fields[news]}"), TimeElapsedColumn(), console=console,
                                  transient=False)
        self._task = self._progress.add_task("day", total=hours * 3600, clock="+0h00m", news="starting")
        self._last = -1.0

    def __enter__(self) -> DemoProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, exc, tb)

    def update(self, engine: Engine, elapsed_s: float) -> None:
        if elapsed_s - self._last < 60:     # one redraw per virtual minute keeps the day fast
            return
        self._last = elapsed_s
        hours, rest = divmod(int(elapsed_s), 3600)
        stats = engine.stats
        rate = stats.abandoned / stats.answered if stats.answered else 0.0
        operators = list(engine.floor.operators.values())
        talk = sum(o.talk_s for o in operators) / (elapsed_s * len(operators)) if operators and elapsed_s else 0.0
        news = f"{stats.originated:,} calls · {stats.connected:,} talked · abandoned {rate:.1%} · talking {talk:.0%}"
        self._progress.update(self._task, completed=elapsed_s, clock=f"+{hours}h{rest // 60:02d}m", news=news)


def _window(limits: LegalLimits) -> str:
    window = limits.abandon_window
    return f"{window.days} days" if window >= timedelta(days=2) else f"{limits.window_hours:g} hours"


def against_the_window(answered: int, abandoned: int, limits: LegalLimits) -> str:
    """What a day's abandonment means against the law, which counts a window (24 hours, 30 days), not a day.
    A short day is a small sample: each abandon moves its rate by a lot, and the pacer allows the first
    couple before it falls back (pacing.abandonment), so a half-hour day may end over the cap where the
    window it belongs to would not. If the window held only this day, it says what would bring it back."""
    cap = limits.abandon_cap
    words = f"The {cap:.0%} cap counts a window of {_window(limits)} ({limits.abandon_source}), not one day"
    if answered == 0:
        return words + ": this day had no live answer."
    words += f": with {answered:,} answers, one abandon moves this day's figure by {100 / answered:.1f} points"
    if abandoned > cap * answered + 1e-9:
        more = math.ceil(abandoned / cap - answered - 1e-9)
        return (words + f". A window holding only this day would be over it until {more:,} more answered calls "
                "without an abandon.")
    return words + "."


def plain_words(settings: DemoSettings, result: DemoResult) -> str:
    """The day in a few sentences, for someone who has not read the table's headings."""
    s = result.summary
    limits = legal_limits(None)             # the demo's campaign has no compliance preset
    verdict = "under" if s.abandon_rate <= limits.abandon_cap else "OVER"
    return (f"In a simulated {result.virtual_s / 3600:.1f}-hour day ({result.wall_s:.0f} s of real time), "
            f"{settings.operators} operators talked to {s.connected:,} people out of {s.attempts:,} calls placed. "
            f"{s.abandoned:,} of the {s.answered:,} people who answered ({s.abandon_rate:.2%}) found no free operator "
            f"within 2 seconds and heard the safe-harbor message: {verdict} the {limits.abandon_cap:.0%} cap on this "
            f"day's answers. {against_the_window(s.answered, s.abandoned, limits)} "
            f"The operators were busy {s.occupancy:.0%} of their logged-in time, talking "
            f"{s.talk_minutes_per_operator_hour:.0f} minutes in every hour.")


def print_result(console: Console, settings: DemoSettings, result: DemoResult) -> None:
    s = result.summary
    table = Table(title=f"demo: {settings.operators} operators, {settings.leads} leads, {settings.mode}",
                  show_header=False)
    table.add_row("virtual time simulated", f"{result.virtual_s / 3600:.2f} h (in {result.wall_s:.1f} s of wall time)")
    table.add_row("attempts", str(s.attempts))
    table.add_row("answered (live)", str(s.answered))
    table.add_row("connected to an operator", str(s.connected))
    limits = legal_limits(None)
    table.add_row("abandoned", f"{s.abandoned} ({s.abandon_rate:.2%} of answered; cap {limits.abandon_cap:.0%} "
                                f"over {_window(limits)})")
    table.add_row("dropped by the callee while waiting", str(s.dropped))
    table.add_row("operator occupancy", f"{s.occupancy:.1%}")
    table.add_row("talk minutes per operator-hour", f"{s.talk_minutes_per_operator_hour:.1f}")
    # Virtual time stands still while the engine works, so only the wall clock says what a hand-off costs.
    table.add_row("answer → operator hand-off, p50 / p99 (engine work, wall clock)",
                  f"{result.handoff_wall_p50_ms:.1f} / {result.handoff_wall_p99_ms:.1f} ms")
    table.add_row("leads done / ready / claimed", f"{s.leads_done} / {s.leads_ready} / {s.leads_claimed}")
    table.add_row("outcomes", ", ".join(f"{k} {v}" for k, v in s.outcomes.items()))
    console.print(table)
    console.print(plain_words(settings, result))
