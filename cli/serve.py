"""``dialer serve``: the operator console and the supervisor's view in a browser, behind a login.

The server (textual-serve) starts ``python -m dialer.web`` for every browser session; that process
reaches the store with the server's own settings, so the browser never holds the store's credentials.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys

import typer

from cli.store import fail, store_url


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless you say so; "
                                                         "put a TLS reverse proxy in front, see the README)"),
    port: int = typer.Option(8080, "--port", help="Port to listen on"),
    public_url: str | None = typer.Option(None, "--public-url",
                                          help="The address browsers use, e.g. https://dialer.example.com "
                                               "behind a proxy (default: http://HOST:PORT)"),
) -> None:
    """Serve the operator console and the supervisor's view in a browser; every session starts at a login."""
    from textual_serve.server import Server

    if not 0 < port < 65536:
        raise fail(f"--port {port} is not a TCP port (1-65535)")
    try:   # textual-serve announces that it serves before it binds, then fails with a traceback
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}") from None
    os.environ["DIALER_DATABASE_URL"] = store_url()   # the sessions reuse it (also the embedded store's)
    command = shlex.join([sys.executable, "-m", "dialer.web"])   # one process per browser session
    Server(command, host=host, port=port, title="dialer", public_url=public_url).serve()

