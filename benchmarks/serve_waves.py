"""`dialer serve` over a long day of sessions opening and closing: does its memory stay bounded?

N browser sessions (websocket clients, as in `benchmarks/serve.py`) log in together, then every page closes;
that is one wave. After each wave, once every session has logged out in the audit and each worker has run
its collector's reclaim (`dialer/web/collector.py`: the last session of a worker ended), the workers'
memory (PSS and private) is printed, with what the collector found alive. A worker whose memory grew wave
after wave would keep what closed sessions left behind.

    .venv/bin/python benchmarks/serve_waves.py [--sessions 200] [--waves 5] [--port 41812]

Uses DIALER_DATABASE_URL (a schema is made and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # run as a script: the project root before this folder

import asyncpg  # noqa: E402

from benchmarks.serve import TIMEOUT_S, _summed_memory_mb, _workers, drop_schema, log_in, new_schema, seed  # noqa: E402
from tests.web.terminal import until_listening  # noqa: E402

RECLAIM = re.compile(r"reclaim in (\d+) ms: (\d+) objects frozen before, (\d+) alive, 0 sessions open")


async def _logouts(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM login_audit WHERE event = 'logout'"))


def _reclaims(log: Path) -> list[tuple[str, str, str]]:
    """The reclaims the workers ran as their last session ended."""
    return RECLAIM.findall(log.read_text(errors="replace"))


async def run(sessions: int, waves: int, port: int) -> None:
    url = os.environ.get("DIALER_DATABASE_URL")
    if not url:
        raise SystemExit("set DIALER_DATABASE_URL (a PostgreSQL database to make a schema in)")
    schema, scoped, db = await new_schema(url, "bench_waves")
    log = Path(tempfile.mkdtemp(prefix="bench-waves-")) / "serve.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        await seed(db, sessions)
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        with log.open("wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], cwd=ROOT,
                                      env={**os.environ, "DIALER_DATABASE_URL": scoped}, stdout=out,
                                      stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        await until_listening(base, server, TIMEOUT_S)
        workers = _workers(server.pid)
        await asyncio.sleep(1.0)
        bare = _summed_memory_mb(workers)
        print(f"{len(workers)} workers before any session: PSS {bare[0]:.0f} MB, private {bare[1]:.0f} MB")
        for wave in range(1, waves + 1):
            started = time.monotonic()
            terminals = await asyncio.gather(*(log_in(base, n, [], draw=False) for n in range(sessions)))
            held = _summed_memory_mb(workers)
            for terminal in terminals:
                await terminal.__aexit__()
            async with asyncio.timeout(TIMEOUT_S):   # every session logged out, every worker reclaimed
                while await _logouts(db) < wave * sessions or len(_reclaims(log)) < len(workers) * (wave + 1):
                    await asyncio.sleep(0.5)
            after = _summed_memory_mb(workers)
            last = _reclaims(log)[-len(workers):]
            print(f"wave {wave}: {sessions} logged in and out in {time.monotonic() - started:.0f} s; workers' PSS "
                  f"with them {held[0]:.0f} MB, after {after[0]:.0f} MB (private {after[1]:.0f}); the last "
                  f"reclaims: " + ", ".join(f"{int(ms)} ms, {int(before)} objects frozen → {int(alive)} alive"
                                            for ms, before, alive in last))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        await db.close()
        await drop_schema(url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--port", type=int, default=41812)
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.waves, args.port))


if __name__ == "__main__":
    main()
