"""The AMI actions the simulator answers, with Asterisk 22's responses and error messages.

List actions answer ``Response: Success`` with ``EventList: start``, then one event per item, then a
``…Complete`` event with the same ActionID (transcripts: handoff-record-spy-hangup, reconcile-…).
"""

from __future__ import annotations

import asyncio
import datetime
import re
from typing import TYPE_CHECKING

from ami.simulator.astdb import db_del, db_get, db_put
from ami.simulator.channels import Channel, Pairs, hms, parse_caller_id
from ami.simulator.exchange import OriginateOrder, OriginateOutcome
from ami.simulator.permissions import ORIGINATE_FORBIDDEN
from ami.simulator.shutdown import SHUTTING_DOWN
from ami.wire import Message

if TYPE_CHECKING:
    from ami.simulator.server import Session

AUTH_FAILURE_DELAY_S = 1.0   # Asterisk sleeps a second before "Authentication failed"
_TRUE = ("yes", "true", "y", "t", "1", "on")


async def handle_action(session: Session, message: Message) -> bool:
    """Answer one action. False means: close the connection (failed login, Logoff)."""
    action = (message.get("Action") or "").strip()
    name = action.lower()
    if not action:
        session.respond(message, "Error", "Missing action in request")
        return True
    life = session.server.lifecycle
    if life is not None and life.stopping:
        # core stop gracefully: Asterisk refuses every action, Login included, and keeps the connection.
        session.respond(message, "Error", SHUTTING_DOWN)
        return True
    if name == "login":
        return await _login(session, message)
    if session.user is None:
        session.respond(message, "Error", "Permission denied")
        return True
    handler = _HANDLERS.get(name)
    if handler is None:
        session.respond(message, "Error",
                        f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")
        _security_event(session, "RequestBadFormat", "Error", ("RequestType", f"Action: {action}"))
        return True
    if not session.user.may_run(name):
        session.respond(message, "Error", "Permission denied")
        return True
    if name == "logoff":
        session.respond(message, "Goodbye", "Thanks for all the fish.")
        return False
    result = handler(session, message)
    if asyncio.iscoroutine(result):
        await result
    return True


async def _login(session: Session, message: Message) -> bool:
    user = session.server.users.get(message.get("Username") or "")
    if user is None or message.get("Secret") != user.secret:
        await asyncio.sleep(AUTH_FAILURE_DELAY_S)
        session.respond(message, "Error", "Authentication failed")
        return False
    session.respond(message, "Success", "Authentication accepted")
    session.logged_in(user, message.get("Events"))
    x = session.server.exchange
    if "system" in session.events:
        # FullyBooted goes to this session only, and only with ``system`` read (transcript least-privilege-user).
        uptime = str(int(x.uptime()))
        session.deliver("system", Message([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                                           ("LastReload", uptime), ("Status", "Fully Booted")]).to_bytes(), None)
    _security_event(session, "SuccessfulAuth", "Informational", ("UsingPassword", "0"))
    return True


def _security_event(session: Session, name: str, severity: str, *extra: tuple[str, str]) -> None:
    x = session.server.exchange
    tv = _tv(x.epoch_now())
    x.emit(name, "security", [
        ("EventTV", tv), ("Severity", severity), ("Service", "AMI"), ("EventVersion", "1"),
        ("AccountID", session.user.name if session.user else ""), ("SessionID", session.id),
        ("LocalAddress", session.local_address), ("RemoteAddress", session.remote_address),
        *extra, ("SessionTV", _tv(session.started_at)),
    ])


def _tv(epoch: float) -> str:
    # Formatted from the simulator's own epoch (no wall clock), always UTC.
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _ping(session: Session, message: Message) -> None:
    session.respond(message, "Success", None, ("Ping", "Pong"),
                    ("Timestamp", f"{session.server.exchange.epoch_now():.6f}"))


def _events(session: Session, message: Message) -> None:
    assert session.user is not None
    session.events = frozenset() if (message.get("EventMask") or "").lower() == "off" else session.user.read
    session.server.sessions_changed()
    session.respond(message, "Success", None, ("Events", "On" if session.events else "Off"))


# ---- Originate -----------------------------------------------------------------------------------

async def _originate(session: Session, message: Message) -> None:
    assert session.user is not None
    channel = (message.get("Channel") or "").strip()
    if not channel:
        session.respond(message, "Error", "Channel not specified")
        return
    if "/" not in channel:
        session.respond(message, "Error", "Invalid channel")
        return
    timeout_text = message.get("Timeout")
    timeout_ms = 30000
    if timeout_text:
        try:
            timeout_ms = int(timeout_text)
        except ValueError:
            timeout_ms = -1
        if timeout_ms < 0:
            session.respond(message, "Error", "Invalid timeout")
            return
    priority = _priority(message.get("Priority"))
    if priority is None:
        session.respond(message, "Error", "Invalid priority")
        return
    application = message.get("Application") or None
    data = message.get("Data") or ""
    if application and not session.user.may_originate_application(application, data):
        session.respond(message, "Error", ORIGINATE_FORBIDDEN)
        return
    variables: list[tuple[str, str]] = []
    for header in message.get_all("Variable"):
        for item in header.split(","):
            key, sep, value = item.partition("=")
            if sep and key.strip():
                variables.append((key.strip(), value))
    caller = message.get("CallerID")
    is_async = (message.get("Async") or "").strip().lower() in _TRUE
    order = OriginateOrder(
        channel=channel, action_id=message.action_id, context=message.get("Context") or None,
        exten=message.get("Exten") or None, priority=priority, application=application, data=data,
        timeout_s=timeout_ms / 1000, caller_id=parse_caller_id(caller) if caller else None, variables=variables,
        channel_id=message.get("ChannelId") or None, other_channel_id=message.get("OtherChannelId") or None,
        send_response_event=is_async)
    calls = session.server.calls
    if is_async:
        session.respond(message, "Success", "Originate successfully queued")
        calls.originate(order)
        return
    # Synchronous: the session waits for the outcome and answers then, with no OriginateResponse event.
    outcome: asyncio.Future[OriginateOutcome] = asyncio.get_running_loop().create_future()
    calls.originate(order, lambda result: outcome.done() or outcome.set_result(result))
    result = await outcome
    if result.success:
        session.respond(message, "Success", "Originate successfully queued")
    else:
        session.respond(message, "Error", "Originate failed")


def _priority(text: str | None) -> int | None:
    if text is None or not text.strip():
        return 1
    try:
        return int(text)
    except ValueError:
        return None


# ---- Redirect, Hangup, MixMonitor ----------------------------------------------------------------

def _redirect(session: Session, message: Message) -> None:
    x = session.server.exchange
    target = message.get("Channel")
    if not target:
        session.respond(message, "Error", "Channel not specified")
        return
    ch = x.find(target)
    if ch is None:
        session.respond(message, "Error", f"Channel does not exist: {target}")
        return
    priority = _priority(message.get("Priority"))
    context, exten = message.get("Context") or "", message.get("Exten") or ""
    if priority is None or not context or not exten:
        session.respond(message, "Error", "Invalid priority" if priority is None else "Context and Exten required")
        return
    session.respond(message, "Success", "Redirect successful")
    session.server.dialplan.redirect(ch, context, exten, priority)   # its answer first, then the channel moves


def _hangup(session: Session, message: Message) -> None:
    x = session.server.exchange
    target = (message.get("Channel") or "").strip()
    if not target:
        session.respond(message, "Error", "No channel specified")
        return
    cause_text = message.get("Cause")
    cause = int(cause_text) if cause_text and cause_text.isdigit() else None
    if len(target) > 1 and target.startswith("/") and target.endswith("/"):
        try:
            pattern = re.compile(target[1:-1])
        except re.error:
            session.respond(message, "Error", f"Regex compile failed on: {target}")
            return
        matched = [c for c in x.channels.values() if pattern.search(c.name)]
        session.respond(message, "Success", "Channels hung up will follow", ("EventList", "start"))
        for ch in matched:
            _list_event(session, message, "ChannelHungup", [("Channel", ch.name)], id_first=False)
        _complete(session, message, "ChannelsHungupListComplete", len(matched))
        x.loop.call_soon(_hang_up_matched, session, matched, cause)
        return
    ch = x.find(target)
    if ch is None:
        session.respond(message, "Error", "No such channel")
        return
    session.respond(message, "Success", "Channel Hungup")
    x.loop.call_soon(lambda: x.hang_up(ch, cause or 16))


def _hang_up_matched(session: Session, matched: list[Channel], cause: int | None) -> None:
    """Regex hangups end Local halves with cause 0, a conference member with 16 (transcripts)."""
    def cause_of(ch: Channel) -> int:
        return cause if cause is not None else (16 if ch.conference is not None else 0)
    for ch in matched:
        if ch.alive:
            peer = ch.peer
            session.server.exchange.hang_up(ch, cause_of(ch), request_cause=0,
                                            peer_cause=cause_of(peer) if peer is not None else None)


def _mixmonitor(session: Session, message: Message) -> None:
    x = session.server.exchange
    ch = x.find(message.get("Channel") or "")
    if ch is None:
        session.respond(message, "Error", "No such channel")
        return
    session.respond(message, "Success")
    x.varset(ch, "MIXMONITOR_FILENAME", message.get("File") or f"{ch.uniqueid}.wav")
    x.channel_event("MixMonitorStart", ch)


def _command(session: Session, message: Message) -> None:
    command = " ".join((message.get("Command") or "").split())
    life = session.server.lifecycle
    if command in ("core stop now", "core stop gracefully") and life is not None:
        session.respond(message, "Success", "Command output follows", ("Output", ""))
        session.server.exchange.loop.call_soon(life.stop_now if command.endswith("now") else life.stop_gracefully)
        return
    output = "Asterisk 22.10.1 (AMI simulator)" if command == "core show version" else f"No such command '{command}'"
    session.respond(message, "Success", "Command output follows", ("Output", output))


# ---- lists ---------------------------------------------------------------------------------------

def _list_event(session: Session, message: Message, name: str, pairs: Pairs, *, id_first: bool = True) -> None:
    action_id = [("ActionID", message.action_id)] if message.action_id is not None else []
    session.send([("Event", name), *action_id, *pairs] if id_first else [("Event", name), *pairs, *action_id])


def _complete(session: Session, message: Message, name: str, count: int, *extra: tuple[str, str]) -> None:
    _list_event(session, message, name, [("EventList", "Complete"), ("ListItems", str(count)), *extra])


def _core_show_channels(session: Session, message: Message) -> None:
    x = session.server.exchange
    session.respond(message, "Success", "Channels will follow", ("EventList", "start"))
    channels = list(x.channels.values())
    now = x.now()
    for ch in channels:
        _list_event(session, message, "CoreShowChannel", [
            *ch.block(), ("Application", ch.application), ("ApplicationData", ch.app_data),
            ("Duration", hms(now - ch.created_at)),
            ("BridgeId", ch.conference.bridge_id if ch.conference else "")])
    _complete(session, message, "CoreShowChannelsComplete", len(channels))


def _status(session: Session, message: Message) -> None:
    x = session.server.exchange
    target = message.get("Channel")
    if target:
        ch = x.find(target)
        if ch is None:
            session.respond(message, "Error", "No such channel")
            return
        channels = [ch]
    else:
        channels = list(x.channels.values())
    wanted = [v.strip() for v in (message.get("Variables") or "").split(",") if v.strip()]
    session.respond(message, "Success", "Channel status will follow", ("EventList", "start"))
    now = x.now()
    for ch in channels:
        action_id = [("ActionID", message.action_id)] if message.action_id is not None else []
        session.send([
            ("Event", "Status"), ("Privilege", "Call"), *ch.block(), ("Type", ch.name.split("/")[0]), ("DNID", ""),
            ("EffectiveConnectedLineNum", ch.connected_num), ("EffectiveConnectedLineName", ch.connected_name),
            ("TimeToHangup", "0"), ("BridgeID", ch.conference.bridge_id if ch.conference else ""),
            ("Application", ch.application), ("Data", ch.app_data), ("Nativeformats", "(slin)"),
            ("Readformat", "slin"), ("Readtrans", ""), ("Writeformat", "slin"), ("Writetrans", ""),
            ("Callgroup", "0"), ("Pickupgroup", "0"), ("Seconds", str(int(now - ch.created_at))),
            # An unset variable reads "(null)", as Asterisk prints it (restart-reconcile: the phone's channels).
            *action_id, *[("Variable", f"{name}={ch.variables.get(name, '(null)')}") for name in wanted],
        ])
    _complete(session, message, "StatusComplete", len(channels), ("Items", str(len(channels))))


def _confbridge_list(session: Session, message: Message) -> None:
    x = session.server.exchange
    name = (message.get("Conference") or "").strip()
    if not name:
        session.respond(message, "Error", "No Conference name provided.")
        return
    if not x.conferences:
        session.respond(message, "Error", "No active conferences.")
        return
    conf = x.conferences.get(name)
    if conf is None:
        session.respond(message, "Error", "No Conference by that name found.")
        return
    session.respond(message, "Success", "Confbridge user list will follow", ("EventList", "start"))
    now = x.now()
    for member in conf.members:
        _list_event(session, message, "ConfbridgeList", [
            ("Conference", name), ("Admin", "No"), ("MarkedUser", "No"), ("WaitMarked", "No"), ("EndMarked", "No"),
            ("EndMarkedAny", "No"), ("Waiting", "No"), ("Muted", "No"), ("Talking", "No"),
            ("AnsweredTime", str(int(now - (member.answered_at or member.created_at)))), *member.block()])
    _complete(session, message, "ConfbridgeListComplete", len(conf.members))


_HANDLERS = {
    "logoff": lambda session, message: None,
    "ping": _ping,
    "events": _events,
    "originate": _originate,
    "redirect": _redirect,
    "hangup": _hangup,
    "mixmonitor": _mixmonitor,
    "command": _command,
    "coreshowchannels": _core_show_channels,
    "status": _status,
    "confbridgelist": _confbridge_list,
    "dbget": db_get,
    "dbput": db_put,
    "dbdel": db_del,
}
