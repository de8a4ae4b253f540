"""The customer card: the lead's phone and fields, and its earlier attempts with their codes and notes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from dialer.views.customer import CustomerCard

NO_CALL = "No call."


def card_text(card: CustomerCard) -> str:
    lines = [f"phone: {card.phone}", f"category: {card.category}"]
    return "\n".join(lines + [f"{key}: {value}" for key, value in card.fields.items()])


def history_text(card: CustomerCard) -> str:
    if not card.attempts:
        return "First contact."
    return "Earlier attempts:\n" + "\n".join(
        f"{a.at:%Y-%m-%d %H:%M} {a.outcome or 'open'}"
        + (f" / {a.disposition}" if a.disposition else "")
        + (f" by {a.operator}" if a.operator else "")
        + (f" — {a.notes}" if a.notes else "")
        for a in card.attempts
    )


class CardPanel(VerticalScroll, can_focus=False):
    card: reactive[CustomerCard | None] = reactive(None)

    def compose(self) -> ComposeResult:
        yield Static(NO_CALL, id="card")
        yield Static("", id="history")

    def watch_card(self, card: CustomerCard | None) -> None:
        self.query_one("#card", Static).update(Text(card_text(card)) if card else NO_CALL)
        self.query_one("#history", Static).update(Text(history_text(card)) if card else "")
