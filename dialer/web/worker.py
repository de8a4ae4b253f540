"""``python -m dialer.web.worker``: one worker of ``dialer serve`` (``workers.py`` starts it), serving on
the listening socket it inherits. It takes the store's address from ``DIALER_DATABASE_URL``, which
``dialer serve`` sets, so nothing secret appears on its command line."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from dialer.web.server import serve_on
from lists import database


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dialer.web.worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--public-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.__stderr__, format="dialer serve [%(process)d]: %(message)s")
    logging.getLogger("dialer.web.collector").setLevel(logging.INFO)    # its pauses: read by benchmarks/serve.py
    logging.getLogger("dialer.web.trace").setLevel(logging.INFO)        # only with DIALER_SERVE_TRACE=1
    sock = socket.socket(fileno=args.fd)
    try:
        serve_on(sock, os.environ["DIALER_DATABASE_URL"], host=args.host, port=args.port, public_url=args.public_url)
    except (database.StoreError, OSError) as exc:
        # the store's address is the server's business: say that it failed, not where it lives
        print(f"error: the store cannot be reached ({type(exc).__name__})", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
