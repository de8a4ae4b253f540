"""One cache of parsed CSS for a ``dialer serve`` worker's apps.

Textual parses an app's CSS (its own and every widget's ``DEFAULT_CSS``) for each app, several times as it
starts (a theme's variables are applied by parsing again in a fresh stylesheet, whose cache starts empty):
a worker that starts the same login screen and console for hundreds of people spent about a fifth of each
login's CPU parsing the same text into the same rules. The rules parsed from one text under one set of
variables are the same whichever app asks, and Textual reads them without changing them, so the worker
keeps them once (``share``, called once at the worker's start)."""

from __future__ import annotations

from typing import Any

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet

MOST = 512      # entries kept: the apps' texts under a few themes; a theme changed often starts afresh

_parsed: dict[tuple[Any, ...], list[RuleSet]] = {}
_own_parse = Stylesheet._parse_rules


def share() -> None:
    Stylesheet._parse_rules = _parse_rules   # type: ignore[method-assign]


def _parse_rules(self: Stylesheet, css: str, read_from: Any, is_default_rules: bool = False, tie_breaker: int = 0,
                 scope: str = "") -> list[RuleSet]:
    key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(sorted(self._variables.items())))
    rules = _parsed.get(key)
    if rules is None:
        rules = _own_parse(self, css, read_from, is_default_rules, tie_breaker, scope)   # raises on bad CSS
        if len(_parsed) >= MOST:
            _parsed.clear()
        _parsed[key] = rules
    return rules
