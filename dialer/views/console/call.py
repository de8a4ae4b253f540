"""The call on the console's screen, and the messages its widgets send up to the console."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from dialer import script as call_script
from dialer.views import customer
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
