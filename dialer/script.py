"""The call script: a small branching scenario the operator follows while talking to a customer.

A campaign file holds it under ``[script]``: steps with a text (placeholders such as ``{first_name}`` are
filled from the lead's fields), the answers the customer may give (each jumps to another step), and the
fields the operator fills in. The same document, once validated, is stored in ``campaign.script`` and read
back by the operator console, so the file and the stored copy go through one validator.

Example::

    [script]
    title = "Winter offer"
    start = "greet"

    [script.steps.greet]
    text = "Good afternoon, {first_name}! Do you have a minute?"
    answers = [
        { label = "Yes", next = "offer" },
        { label = "Not now", next = "later", disposition = "callback" },
    ]

    [script.steps.offer]
    text = "We can lower your bill in {city} by 20 %."
    fields = [{ name = "email", label = "E-mail for the offer", required = true }]
    answers = [{ label = "Interested", next = "close", disposition = "sale" }]

    [script.steps.later]
    text = "When may we call you back?"

    [script.steps.close]
    text = "Thank you, {first_name}!"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# a word in any script: the list loader keeps columns named in the campaign's language ({Город}, {ФИО})
_NAME = re.compile(r"[^\W\d]\w*")
# {{ and }} are literal braces; {name} is a placeholder; anything else with a brace is a mistake
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")

_SCRIPT_KEYS = {"title", "start", "steps"}
_STEP_KEYS = {"text", "answers", "fields"}
_ANSWER_KEYS = {"label", "next", "disposition"}
_FIELD_KEYS = {"name", "label", "required"}


class ScriptError(ValueError):
    """A script that cannot be used; the message names the step, answer or field to fix."""

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(f"step {step!r}: {message}" if step is not None else message)
        self.step = step


@dataclass(frozen=True)
class Answer:
    label: str
    next: str | None = None          # None: the conversation ends here
    disposition: str | None = None   # the code this answer suggests to the operator


@dataclass(frozen=True)
class ScriptField:
    name: str
    label: str
    required: bool = False


@dataclass(frozen=True)
class Step:
    id: str
    text: str
    answers: tuple[Answer, ...] = ()
    fields: tuple[ScriptField, ...] = ()

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(m.group(1).strip() for m in _TOKEN.finditer(self.text) if m.group(1) is not None)


@dataclass(frozen=True)
class Script:
    start: str
    steps: Mapping[str, Step]
    title: str = ""

    def step(self, step_id: str) -> Step:
        try:
            return self.steps[step_id]
        except KeyError:
            raise ScriptError(f"no such step; the script has {', '.join(self.steps)}", step=step_id) from None

    def unreachable(self) -> tuple[str, ...]:
        """Steps no path of answers leads to from the start: usually a misspelt ``next``, so the CLI warns."""
        seen, todo = {self.start}, [self.start]
        while todo:
            for answer in self.steps[todo.pop()].answers:
                if answer.next is not None and answer.next not in seen:
                    seen.add(answer.next)
                    todo.append(answer.next)
        return tuple(step_id for step_id in self.steps if step_id not in seen)

    def to_document(self) -> dict[str, Any]:
        """The jsonb stored in ``campaign.script`` (the same shape as the TOML ``[script]`` table)."""
        steps: dict[str, Any] = {}
        for step in self.steps.values():
            entry: dict[str, Any] = {"text": step.text}
            if step.answers:
                entry["answers"] = [
                    {k: v for k, v in (("label", a.label), ("next", a.next), ("disposition", a.disposition))
                     if v is not None}
                    for a in step.answers
                ]
            if step.fields:
                entry["fields"] = [{"name": f.name, "label": f.label, "required": f.required} for f in step.fields]
            steps[step.id] = entry
        document: dict[str, Any] = {"start": self.start, "steps": steps}
        if self.title:
            document["title"] = self.title
        return document


@dataclass(frozen=True)
class RenderedStep:
    """A step as the operator sees it: text with the customer's values in, and what is still unknown."""
    step: Step
    text: str
    missing: tuple[str, ...] = field(default=())


# ---- parsing ------------------------------------------------------------------------------------


