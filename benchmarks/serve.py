"""`dialer serve` under load: N browser sessions (websocket clients, as textual-serve's page is) against one
server, during a campaign on the PBX simulator.

Starts `dialer sim-pbx --scripted` (numbers starting with 5 talk long), `dialer run` and `dialer serve` on a
fresh schema, with N operators who each log in from their own session, become ready and get a call.
Reports the time from the login to the console, the card-to-screen latency (the attempt's connected_at in
the store to the customer's name arriving at the session's websocket client), the memory of the server's
worker processes (PSS and private, before the sessions and with them, divided by the sessions), and the CPU
of the server (its workers), the engine and this client while the calls connect and once all are on a call.

Where the latency goes: a witness LISTENs on every operator's channel as a console does and notes, for each
operator, the first entry that carries the call — when the engine sent it (its ``at``) and when it arrived.
So the path splits into: engine (connected_at → sent; negative when the entry left at the hand-off, before
the operator's conference said the customer joined), store (sent → heard) and session (heard → at the
client: the worker reads the card, lays it out and draws it, and sends the bytes over the websocket).

The engine runs before anyone logs in, as a campaign runs when a shift arrives (``--engine-after-logins``:
it starts once every console is up, so every console sees it appear at once, as after an engine restart,
and the first calls come then). By default every operator presses F5 at once once all are logged in: all
calls connect within a few seconds, the worst case. ``--ready-over S`` spreads the F5s over S seconds, as
calls come in a running campaign (200 operators on 3-minute calls take about one new call a second).
``--login-over S`` spreads the logins over S seconds, as people arrive at a shift's start (default: all in
the same second). The workers' own account of each card and of their stalls is printed as well
(``benchmarks/serve_trace.py``).

    .venv/bin/python benchmarks/serve.py [--sessions 10] [--plain] [--login-over 0] [--ready-over 0] \
        [--engine-after-logins] [--port 41810] [--ami-port 41910]

Uses DIALER_DATABASE_URL (a schema is made and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # run as a script: the project root before this folder

import asyncpg  # noqa: E402

from benchmarks import serve_trace  # noqa: E402
from dialer.bus import operator_channel  # noqa: E402
from lists import campaigns, database  # noqa: E402
from people import store  # noqa: E402
from tests.web.terminal import ENTER, F5, TAB, WebTerminal, click, until_listening  # noqa: E402

PASSWORD = "benchmark password"
IDLE_S = 10.0       # how long the sessions' CPU is watched once every card is on screen
TIMEOUT_S = 600.0   # how long a wait may take before it counts as a failure (hundreds of sessions on two cores)


class Witness:
    """LISTENs on every operator's channel, as their consoles do, in a process of its own (this one is busy
    drawing every session's screen): when the entry carrying the call left the engine and when it arrived."""

    def __init__(self) -> None:
        self.sent: dict[str, datetime] = {}
        self.heard: dict[str, datetime] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, url: str, schema: str) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--witness", schema, env={**os.environ, "DIALER_DATABASE_URL": url},
            stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        assert await self._process.stdout.readline() == b"listening\n"
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            name, sent, heard = json.loads(line)
            self.sent[name], self.heard[name] = datetime.fromisoformat(sent), datetime.fromisoformat(heard)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            await self._reader


async def witness(schema: str) -> None:
    """The witness process: one line per operator, when the first entry carrying a call was sent and heard."""
    conn = await asyncpg.connect(os.environ["DIALER_DATABASE_URL"], server_settings={"search_path": schema})
    seen: set[str] = set()

    def hear(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        heard = datetime.now(UTC)
        entry = json.loads(payload)
        name = entry["operator"]["name"]
        if entry["operator"].get("attempt_id") is not None and name not in seen:
            seen.add(name)
            print(json.dumps([name, entry["at"], heard.isoformat()]), flush=True)

    for row in await conn.fetch("SELECT id FROM operator"):
        await conn.add_listener(operator_channel(row["id"]), hear)
    print("listening", flush=True)
    await asyncio.Event().wait()


def _print_collections(log: Path) -> None:
    """What the workers' garbage collector cost them (``dialer/web/collector.py`` writes it to their log)."""
    for line in log.read_text(errors="replace").splitlines():
        if "garbage collection pauses" in line or "reclaim in" in line:
            print(f"  worker {line.removeprefix('dialer serve ')}")


def _quantiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=100)
    return q[49], q[98]


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process so far; 0 for one that has ended (a shell between server and session)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_mb(pid: int) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value, *_ = line.split()
        values[key.rstrip(":")] = int(value)
    return values["Pss"] / 1024, (values["Private_Clean"] + values["Private_Dirty"]) / 1024


