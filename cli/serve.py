"""``dialer serve``: the operator console and the supervisor's view in a browser, behind a login.

The server's workers (``dialer/web/``) run every browser session's screens themselves and reach the store
with the server's own settings, so the browser never holds the store's credentials.
"""

from __future__ import annotations

import os
import socket

import typer

from cli.store import fail, store_url


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless you say so; "
                                                         "put a TLS reverse proxy in front, see the README)"),
    port: int = typer.Option(8080, "--port", help="Port to listen on"),
    public_url: str | None = typer.Option(None, "--public-url",
                                          help="The address browsers use, e.g. https://dialer.example.com "
                                               "behind a proxy (default: http://HOST:PORT)"),
    workers: int = typer.Option(0, "--workers", help="Worker processes, each serving many sessions "
                                                     "(default: one per core)"),
) -> None:
    """Serve the operator console and the supervisor's view in a browser; every session starts at a login."""
    from dialer.web.workers import run_workers

    if not 0 < port < 65536:
        raise fail(f"--port {port} is not a TCP port (1-65535)")
    if workers < 0:
        raise fail(f"--workers {workers}: give a number of processes, or 0 for one per core")
    try:   # a port another program holds (or another dialer serve) is refused here, in one line
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}") from None
    count = workers or len(os.sched_getaffinity(0))
    url = public_url or f"http://{host}:{port}"
    print(f"dialer serve: {count} worker(s) on {url}; Ctrl+C stops", flush=True)
    raise typer.Exit(run_workers(store_url(), host=host, port=port, public_url=public_url, workers=count))
