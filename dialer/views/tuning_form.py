"""The watch view's tuning form: edit a campaign's pacing, see the change (and what it would do) before
applying it through ``lists.campaigns.set_pacing`` — the same path, validation and audit as
``dialer campaign set``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import asyncpg
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from compliance import store as compliance_store
from compliance.limits import LegalLimits, legal_limits
from dialer import command_rights
from dialer.clock import Clock
from dialer.tuning import parse_assignments, validate_pacing, validator_for
from dialer.views.picture import CampaignState
from lists import campaigns
from pacing.modes import MODES
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, SimulationReport, simulate
from pacing.snapshot import Estimates
from pacing.world import World
from people.rights import Person

EDITABLE = ("target_abandon", "abandon_cap", "max_hour_abandon", "max_lines_per_operator", "ratio")
# what an empty box means, for the settings that may be unset
UNSET = {"max_hour_abandon": "none (cap only)"}
_SETTINGS = {f.name for f in fields(PacingSettings)} - {"mode"}


def pending_changes(campaign: CampaignState, mode: str, values: dict[str, str],
                    limits: LegalLimits | None = None) -> dict[str, Any]:
    """What differs from the campaign's current settings, typed; raises ValueError naming the setting (a
    legal figure is checked against ``limits``, the campaign's preset; none given: the dialer's own)."""
    words = [f"{key}={raw.strip()}" for key, raw in values.items() if raw.strip()]
    typed = parse_assignments(words)
    changes = {k: v for k, v in typed.items() if campaign.settings.get(k) != v}
    if mode != campaign.mode:
        changes["mode"] = mode
    merged = {k: v for k, v in {**campaign.settings, **changes}.items() if k != "mode"}
    validate_pacing(mode, merged, limits)
    return changes


@dataclass(frozen=True)
class WhatIfEstimate:
    """The same simulated callees dialled under the current settings and under the changed ones."""
    operators: int
    hours: float
    before: SimulationReport
    after: SimulationReport

    def lines(self, world: World) -> list[str]:
        b, a = self.before, self.after
        return [
            f"what-if: {self.hours:g} h simulated twice with {self.operators} operator(s), answer rate "
            f"{world.answer_rate:.0%}, talk {world.talk_mean_s:.0f} s, wrap-up {world.wrap_s:.0f} s "
            "(one sample: small differences are noise)",
            f"occupancy {b.occupancy:.1%} → {a.occupancy:.1%}   "
            f"talk {b.talk_minutes_per_operator_hour:.1f} → {a.talk_minutes_per_operator_hour:.1f} min/operator-hour",
            f"abandoned {b.abandon_rate:.2%} → {a.abandon_rate:.2%} "
            f"(worst hour {b.worst_hour_abandon_rate:.2%} → {a.worst_hour_abandon_rate:.2%})   "
            f"dials per answer {b.dials_per_answer:.1f} → {a.dials_per_answer:.1f}",
        ]


def campaign_world(campaign: CampaignState) -> World:
    """The callees as the engine currently estimates them."""
    e = campaign.estimates
    ring = min(max(e.get("mean_ring_to_answer_s", 10.0), 1.0), 16.0)   # a spread that fits the 25 s timeout
    return World(answer_rate=min(max(e.get("answer_rate", 0.3), 0.0), 1.0),
                 talk_mean_s=max(e.get("mean_talk_s", 180.0), 1.0), wrap_s=max(e.get("mean_wrap_s", 10.0), 0.0),
                 ring_min_s=ring * 0.5, ring_max_s=ring * 1.5)


def estimate_change(campaign: CampaignState, operators: int, changes: dict[str, Any], *, hours: float = 2.0,
                    seed: int = 1) -> WhatIfEstimate:
    """Simulate the campaign's current settings and the changed ones on the same callees (same seed), so
    the difference is the change's. ``dialer.sim.whatif.WhatIf`` carries only mode and target_abandon, so this
    drives the same simulator (``pacing.simulation``) with the campaign's complete settings."""
    world = campaign_world(campaign)
    prior = Estimates(answer_rate=world.answer_rate, mean_ring_to_answer_s=campaign.estimates.get(
        "mean_ring_to_answer_s", 10.0), mean_talk_s=world.talk_mean_s, mean_wrap_s=world.wrap_s)
    current = {k: v for k, v in campaign.settings.items() if k in _SETTINGS}
    reports = []
    for mode, settings in ((campaign.mode, current),
                           (changes.get("mode", campaign.mode),
                            {**current, **{k: v for k, v in changes.items() if k != "mode"}})):
        pacer = PolicyPacer(PacingSettings(mode=mode, **settings), prior=prior)
        reports.append(simulate(world, max(1, operators), pacer, hours=hours, seed=seed))
    return WhatIfEstimate(max(1, operators), hours, reports[0], reports[1])


