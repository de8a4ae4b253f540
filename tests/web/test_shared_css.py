"""A worker parses each app's CSS once for all its sessions: the second login screen started in the same
process parses none of it again, and looks the same."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from textual.css import stylesheet
from textual.widgets import Input

from dialer.clock import SystemClock
from dialer.web import shared_css
from dialer.web.login import LoginApp


async def test_the_second_app_parses_no_css_and_is_styled_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stylesheet.Stylesheet, "_parse_rules", shared_css._parse_rules)
    monkeypatch.setattr(shared_css, "_parsed", {})
    parse = MagicMock(wraps=stylesheet.parse)
    monkeypatch.setattr(stylesheet, "parse", parse)
    widths = []
    for run in range(2):
        app = LoginApp(MagicMock(), SystemClock())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            widths.append(app.query_one("#password", Input).size.width)
        if run == 0:
            assert parse.call_count > 0
            parse.reset_mock()
    assert parse.call_count == 0
    assert widths[0] == widths[1] == 38    # styled alike: the password box as wide in both
