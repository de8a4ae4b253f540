"""The bottom bar: the boxes for a pause reason and a number to dial, and a button per action, each
labelled with its key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Select

from dialer.views.console.buttons import KeyButton

# (key, label, action): the console's bindings say the same
ACTIONS = (
    ("f5", "Log in", "login"),
    ("f2", "Ready", "ready"),
    ("f3", "Pause", "pause"),
    ("f4", "Dial", "dial"),
    ("f8", "End call", "end_call"),
    ("f9", "End + rating", "end_call_rated"),
    ("f10", "Log out", "logout"),
)


class ControlBar(Horizontal):
    DEFAULT_CSS = """
    ControlBar { height: auto; }
    ControlBar Input { width: 22; }
    ControlBar Select { width: 20; }
    """

    def __init__(self, campaigns: tuple[tuple[int, str, str], ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.campaigns = campaigns

    def compose(self) -> ComposeResult:
        buttons = {action: KeyButton(f"{key.upper()} {label}", id=action, action=f"app.{action}")
                   for key, label, action in ACTIONS}
        yield buttons["login"]
        yield buttons["ready"]
        yield Input(placeholder="pause reason", id="pause-reason")
        yield buttons["pause"]
        yield Input(placeholder="number to dial", id="dial-phone")
        yield Select[int]([(name, cid) for cid, name, _ in self.campaigns], prompt="campaign", id="dial-campaign",
                          value=self.campaigns[0][0] if self.campaigns else Select.NULL)
        yield buttons["dial"]
        yield buttons["end_call"]
        yield buttons["end_call_rated"]
        yield buttons["logout"]
