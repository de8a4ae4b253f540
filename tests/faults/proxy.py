"""A TCP proxy between the engine and PostgreSQL that a test can cut and restore.

The machine's PostgreSQL is shared, so a fault test must never stop it: the engine talks to the store
through this proxy instead, and "the database is down" means every connection through it is cut and
new ones are refused, as when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


class StoreProxy:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target_url = target_url
        self._port = parts.port or 5432
        # A unix socket (the embedded pgserver gives ?host=/dir) or TCP.
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        self._socket = f"{socket_dir}/.s.PGSQL.{self._port}" if socket_dir.startswith("/") else None
        self._host = parts.hostname or "127.0.0.1"
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The store's URL, through the proxy."""
        parts = urlsplit(self._target_url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        query = urlencode({k: v for k, v in parse_qs(parts.query).items() if k != "host"}, doseq=True)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    async def start(self) -> StoreProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """The store is gone: open connections break, new ones are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._socket:
                up_reader, up_writer = await asyncio.open_unix_connection(self._socket)
            else:
                up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            self._pipes.discard(w)
            w.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
