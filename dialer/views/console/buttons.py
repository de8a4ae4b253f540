"""Buttons that stay out of the Tab chain: each has its key (shown on its label), so Tab walks only the
boxes a person types into, and Enter never lands on a button by accident (Enter on a focused "Log out"
once ended a wrap-up without its disposition)."""

from __future__ import annotations

from textual.widgets import Button


class KeyButton(Button, can_focus=False):
    DEFAULT_CSS = """
    KeyButton { min-width: 8; margin: 0 1 0 0; }
    """
