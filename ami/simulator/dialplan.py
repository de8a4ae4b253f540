"""The dialplan contexts the simulator emulates: the same names and steps as config/asterisk/extensions.conf.

Each context is a short program over loop timers. Newexten events carry the priorities and
applications of the sample extensions.conf, so what the engine sees from the simulator is what it
will see from a real Asterisk 22 loaded with that file.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ami.simulator.channels import Channel, ChannelState
from ami.simulator.exchange import Exchange

# Simulated durations (seconds). AMD decides HUMAN after the greeting and a short silence; a machine's
# long greeting takes longer (Asterisk's AMD defaults: 800 ms after-greeting silence, 5 s total).
AMD_HUMAN_S = 1.5
AMD_MACHINE_S = 3.0
ANSWER_DELAY_S = 0.5       # Answer() then the next application: 0.5 s later on Asterisk (see transcripts)
ANSWERED_WAIT_S = 30       # dialer-answered waits this long for a Redirect (no DIALER_SAFE_HARBOR_S), then hangs up
PLAYBACK_S = 4.0           # the seller's safe-harbor recording
OPT_OUT_READ_S = 3.0      # Read()'s timeout for the opt-out key
OPT_OUT_KEY_S = 1.0       # a callee who opts out presses 9 this soon
RATING_READ_S = 5.0       # Read()'s timeout in the rating menu
RATING_KEY_S = 2.0        # a callee who rates keys the score this soon
SAY_DIGIT_S = 0.4          # SayDigits, per digit of the callback number
HOLD_WAIT_S = 3600
SPY_SCAN_S = 0.1

_DIGITS_PATTERN = re.compile(r"^\d.+$")   # Asterisk's _X. : a digit, then one or more characters

# context → the extension pattern it answers ("s" or "_X.")
CONTEXTS: dict[str, str] = {
    "dialer-answered": "s",
    "dialer-safeharbor": "s",
    "dialer-rating": "s",
    "operators": "_X.",
    "operator-join": "_X.",
    "hold": "s",
}


def conference_of(exten: str) -> str:
    """The ConfBridge an operator sits in: ``op${EXTEN}``, as the sample extensions.conf names it."""
    return f"op{exten}"


class Dialplan:
    def __init__(self, exchange: Exchange) -> None:
        self.x = exchange
        self._programs: dict[str, Callable[[Channel], None]] = {
            "dialer-answered": self._answered,
            "dialer-safeharbor": self._safeharbor,
            "dialer-rating": self._rating,
            "operators": self._operator_phone,
            "operator-join": self._operator_join,
            "hold": self._hold,
        }
        # Operators' extensions whose phone rings and is never answered (a person away from the desk).
        self.unanswered_phones: set[str] = set()
        # False while Asterisk is starting: its manager takes logins before pbx_config has loaded the
        # dialplan, and an Originate into any context then fails as a missing extension does.
        self.loaded = True
        # Set by Calls: a context that runs Answer() on the far half of a Local channel answers the originate.
        self.answer_far_half: Callable[[Channel], None] = lambda ch: None

    def knows(self, context: str) -> bool:
        return context in CONTEXTS

    def has_extension(self, context: str, exten: str) -> bool:
        pattern = CONTEXTS.get(context)
        if pattern is None or not self.loaded:
            return False
        return bool(_DIGITS_PATTERN.match(exten)) if pattern == "_X." else exten == pattern

    def enter(self, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        """Start a channel at context,exten,priority; a missing extension ends the call as on Asterisk."""
        ch.goto(context, exten, priority)
        if not self.has_extension(context, exten):
            self.x.hang_up(ch, 0, peer_cause=0, request_cause=0)
            return
        self._programs[context](ch)

    def redirect(self, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        """AMI Redirect: the channel leaves whatever it runs (its conference too) and starts over."""
        if not ch.alive:
            return
        ch.cancel_timers(fate=False)
        if ch.conference is not None:
            self.x.leave_conference(ch, hangup=False)
        self.enter(ch, context, exten, priority)

    # ---- applications --------------------------------------------------------------------------

    def run_application(self, ch: Channel, application: str, data: str) -> None:
        """Originate Application=...: what the first half of the call runs once answered."""
        app = application.lower()
        ch.run(application, data)
        if app == "wait":
            ch.later(_seconds(data, default=0.0), self._hang_up_after_app, ch)
        elif app == "confbridge":
            self.x.join_conference(ch, data.split(",")[0])
        elif app == "chanspy":
            ch.later(SPY_SCAN_S, self._spy_scan, ch, data.split(",")[0])
        elif app == "playback":
            ch.later(PLAYBACK_S, self._hang_up_after_app, ch)
        elif app in ("echo", "musiconhold", "milliwatt"):
            pass  # runs until hung up
        else:
            # Asterisk: "No such application" and the channel hangs up.
            self.x.loop.call_soon(self._hang_up_after_app, ch)

    def _hang_up_after_app(self, ch: Channel) -> None:
        self.x.hang_up(ch, 16)

    def _spy_scan(self, spyer: Channel, prefix: str) -> None:
        if not spyer.alive or spyer.spying_on is not None:
            return
        candidates = [c for c in self.x.channels.values()
                      if c is not spyer and c.name.startswith(prefix) and c.conference is not None]
        if candidates:
            self.x.start_spying(spyer, candidates[0])
        spyer.later(1.0, self._spy_scan, spyer, prefix)

    # ---- contexts ------------------------------------------------------------------------------

    def _answered(self, ch: Channel) -> None:
        """[dialer-answered] s: NoOp, ExecIf(AMD), MixMonitor, UserEvent(DialerAnswered),
        Wait(${DIALER_SAFE_HARBOR_S} or 30), then Set(DB(dialer/${ATTEMPT_ID})=no-operator ${DIALER_PHONE}),
        UserEvent(DialerNoOperator) and Goto(dialer-safeharbor), or Hangup when DIALER_SAFE_HARBOR_S is not set."""
        x = self.x
        x.newexten(ch, 1, "NoOp", f"answered {ch.name}")
        amd = ch.variables.get("DIALER_AMD") == "1"
        x.newexten(ch, 2, "ExecIf", f"{int(amd)}?AMD()")   # $[...] is evaluated before ExecIf runs
        if amd:
            machine = ch.machine
            verdict, cause = ("MACHINE", "LONGGREETING-2000-2000") if machine else ("HUMAN", "HUMAN-800-800")
            ch.later(AMD_MACHINE_S if machine else AMD_HUMAN_S, self._after_amd, ch, verdict, cause)
        else:
            self._record_and_report(ch)

    def _after_amd(self, ch: Channel, verdict: str, cause: str) -> None:
        self.x.varset(ch, "AMDSTATUS", verdict)
        self.x.varset(ch, "AMDCAUSE", cause)
        self._record_and_report(ch)

    def _record_and_report(self, ch: Channel) -> None:
        x = self.x
        attempt = ch.variables.get("ATTEMPT_ID", "")
        x.newexten(ch, 3, "MixMonitor", f"{attempt}.wav,b")
        x.varset(ch, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{attempt}.wav")
        x.channel_event("MixMonitorStart", ch)
        amd = ch.variables.get("AMDSTATUS", "")
        x.newexten(ch, 4, "UserEvent", f"DialerAnswered,AttemptId: {attempt},AmdStatus: {amd}")
        x.channel_event("UserEvent", ch, ("UserEvent", "DialerAnswered"), ("AttemptId", attempt),
                        ("AmdStatus", amd), category="user")
        # The engine's safety net: with DIALER_SAFE_HARBOR_S set, a call no Redirect reached in that time
        # (engine dead, AMI link down) hears the safe-harbor message from the dialplan itself.
        fallback = _seconds(ch.variables.get("DIALER_SAFE_HARBOR_S", ""), default=0.0)
        wait = fallback or ANSWERED_WAIT_S
        x.newexten(ch, 5, "Wait", f"{wait:g}")
        ch.later(wait, self._no_redirect, ch, bool(fallback))

    def _no_redirect(self, ch: Channel, fallback: bool) -> None:
        """Nobody Redirected the answered call: its trace in AstDB, UserEvent(DialerNoOperator) and the
        safe-harbor message, or (no DIALER_SAFE_HARBOR_S) Hangup."""
        self.x.newexten(ch, 6, "GotoIf", f'$["{"2" if fallback else ""}" = ""]?end')
        if not fallback:
            self._dialplan_hangup(ch, 10)
            return
        attempt = ch.variables.get("ATTEMPT_ID", "")
        self._trace(ch, 7, attempt, "no-operator")
        self.x.newexten(ch, 8, "UserEvent", f"DialerNoOperator,AttemptId: {attempt}")
        self.x.channel_event("UserEvent", ch, ("UserEvent", "DialerNoOperator"), ("AttemptId", attempt),
                             category="user")
        self.x.newexten(ch, 9, "Goto", "dialer-safeharbor,s,1")
        self.enter(ch, "dialer-safeharbor", "s")

    def _trace(self, ch: Channel, priority: int, attempt: str, what: str) -> None:
        """Set(DB(dialer/${ATTEMPT_ID})=what ${DIALER_PHONE}): written before the UserEvent, so an engine that
        hears the event finds the trace already there, and one that hears nothing finds it later."""
        value = f"{what} {ch.variables.get('DIALER_PHONE', '')}"
        self.x.newexten(ch, priority, "Set", f"DB(dialer/{attempt})={value}")
        self.x.astdb.put("dialer", attempt, value)

    def _dialplan_hangup(self, ch: Channel, priority: int) -> None:
        self.x.newexten(ch, priority, "Hangup", "")
        self.x.hang_up(ch, 16)

    def _safeharbor(self, ch: Channel) -> None:
        """[dialer-safeharbor] s: Answer, Playback(seller), SayDigits(callback number), UserEvent, then the
        opt-out key (Read); no key: Hangup; 9: Set(DB(dialer/${ATTEMPT_ID})=opt-out ${DIALER_PHONE}),
        UserEvent DialerOptOut, Playback, Hangup."""
        x = self.x
        x.newexten(ch, 1, "Answer", "")
        if ch.state != ChannelState.UP:
            x.set_state(ch, ChannelState.UP)
        prompt = ch.variables.get("DIALER_SELLER_PROMPT", "")
        number = ch.variables.get("DIALER_CALLBACK_NUMBER", "")
        x.newexten(ch, 2, "Playback", prompt)
        ch.later(PLAYBACK_S, self._safeharbor_digits, ch, number)

    def _safeharbor_digits(self, ch: Channel, number: str) -> None:
        self.x.newexten(ch, 3, "SayDigits", number)
        ch.later(SAY_DIGIT_S * len(number), self._safeharbor_done, ch)

    def _safeharbor_done(self, ch: Channel) -> None:
        attempt = ch.variables.get("ATTEMPT_ID", "")
        self.x.newexten(ch, 4, "UserEvent", f"DialerSafeHarborPlayed,AttemptId: {attempt}")
        self.x.channel_event("UserEvent", ch, ("UserEvent", "DialerSafeHarborPlayed"), ("AttemptId", attempt),
                             category="user")
        # Read(OPTOUT,dialer/press-9-to-opt-out,1,,1,3): a callee whose fate says so presses 9.
        self.x.newexten(ch, 5, "Read", "OPTOUT,dialer/press-9-to-opt-out,1,,1,3")
        fate = getattr(ch.call, "fate", None)
        if fate is not None and fate.opts_out:
            ch.later(OPT_OUT_KEY_S, self._opted_out, ch, attempt)
        else:
            ch.later(OPT_OUT_READ_S, self._no_opt_out, ch)

    def _no_opt_out(self, ch: Channel) -> None:
        self.x.newexten(ch, 6, "GotoIf", '$["" = "9"]?optout')
        self._dialplan_hangup(ch, 7)

    def _opted_out(self, ch: Channel, attempt: str) -> None:
        self.x.newexten(ch, 6, "GotoIf", '$["9" = "9"]?optout')
        self._trace(ch, 8, attempt, "opt-out")
        self.x.newexten(ch, 9, "UserEvent", f"DialerOptOut,AttemptId: {attempt}")
        self.x.channel_event("UserEvent", ch, ("UserEvent", "DialerOptOut"), ("AttemptId", attempt), category="user")
        self.x.newexten(ch, 10, "Playback", "dialer/opted-out")
        ch.later(PLAYBACK_S, self._dialplan_hangup, ch, 11)

    def _rating(self, ch: Channel) -> None:
        """[dialer-rating] s: Read(SCORE), GotoIf; a callee whose fate has a rating keys it in: UserEvent
        DialerRating, Playback(thank-you), Hangup; else Hangup after Read's timeout."""
        self.x.newexten(ch, 1, "Read", "SCORE,dialer/rate-the-call,1,,1,5")
        fate = getattr(ch.call, "fate", None)
        score = getattr(fate, "rating", None)
        if score is not None:
            ch.later(RATING_KEY_S, self._rated, ch, int(score))
        else:
            ch.later(RATING_READ_S, self._not_rated, ch)

    def _not_rated(self, ch: Channel) -> None:
        self.x.newexten(ch, 2, "GotoIf", "$[0 = 1 & 0 >= 1 & 0 <= 5]?rated")
        self._dialplan_hangup(ch, 3)

    def _rated(self, ch: Channel, score: int) -> None:
        attempt = ch.variables.get("ATTEMPT_ID", "")
        self.x.newexten(ch, 2, "GotoIf", f"$[1 = 1 & {score} >= 1 & {score} <= 5]?rated")
        self.x.newexten(ch, 4, "UserEvent", f"DialerRating,AttemptId: {attempt},Score: {score}")
        self.x.channel_event("UserEvent", ch, ("UserEvent", "DialerRating"), ("AttemptId", attempt),
                             ("Score", str(score)), category="user")
        self.x.newexten(ch, 5, "Playback", "dialer/thank-you")
        ch.later(PLAYBACK_S, self._dialplan_hangup, ch, 6)

    def _operator_phone(self, ch: Channel) -> None:
        """[operators] _X.: Answer, ConfBridge(op${EXTEN}), Hangup. The phone stays until hung up."""
        if ch.exten in self.unanswered_phones:
            return   # rings until the Originate's timeout
        self.x.newexten(ch, 1, "Answer", "")
        if ch.state != ChannelState.UP:
            self.answer_far_half(ch)
        ch.later(ANSWER_DELAY_S, self._confbridge, ch, 2)

    def _operator_join(self, ch: Channel) -> None:
        """[operator-join] _X.: NoOp, ConfBridge(op${EXTEN}), Hangup — the hand-off."""
        self.x.newexten(ch, 1, "NoOp", f"customer joins operator {ch.exten}")
        self._confbridge(ch, 2)

    def _confbridge(self, ch: Channel, priority: int) -> None:
        name = conference_of(ch.exten)
        self.x.newexten(ch, priority, "ConfBridge", name)
        self.x.join_conference(ch, name)

    def _hold(self, ch: Channel) -> None:
        """[hold] s: Answer, Wait(3600) — the supervisor's phone half for ChanSpy originates."""
        self.x.newexten(ch, 1, "Answer", "")
        if ch.state != ChannelState.UP:
            self.answer_far_half(ch)
        ch.later(ANSWER_DELAY_S, self._hold_wait, ch)

    def _hold_wait(self, ch: Channel) -> None:
        self.x.newexten(ch, 2, "Wait", str(HOLD_WAIT_S))
        ch.later(HOLD_WAIT_S, self._dialplan_hangup, ch, 3)


def _seconds(text: str, *, default: float) -> float:
    try:
        return max(0.0, float(text.split(",")[0]))
    except ValueError:
        return default
