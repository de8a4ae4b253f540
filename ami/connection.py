"""One AMI session: a TCP connection, logged in, that matches responses to actions by ActionID.

A session lives once. When its link is gone (peer closed, socket error, malformed input, no Pong in
time) every action still waiting fails with ``PbxLinkLost`` and nothing is queued or resent: the owner
(``ami.client.AmiClient``) opens a new session and the engine reconciles. This is the part of panoramisk
1.4 we replaced; see the README's dependency section for why.

Every event is handed to ``on_message``, including those that carry the ActionID of a pending action
(OriginateResponse, list items): matching an action never hides an event. They go in arrival order, but
for the events a hand-off waits for (``URGENT``: a call answered, a channel joining or leaving a
conference): behind a backlog (a slice or more read and not handled yet), those go ahead. A wave of hang-ups
(thousands of calls reaching their ring timeout together) is then no queue for a hand-off to wait in, and
per channel nothing comes out of order that matters: no event of a channel follows its Hangup, and a
DialEnd may come before or after its OriginateResponse on Asterisk too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ami.pbx import PbxAuthenticationError, PbxError, PbxLinkLost, PbxNotConnected, PbxShuttingDown
from ami.wire import DEFAULT_MAX_MESSAGE_BYTES, Message, Parser, WireError, decode

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
# What the socket's reader holds before it stops taking bytes off the socket: a backlog waits here, where
# its urgent events can be found, rather than in the kernel's buffers.
READ_BUFFER = 4 * 1024 * 1024
# A busy PBX's read holds a couple of hundred events: they are decoded and handled this many at a time, and
# the loop runs its other callbacks between slices (a hand-off's Redirect, a timer), in arrival order still.
DISPATCH_SLICE = 16
# The first line of the events a hand-off waits for (see the module's docstring); and an OriginateResponse
# that says the call was answered.
URGENT = (b"Event: UserEvent\r", b"Event: ConfbridgeJoin\r", b"Event: ConfbridgeLeave\r")
ORIGINATE_RESPONSE, ANSWERED = b"Event: OriginateResponse\r", b"\nResponse: Success\r"
SUCCESS = frozenset({"success", "follows", "goodbye"})
GREETING = "Asterisk Call Manager/"
# During ``core stop gracefully`` Asterisk answers every action, Login included, with this error text
# (main/manager.c), while the calls up go on and their events keep coming.
SHUTTING_DOWN = "asterisk is shutting down"
# The one Login refusal that judges the user (a wrong name or secret, or an address manager.conf denies).
AUTHENTICATION_FAILED = "authentication failed"


class Secret:
    """Holds the AMI secret so that no repr, log line or traceback shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(eq=False)
class _Pending:
    name: str
    future: asyncio.Future[Message | list[Message]]
    as_list: bool
    items: list[Message] = field(default_factory=list)


