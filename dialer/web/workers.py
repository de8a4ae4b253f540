"""``dialer serve``'s own process: it binds the address, starts the workers (``server.py``), one per
core, and stops them.

Each worker gets its own listening socket on the same address (``SO_REUSEPORT``): the kernel spreads the
browsers' connections over them, and a worker never queues behind another's accept loop. The workers
read their stdin, whose other end this process holds: if this process is killed, it closes, and each
worker ends its sessions (logging their people out) instead of serving on unseen.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from types import FrameType


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def run_workers(store_url: str, *, host: str, port: int, public_url: str | None, workers: int) -> int:
    """Serve until SIGINT or SIGTERM, or until a worker stops; the exit code."""
    env = {**os.environ, "DIALER_DATABASE_URL": store_url, "TEXTUAL_COLOR_SYSTEM": "truecolor", "TEXTUAL_FPS": "60"}
    started: list[subprocess.Popen[bytes]] = []
    for _ in range(workers):
        sock = listening_socket(host, port)
        command = [sys.executable, "-m", "dialer.web.worker", "--fd", str(sock.fileno()), "--host", host,
                   "--port", str(port), *(("--public-url", public_url) if public_url else ())]
        started.append(subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=[sock.fileno()], env=env))
        sock.close()   # the worker's now: a socket left listening here would take connections nobody accepts

    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in started:
            if worker.poll() is None:
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        _pid, status = os.wait()     # the first worker to stop (all of them, when asked to)
        if not stopping:
            code = os.waitstatus_to_exitcode(status) or 1
            print(f"error: a worker of dialer serve stopped (code {code}); stopping the others", file=sys.stderr)
            stop(signal.SIGTERM, None)
    finally:
        for worker in started:
            worker.wait()
    return code
