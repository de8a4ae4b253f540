"""What a day on the floor is set up with (``DaySettings``) and what it leaves for the invariants to judge
(``DayRecord``, and ``ErrorLog``, which sorts the ERROR records a day's faults excuse from the others)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from lists.dispositions import Disposition
from pacing.world import World
from tests.floor.consoles import ConsoleOperator
from tests.floor.lives import LIFE
from tests.floor.witness import FloorWitness

# Short calls, so a part of a day holds many of them; people who wait in silence give up after ~30 s.
WORLD = World(answer_rate=0.3, talk_mean_s=60.0, wrap_s=8.0, patience_mean_s=30.0)


@dataclass(frozen=True)
class DaySettings:
    hours: float = 0.4
    leads: int = 800
    simulated: int = 4
    consoles: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("Anna", ("interested_later", "not_interested")), ("Boris", ("information_sent", "sale")))
    mode: str = "predictive"
    seed: int = 7
    world: World = WORLD


@dataclass
class DayRecord:
    """What happened, for the invariants and for the failure messages."""
    settings: DaySettings
    campaign_id: int = 0
    attempts: list[asyncpg.Record] = field(default_factory=list)
    leads: list[asyncpg.Record] = field(default_factory=list)
    witness: FloorWitness = field(default_factory=FloorWitness)
    codes: dict[str, Disposition] = field(default_factory=dict)        # every code the campaign ever had
    faults: list[tuple[float, str]] = field(default_factory=list)       # (virtual s, what the test did)
    stale: list[tuple[float, float]] = field(default_factory=list)      # (virtual s, snapshot age s) > 2 s
    samples: int = 0
    expectations: list[str] = field(default_factory=list)               # what a scenario waited for in vain
    marks: dict[str, int] = field(default_factory=dict)                  # what a scenario wants to look at later
    errors: list[str] = field(default_factory=list)                     # ERROR records not caused on purpose
    excused: list[str] = field(default_factory=list)
    consoles: dict[str, ConsoleOperator] = field(default_factory=dict)
    virtual_s: float = 0.0
    wall_s: float = 0.0
    t0: float = 0.0
    day_start: datetime | None = None

    def at(self, moment: datetime | None) -> float | None:
        """A stored wall time on the day's virtual timeline (seconds since the day began)."""
        if moment is None or self.day_start is None:
            return None
        return round((moment - self.day_start).total_seconds(), 3)


class ErrorLog(logging.Handler):
    """ERROR records, except those of a killed engine after its death and those a fault excuses."""

    def __init__(self, record: DayRecord, dead: set[int], excuses: list[str]) -> None:
        super().__init__(logging.WARNING)
        self._record, self._dead, self._excuses = record, dead, excuses

    def emit(self, entry: logging.LogRecord) -> None:
        if entry.levelno < logging.ERROR:
            return
        text = f"{entry.name}: {entry.getMessage()}"
        if entry.exc_info and entry.exc_info[1] is not None:
            text += f" [{type(entry.exc_info[1]).__name__}: {entry.exc_info[1]}]"
        # A bad input the test fed may be logged as refused; a task dying of it is never excused.
        on_purpose = LIFE.get() in self._dead or (any(e in text for e in self._excuses)
                                                  and "task" not in entry.getMessage().lower())
        (self._record.excused if on_purpose else self._record.errors).append(text)
