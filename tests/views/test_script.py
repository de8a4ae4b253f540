"""The call-script format: parsing (with errors that name the step or field), storing, rendering."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer import script as call_script
from dialer.script import ScriptError, load_file, parse, render
from lists import scripts
from lists.campaigns import CampaignNotFound

EXAMPLE = '''
[campaign]
name = "winter"

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
text = "We can lower your bill in {city} by 20 %. {{promo}} applies."
fields = [{ name = "email", label = "E-mail for the offer", required = true }]
answers = [{ label = "Interested", next = "close", disposition = "sale" }]

[script.steps.later]
text = "When may we call you back?"

[script.steps.close]
text = "Thank you, {first_name}!"
'''


def test_the_readme_example_loads_from_a_campaign_file(tmp_path: Path) -> None:
    path = tmp_path / "winter.toml"
    path.write_text(EXAMPLE)
    script = load_file(path)
    assert script.title == "Winter offer" and script.start == "greet"
    assert list(script.steps) == ["greet", "offer", "later", "close"]
    assert script.step("greet").answers[1] == call_script.Answer("Not now", "later", "callback")
    assert script.step("offer").fields == (call_script.ScriptField("email", "E-mail for the offer", True),)


def test_rendering_fills_the_customers_fields_and_keeps_literal_braces(tmp_path: Path) -> None:
    path = tmp_path / "winter.toml"
    path.write_text(EXAMPLE)
    script = load_file(path)
    shown = render(script, "offer", {"city": "Omsk"})
    assert shown.text == "We can lower your bill in Omsk by 20 %. {promo} applies."
    assert shown.missing == ()


def test_an_unknown_value_is_shown_as_a_question_not_as_a_raw_placeholder() -> None:
    script = parse({"steps": {"hi": {"text": "Hello {first_name} {last_name}"}}})
    shown = render(script, "hi", {"first_name": "Ivan", "last_name": ""})
    assert shown.text == "Hello Ivan [last_name?]"
    assert shown.missing == ("last_name",)


def test_customer_data_with_braces_is_shown_as_is() -> None:
    script = parse({"steps": {"hi": {"text": "Hello {name}"}}})
    assert render(script, "hi", {"name": "{evil} {0}"}).text == "Hello {evil} {0}"


def test_required_fields_are_reported_until_filled() -> None:
    step = parse({"steps": {"a": {"text": "x", "fields": [{"name": "email", "required": True},
                                                         {"name": "note"}]}}}).step("a")
    assert call_script.missing_required(step, {}) == ("email",)
    assert call_script.missing_required(step, {"email": "  "}) == ("email",)
    assert call_script.missing_required(step, {"email": "a@b.c"}) == ()


@pytest.mark.parametrize(("document", "message"), [
    ({"steps": {}}, "at least one step"),
    ({"start": "nope", "steps": {"a": {"text": "x"}}}, "'start' is 'nope', which is not a step"),
    ({"steps": {"a": {"text": "x", "answers": [{"label": "Yes", "next": "b"}]}}},
     "step 'a': answer 'Yes' jumps to 'b', which is not a step"),
    ({"steps": {"a": {}}}, "step 'a': 'text' is required"),
    ({"steps": {"a": {"text": "x", "answer": []}}}, "step 'a': the step has unknown key(s) 'answer'"),
    ({"steps": {"a": {"text": "x", "answers": [{"next": "a"}]}}}, "step 'a': answer #1 needs a 'label'"),
    ({"steps": {"a": {"text": "x", "answers": [{"label": "Y"}, {"label": "Y"}]}}}, "step 'a': answer labels"),
    ({"steps": {"a": {"text": "x", "fields": [{"name": "e mail"}]}}}, "step 'a': field #1: 'name' must be a word"),
    ({"steps": {"a": {"text": "x", "fields": [{"name": "e", "required": "yes"}]}}},
     "step 'a': field 'e': 'required' must be true or false"),
    ({"steps": {"a": {"text": "Hello {name"}}}, "step 'a': unbalanced '{'"),
    ({"steps": {"a": {"text": "Hello {first name}"}}}, "step 'a': placeholder '{first name}' must name a field"),
    ({"steps": {"bad-name": {"text": "x"}}}, "step name 'bad-name' must be a word"),
    ({"steps": {"a": {"text": "x"}}, "colour": "red"}, "unknown key(s) 'colour'"),
    ("just text", "must be a table"),
])
def test_a_broken_script_is_refused_naming_the_step_and_field(document: Any, message: str) -> None:
    with pytest.raises(ScriptError) as error:
        parse(document)
    assert message in str(error.value)


def test_steps_no_answer_leads_to_are_reported() -> None:
    script = parse({"start": "a", "steps": {"a": {"text": "x", "answers": [{"label": "go", "next": "b"}]},
                                            "b": {"text": "y", "answers": [{"label": "back", "next": "a"}]},
                                            "orphan": {"text": "z"}}})
    assert script.unreachable() == ("orphan",)


def test_a_file_without_a_script_table_says_so(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[campaign]\nname = 'x'\n")
    with pytest.raises(ScriptError, match=r"no \[script\] table"):
        load_file(path)
    path.write_text("[script\n")
    with pytest.raises(ScriptError, match="not valid TOML"):
        load_file(path)


# ---- properties -----------------------------------------------------------------------------------

names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
words = st.text(string.ascii_letters + " .,!?%", min_size=1, max_size=20).filter(str.strip)


@st.composite
def scripts_documents(draw: st.DrawFn) -> dict[str, Any]:
    step_ids = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    steps: dict[str, Any] = {}
    for step_id in step_ids:
        placeholders = draw(st.lists(names, max_size=3))
        text = draw(words) + "".join(f" {{{p}}}" for p in placeholders)
        labels = draw(st.lists(words, max_size=3, unique=True))
        answers = [{"label": label, "next": draw(st.sampled_from([*step_ids, None]))} for label in labels]
        fields = [{"name": n, "label": n, "required": draw(st.booleans())}
                  for n in draw(st.lists(names, max_size=2, unique=True))]
        steps[step_id] = {"text": text, "answers": [{k: v for k, v in a.items() if v is not None} for a in answers],
                          "fields": fields}
    return {"title": draw(words), "start": draw(st.sampled_from(step_ids)), "steps": steps}


@given(scripts_documents())
def test_a_valid_script_survives_storing_and_loading_unchanged(document: dict[str, Any]) -> None:
    script = parse(document)
    assert parse(script.to_document()) == script


@given(scripts_documents(), st.dictionaries(names, st.text(max_size=10)))
def test_rendering_never_leaves_a_placeholder_and_reports_exactly_the_unknown_ones(
        document: dict[str, Any], values: dict[str, str]) -> None:
    script = parse(document)
    for step in script.steps.values():
        shown = render(script, step.id, values)
        expected_missing = {p for p in step.placeholders if not values.get(p)}
        assert set(shown.missing) == expected_missing
        for name in step.placeholders:
            if values.get(name):
                assert f"{{{name}}}" not in shown.text or f"{{{name}}}" in values[name]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=12))
def test_any_document_either_parses_or_is_refused_with_a_script_error(document: Any) -> None:
    try:
        parse(document)
    except ScriptError:
        pass


# ---- the store ------------------------------------------------------------------------------------


@pytest.mark.db
async def test_a_script_is_stored_on_the_campaign_and_read_back(db: asyncpg.Pool, tmp_path: Path) -> None:
    path = tmp_path / "winter.toml"
    path.write_text(EXAMPLE)
    campaign_id = await db.fetchval(
        "INSERT INTO campaign (name, channel_template, caller_id) VALUES ('winter', 'L/{phone}', '1') RETURNING id")
    assert await scripts.store_script(db, "winter", load_file(path).to_document()) == campaign_id
    assert parse(await scripts.script_document(db, campaign_id)) == load_file(path)
    with pytest.raises(CampaignNotFound):
        await scripts.store_script(db, "summer", {})


def test_a_placeholder_may_name_a_field_in_the_lists_language() -> None:
    script = parse({"steps": {"приветствие": {"text": "Здравствуйте, {ФИО}! Вы из города {Город}?"}}})
    shown = render(script, "приветствие", {"ФИО": "Иванов", "Город": "Тверь"})
    assert shown.text == "Здравствуйте, Иванов! Вы из города Тверь?"
