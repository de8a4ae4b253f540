"""The AMI client: the ``Pbx`` port over one Asterisk Manager connection that keeps itself alive.

Rules a dialer cannot bend (each has a test in tests/ami/test_panoramisk_defects.py):
- Originate is always ``Async: true`` with ``ChannelId``/``OtherChannelId``; its outcome arrives as an
  ``OriginateResult`` event to every subscriber, whatever action is pending.
- While the link is down every action raises ``PbxNotConnected`` at once: nothing is queued to go out
  late, and nothing in flight when the link dropped is ever sent again (an Originate resent is a
  second call to the same person). The engine reconciles after ``LinkUp`` with ``list_channels`` and
  ``status``.
- A link that stops answering Ping is dropped and rebuilt (half-open TCP); our own late event loop is not
  taken for a silent peer (``ami.connection.Session._heard_after_ping``).
- A refused login raises ``PbxAuthenticationError`` and is never retried in a loop. "Asterisk is shutting
  down" is not a refusal of the user: every action then raises ``PbxShuttingDown`` (not carried out), the
  link counts as down for new work, and the client reconnects with back-off until Asterisk is back.
- FullyBooted is never awaited (least-privilege users never get it).
- The secret never reaches a log line, a repr or an exception text.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence

from ami import events
from ami.connection import Secret, Session
from ami.pbx import (
    ChannelInfo,
    ChannelStatus,
    ConferenceMember,
    LinkDown,
    LinkUp,
    OriginateRequest,
    PbxAuthenticationError,
    PbxError,
    PbxEvent,
    PbxLinkLost,
    PbxNotConnected,
    PbxShuttingDown,
    far_half,
)
from ami.wire import DEFAULT_MAX_MESSAGE_BYTES, Message

log = logging.getLogger(__name__)

# OriginateResponse can come long after the Originate (a 60 s ring); keep the ActionID → ChannelId map
# for that long, but bounded, since an Originate whose response was lost would otherwise stay forever.
MAX_ORIGINATES_AWAITING_RESULT = 100_000

# Asterisk's ConfbridgeList answers an empty or missing conference with an error, not an empty list
# (app_confbridge.c, action_confbridgelist).
_NO_CONFERENCE = ("no active conferences", "no conference by that name")
_NO_DB_ENTRY = ("database entry not found", "database entry could not be deleted")   # main/db.c

EventHandler = Callable[[PbxEvent], None]
MessageHandler = Callable[[Message], None]


class AmiClient:
    """Implements ``ami.pbx.Pbx``. Times are loop time (``asyncio.sleep``/timeouts), so the client runs
    unchanged under a virtual clock (looptime)."""

    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 ping_interval: float | None = 10.0, ping_timeout: float = 5.0,
                 reconnect_backoff: tuple[float, float] = (0.5, 30.0),
                 connect_timeout: float = 10.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, control_session: bool = False) -> None:
        low, high = reconnect_backoff
        if not 0 < low <= high:
            raise ValueError(f"reconnect_backoff must be (min, max) with 0 < min <= max, got {low}, {high}")
        if (ping_interval is not None and ping_interval <= 0) or ping_timeout <= 0 or connect_timeout <= 0:
            raise ValueError("ping_interval (or None), ping_timeout and connect_timeout must be positive")
        if any(c in text for text in (username, secret) for c in "\r\n"):
            raise ValueError("the AMI username or secret contains a line break")
        self.host = host
        self.port = port
        self.username = username
        self._secret = Secret(secret)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_backoff = (low, high)
        self.connect_timeout = connect_timeout
        self.max_message_bytes = max_message_bytes
        # Several engines may share one Asterisk, and OriginateResponse goes to every AMI session:
        # a per-client prefix keeps our ActionIDs from matching another engine's.
        self._id_prefix = f"dialer-{os.urandom(4).hex()}"
        self._ids = itertools.count(1)
        self._session: Session | None = None
        # Asterisk carries out each manager session's actions in order, one after the other; a hand-off's
        # Redirect behind a round of Originates on the same session waits for all of them. A second
        # session (Events: off), for Redirects only, lets it pass them; one link: either lost, both go.
        self.control_session = control_session
        self._control: Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self._handlers: list[EventHandler] = []
        self._raw_handlers: list[MessageHandler] = []
        self._originated: OrderedDict[str, str] = OrderedDict()
        self.reconnects = 0  # completed re-logins after a loss (a metric)
        self.events_received = 0  # AMI events read, typed or not (a metric)
        self.failure: PbxAuthenticationError | None = None  # set when a re-login was refused
        self._shutdown_noted = False  # "Asterisk is shutting down" logged for this session

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"AmiClient({self.username!r}@{self.host}:{self.port}, {state})"

    # ---- lifecycle ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Linked, and Asterisk carries out actions (a gracefully stopping one refuses them all)."""
        return self._session is not None and self._session.alive and not self._session.draining

    async def start(self) -> None:
        """Connect and log in once; from then on the link is kept up by itself.

        Raises PbxAuthenticationError (wrong username/secret) or PbxNotConnected (Asterisk unreachable
        or silent): at start-up a wrong setting must be reported, not retried in the background.
        """
        if self._supervisor is not None:
            raise RuntimeError("AmiClient.start() called twice")
        self._closing = False
        session = await self._open()
        self._supervisor = asyncio.create_task(self._supervise(session), name="ami-client-supervisor")
        self._deliver(LinkUp())

    async def close(self) -> None:
        """Log nothing out, just drop the link; pending actions fail with PbxLinkLost. No LinkDown."""
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        for session in (self._session, self._control):
            if session is not None:
                session.close()
        self._session = self._control = None
        if supervisor is not None:
            supervisor.cancel()
            try:
                await supervisor
            except asyncio.CancelledError:
                pass

    async def __aenter__(self) -> AmiClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def subscribe(self, handler: EventHandler) -> None:
        """``handler`` gets every typed event, synchronously, in arrival order. It must not block: the
        whole client (and Asterisk's writetimeout) waits for it."""
        self._handlers.append(handler)

    def subscribe_raw(self, handler: MessageHandler) -> None:
        """Every AMI event as it came (for tests, transcripts and diagnostics), before translation."""
        self._raw_handlers.append(handler)

    async def _open(self) -> Session:
        session = await Session.open(self.host, self.port, self.username, self._secret,
                                     on_message=self._on_message, next_action_id=self._next_action_id,
                                     timeout=self.connect_timeout, max_message_bytes=self.max_message_bytes)
        control = None
        if self.control_session:
            try:
                control = await Session.open(self.host, self.port, self.username, self._secret,
                                             on_message=self._on_message, next_action_id=self._next_action_id,
                                             timeout=self.connect_timeout, max_message_bytes=self.max_message_bytes,
                                             events=False)
            except BaseException:
                session.close("the control session could not log in")
                raise
            session.lost.add_done_callback(lambda lost: control.close(lost.result()))
            control.lost.add_done_callback(lambda lost: session.close(f"control session: {lost.result()}"))
        for opened in (session, control):
            if opened is not None and self.ping_interval is not None:  # None: no keepalive (half-open unnoticed)
                opened.keep_alive(self.ping_interval, self.ping_timeout)
        self._session, self._control = session, control
        self._shutdown_noted = False
        log.info("AMI logged in to %s:%s as %s", self.host, self.port, self.username)
        return session

    async def _supervise(self, session: Session) -> None:
        low, high = self.reconnect_backoff
        while not self._closing:
            reason = await session.lost
            self._session = self._control = None
            if self._closing:
                return
            log.warning("AMI link to %s:%s lost: %s", self.host, self.port, reason)
            self._deliver(LinkDown(reason=reason))
            for delay in backoff(low, high):
                await asyncio.sleep(delay)
                try:
                    session = await self._open()
                except PbxShuttingDown:
                    log.warning("Asterisk at %s:%s is shutting down and refuses logins; trying again in %g s",
                                self.host, self.port, min(delay * 2, high))
                    continue
                except PbxAuthenticationError as exc:
                    # The secret changed under us: hammering Asterisk with it will not fix that.
                    log.error("AMI re-login refused, giving up: %s", exc.message)
                    self.failure = exc
                    self._deliver(LinkDown(reason=str(exc), permanent=True))
                    return
                except PbxNotConnected as exc:
                    log.warning("AMI reconnect failed: %s", exc.message)
                    continue
                self.reconnects += 1
                self._deliver(LinkUp())
                break

    def _next_action_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    # ---- events ---------------------------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        self.events_received += 1
        for raw_handler in list(self._raw_handlers):
            try:
                raw_handler(message)
            except Exception:
                log.exception("AMI raw subscriber failed on %s", message.event)
        try:
            event = events.translate(message, self._originated)
        except Exception:  # translate is meant never to raise; a bug there must not cost the link
            log.exception("could not translate AMI event %s", message.event)
            return
        if event is None:
            return
        if (message.event or "").lower() == "originateresponse" and message.action_id:
            self._originated.pop(message.action_id, None)
        self._deliver(event)

    def _deliver(self, event: PbxEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("PBX event subscriber failed on %r", event)

    # ---- actions --------------------------------------------------------------------------------

    async def send(self, action: Message) -> Message:
        """Send any action; return its Response. Raises PbxError on ``Response: Error``."""
        response = await self._request(action, as_list=False)
        assert isinstance(response, Message)
        return response

    async def send_list(self, action: Message) -> list[Message]:
        """Send a list action (CoreShowChannels, Status, ...); return its item events, collected until
        the ``...Complete`` event."""
        items = await self._request(action, as_list=True)
        assert isinstance(items, list)
        return items

    async def _request(self, action: Message, *, as_list: bool) -> Message | list[Message]:
        return await self._answer(self._write(action, as_list=as_list))

    def _write(self, action: Message, *, as_list: bool = False,
               control: bool = False) -> asyncio.Future[Message | list[Message]]:
        """Write the action now (on the control session if asked and there is one); its answer to come."""
        session = self._control if control and self._control is not None else self._session
        if session is None or not session.alive:
            name = action.get("Action") or "?"
            raise PbxNotConnected(name, f"no AMI link to {self.host}:{self.port} right now; not sent "
                                        f"(actions are never queued)")
        return session.send(action, as_list=as_list)

    async def _answer(self, sent: asyncio.Future[Message | list[Message]]) -> Message | list[Message]:
        try:
            return await sent
        except PbxShuttingDown:
            if not self._shutdown_noted:
                self._shutdown_noted = True
                log.warning("Asterisk at %s:%s is shutting down: it refuses every action (no new calls) until "
                            "it is back", self.host, self.port)
            raise

    async def originate(self, request: OriginateRequest) -> None:
        """Queue an Async Originate; returns once Asterisk accepted it. The outcome comes as events:
        OriginateResult (possibly before this returns), DialEnded, CallAnswered, ChannelHungUp."""
        action = _originate_action(request)
        action_id = self._next_action_id()
        action.add("ActionID", action_id)
        self._remember_originate(action_id, request.channel_id)
        try:
            await self.send(action)
        except PbxLinkLost:
            raise  # sent: its OriginateResponse may still reach the next session, keep the mapping
        except PbxError:
            self._originated.pop(action_id, None)
            raise

    def redirect(self, channel_id: str, context: str, exten: str, priority: int = 1) -> Awaitable[None]:
        """Written before this returns (a hand-off waits for no loop pass), on the control session if there
        is one; awaiting the result gives Asterisk's answer (PbxError on an error)."""
        return self._done(self._write(Message.of(Action="Redirect", Channel=channel_id, Context=context,
                                                 Exten=exten, Priority=priority), control=True))

    async def _done(self, sent: asyncio.Future[Message | list[Message]]) -> None:
        await self._answer(sent)

    async def hangup(self, channel_id: str, cause: int = 16) -> None:
        """Hang up a channel by name or Uniqueid, or every channel matching ``/regex/``."""
        action = Message.of(Action="Hangup", Channel=channel_id, Cause=cause)
        if len(channel_id) >= 2 and channel_id.startswith("/") and channel_id.endswith("/"):
            await self.send_list(action)  # a regex Hangup answers with a ChannelHungup list
        else:
            await self.send(action)

    async def list_channels(self) -> list[ChannelInfo]:
        items = await self.send_list(Message.of(Action="CoreShowChannels"))
        return [events.channel_info(m) for m in items if (m.event or "").lower() == "coreshowchannel"]

    async def status(self, variables: Sequence[str] = ("ATTEMPT_ID",)) -> list[ChannelStatus]:
        action = Message.of(Action="Status")
        if variables:
            action.add("Variables", ",".join(variables))
        items = await self.send_list(action)
        return [events.channel_status(m) for m in items if (m.event or "").lower() == "status"]

    async def confbridge_list(self, conference: str) -> list[ConferenceMember]:
        try:
            items = await self.send_list(Message.of(Action="ConfbridgeList", Conference=conference))
        except PbxNotConnected:
            raise
        except PbxError as exc:
            if exc.message.lower().startswith(_NO_CONFERENCE):
                return []
            raise
        return [events.conference_member(m) for m in items if (m.event or "").lower() == "confbridgelist"]

    async def db_get(self, family: str, key: str) -> str | None:
        """Asterisk 22 answers a key it holds with a list (one DBGetResponse, then DBGetComplete), and
        one it does not with ``Response: Error`` "Database entry not found" (main/db.c)."""
        try:
            items = await self.send_list(Message.of(Action="DBGet", Family=family, Key=key))
        except PbxNotConnected:
            raise
        except PbxError as exc:
            if exc.message.lower().startswith(_NO_DB_ENTRY):
                return None
            raise
        values = [m.get("Val") for m in items if (m.event or "").lower() == "dbgetresponse"]
        return values[0] if values and values[0] is not None else None

    async def db_del(self, family: str, key: str) -> None:
        try:
            await self.send(Message.of(Action="DBDel", Family=family, Key=key))
        except PbxNotConnected:
            raise
        except PbxError as exc:
            if not exc.message.lower().startswith(_NO_DB_ENTRY):
                raise

    def _remember_originate(self, action_id: str, channel_id: str) -> None:
        self._originated[action_id] = channel_id
        while len(self._originated) > MAX_ORIGINATES_AWAITING_RESULT:
            self._originated.popitem(last=False)


def backoff(low: float, high: float) -> Iterator[float]:
    """Waits before each reconnect try: low, 2·low, 4·low ... capped at high, forever. No jitter: one
    engine per Asterisk link, so there is no herd to spread, and tests stay deterministic."""
    delay = low
    while True:
        yield delay
        delay = min(delay * 2, high)


def _originate_action(request: OriginateRequest) -> Message:
    if (request.application is None) == (request.context is None):
        raise ValueError("OriginateRequest needs either context/exten or application, not both or neither")
    action = Message.of(Action="Originate", Channel=request.channel)
    if request.application is not None:
        action.add("Application", request.application)
        if request.data is not None:
            action.add("Data", request.data)
    else:
        action.add("Context", request.context or "")
        action.add("Exten", request.exten or "s")
        action.add("Priority", request.priority)
    action.add("Timeout", request.timeout_ms)
    if request.caller_id is not None:
        action.add("CallerID", request.caller_id)
    # Always Async: a synchronous Originate blocks the AMI session for the whole ring time, and
    # panoramisk 1.4 never completed one sent with "Async: False".
    action.add("Async", "true")
    for name, value in request.variables.items():
        action.add("Variable", f"{name}={value}")
    action.add("ChannelId", request.channel_id)
    action.add("OtherChannelId", far_half(request.channel_id))
    return action