def _workers(server_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-f", "-P", str(server_pid), "dialer.web.worker"], capture_output=True,
                           text=True)
    return [int(p) for p in found.stdout.split()]


def _summed_memory_mb(pids: list[int]) -> tuple[float, float]:
    memory = [_memory_mb(pid) for pid in pids]
    return sum(m[0] for m in memory), sum(m[1] for m in memory)


async def new_schema(url: str, prefix: str) -> tuple[str, str, asyncpg.Pool]:
    """A fresh migrated schema: its name, the store's address scoped to it, and a pool on it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    scoped = f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    return schema, scoped, await database.open_db(scoped, search_path=schema)


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()


async def seed(db: asyncpg.Pool, sessions: int) -> None:
    now = datetime.now(UTC)
    campaign = (await campaigns.create(db, name="bench", channel_template="Local/{digits}@pstn",
                                       caller_id="+15550000000", mode="progressive")).id
    for n in range(sessions):
        operator = await db.fetchval("INSERT INTO operator (name, extension) VALUES ($1, $2) RETURNING id",
                                       f"Op{n}", str(1000 + n))
        await db.execute("INSERT INTO campaign_operator VALUES ($1, $2)", campaign, operator)
        await store.add(db, name=f"op{n}", role="operator", password=PASSWORD, operator=f"Op{n}", now=now)
    await db.executemany(
        "INSERT INTO lead (campaign_id, phone, timezone, fields) VALUES ($1, $2, 'UTC', $3::jsonb)",
        [(campaign, f"+55119876{50000 + n:05d}", f'{{"first_name": "Callee{n}"}}') for n in range(sessions * 2)])
    await campaigns.set_state(db, "bench", "running", actor="benchmark", now=now)


async def log_in(url: str, n: int, logged_in: list[float], *, draw: bool, delay_s: float = 0.0) -> WebTerminal:
    await asyncio.sleep(delay_s)
    terminal = WebTerminal(url, width=160, height=48, draw=draw)
    await terminal.__aenter__()
    await terminal.until_shows("dialer — log in", timeout=TIMEOUT_S)
    await terminal.focus()
    await terminal.type(f"op{n}")
    await terminal.until_shows(f"op{n}", timeout=TIMEOUT_S)
    if draw:
        await click(terminal, "password  ")
    else:
        terminal.forget()
        await terminal.type(TAB)       # to the password: its cursor (on the placeholder's "p") says it has the focus
        await terminal.until(lambda text: re.search(r"p +assword", text) is not None, timeout=TIMEOUT_S)
    started = time.monotonic()
    await terminal.type(PASSWORD + ENTER)
    await terminal.until_shows(f"Op{n} (ext {1000 + n})", timeout=TIMEOUT_S)
    logged_in.append(time.monotonic() - started)
    return terminal


async def take_call(terminal: WebTerminal, n: int, shown: dict[int, datetime], delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    await terminal.type(F5)    # log in to the engine, which calls the operator's phone
    await terminal.until_shows("first_name: Callee", timeout=TIMEOUT_S)
    shown[n] = datetime.now(UTC)


async def run(sessions: int, port: int, ami_port: int, *, draw: bool = True, ready_over_s: float = 0.0,
              login_over_s: float = 0.0, engine_after_logins: bool = False) -> None:
    url = os.environ.get("DIALER_DATABASE_URL")
    if not url:
        raise SystemExit("set DIALER_DATABASE_URL (a PostgreSQL database to make a schema in)")
    schema, scoped, db = await new_schema(url, "bench_serve")
    processes: list[subprocess.Popen[bytes]] = []
    terminals: list[WebTerminal] = []
    witness = Witness()
    workers: list[int] = []
    logs = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        await seed(db, sessions)
        await witness.start(url, schema)
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        env = {**os.environ, "DIALER_DATABASE_URL": scoped, "DIALER_AMI_PORT": str(ami_port),
               "DIALER_AMI_USERNAME": "dialer-lp"}
        dialer = [sys.executable, "-m", "cli"]
        print(f"logs of the simulator, the engine and the server in {logs}")

        def start(name: str, *args: str) -> subprocess.Popen[bytes]:
            with (logs / f"{name}.log").open("wb") as log:
                process = subprocess.Popen([*dialer, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append(process)
            return process

        start("sim-pbx", "sim-pbx", "--port", str(ami_port), "--scripted")
        env["DIALER_SERVE_TRACE"] = "1"     # the workers' account of each card (benchmarks/serve_trace.py)
        server = start("serve", "serve", "--port", str(port))
        del env["DIALER_SERVE_TRACE"]
        base = f"http://127.0.0.1:{port}"
        await until_listening(base, server, TIMEOUT_S)
        workers = _workers(server.pid)
        await asyncio.sleep(1.0)
        bare = _summed_memory_mb(workers)
        print(f"  {len(workers)} workers, {bare[0]:.0f} MB PSS / {bare[1]:.0f} MB private before any session")
        logged_in: list[float] = []
        shown: dict[int, datetime] = {}
        engine: subprocess.Popen[bytes] | None = None
        if not engine_after_logins:   # as in a call centre: the campaign runs when the shift logs in
            engine = start("engine", "run", "--operator-channel", "Local/{ext}@operators")
            async with asyncio.timeout(TIMEOUT_S):
                while not await db.fetchval("SELECT count(*) FROM engine_picture"):
                    await asyncio.sleep(0.1)
        started = time.monotonic()
        terminals = list(await asyncio.gather(*(log_in(base, n, logged_in, draw=draw,
                                                       delay_s=login_over_s * n / sessions) for n in range(sessions))))
        print(f"  {sessions} sessions logged in after {time.monotonic() - started:.1f} s; the F5s start now")
        if engine is None:   # every console sees the engine appear at once, as when an engine (re)starts
            engine = start("engine", "run", "--operator-channel", "Local/{ext}@operators")
        started = time.monotonic()
        def server_cpu_s() -> float:
            return _cpu_s(server.pid) + sum(_cpu_s(pid) for pid in workers)

        server_cpu = server_cpu_s()
        client_cpu = _cpu_s(os.getpid())
        await asyncio.gather(*(take_call(terminal, n, shown, ready_over_s * n / sessions)
                               for n, terminal in enumerate(terminals)))
        wall = time.monotonic() - started
        server_cpu = server_cpu_s() - server_cpu
        engine_cpu = _cpu_s(engine.pid)
        client_cpu = _cpu_s(os.getpid()) - client_cpu
        await asyncio.sleep(0.5)   # the witness's last lines
        idle_before, idle_started = server_cpu_s(), time.monotonic()
        await asyncio.sleep(IDLE_S)   # every console on a call: nothing changes on their screens
        idle_wall = time.monotonic() - idle_started
        idle_cpu = server_cpu_s() - idle_before
        held = _summed_memory_mb(workers)
        connected = {r["name"]: r["at"] for r in await db.fetch(
            """SELECT o.name, min(a.connected_at) AS at FROM attempt a JOIN operator o ON o.id = a.operator_id
               WHERE a.connected_at IS NOT NULL GROUP BY o.name""")}
        names = [f"Op{n}" for n in shown if f"Op{n}" in connected]
        at = {f"Op{n}": shown[n] for n in shown}

        def ms(later: dict[str, datetime], earlier: dict[str, datetime]) -> list[float]:
            return [(later[n] - earlier[n]).total_seconds() * 1000 for n in names if n in later and n in earlier]

        p50, p99 = _quantiles(ms(at, connected))
        print(f"sessions {sessions}: engine start to every card on screen {wall:.1f} s")
        print(f"  login → console (logins over {login_over_s:.0f} s): p50 {statistics.median(logged_in):.2f} s, "
              f"p99 {_quantiles(logged_in)[1]:.2f} s, max {max(logged_in):.2f} s")
        print(f"  card to screen: p50 {p50:.0f} ms, p99 {p99:.0f} ms ({len(names)} calls)")
        for label, later, earlier in (("engine (connected → sent)", witness.sent, connected),
                                      ("store (sent → heard)", witness.heard, witness.sent),
                                      ("session (heard → on screen)", at, witness.heard)):
            part50, part99 = _quantiles(ms(later, earlier))
            print(f"    {label}: p50 {part50:.0f} ms, p99 {part99:.0f} ms")
        serve_trace.report(logs / "serve.log", connected, witness.sent, witness.heard, at)
        print(f"  memory of the workers with {sessions} sessions: PSS {held[0]:.0f} MB, private {held[1]:.0f} MB; "
              f"per session PSS {held[0] / sessions:.1f} MB, private {held[1] / sessions:.1f} MB "
              f"(beyond the bare workers: {(held[0] - bare[0]) / sessions:.1f} / "
              f"{(held[1] - bare[1]) / sessions:.1f} MB)")
        print(f"  CPU over those {wall:.1f} s: server {server_cpu / wall:.0%} of a core ({server_cpu:.1f} s), "
              f"this client (the browsers' part) {client_cpu / wall:.0%}; "
              f"the engine {engine_cpu:.1f} s since its start")
        print(f"  CPU of the server over {idle_wall:.0f} s with every console on its call: "
              f"{idle_cpu / idle_wall:.1%} of a core, "
              f"{idle_cpu / idle_wall / sessions * 1000:.2f} ms a second per session")
        connections = await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        print(f"  store connections to this database at the end: {connections}")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await witness.stop()
        for terminal in terminals:
            await terminal.__aexit__()
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if workers:   # every page closed, then the server stopped: each session should have logged out
            audit = {r["event"]: r["n"] for r in await db.fetch(
                "SELECT event, count(*) AS n FROM login_audit GROUP BY event")}
            left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
            for _ in range(300):    # a worker logs its sessions out before it ends: up to 30 s
                if not (left := [pid for pid in left if Path(f"/proc/{pid}").exists()]):
                    break
                await asyncio.sleep(0.1)
            print(f"  once the pages closed and the server stopped: logins {audit.get('login', 0)}, "
                  f"logouts {audit.get('logout', 0)} in the audit; worker processes left 30 s later: {len(left)}")
            _print_collections(logs / "serve.log")
        await db.close()
        await drop_schema(url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--port", type=int, default=41810)
    parser.add_argument("--ami-port", type=int, default=41910)
    parser.add_argument("--plain", action="store_true",
                        help="read the text out of the bytes instead of drawing every screen with pyte (a client "
                             "light enough for hundreds of sessions on the same machine)")
    parser.add_argument("--ready-over", type=float, default=0.0, metavar="S",
                        help="spread the operators' F5 over S seconds (default: all at once, the worst case)")
    parser.add_argument("--login-over", type=float, default=0.0, metavar="S",
                        help="spread the logins over S seconds, as a shift starts (default: all at once)")
    parser.add_argument("--engine-after-logins", action="store_true",
                        help="start the engine once every console is up (each console sees it appear at once, as "
                             "when an engine restarts; the first calls come then); default: before the logins")
    parser.add_argument("--witness", metavar="SCHEMA", help=argparse.SUPPRESS)   # the witness process itself
    args = parser.parse_args()
    if args.witness:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(witness(args.witness))
        return
    asyncio.run(run(args.sessions, args.port, args.ami_port, draw=not args.plain, ready_over_s=args.ready_over,
                    login_over_s=args.login_over, engine_after_logins=args.engine_after_logins))


if __name__ == "__main__":
    main()
