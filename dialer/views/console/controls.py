"""The bottom bar: the boxes for a pause reason and a number to dial, and a button per action, each
labelled with its key."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select

from dialer.views.console.buttons import KeyButton

_VARIANTS: dict[str, Any] = {"ready": "success", "pause": "warning", "logout": "error"}
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


class ControlBar(Vertical):
    """Two rows, so every button fits 120 columns: the actions, then the boxes with their actions."""

    DEFAULT_CSS = """
    ControlBar { height: auto; }
    ControlBar Horizontal { height: auto; }
    ControlBar Input { width: 24; }
    ControlBar Select { width: 22; }
    ControlBar #actions KeyButton { margin: 0 2 0 0; }
    """

    def __init__(self, campaigns: tuple[tuple[int, str, str], ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.campaigns = campaigns

    def compose(self) -> ComposeResult:
        buttons = {action: KeyButton(f"{key.upper()} {label}", id=action, action=f"app.{action}",
                                     variant=_VARIANTS.get(action, "default"), compact=True)
                   for key, label, action in ACTIONS}
        with Horizontal(id="actions"):
            for action in ("login", "ready", "end_call", "end_call_rated", "logout"):
                yield buttons[action]
        with Horizontal(id="boxes"):
            yield Input(placeholder="pause reason", id="pause-reason")
            yield buttons["pause"]
            yield Input(placeholder="number to dial", id="dial-phone")
            yield Select[int]([(name, cid) for cid, name, _ in self.campaigns], prompt="campaign", id="dial-campaign",
                              value=self.campaigns[0][0] if self.campaigns else Select.NULL)
            yield buttons["dial"]
