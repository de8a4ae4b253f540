"""The console at 120 columns (what README promises it fits): no word of the disposition form is cut."""

from __future__ import annotations

import asyncpg
import pytest
from rich.text import Text
from textual.widgets import Input, Label

from dialer.views.operator_console import OperatorConsole, find_operator
from tests.views.conftest import FixedClock, Scene

pytestmark = pytest.mark.db


async def test_the_disposition_forms_labels_and_hints_are_whole_at_120_columns(db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand in a 120-column terminal: "Callback / follow-up at (campaign ti" and "callback on
    another number" (its "(optional)" gone)."""
    app = OperatorConsole(db, await find_operator(db, "Anna"), FixedClock(), listen=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        form = app.query_one("#disposition-pane")

        def room(widget: Label | Input) -> int:    # its own width, within the pane's (a label may overflow it)
            region = widget.content_region
            return min(region.width, form.content_region.right - region.x)

        cut = [str(label.content) for label in form.query(Label)
               if Text.from_markup(str(label.content)).cell_len > room(label)]
        cut += [box.placeholder for box in form.query(Input) if Text(box.placeholder).cell_len > room(box)]
        assert cut == []
