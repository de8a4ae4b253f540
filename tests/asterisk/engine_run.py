"""``dialer run`` as a person starts it, as a child process against the test's Asterisk and store schema.

Its stdout and stderr (the console lines and the engine log) go to one file per start, read back by the
tests: no ERROR and no traceback may appear there unless the test caused it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from tests.asterisk.pbx import ROOT, SECRET

STARTED = "campaign(s) running here"


def schema_url(url: str, schema: str) -> str:
    """The store URL with the test's schema as search_path (asyncpg passes unknown query keys on as
    server settings), so ``dialer run`` works in the test's own schema."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


class DialerRun:
    def __init__(self, log_dir: Path, store_url: str, schema: str, ami_port: int, name: str = "engine-1") -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, "DIALER_DATABASE_URL": schema_url(store_url, schema),
                    "DIALER_AMI_HOST": "127.0.0.1", "DIALER_AMI_PORT": str(ami_port),
                    "DIALER_AMI_USERNAME": "dialer", "DIALER_AMI_SECRET": SECRET,
                    "DIALER_ENGINE_NAME": name, "DIALER_DATA_DIR": str(log_dir / "data"),
                    "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"dialer-run-{self.runs}.log"

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until it says its campaigns run (recovery done, phones called)."""
        self.runs += 1
        with open(self.log_path, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from cli import app; app()", "run",
                "--operator-channel", "Local/{ext}@operators",
                cwd=ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while STARTED not in self.log_path.read_text(errors="replace"):
            assert self.proc.returncode is None, f"dialer run exited: {self.tail()}"
            assert time.monotonic() < deadline, f"dialer run did not start: {self.tail()}"
            await asyncio.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self, timeout_s: float = 5.0) -> float | None:
        """SIGTERM (what Ctrl-C does), and how long it took to exit; None if it had to be killed."""
        if not self.running:
            return 0.0
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=timeout_s)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return None
        return time.monotonic() - began

    def log(self) -> str:
        return "".join((self.log_dir / f"dialer-run-{n}.log").read_text(errors="replace")
                       for n in range(1, self.runs + 1))

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def errors(self) -> list[str]:
        """Log lines at ERROR or CRITICAL, and traceback headers."""
        return [line for line in self.log().splitlines()
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")]
