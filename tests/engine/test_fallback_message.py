"""The log line when predictive falls back to progressive says whether the window is already over the cap
(early in a day two abandons in 42 answers are) or only near it."""

from __future__ import annotations

from dialer.runner import fallback_message


def test_over_the_cap_is_said_as_over_it() -> None:
    line = fallback_message("demo", rate=2 / 42, answers=42, cap=0.03)
    assert line == ("campaign demo: abandonment 4.76% of 42 live answers in the window is over the 3.0% cap: "
                    "dialing progressive")


def test_near_the_cap_is_said_as_near_it() -> None:
    line = fallback_message("demo", rate=0.028, answers=500, cap=0.03)
    assert line == ("campaign demo: abandonment 2.80% of 500 live answers in the window; the next abandons could "
                    "pass the 3.0% cap: dialing progressive")
