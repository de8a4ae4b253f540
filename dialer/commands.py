"""What operators and supervisors ask of the engine (from the console, the watch view or the CLI).

Each command answers None when applied, or a sentence saying why it was refused; the control plane
stores that answer on the command row, where the asking view reads it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ami.pbx import OriginateRequest, PbxError
from dialer import command_rights
from dialer.call import channel_id_of
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.refused_in_state import refused_in_state
from lists import attempts, leads
from lists.dispositions import AWAITING_CODE
from lists.errors import DispositionError

OPT_OUT_CODE = "do_not_call"   # the operator's opt-out key: the callee asked never to be called again
# states in which the operator still holds an ended call that waits for its code (paused from the wrap-up)
AFTER_CALL = (OperatorState.WRAP_UP, OperatorState.PAUSED)
SPY_OPTIONS = {"listen": "q", "whisper": "qw", "barge": "qB"}   # ChanSpy: q quiet, w whisper, B barge


async def apply_command(engine: Engine, operator_id: int, command: str, args: dict[str, Any], *,
                        person_id: int | None = None) -> str | None:
    if person_id is not None:   # sent from a browser session: the person's rights decide
        refused = await command_rights.refusal(engine.db, person_id, operator_id, command, args)
        if refused is not None:
            return refused
    operator = engine.floor.operators.get(operator_id)
    if operator is None:
        return "operator is not on this engine's floor (assign them to a running campaign)"
    now = asyncio.get_running_loop().time()
    match command:
        case "login":
            await engine.phones.login(operator)     # from any state: calls the phone if it is not there
        case "ready":
            if operator.state is OperatorState.WRAP_UP:
                operator.paused_before_call = False     # asked for: ready, even after a call dialed while paused
                engine.operator_work.end_uncoded(operator, "ended by Ready")   # no_code unless one was saved
            elif operator.state is OperatorState.PAUSED:
                operator.pause_reason = None
                engine.floor.set_state(operator, OperatorState.READY, now)
            elif operator.state is OperatorState.LOGGING_IN:
                return "your phone is being called: answer it, and you are ready"
            elif operator.state is OperatorState.OFFLINE:
                return "log in first"
            elif operator.state is not OperatorState.READY:
                return refused_in_state("be ready", operator.state)
        case "pause":
            if operator.state not in (OperatorState.READY, OperatorState.WRAP_UP):
                return refused_in_state("pause", operator.state)
            operator.pause_reason = str(args.get("reason") or "pause")
            engine.floor.set_state(operator, OperatorState.PAUSED, now)
        case "logout":   # during a call the customer is hung up, not left alone (coded unknown)
            if operator.state in AFTER_CALL and not await _coded(engine, operator.attempt_id):
                return "save the call's disposition first: the wrap-up ends with it, then log out"
            await engine.phones.log_out(operator)
        case "disposition":
            return await _disposition(engine, operator_id, args)
        case "dial":
            return await engine.manual_dial(operator, int(args["campaign_id"]), str(args["phone"]))
        case "end_call":
            return await engine.end_call(operator, rate=bool(args.get("rate")))
        case "spy":
            return await _spy(engine, operator.extension, args)
        case _:
            return f"unknown command {command!r}"
    return None


async def _coded(engine: Engine, attempt_id: int | None) -> bool:
    """The wrap-up's call has its disposition (a console may save it and stay in wrap-up). A logout
    before that would end the wrap-up and leave the lead settled with no code at all."""
    if attempt_id is None:
        return True
    code = await attempts.disposition_of(engine.db, attempt_id)
    return code is not None and code not in AWAITING_CODE


async def _disposition(engine: Engine, operator_id: int, args: dict[str, Any]) -> str | None:
    """Record the code now (not write-behind): a code the catalogue no longer has — removed or retired
    while the console showed it — or a callback time it cannot read is refused back to the console, and
    the operator stays in wrap-up to choose again, instead of the write failing later with nobody told."""
    operator = engine.floor.operators[operator_id]
    if args.get("code") == OPT_OUT_CODE:
        phone = await attempts.phone_of(engine.db, int(args["attempt_id"]))
        if phone:
            engine.opt_out(phone, source=f"opt-out:operator:{operator.name}")
    try:
        callback_at = datetime.fromisoformat(args["callback_at"]) if args.get("callback_at") else None
    except (TypeError, ValueError):
        return f"callback time {args['callback_at']!r} is not a date and time"
    try:
        async with engine.db.acquire() as conn, conn.transaction():
            await leads.record_disposition(
                conn, attempt_id=int(args["attempt_id"]), code=str(args["code"]), now=engine.clock.now(),
                operator_id=operator_id, callback_at=callback_at,
                callback_scope=str(args.get("callback_scope") or "anyone"),
                callback_phone=args.get("callback_phone"), notes=args.get("notes"))
            if args.get("script_answers"):
                await attempts.set_script_answers(conn, int(args["attempt_id"]), args["script_answers"])
    except DispositionError as exc:
        return str(exc)
    call = engine.calls.get(channel_id_of(int(args["attempt_id"])))
    if call is not None and not args.get("stay_in_wrap_up"):
        call.coded = True      # saved while the customer is still on: the wrap-up ends as it begins
    if operator.wrap_up_ran_out == int(args["attempt_id"]):
        operator.wrap_up_ran_out = None     # coded at last
    if operator.state is OperatorState.WRAP_UP and not args.get("stay_in_wrap_up"):
        engine.wrap_up_done(operator)
    return None


async def _spy(engine: Engine, extension: str, args: dict[str, Any]) -> str | None:
    mode = str(args.get("mode", "listen"))
    if mode not in SPY_OPTIONS:
        return f"spy mode must be one of {', '.join(SPY_OPTIONS)}"
    supervisor = str(args.get("supervisor_extension", ""))
    if not supervisor.isdigit():
        return "supervisor_extension (digits) is required"
    template = engine.config.operator_channel_template
    request = OriginateRequest(
        channel=template.format(ext=supervisor),
        channel_id=f"spy-{supervisor}-{extension}-{engine.phones.next_serial()}",
        application="ChanSpy", data=f"{template.format(ext=extension)},{SPY_OPTIONS[mode]}", timeout_ms=30_000)
    try:
        await engine.pbx.originate(request)
    except PbxError as exc:
        return f"could not call the supervisor's phone: {exc.message}"
    return None

