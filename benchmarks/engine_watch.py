"""What ``benchmarks/engine.py`` watches for beside its figures, and the fault it can inflict: a background
task that died, what the AMI link and the PBX did (from the engine's own log lines), and loop stalls placed
right after a Ping, so that runs before and after a change meet the same stalls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from ami.connection import Session
from ami.wire import Message


class Stalls:
    """Block the engine's event loop for ``stall_s`` right after a Ping goes out, at most once every
    ``every_s``: what a host that gives the process no core for that long does to it at the worst moment
    for the keep-alive (on a loaded 2-core machine it happens unasked; this makes it happen on time, so
    runs before and after a change meet the same stalls)."""

    def __init__(self, stall_s: float, every_s: float) -> None:
        self.stall_s, self.every_s = stall_s, every_s
        self.count = 0
        self.armed = False
        self._last = -every_s

    def attach(self) -> None:
        request = Session.request
        stalls = self

        async def stalling_request(session: Session, action: Message, **kwargs: bool) -> object:
            loop = asyncio.get_running_loop()
            if stalls.armed and action.get("Action") == "Ping" and loop.time() - stalls._last >= stalls.every_s:
                stalls._last = loop.time()
                stalls.count += 1
                loop.call_soon(time.sleep, stalls.stall_s)     # after the Ping is written
            return await request(session, action, **kwargs)

        Session.request = stalling_request  # type: ignore[assignment,method-assign]


class TaskDeaths(logging.Handler):
    """Every ERROR of a background task that failed (``dialer/tasks.py`` logs each): the run fails on one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "background task" in record.getMessage():
            self.failures.append(record.getMessage())


class LinkEvents(logging.Handler):
    """What the AMI link and the PBX did during the run, from the engine's own log lines: the link's drops
    (and why), the Originates the PBX refused (and with what text), the calls reconciled as gone while the
    link was down, and the campaigns paused for refusals."""

    LOGGERS = ("ami.client", "dialer.dialing", "dialer.recovery", "dialer.refusals")

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.drops = 0
        self.drop_reasons: list[str] = []
        self.refused = 0
        self.refusal_texts: Counter[str] = Counter()
        self.unobserved = 0
        self.pauses: list[str] = []

    def attach(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            logger.addHandler(self)
            logger.propagate = False    # these lines are counted, not printed (errors still are, below)
        self.printer = logging.StreamHandler()
        self.printer.setLevel(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.name == "ami.client" and " lost: " in text:
            self.drops += 1
            self.drop_reasons.append(text.split(" lost: ", 1)[1])
        elif "Originate refused: " in text:
            self.refused += 1
            self.refusal_texts[text.split("Originate refused: ", 1)[1]] += 1
        elif "gone while unobserved" in text:
            self.unobserved += 1
        elif record.name == "dialer.refusals":
            self.pauses.append(text)
        if record.levelno >= logging.ERROR:
            self.printer.handle(record)
