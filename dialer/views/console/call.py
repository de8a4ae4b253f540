"""The call on the console's screen, and the messages its widgets send up to the console."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from dialer import script as call_script
from dialer.views import customer
from dialer.views.picture import FloorPicture, OperatorRow
from lists.dispositions import Disposition


@dataclass(eq=False)
class CallOnScreen:
    """The call the console is showing: from connect until its disposition is saved."""
    attempt_id: int
    card: customer.CustomerCard
    script: call_script.Script | None
    catalogue: tuple[Disposition, ...]
    timezone: str
    step_id: str | None = None
    path: list[tuple[str, str]] = field(default_factory=list)   # (step, answer label) in the order taken
    filled: dict[str, str] = field(default_factory=dict)


class CardStages:
    """Told the moments of a card's way onto the screen; nothing is done with them unless a worker of
    ``dialer serve`` traces its cards (``dialer/web/trace.py``, for the benchmark)."""

    def news(self) -> None:
        """The feed handed the console a floor (the operator's news, or a picture)."""

    def reading(self, attempt_id: int) -> None:
        """The floor carries a new call: its card's reads start."""

    def shown(self, attempt_id: int) -> None:
        """The card's widgets are set; the next refresh draws them."""

    def painted(self, attempt_id: int) -> None:
        """The refresh after the card was set is done."""


def ran_out_text(attempt_id: int, on_screen: bool) -> str:
    """What the console says when the engine closed a wrap-up before a code was saved."""
    return "wrap-up over (its time, Ready, or the engine stopped) before a code: " + (
        "the call is recorded 'no code'; choose its code (F6) and save it (Ctrl+S)" if on_screen else
        f"attempt {attempt_id} is recorded 'no code'; a manager sets it: dialer lists dispose {attempt_id} CODE")


class Notice(Message):
    """A sentence for the console's message line (a missing field, the end of the script)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Suggested(Message):
    """A script answer names a disposition: the form preselects it."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class FloorChanged(Message):
    """A new merged snapshot arrived from the feed."""

    def __init__(self, floor: FloorPicture) -> None:
        super().__init__()
        self.floor = floor


def never_connected(call: CallOnScreen | None, was: OperatorRow | None, me: OperatorRow | None) -> str | None:
    """The phone of the call on screen when it was still being put through (a manual dial ringing, a
    hand-off) and the operator is free again without a wrap-up: nobody answered, nothing to dispose."""
    if call is None or was is None or me is None or was.state != "reserved" or was.attempt_id != call.attempt_id:
        return None
    return call.card.phone if me.attempt_id is None and me.state not in ("on_call", "wrap_up") else None


def talking(call: CallOnScreen, me: OperatorRow | None) -> bool:
    """The operator is still on this call: its card and script stay on screen, even once coded."""
    return me is not None and me.attempt_id == call.attempt_id and me.state in ("reserved", "on_call")
