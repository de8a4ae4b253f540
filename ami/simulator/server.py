"""The AMI server: TCP sessions that log in, send actions and hear events, as on Asterisk 22.

One ``Session`` per connection reads actions with ``ami.wire.Parser`` and answers them in order (a
synchronous Originate holds its session, as on Asterisk). Events are fanned out to every logged-in
session whose read classes hold the event's class; a session whose reader stalls is dropped, as
Asterisk drops one past ``writetimeout``, so one slow client cannot grow the simulator's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Collection, Mapping

from ami.simulator.actions import handle_action
from ami.simulator.callees import CalleeModel
from ami.simulator.calls import Calls
from ami.simulator.channels import Channel, Pairs
from ami.simulator.dialplan import Dialplan
from ami.simulator.exchange import Exchange, Tally
from ami.simulator.orders import BurstOrders
from ami.simulator.permissions import User, default_users, least_privilege_user
from ami.simulator.shutdown import Lifecycle
from ami.wire import Message, Parser, WireError, encode

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# Asterisk drops a session that stops reading for ``writetimeout`` ms; in virtual time a byte budget
# stands in for the clock: 32 MB is ~60,000 unread events.
MAX_WRITE_BUFFER = 32 * 1024 * 1024
WATCHED_CLASSES = ("call", "dialplan", "user")   # what SimulatorHandle.watch hears
# Asterisk runs each manager session on a thread of its own: a Redirect on one session is not held up by
# a round of Originates read on another. A session here handles this many actions of one read, then lets
# the loop run the other sessions' reads.
ACTION_SLICE = 8
log = logging.getLogger("ami.simulator")
_session_ids = itertools.count(0x7F53BC003EA0, 0x1A0)


def _event_classes_from(spec: str | None, read: frozenset[str]) -> frozenset[str]:
    """Login's / Events' ``Events`` header: on (default), off, or a class list narrowing the read classes."""
    if spec is None or spec.strip().lower() in ("on", "yes", "true", "1", "all"):
        return read
    if spec.strip().lower() in ("off", "no", "false", "0"):
        return frozenset()
    return read & {part.strip().lower() for part in spec.split(",")}


class Session:
    def __init__(self, server: SimulatorServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.user: User | None = None
        self.events: frozenset[str] = frozenset()
        self.id = f"0x{next(_session_ids):x}"
        self.started_at = server.exchange.epoch_now()
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{sock[0]}/{sock[1]}"
        self.remote_address = f"IPV4/TCP/{peer[0]}/{peer[1]}"
        self.closed = False

    async def run(self) -> None:
        parser = Parser(expect_banner=False)
        self.writer.write(BANNER)
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                for count, message in enumerate(parser.feed(data), 1):
                    if not await handle_action(self, message) or self.closed:
                        self.close()
                        break
                    if count % ACTION_SLICE == 0:
                        await asyncio.sleep(0)   # the other sessions' actions meanwhile (see ACTION_SLICE)
        except (WireError, ConnectionError):
            pass
        finally:
            self.close()

    def send(self, pairs: Pairs) -> None:
        if self.closed:
            return
        self.writer.write(encode(Message(pairs)))

    def respond(self, message: Message, response: str, text: str | None = None, *extra: tuple[str, str]) -> None:
        pairs: Pairs = [("Response", response)]
        if message.action_id is not None:
            pairs.append(("ActionID", message.action_id))
        pairs.extend(extra)
        if text is not None:
            pairs.append(("Message", text))
        self.send(pairs)

    def deliver(self, category: str, block: bytes, text: str | None) -> None:
        if self.closed or category not in self.events:
            return
        assert self.user is not None
        if self.user.eventfilters and not self.user.passes_filters(text or block.decode()):
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("AMI session of %s dropped: it left more than %d MB of events unread (Asterisk drops a "
                        "reader stalled past writetimeout)", self.user.name, MAX_WRITE_BUFFER >> 20)
            self.server.exchange.tally.sessions_dropped += 1
            self.close()
            return
        self.writer.write(block)

    def logged_in(self, user: User, events: str | None) -> None:
        self.user = user
        self.events = _event_classes_from(events, user.read)
        self.server.sessions_changed()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.close()
        self.server.forget(self)


class SimulatorServer:
    def __init__(self, exchange: Exchange, calls: Calls, dialplan: Dialplan, users: Mapping[str, User]) -> None:
        self.exchange = exchange
        self.calls = calls
        self.dialplan = dialplan
        self.users = dict(users)
        self.sessions: set[Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._filtering = False   # some session has eventfilters: events are matched as text
        self.watchers: list[Callable[[str, Pairs], None]] = []   # see SimulatorHandle.watch
        exchange.publish = self.publish
        self.lifecycle: Lifecycle | None = None   # set by start_simulator

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def close_sessions(self) -> None:
        for session in list(self.sessions):
            session.close()

    def forget(self, session: Session) -> None:
        self.sessions.discard(session)
        self.sessions_changed()

    def sessions_changed(self) -> None:
        heard: set[str] = set(WATCHED_CLASSES) if self.watchers else set()
        for s in self.sessions:
            if s.user is not None:
                heard |= s.events
        self.exchange.listening = frozenset(heard)
        self._filtering = any(s.user is not None and s.user.eventfilters for s in self.sessions)

    def publish(self, name: str, category: str, pairs: Pairs) -> None:
        message = Message([("Event", name), ("Privilege", f"{category},all"), *pairs])
        block = encode(message)
        text = block.decode() if self._filtering else None
        for session in list(self.sessions):
            session.deliver(category, block, text)
        for watcher in self.watchers:
            watcher(name, pairs)


def _users(users: Mapping[str, User | str] | None) -> dict[str, User]:
    if users is None:
        return default_users()
    return {name: u if isinstance(u, User) else least_privilege_user(name, u) for name, u in users.items()}


class SimulatorHandle:
    """A running simulator: where it listens, and what is going on inside (for tests and benchmarks)."""

    def __init__(self, server: SimulatorServer, lifecycle: Lifecycle, host: str, port: int) -> None:
        self._server = server
        self._life = lifecycle
        self.host = host
        self.port = port

    @property
    def users(self) -> dict[str, User]:
        return self._server.users

    @property
    def channels(self) -> dict[str, Channel]:
        """Live channels by Uniqueid, oldest first."""
        return self._server.exchange.channels

    def channel_names(self) -> list[str]:
        return [c.name for c in self._server.exchange.channels.values()]

    @property
    def conferences(self) -> dict[str, list[str]]:
        """Conference name → Uniqueids of the channels in it, in joining order."""
        return {name: [m.uniqueid for m in conf.members]
                for name, conf in self._server.exchange.conferences.items()}

    @property
    def originates_by_number(self) -> Counter[str]:
        """How many times each number reached the callee model (a second dial shows as 2)."""
        return self._server.exchange.originates_by_number

    @property
    def tally(self) -> Tally:
        return self._server.exchange.tally

    @property
    def session_count(self) -> int:
        return sum(1 for s in self._server.sessions if s.user is not None)

    @property
    def astdb(self) -> dict[tuple[str, str], str]:
        """Asterisk's own database: (family, key) → value, as the dialplan and DBPut/DBDel leave it."""
        return self._server.exchange.astdb.entries

    def hang_up(self, channel: str, cause: int = 16) -> None:
        """The far end hangs up (a phone dropped, a network fault), as no AMI action could show it."""
        found = self._server.exchange.find(channel)
        if found is None:
            raise KeyError(f"no live channel named or with Uniqueid {channel!r}; live: {self.channel_names()}")
        self._server.exchange.hang_up(found, cause)

    def phone_answers(self, extension: str, answers: bool = True) -> None:
        """Whether operator ``extension``'s phone (``Local/{ext}@operators``) is answered when called; an
        unanswered one rings until the Originate's timeout (Reason 3), as a phone nobody picks up."""
        (self._server.dialplan.unanswered_phones.discard if answers
         else self._server.dialplan.unanswered_phones.add)(extension)

    def load_dialplan(self, loaded: bool = True) -> None:
        """Whether the dialplan is loaded: a real Asterisk that starts takes AMI logins a moment before its
        pbx_config has loaded ``extensions.conf``, and Originates into it meanwhile fail at once."""
        self._server.dialplan.loaded = loaded

    def watch(self, watcher: Callable[[str, Pairs], None]) -> None:
        """Hear every call, dialplan and user event as it happens, whether or not an AMI session is
        connected: the PBX's own record of what happened to each channel (the fault tests judge the
        engine by it, through AMI drops and engine restarts)."""
        self._server.watchers.append(watcher)
        self._server.sessions_changed()

    def drop_sessions(self) -> None:
        """Cut every AMI connection (the calls go on), to test a client's reconnect."""
        self._server.close_sessions()

    def stop_now(self) -> None:
        """``core stop now``: every call ends at once, then the sockets close and the port stays closed."""
        self._life.stop_now()

    def stop_gracefully(self) -> None:
        """``core stop gracefully``: every action and login refused ("Asterisk is shutting down") while the
        calls up go on; stops by itself once the last one has ended."""
        self._life.stop_gracefully()

    async def restart(self) -> None:
        """Start again, empty, on the same port (stopping now first if still running)."""
        await self._life.restart()

    @property
    def stopped(self) -> asyncio.Event:
        """Set once a stop has closed the sockets."""
        return self._life.stopped

    async def close(self) -> None:
        await self._life.close()
        self.drop_sessions()
        exchange = self._server.exchange
        for ch in list(exchange.channels.values()):
            ch.cancel_timers()
        exchange.channels.clear()
        exchange.by_name.clear()
        if self._server._tasks:
            await asyncio.wait(list(self._server._tasks), timeout=1.0)

    async def __aenter__(self) -> SimulatorHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_simulator(host: str = "127.0.0.1", port: int = 0, *, callees: CalleeModel,
                          users: Mapping[str, User | str] | None = None,
                          callee_contexts: Collection[str] | None = None,
                          order_seed: int | None = None, burst_order: int | None = None) -> SimulatorHandle:
    """Listen for AMI connections; ``port=0`` picks a free port (see ``handle.port``).

    ``users``: name → ``User`` (classes as in manager.conf), or name → secret for a user with the
    sample manager.conf's least privilege (read call,agent,user; write originate,call,agent,reporting).
    Default: the reference manager.conf's ``dialer`` (all) and ``dialer-lp`` (least privilege), secret
    ``change-me``. ``callee_contexts``: the Local contexts whose far end is the callee model; default
    any context the emulated dialplan does not define (``Local/{number}@pstn-sim``, ``@pstn`` ...). Give
    a set to make other contexts fail as on Asterisk (Reason 0). ``PJSIP/...`` always reaches the callees.
    ``order_seed``: the seed of the orders in which a failed call's events come (``ami.simulator.orders``,
    as seen on Asterisk 22); ``burst_order``: always that seen order instead (tests force each one).
    """
    exchange = Exchange()
    dialplan = Dialplan(exchange)
    calls = Calls(exchange, dialplan, callees, None if callee_contexts is None else frozenset(callee_contexts),
                  BurstOrders(seed=order_seed, force=burst_order))
    server = SimulatorServer(exchange, calls, dialplan, _users(users))
    bound_port = port

    async def listen() -> asyncio.Server:
        nonlocal bound_port
        tcp = await asyncio.start_server(server.accept, host, bound_port)
        bound_port = tcp.sockets[0].getsockname()[1]   # a restart listens on the port it had
        return tcp

    lifecycle = server.lifecycle = Lifecycle(server, listen)
    await lifecycle.start()
    return SimulatorHandle(server, lifecycle, host, bound_port)
