"""The watch view's tuning form: edit a campaign's pacing, see the change (and what it would do) before
applying it through ``lists.campaigns.set_pacing`` — the same path, validation and audit as
``dialer campaign set``."""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from dialer.clock import Clock
from dialer.tuning import parse_assignments, validate_pacing
from dialer.views.snapshot import CampaignState
from lists import campaigns

EDITABLE = ("target_abandon", "abandon_cap", "max_lines_per_operator", "ratio")
MODES = ("preview", "progressive", "ratio", "predictive")


def pending_changes(campaign: CampaignState, mode: str, values: dict[str, str]) -> dict[str, Any]:
    """What differs from the campaign's current settings, typed; raises ValueError naming the setting."""
    words = [f"{key}={raw.strip()}" for key, raw in values.items() if raw.strip()]
    typed = parse_assignments(words)
    changes = {k: v for k, v in typed.items() if campaign.settings.get(k) != v}
    if mode != campaign.mode:
        changes["mode"] = mode
    merged = {k: v for k, v in {**campaign.settings, **changes}.items() if k != "mode"}
    validate_pacing(mode, merged)
    return changes


def whatif_text(campaign: CampaignState, changes: dict[str, Any]) -> str | None:
    """The simulator's estimate of the change on the current estimates, when this build has it."""
    try:
        from dialer import whatif  # type: ignore[attr-defined]
    except ImportError:
        return None
    describe = getattr(whatif, "describe_change", None)
    if describe is None:
        return None
    return str(describe(campaign, changes))


class TuningForm(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TuningForm { align: center middle; }
    #form { width: 72; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    #form Input { width: 20; }
    #form Horizontal { height: auto; }
    #form Label { width: 26; padding-top: 1; }
    #changes, #whatif { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, pool: asyncpg.Pool, campaign: CampaignState, *, clock: Clock, actor: str) -> None:
        super().__init__()
        self.pool = pool
        self.campaign = campaign
        self.clock = clock
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(Text(f"Tune {self.campaign.name}"))
            with Horizontal():
                yield Label("mode")
                yield Select[str]([(m, m) for m in MODES], value=self.campaign.mode, allow_blank=False, id="mode")
            for key in EDITABLE:
                with Horizontal():
                    yield Label(key)
                    yield Input(value=str(self.campaign.settings.get(key, "")), id=f"set-{key}")
            yield Static("no change", id="changes")
            yield Static("", id="whatif")
            with Horizontal():
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._preview()

    def _values(self) -> dict[str, str]:
        return {key: self.query_one(f"#set-{key}", Input).value for key in EDITABLE}

    def _mode(self) -> str:
        return str(self.query_one("#mode", Select).value)

    def _preview(self) -> dict[str, Any] | None:
        changes_view = self.query_one("#changes", Static)
        whatif_view = self.query_one("#whatif", Static)
        try:
            changes = pending_changes(self.campaign, self._mode(), self._values())
        except ValueError as exc:
            changes_view.update(Text(f"cannot apply: {exc}"))
            whatif_view.update("")
            return None
        if not changes:
            changes_view.update("no change")
            whatif_view.update("")
            return changes
        current = {"mode": self.campaign.mode, **self.campaign.settings}
        changes_view.update(Text("\n".join(f"{k}: {current.get(k, '—')} → {v}" for k, v in changes.items())))
        estimate = whatif_text(self.campaign, changes)
        whatif_view.update(Text(estimate if estimate is not None else "what-if: not available in this build"))
        return changes

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._preview()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._preview()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        changes = self._preview()
        if changes is None:
            return
        if not changes:
            self.dismiss("nothing changed")
            return
        try:
            async with self.pool.acquire() as conn, conn.transaction():   # the change and its audit rows, or nothing
                await campaigns.set_pacing(conn, self.campaign.name, changes, actor=self.actor,
                                           now=self.clock.now(), validate=validate_pacing)
        except campaigns.CampaignError as exc:
            self.query_one("#changes", Static).update(Text(f"refused: {exc}"))
            return
        self.dismiss(f"{self.campaign.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()) + " applied")

    def action_cancel(self) -> None:
        self.dismiss(None)