class Session:
    """Use ``await Session.open(...)``; then ``request``; ``lost`` resolves with the reason it ended."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 on_message: Callable[[Message], None], next_action_id: Callable[[], str],
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        loop = asyncio.get_running_loop()
        self._reader = reader
        self._writer = writer
        self._on_message = on_message
        self._next_action_id = next_action_id
        self._parser = Parser(max_message_bytes=max_message_bytes)
        self._pending: dict[str, _Pending] = {}
        self._lost_reason: str | None = None
        self.lost: asyncio.Future[str] = loop.create_future()
        self._reading = asyncio.create_task(self._read_loop(), name="ami-session-reader")
        self._keepalive: asyncio.Task[None] | None = None
        self._greeted = False
        self._reads = 0         # reads that brought bytes: any of them proves the peer is there
        self.draining = False   # Asterisk said it is shutting down: it carries out no action from now on

    @classmethod
    async def open(cls, host: str, port: int, username: str, secret: Secret, *,
                   on_message: Callable[[Message], None], next_action_id: Callable[[], str],
                   timeout: float, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                   events: bool = True) -> Session:
        """Connect and log in within ``timeout`` seconds. Does not wait for FullyBooted: a
        least-privilege user (no ``system`` read) never receives it. ``events=False``: a session for
        actions only (Login's ``Events: off``)."""
        where = f"{host}:{port}"
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=READ_BUFFER)
        except (OSError, TimeoutError) as exc:
            raise PbxNotConnected("Login", f"cannot connect to AMI at {where}: "
                                           f"{_describe(exc)}") from None
        session = cls(reader, writer, on_message=on_message, next_action_id=next_action_id,
                      max_message_bytes=max_message_bytes)
        try:
            async with asyncio.timeout(timeout):
                login = Message.of(Action="Login", Username=username, Secret=secret.reveal())
                if not events:
                    login.add("Events", "off")
                await session.request(login)
        except PbxShuttingDown as exc:
            session.close("Asterisk is shutting down")
            raise PbxShuttingDown("Login", f"AMI at {where} refused the login: {exc.message} (not a wrong "
                                           f"secret; it will take logins again once restarted)") from None
        except PbxNotConnected as exc:
            reason = session.lost.result() if session.lost.done() else exc.message
            session.close("login failed")
            raise PbxNotConnected("Login", f"AMI at {where} lost the link during login: {reason}") from None
        except TimeoutError:
            session.close("login timed out")
            raise PbxNotConnected("Login", f"AMI at {where} did not answer Login within "
                                           f"{timeout:g} s") from None
        except PbxError as exc:
            session.close("login refused")
            if AUTHENTICATION_FAILED not in exc.message.lower():
                # Not a verdict on the user: retrying may help, so it is not an authentication error.
                raise PbxNotConnected("Login", f"AMI at {where} refused the login for now ({exc.message})") from None
            raise PbxAuthenticationError(
                "Login", f"AMI at {where} refused user {username!r} ({exc.message}); check the AMI "
                         f"username and secret in the settings and manager.conf") from None
        except BaseException:  # cancelled mid-login: do not leak the socket and the reader
            session.close("login cancelled")
            raise
        return session

    @property
    def alive(self) -> bool:
        return self._lost_reason is None

    def keep_alive(self, interval: float, timeout: float) -> None:
        """Ping every ``interval`` s; nothing heard from the peer for ``timeout`` s after a Ping means the
        link is half-open (the peer vanished without a FIN, e.g. a rebooted host or a dropped NAT entry):
        drop it. See ``_heard_after_ping`` for why that is not "no Pong within ``timeout`` s"."""
        self._keepalive = asyncio.create_task(self._ping_loop(interval, timeout), name="ami-session-ping")

    async def request(self, action: Message, *, as_list: bool = False) -> Message | list[Message]:
        """Send ``action``; return its Response, or with ``as_list`` the items of its event list.

        Raises PbxError with Asterisk's message on ``Response: Error``, PbxNotConnected if the link was
        already gone (not sent), PbxLinkLost if it went while waiting (sent, outcome unknown).
        """
        return await self.send(action, as_list=as_list)

    def send(self, action: Message, *, as_list: bool = False) -> asyncio.Future[Message | list[Message]]:
        """``request`` with the action written before this returns (not at the caller's next loop pass):
        the future gives what ``request`` returns or raises. PbxNotConnected and a malformed action raise
        here, at once."""
        name = action.get("Action") or "?"
        if self._lost_reason is not None:
            raise PbxNotConnected(name, f"AMI link is down ({self._lost_reason}); not sent")
        if action.action_id is None:  # a copy: the caller's message stays as it was
            action = Message([*action.pairs, ("ActionID", self._next_action_id())])
        action_id = action.action_id or ""
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already waiting for a response")
        try:
            payload = action.to_bytes()
        except ValueError as exc:
            raise PbxError(name, str(exc)) from None
        future: asyncio.Future[Message | list[Message]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, future, as_list)
        # answered, failed or given up by its caller (cancelled): no longer waited for
        future.add_done_callback(lambda _: self._pending.pop(action_id, None))
        self._writer.write(payload)
        log.debug("AMI → %s (ActionID %s)", name, action_id)
        return future

    def close(self, reason: str = "closed by the dialer") -> None:
        self._lose(reason)

    # ---- input ----------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "Asterisk closed the connection"
        waiting: deque[bytes] = deque()     # read, not urgent, not handled yet: in arrival order
        try:
            while self._lost_reason is None:
                if not waiting or self._buffered():   # with a backlog, only what has come already: no wait
                    data = await self._reader.read(READ_BUFFER if waiting else READ_CHUNK)
                    if not data and not waiting:
                        break
                    if data and not self._take(data, waiting):
                        reason = f"not an AMI server (greeting {(self._parser.banner or '')[:60]!r})"
                        break
                for _ in range(min(DISPATCH_SLICE, len(waiting))):
                    self._receive(decode(waiting.popleft()))
                if waiting:
                    await asyncio.sleep(0)   # the rest after the loop's other callbacks
        except WireError as exc:
            reason = f"malformed AMI input: {exc}"
        except OSError as exc:
            reason = f"connection error: {_describe(exc)}"
        except asyncio.CancelledError:
            reason = "closed by the dialer"
            raise
        except Exception:  # a bug of ours must cost the link, not the engine
            log.exception("AMI reader failed; dropping the link")
            reason = "internal error while reading AMI"
        finally:
            self._lose(reason)

    def _take(self, data: bytes, waiting: deque[bytes]) -> bool:
        """The whole messages ``data`` completes: the urgent ones handled now, the others queued. False
        when the greeting says the peer is no AMI server (wrong port or another service: said now rather
        than by a login timing out)."""
        self._reads += 1
        blocks = self._parser.blocks(data)
        if not self._greeted and self._parser.banner is not None:
            self._greeted = True
            if not self._parser.banner.startswith(GREETING):
                return False
        for block in blocks:
            # Behind a slice or more (a backlog), an urgent one goes first; otherwise in arrival order.
            if len(waiting) >= DISPATCH_SLICE and _urgent(block):
                # the urgent ones queued before it (in the first slice, while there was no backlog) go first
                front = [waiting.popleft() for _ in range(DISPATCH_SLICE)]
                for earlier in front:
                    if _urgent(earlier):
                        self._receive(decode(earlier))
                waiting.extendleft(reversed([earlier for earlier in front if not _urgent(earlier)]))
                self._receive(decode(block))
            else:
                waiting.append(block)
        return True

    def _buffered(self) -> bool:
        """Bytes already read off the socket and waiting in the stream reader (none: a read would wait)."""
        return bool(getattr(self._reader, "_buffer", None))

    def _receive(self, message: Message) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        # OriginateResponse is an *event* that also carries "Response:"; only a message without "Event:"
        # answers an action.
        if message.response is not None and message.event is None:
            if pending is not None and not pending.future.done():
                self._answer(pending, message)
            return
        if pending is not None and pending.as_list and not pending.future.done():
            if _ends_list(message):
                pending.future.set_result(pending.items)
            else:
                pending.items.append(message)
        try:
            self._on_message(message)
        except Exception:
            log.exception("AMI event handler failed on %s; continuing", message.event)

    def _answer(self, pending: _Pending, response: Message) -> None:
        status = (response.response or "").lower()
        if status not in SUCCESS:
            text = response.get("Message") or response.response or "error"
            if text.strip().lower().startswith(SHUTTING_DOWN):
                self.draining = True
                pending.future.set_exception(PbxShuttingDown(pending.name, text))
                return
            pending.future.set_exception(PbxError(pending.name, text))
        elif pending.as_list and _starts_list(response):
            return  # the items follow as events, then a ...Complete event
        else:
            pending.future.set_result([] if pending.as_list else response)

    # ---- loss -----------------------------------------------------------------------------------

    async def _ping_loop(self, interval: float, timeout: float) -> None:
        while self._lost_reason is None:
            await asyncio.sleep(interval)
            pong = asyncio.ensure_future(self.request(Message.of(Action="Ping")))
            try:
                heard = await self._heard_after_ping(pong, timeout)
            finally:
                pong.cancel()
            if not heard:
                self._lose(f"nothing heard within {timeout:g} s of a Ping (half-open link)")
                return
            if not pong.done():
                continue       # the peer keeps talking; its Pong is still queued behind what it sent
            try:
                pong.result()
            except PbxNotConnected:
                return
            except PbxError as exc:  # an answer, even an error, proves the peer is alive
                log.debug("AMI Ping answered with an error: %s", exc.message)

    async def _heard_after_ping(self, pong: asyncio.Future[Message | list[Message]], timeout: float) -> bool:
        """Whether the peer showed it is there: its Pong, or any byte read, before ``timeout`` s of silence.

        The silence is the peer's, not our loop's. A late loop (a busy host gave this process no core, a
        long callback) would otherwise turn a Pong that reached us in time into a dead link: the timer
        fires as soon as the loop wakes, before the reader's turn. So the wait is counted in steps, each
        step counting only what it planned however late it woke, and the reader gets its turn between
        steps; and any byte read counts as an answer, since a Pong may be queued behind a burst of events
        that takes us longer than ``timeout`` to read. A real Asterisk closes a session only when it
        cannot write to it, never for a slow reader; a peer gone without a FIN sends nothing at all."""
        step = timeout / 4
        silent = 0.0
        while True:
            reads = self._reads
            await asyncio.wait((pong,), timeout=step)
            if pong.done():
                return True
            if self._reads != reads:
                return True
            silent += step
            if silent >= timeout - 1e-9:
                return False

    def _lose(self, reason: str) -> None:
        if self._lost_reason is not None:
            return
        self._lost_reason = reason
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(PbxLinkLost(
                    pending.name, f"AMI link lost before Asterisk answered ({reason}); it may or may "
                                  f"not have been carried out and will not be resent"))
        self._pending.clear()
        self._writer.transport.abort()
        current = asyncio.current_task()
        for task in (self._reading, self._keepalive):
            if task is not None and task is not current:
                task.cancel()
        if not self.lost.done():
            self.lost.set_result(reason)


def _urgent(block: bytes) -> bool:
    return block.startswith(URGENT) or (block.startswith(ORIGINATE_RESPONSE) and ANSWERED in block)


def _starts_list(response: Message) -> bool:
    return ((response.get("EventList") or "").lower() == "start"
            or "will follow" in (response.get("Message") or "").lower())


def _ends_list(event: Message) -> bool:
    return ((event.get("EventList") or "").lower() == "complete"
            or (event.event or "").endswith("Complete"))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
