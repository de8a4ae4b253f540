"""The typed port through which the engine drives a PBX. The engine never sees a raw AMI message.

Channels of an attempt are addressed by the ``ChannelId`` given at Originate (Asterisk makes it the
Uniqueid of the customer channel, and it can be used as ``Channel:`` in later actions). The far half
of a Local channel gets ``{channel_id}-2`` (``OtherChannelId``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

_FAR = "-2"


def far_half(channel_id: str) -> str:
    """The id of a Local channel's far half (``;2``, the callee's side): the ``OtherChannelId`` sent."""
    return f"{channel_id}{_FAR}"


def near_half(channel_id: str) -> str:
    """The id whose far half ``channel_id`` is (``channel_id`` itself when it is no far half)."""
    return channel_id.removesuffix(_FAR)


class PbxError(Exception):
    """An action was refused or could not be sent; ``action`` names it, ``message`` is Asterisk's."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class PbxNotConnected(PbxError):
    """No AMI link right now: the action was NOT sent (it is never queued to go out late)."""


class PbxLinkLost(PbxNotConnected):
    """The action WAS sent, but the link dropped before Asterisk answered: it may or may not have been
    carried out. It is never sent again (a resent Originate is a second call to the same person);
    reconcile after ``LinkUp`` (``list_channels``/``status``, by ChannelId) instead."""


class PbxShuttingDown(PbxNotConnected):
    """Asterisk refused the action with "Asterisk is shutting down" (``core stop gracefully``): it was NOT
    carried out, and nothing else will be — not even a new Login — until Asterisk has restarted. Not a
    wrong secret: the client keeps reconnecting."""


class PbxAuthenticationError(PbxError):
    """Login refused: wrong username or secret. Retrying will not help; fix the settings."""


@dataclass(frozen=True)
class OriginateRequest:
    channel: str                 # e.g. "PJSIP/+15550001@trunk" or "Local/15550001@pstn-sim"
    channel_id: str              # becomes the Uniqueid of the customer channel
    context: str | None = None   # dialplan target once answered ...
    exten: str | None = None
    priority: int = 1
    application: str | None = None  # ... or an application instead
    data: str | None = None
    timeout_ms: int = 25_000
    caller_id: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


# ---- events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OriginateResult:
    """OriginateResponse. reason: 4 answered, 5 busy, 8 congestion, 3 no answer, 0 other (incl. callee
    hung up before answer), 1 other end hung up."""
    channel_id: str
    success: bool
    reason: int


@dataclass(frozen=True)
class DialEnded:
    channel_id: str      # DestUniqueid
    dial_status: str     # ANSWER, BUSY, NOANSWER, CONGESTION, CANCEL, CHANUNAVAIL


@dataclass(frozen=True)
class CallAnswered:
    """UserEvent DialerAnswered sent by the answered context: a person (or AMD verdict) is on the line."""
    channel_id: str
    amd_status: str | None = None  # HUMAN, MACHINE, NOTSURE, or None when AMD is off


@dataclass(frozen=True)
class SafeHarborPlayed:
    """UserEvent DialerSafeHarborPlayed from the safe-harbor context: the abandoned callee heard the
    required message (the proof the abandonment rules ask for)."""
    channel_id: str


@dataclass(frozen=True)
class NoOperatorInTime:
    """UserEvent DialerNoOperator: no Redirect reached the answered call within DIALER_SAFE_HARBOR_S (engine
    down, link lost, Redirect lost), so the dialplan sent it to the safe-harbor message itself: abandoned."""
    channel_id: str


@dataclass(frozen=True)
class CallRated:
    """UserEvent DialerRating from the rating menu: the customer's score (1-5) for the call."""
    channel_id: str
    score: int


@dataclass(frozen=True)
class OptedOut:
    """UserEvent DialerOptOut: the callee pressed the opt-out key during the safe-harbor message."""
    channel_id: str


@dataclass(frozen=True)
class ChannelHungUp:
    channel_id: str       # Uniqueid of the channel that hung up (may be "{id}-2" for the far half)
    cause: int
    cause_text: str = ""


@dataclass(frozen=True)
class ConferenceJoined:
    conference: str       # e.g. "op101"
    channel_id: str


@dataclass(frozen=True)
class ConferenceLeft:
    conference: str
    channel_id: str


@dataclass(frozen=True)
class LinkUp:
    """Logged in (first time or after a reconnect): time to reconcile. ``server`` names the Asterisk
    when the port spans several (``ami.cluster.PbxCluster``)."""
    server: str = ""


@dataclass(frozen=True)
class LinkDown:
    """The AMI link is gone; events meanwhile are lost. ``permanent``: the client gave up (login refused
    on reconnect) and will not come back by itself."""
    reason: str
    permanent: bool = False
    server: str = ""


PbxEvent = (
    OriginateResult | DialEnded | CallAnswered | SafeHarborPlayed | NoOperatorInTime | OptedOut | CallRated
    | ChannelHungUp
    | ConferenceJoined | ConferenceLeft | LinkUp | LinkDown
)


@dataclass(frozen=True)
class ChannelInfo:
    """One row of CoreShowChannels."""
    channel: str
    channel_id: str       # Uniqueid
    context: str
    exten: str
    state: str            # ChannelStateDesc: Up, Ring, Ringing, Down ...
    application: str
    duration_s: int


@dataclass(frozen=True)
class ChannelStatus:
    """One row of Status: a live channel with the dialplan variables asked for (e.g. ATTEMPT_ID)."""
    channel: str
    channel_id: str       # Uniqueid
    state: str            # ChannelStateDesc
    context: str
    exten: str
    seconds: int          # age of the channel
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConferenceMember:
    """One row of ConfbridgeList."""
    conference: str
    channel: str
    channel_id: str       # Uniqueid
    answered_s: int       # seconds since the member's channel was answered


class Pbx(Protocol):
    """What the engine needs from a PBX. Implemented by ``ami.client.AmiClient``."""

    @property
    def connected(self) -> bool: ...

    def subscribe(self, handler: Callable[[PbxEvent], None]) -> None: ...

    async def originate(self, request: OriginateRequest) -> None:
        """Send an Async Originate; returns when Asterisk queued it. The outcome arrives as events."""

    def redirect(self, channel_id: str, context: str, exten: str, priority: int = 1) -> Awaitable[None]:
        """Send the channel to context,exten,priority; the AMI client writes it before returning."""

    async def hangup(self, channel_id: str, cause: int = 16) -> None: ...

    async def list_channels(self) -> list[ChannelInfo]: ...

    async def status(self, variables: Sequence[str] = ("ATTEMPT_ID",)) -> list[ChannelStatus]: ...

    async def confbridge_list(self, conference: str) -> list[ConferenceMember]: ...

    async def db_get(self, family: str, key: str) -> str | None:
        """The value Asterisk's own database (AstDB) holds under family/key; None when there is none."""

    async def db_del(self, family: str, key: str) -> None:
        """Delete family/key from AstDB; a key already gone is no error."""
