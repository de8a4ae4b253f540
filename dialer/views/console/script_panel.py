"""The call script, filled with the customer's data: the step's text, its fields and its answers (keys
1–9). It walks the script on the call it is given and tells the console what an answer suggests."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, Input, Static

from dialer import script as call_script
from dialer.views.console.buttons import KeyButton
from dialer.views.console.call import CallOnScreen, Notice, Suggested


class ScriptPanel(VerticalScroll, can_focus=False):
    call: reactive[CallOnScreen | None] = reactive(None, always_update=True)

    def __init__(self, operator: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.operator = operator

    def values(self) -> dict[str, Any]:
        assert self.call is not None
        return {**self.call.card.values(), "operator": self.operator, **self.call.filled}

    def compose(self) -> ComposeResult:
        # title and text stay mounted (read at any moment); the step's fields and answers are replaced
        yield Static("", id="script-title")
        yield Static("", id="script-text")
        yield Vertical(id="fields")
        yield Horizontal(id="answers")
        yield KeyButton("F7 Back", id="script-back", disabled=True)

    async def watch_call(self) -> None:
        await self.show_step()

    async def show_step(self) -> None:
        call = self.call
        title, text = self.query_one("#script-title", Static), self.query_one("#script-text", Static)
        fields, answers = self.query_one("#fields"), self.query_one("#answers")
        await fields.remove_children()
        await answers.remove_children()
        self.query_one("#script-back", Button).disabled = call is None or not call.path
        if call is None or call.script is None or call.step_id is None:
            title.update("")
            text.update("" if call is None else "This campaign has no call script.")
            return
        rendered = call_script.render(call.script, call.step_id, self.values())
        await fields.mount_all(
            Input(value=call.filled.get(f.name, ""), placeholder=f.label + (" *" if f.required else ""),
                  id=f"field-{f.name}")
            for f in rendered.step.fields)
        await answers.mount_all(KeyButton(f"{i + 1} {a.label}" if i < 9 else a.label, id=f"answer-{i}")
                                for i, a in enumerate(rendered.step.answers))
        # the text last: once a step's text shows, its answers are there to be pressed
        title.update(Text(f"{call.script.title or 'Script'} — step {call.step_id}"))
        text.update(Text(rendered.text))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.call is not None and event.input.id and event.input.id.startswith("field-"):
            self.call.filled[event.input.id.removeprefix("field-")] = event.value

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("answer-"):
            event.stop()
            await self.answer(int(button.removeprefix("answer-")))
        elif button == "script-back":
            event.stop()
            await self.back()

    async def answer(self, index: int) -> None:
        call = self.call
        if call is None or call.script is None or call.step_id is None:
            return
        step = call.script.step(call.step_id)
        if index >= len(step.answers):
            return
        missing = call_script.missing_required(step, call.filled)
        if missing:
            self.post_message(Notice(f"fill in {', '.join(missing)} first"))
            return
        answer = step.answers[index]
        call.path.append((step.id, answer.label))
        if answer.disposition and any(d.code == answer.disposition for d in call.catalogue):
            self.post_message(Suggested(answer.disposition))
        if answer.next is not None:
            call.step_id = answer.next
            await self.show_step()
        else:
            self.post_message(Notice(f"end of script: {answer.label}"))
            self.query_one("#script-back", Button).disabled = False

    async def back(self) -> None:
        call = self.call
        if call is None or not call.path:
            return
        call.step_id, _ = call.path.pop()
        await self.show_step()

    def missing_fields(self) -> list[str]:
        """Required fields of the steps answered: filled then, and maybe erased since."""
        call = self.call
        if call is None or call.script is None:
            return []
        missing: list[str] = []
        for step_id in dict.fromkeys(s for s, _ in call.path):
            missing += call_script.missing_required(call.script.step(step_id), call.filled)
        return missing
