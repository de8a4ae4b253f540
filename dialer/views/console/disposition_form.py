"""The disposition form: a code from the campaign's catalogue (with what it will do to the lead), notes,
and a callback or follow-up time typed in the campaign's time zone, for me or anyone, maybe on another
number. It checks what it can before anything is sent; the engine checks the rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Input, Label, Select, Static

from dialer.views.console.buttons import KeyButton
from lists.dispositions import Disposition

_INPUTS = ("#notes", "#callback-at", "#callback-phone")


def effect(disposition: Disposition) -> str:
    """What the code will do to the lead, said before the operator saves it."""
    if disposition.schedules_callback:
        return "needs the callback time below"
    if disposition.final:
        return "finishes the lead"
    if disposition.follow_up_days is not None:
        return f"follow-up call in {disposition.follow_up_days} days (or at the time below)"
    if disposition.retry_after_s is not None:
        return f"calls again in {disposition.retry_after_s // 60} min (or at the time below)"
    return "the lead stays in the list"


class FormError(ValueError):
    """What the operator must correct before the disposition can be sent."""


class DispositionForm(VerticalScroll, can_focus=False):
    catalogue: reactive[tuple[Disposition, ...]] = reactive(())
    open: reactive[bool] = reactive(False)     # a call waits for its code

    def compose(self) -> ComposeResult:
        yield Label("Disposition (F6)")
        yield Select[str]([], prompt="disposition", id="disposition")
        yield Static("", id="disposition-effect")
        yield Input(placeholder="notes", id="notes")
        yield Label("Callback/follow-up (campaign time)")
        yield Input(placeholder="YYYY-MM-DD HH:MM", id="callback-at")
        yield Select[str]([("only me", "personal"), ("anyone", "anyone")], value="personal",
                          allow_blank=False, id="callback-scope")
        yield Input(placeholder="other number to call back", id="callback-phone")
        yield KeyButton("Ctrl+S Save", id="save", variant="primary", disabled=True, action="app.save")

    def watch_catalogue(self, catalogue: tuple[Disposition, ...]) -> None:
        self.query_one("#disposition", Select).set_options([(f"{d.label} ({d.code})", d.code) for d in catalogue])
        self.query_one("#disposition-effect", Static).update("")

    def watch_open(self, open_: bool) -> None:
        self.query_one("#save", KeyButton).disabled = not open_

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "disposition":
            chosen = self.chosen()
            self.query_one("#disposition-effect", Static).update(Text(effect(chosen) if chosen else ""))

    def chosen(self) -> Disposition | None:
        code = self.query_one("#disposition", Select).value
        return next((d for d in self.catalogue if d.code == code), None)

    def suggest(self, code: str) -> None:
        if any(d.code == code for d in self.catalogue):
            self.query_one("#disposition", Select).value = code

    def clear(self) -> None:
        self.catalogue = ()
        self.open = False
        for selector in _INPUTS:
            self.query_one(selector, Input).value = ""

    def restore(self, args: dict[str, Any], timezone: str) -> None:
        """A refused disposition back on screen as it was sent, to be corrected rather than typed again."""
        self.open = True
        self.suggest(args["code"])
        self.query_one("#notes", Input).value = args.get("notes") or ""
        self.query_one("#callback-phone", Input).value = args.get("callback_phone") or ""
        if args.get("callback_at"):
            local = datetime.fromisoformat(args["callback_at"]).astimezone(ZoneInfo(timezone))
            self.query_one("#callback-at", Input).value = f"{local:%Y-%m-%d %H:%M}"

    def collect(self, timezone: str, now: datetime) -> tuple[Disposition, dict[str, Any]]:
        """The code and the command's arguments, or ``FormError`` saying what to correct."""
        chosen = self.chosen()
        if chosen is None:
            raise FormError("choose a disposition (F6)")
        callback_at = self._callback_at(timezone, now)
        if chosen.schedules_callback and callback_at is None:
            raise FormError(f"{chosen.label}: give the callback date and time")
        if chosen.final and callback_at is not None:
            raise FormError(f"{chosen.label} finishes the lead: clear the callback time or choose another code")
        phone = self.query_one("#callback-phone", Input).value.strip() or None
        return chosen, {
            "code": chosen.code,
            "notes": self.query_one("#notes", Input).value.strip() or None,
            "callback_at": callback_at.isoformat() if callback_at else None,
            "callback_scope": self.query_one("#callback-scope", Select).value,
            "callback_phone": phone if callback_at else None,
        }

    def _callback_at(self, timezone: str, now: datetime) -> datetime | None:
        raw = self.query_one("#callback-at", Input).value.strip()
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise FormError(f"callback time {raw!r}: write it as YYYY-MM-DD HH:MM") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        if moment <= now:
            raise FormError(f"callback time {raw} is in the past")
        return moment
