"""Raw AMI messages → the typed events and rows of ``ami.pbx``.

Pure functions of a ``Message``: no I/O, no state. They never raise on odd input (a missing field, a
``Reason`` that is not a number): a peer's malformed event must not take the link down, so such an event
translates to ``None`` (ignored) or to a field default. Field names follow the Asterisk 22 recordings in
``tests/fixtures/asterisk/transcripts``.
"""

from __future__ import annotations

from ami.pbx import (
    CallAnswered,
    CallRated,
    ChannelHungUp,
    ChannelInfo,
    ChannelStatus,
    ConferenceJoined,
    ConferenceLeft,
    ConferenceMember,
    DialEnded,
    NoOperatorInTime,
    OptedOut,
    OriginateResult,
    PbxEvent,
    SafeHarborPlayed,
)
from ami.wire import Message

# The UserEvent our dialplan raises once the customer's channel is answered (after AMD when it is on):
#   UserEvent(DialerAnswered,AttemptId: ${ATTEMPT_ID},AmdStatus: ${AMDSTATUS})
DIALER_ANSWERED = "DialerAnswered"
# ... and the one the safe-harbor context raises once the message was played:
#   UserEvent(DialerSafeHarborPlayed,AttemptId: ${ATTEMPT_ID})
SAFE_HARBOR_PLAYED = "DialerSafeHarborPlayed"
# ... and the answered context, when no Redirect came in time and it sends the call to that message itself:
#   UserEvent(DialerNoOperator,AttemptId: ${ATTEMPT_ID})
NO_OPERATOR = "DialerNoOperator"
# ... and when the callee presses the opt-out key during that message:
#   UserEvent(DialerOptOut,AttemptId: ${ATTEMPT_ID})
OPT_OUT = "DialerOptOut"
# ... and the post-call rating menu: UserEvent(DialerRating,AttemptId: ${ATTEMPT_ID},Score: ${SCORE})
RATING = "DialerRating"

# Asterisk writes this where it has no Uniqueid (an Originate that never made a channel).
UNKNOWN = "<unknown>"


def translate(message: Message, originated: dict[str, str] | None = None) -> PbxEvent | None:
    """The typed event for ``message``, or None for the many events the engine does not use.

    ``originated`` maps the ActionID of our Originates to their ChannelId: an Originate that never made a
    channel (bad extension) answers with ``Uniqueid: <unknown>``, so the ActionID is the only way back.
    """
    name = (message.event or "").lower()
    if name == "originateresponse":
        return _originate_result(message, originated or {})
    if name == "dialend":
        channel_id = _known(message.get("DestUniqueid"))
        if channel_id is None:
            return None
        return DialEnded(channel_id=channel_id, dial_status=(message.get("DialStatus") or "").upper())
    if name == "hangup":
        channel_id = _known(message.get("Uniqueid"))
        if channel_id is None:
            return None
        return ChannelHungUp(channel_id=channel_id, cause=to_int(message.get("Cause")),
                             cause_text=message.get("Cause-txt") or "")
    if name == "userevent":
        user_event = (message.get("UserEvent") or "").lower()
        channel_id = _known(message.get("Uniqueid"))
        if channel_id is None:
            return None
        if user_event == DIALER_ANSWERED.lower():
            return CallAnswered(channel_id=channel_id, amd_status=_amd_status(message.get("AmdStatus")))
        if user_event == SAFE_HARBOR_PLAYED.lower():
            return SafeHarborPlayed(channel_id=channel_id)
        if user_event == NO_OPERATOR.lower():
            return NoOperatorInTime(channel_id=channel_id)
        if user_event == OPT_OUT.lower():
            return OptedOut(channel_id=channel_id)
        if user_event == RATING.lower():
            score = to_int(message.get("Score"))
            return CallRated(channel_id=channel_id, score=score) if 1 <= score <= 5 else None
        return None
    if name in ("confbridgejoin", "confbridgeleave"):
        channel_id = _known(message.get("Uniqueid"))
        conference = message.get("Conference")
        if channel_id is None or not conference:
            return None
        kind = ConferenceJoined if name == "confbridgejoin" else ConferenceLeft
        return kind(conference=conference, channel_id=channel_id)
    return None


def _originate_result(message: Message, originated: dict[str, str]) -> OriginateResult | None:
    action_id = message.action_id
    channel_id = originated.get(action_id) if action_id else None
    channel_id = channel_id or _known(message.get("Uniqueid"))
    if channel_id is None:
        return None  # not ours and not addressable: nobody can act on it
    return OriginateResult(channel_id=channel_id,
                           success=(message.get("Response") or "").lower() == "success",
                           reason=to_int(message.get("Reason")))


def channel_info(message: Message) -> ChannelInfo:
    """A CoreShowChannel list item."""
    return ChannelInfo(channel=message.get("Channel") or "",
                       channel_id=message.get("Uniqueid") or "",
                       context=message.get("Context") or "",
                       exten=message.get("Exten") or "",
                       state=message.get("ChannelStateDesc") or "",
                       application=message.get("Application") or "",
                       duration_s=hms_seconds(message.get("Duration")))


def channel_status(message: Message) -> ChannelStatus:
    """A Status list item. Variables asked for come back as repeated ``Variable: NAME=value`` lines."""
    variables: dict[str, str] = {}
    for line in message.get_all("Variable"):
        key, sep, value = line.partition("=")
        if sep:
            variables[key] = value
    return ChannelStatus(channel=message.get("Channel") or "",
                         channel_id=message.get("Uniqueid") or "",
                         state=message.get("ChannelStateDesc") or "",
                         context=message.get("Context") or "",
                         exten=message.get("Exten") or "",
                         seconds=to_int(message.get("Seconds")),
                         variables=variables)


def conference_member(message: Message) -> ConferenceMember:
    """A ConfbridgeList list item."""
    return ConferenceMember(conference=message.get("Conference") or "",
                            channel=message.get("Channel") or "",
                            channel_id=message.get("Uniqueid") or "",
                            answered_s=to_int(message.get("AnsweredTime")))


def to_int(value: str | None, default: int = 0) -> int:
    """A numeric AMI field, or ``default`` when it is missing, blank or not a number: one odd field must not
    cost the reader the whole event."""
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def hms_seconds(value: str | None) -> int:
    """CoreShowChannel's ``Duration: 00:01:05`` in seconds (0 when unreadable)."""
    total = 0
    for part in (value or "").strip().split(":"):
        if not part.isdigit():
            return 0
        total = total * 60 + int(part)
    return total


def _known(value: str | None) -> str | None:
    return value if value and value != UNKNOWN else None


def _amd_status(value: str | None) -> str | None:
    # With AMD off, ${AMDSTATUS} expands to nothing: that is "no verdict". Other values (HUMAN, MACHINE,
    # NOTSURE, and HANGUP when the callee left during detection) pass through for the campaign to judge.
    verdict = (value or "").strip().upper()
    return verdict or None