class TuningForm(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TuningForm { align: center middle; }
    #form { width: 100; max-width: 100%; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    #form Input { width: 20; }
    /* the focused box gets a double frame: a shape, not only a colour, as in the operator's console */
    #form Input, #form Select > SelectCurrent { border: tall $panel-lighten-2; }
    #form Input:focus, #form Select:focus > SelectCurrent { border: double $accent; }
    #form Horizontal { height: auto; }
    #form Label { width: 26; padding-top: 1; }
    #changes, #whatif { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, db: asyncpg.Pool, campaign: CampaignState, *, clock: Clock, actor: str, operators: int,
                 hours: float = 2.0, person: Person | None = None) -> None:
        super().__init__()
        self.db = db
        self.person = person            # who logged in (dialer serve): checked again when the change is made
        self.campaign = campaign
        self.clock = clock
        self.actor = actor
        self.operators = operators      # logged in on the campaign now: the what-if's floor
        self.hours = hours
        self.limits: LegalLimits | None = None   # the campaign's preset's, read when the form opens

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(Text(f"Tune {self.campaign.name}"))
            with Horizontal():
                yield Label("mode")
                yield Select[str]([(m, m) for m in MODES], value=self.campaign.mode, allow_blank=False, id="mode")
            for key in EDITABLE:
                with Horizontal():
                    yield Label(key)
                    value = self.campaign.settings.get(key)
                    yield Input(value="" if value is None else str(value), placeholder=UNSET.get(key, ""),
                                id=f"set-{key}")
            yield Static("no change", id="changes")
            yield Static("", id="whatif")
            with Horizontal():
                yield Button("What if?", id="whatif-run")
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Cancel", id="cancel")

    async def on_mount(self) -> None:
        self._preview()
        try:
            async with self.db.acquire() as conn:
                self.limits = legal_limits((await compliance_store.campaign_rules(conn, self.campaign.id)).preset)
        except (OSError, asyncpg.PostgresError) as exc:   # Apply checks again, in its transaction
            self.query_one("#changes", Static).update(Text(f"cannot read the campaign's legal limits: {exc}"))
            return
        self._preview()

    def _values(self) -> dict[str, str]:
        return {key: self.query_one(f"#set-{key}", Input).value for key in EDITABLE}

    def _mode(self) -> str:
        return str(self.query_one("#mode", Select).value)

    def _preview(self) -> dict[str, Any] | None:
        changes_view = self.query_one("#changes", Static)
        whatif_view = self.query_one("#whatif", Static)
        try:
            changes = pending_changes(self.campaign, self._mode(), self._values(), self.limits)
        except ValueError as exc:
            changes_view.update(Text(f"cannot apply: {exc}"))
            whatif_view.update("")
            return None
        if not changes:
            changes_view.update("no change")
            whatif_view.update("")
            return changes
        current = {"mode": self.campaign.mode, **self.campaign.settings}
        shown = {k: "—" if current.get(k) is None else current[k] for k in changes}   # the engine says null
        changes_view.update(Text("\n".join(f"{k}: {shown[k]} → {v}" for k, v in changes.items())))
        whatif_view.update(Text(f"press What if? to simulate {self.hours:g} h with and without the change"))
        return changes

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._preview()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._preview()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        if event.button.id == "whatif-run":
            changes = self._preview()
            if changes:
                self.run_worker(self._what_if(changes), exclusive=True, group="whatif")
            return
        changes = self._preview()
        if changes is None:
            return
        if not changes:
            self.dismiss("nothing changed")
            return
        try:
            async with self.db.acquire() as conn, conn.transaction():   # the change and its audit rows, or nothing
                refusal = await command_rights.campaign_refusal(conn, self.person, self.campaign.id,
                                                                self.campaign.name)
                if refusal is not None:
                    self.query_one("#changes", Static).update(Text(f"refused: {refusal}"))
                    return
                limits = legal_limits((await compliance_store.campaign_rules(conn, self.campaign.id)).preset)
                await campaigns.set_pacing(conn, self.campaign.name, changes, actor=self.actor,
                                           now=self.clock.now(), validate=validator_for(limits))
        except campaigns.CampaignError as exc:
            self.query_one("#changes", Static).update(Text(f"refused: {exc}"))
            return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:   # the form stays, to Apply again
            self.query_one("#changes", Static).update(Text(f"not applied: the store is unreachable "
                                                           f"({type(exc).__name__})"))
            return
        self.dismiss(f"{self.campaign.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()) + " applied")

    async def _what_if(self, changes: dict[str, Any]) -> None:
        view = self.query_one("#whatif", Static)
        view.update(Text(f"simulating {self.hours:g} h twice…"))
        try:   # seconds of pure computation: off the event loop, so the view keeps refreshing
            estimate = await asyncio.to_thread(estimate_change, self.campaign, self.operators, changes,
                                               hours=self.hours)
        except ValueError as exc:
            view.update(Text(f"what-if impossible: {exc}"))
            return
        if self._preview() == changes:   # the form was not edited meanwhile
            view.update(Text("\n".join(estimate.lines(campaign_world(self.campaign)))))

    def action_cancel(self) -> None:
        self.dismiss(None)