def load_file(path: Path) -> Script:
    """The ``[script]`` table of a campaign TOML file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{path} is not valid TOML: {exc}") from None
    if "script" not in raw:
        raise ScriptError(f"{path} has no [script] table (see the example in docs/GUIDE.md, 'The call script')")
    return parse(raw["script"])


def parse(document: Any) -> Script:
    """Validate a script document (from TOML or from the store). Raises ScriptError naming what is wrong."""
    if not isinstance(document, Mapping):
        raise ScriptError("the script must be a table with 'start' and 'steps'")
    _no_unknown(document, _SCRIPT_KEYS, "the script")
    title = document.get("title", "")
    if not isinstance(title, str):
        raise ScriptError("'title' must be text")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, Mapping) or not raw_steps:
        raise ScriptError("the script needs at least one step under [script.steps.<name>]")
    steps = {step_id: _parse_step(step_id, raw) for step_id, raw in raw_steps.items()}
    start = document.get("start", next(iter(steps)))
    if not isinstance(start, str) or start not in steps:
        raise ScriptError(f"'start' is {start!r}, which is not a step; the steps are {', '.join(steps)}")
    for step in steps.values():
        for answer in step.answers:
            if answer.next is not None and answer.next not in steps:
                raise ScriptError(f"answer {answer.label!r} jumps to {answer.next!r}, which is not a step",
                                  step=step.id)
    return Script(start=start, steps=steps, title=title)


def _no_unknown(table: Mapping[str, Any], known: set[str], where: str, step: str | None = None) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScriptError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(sorted(known))}", step=step)


def _parse_step(step_id: Any, raw: Any) -> Step:
    if not isinstance(step_id, str) or not _NAME.fullmatch(step_id):
        raise ScriptError(f"step name {step_id!r} must be a word (letters, digits, _), e.g. greet")
    if not isinstance(raw, Mapping):
        raise ScriptError("must be a table with 'text'", step=step_id)
    _no_unknown(raw, _STEP_KEYS, "the step", step_id)
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ScriptError("'text' is required: what the operator says", step=step_id)
    _check_placeholders(step_id, text)
    answers = tuple(_parse_answer(step_id, i, a) for i, a in enumerate(_list(raw, "answers", step_id)))
    labels = [a.label for a in answers]
    if len(set(labels)) != len(labels):
        raise ScriptError(f"answer labels must differ, got {labels}", step=step_id)
    fields = tuple(_parse_field(step_id, i, f) for i, f in enumerate(_list(raw, "fields", step_id)))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ScriptError(f"field names must differ, got {names}", step=step_id)
    return Step(id=step_id, text=text, answers=answers, fields=fields)


def _list(raw: Mapping[str, Any], key: str, step_id: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ScriptError(f"'{key}' must be a list of tables", step=step_id)
    return value


def _parse_answer(step_id: str, index: int, raw: Any) -> Answer:
    where = f"answer #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} must be a table like {{ label = \"Yes\", next = \"offer\" }}", step=step_id)
    _no_unknown(raw, _ANSWER_KEYS, where, step_id)
    label, next_step, code = raw.get("label"), raw.get("next"), raw.get("disposition")
    if not isinstance(label, str) or not label.strip():
        raise ScriptError(f"{where} needs a 'label'", step=step_id)
    if next_step is not None and not isinstance(next_step, str):
        raise ScriptError(f"answer {label!r}: 'next' must be a step name", step=step_id)
    if code is not None and (not isinstance(code, str) or not code.strip()):
        raise ScriptError(f"answer {label!r}: 'disposition' must be a disposition code", step=step_id)
    return Answer(label=label, next=next_step, disposition=code)


def _parse_field(step_id: str, index: int, raw: Any) -> ScriptField:
    where = f"field #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} must be a table like {{ name = \"email\", label = \"E-mail\" }}", step=step_id)
    _no_unknown(raw, _FIELD_KEYS, where, step_id)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ScriptError(f"{where}: 'name' must be a word (letters, digits, _), got {name!r}", step=step_id)
    label = raw.get("label", name)
    required = raw.get("required", False)
    if not isinstance(label, str):
        raise ScriptError(f"field {name!r}: 'label' must be text", step=step_id)
    if not isinstance(required, bool):
        raise ScriptError(f"field {name!r}: 'required' must be true or false", step=step_id)
    return ScriptField(name=name, label=label, required=required)


def _check_placeholders(step_id: str, text: str) -> None:
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ScriptError(f"unbalanced {token!r} in text at position {match.start()}; "
                              "write {{ or }} for a literal brace", step=step_id)
        if not _NAME.fullmatch(name.strip()):
            raise ScriptError(f"placeholder {token!r} must name a field, like {{first_name}}", step=step_id)


# ---- rendering ----------------------------------------------------------------------------------


def render(script: Script, step_id: str, values: Mapping[str, Any]) -> RenderedStep:
    """The step's text with ``values`` (lead fields, operator name, what was filled in) put in.
    A value that is unknown stays visible as ``[name?]`` so the operator asks for it instead of reading
    out a raw placeholder."""
    step = script.step(step_id)
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        value = values.get(name)
        if value is None or value == "":
            if name not in missing:
                missing.append(name)
            return f"[{name}?]"
        return str(value)

    return RenderedStep(step=step, text=_TOKEN.sub(fill, step.text), missing=tuple(missing))


def missing_required(step: Step, filled: Mapping[str, str]) -> tuple[str, ...]:
    """Required fields of the step the operator has not filled: the console will not move on without them."""
    return tuple(f.name for f in step.fields if f.required and not str(filled.get(f.name, "")).strip())
