"""The first screen of every browser session: name and password. It answers the person who logged in;
what is typed is never shown back, logged or kept (the store audits the outcome, ``people.store``)."""

from __future__ import annotations

from typing import ClassVar

import asyncpg
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, Input, Static

from dialer.clock import Clock
from people import store
from people.rights import Person


class LoginApp(App[Person | None]):
    TITLE = "dialer"
    CSS = """
    Screen { align: center middle; }
    #box { width: 50; height: auto; border: round $primary; padding: 1 2; }
    #box Input, #box Button { width: 100%; margin-bottom: 1; }
    #message { color: $warning; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit")]

    def __init__(self, db: asyncpg.Pool, clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("dialer — log in", id="title")
            yield Input(placeholder="name", id="name")
            yield Input(placeholder="password", password=True, id="password")
            yield Button("Log in", id="login", variant="primary")
            yield Static("", id="message")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name":
            self.query_one("#password", Input).focus()
        else:
            await self._log_in()

    async def on_button_pressed(self, _event: Button.Pressed) -> None:
        await self._log_in()

    async def _log_in(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        password_input = self.query_one("#password", Input)
        password, password_input.value = password_input.value, ""
        message = self.query_one("#message", Static)
        if not name or not password:
            message.update("type your name and your password")
            return
        button = self.query_one("#login", Button)
        button.disabled = True
        try:
            person = await store.log_in(self.db, name, password, self.clock.now())
        except store.LoginRefused as exc:
            refusal = str(exc)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            refusal = "the store cannot be reached; try again in a moment"   # its address stays on the server
        else:
            self.exit(person)        # the session goes on with the person's screen; no widget is touched now
            return
        button.disabled = False
        message.update(Text(refusal))
        password_input.focus()
