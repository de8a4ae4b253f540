"""The demo's summary reads a short day's abandonment against the law's window, not as a verdict on it."""

from __future__ import annotations

from compliance.limits import legal_limits
from dialer.sim.demo_view import against_the_window


def test_a_short_day_over_the_cap_says_how_much_one_abandon_weighs_and_what_brings_the_window_back() -> None:
    # a half-hour demo day: 3 abandons in 68 answers is 4.41 %
    words = against_the_window(68, 3, legal_limits(None))
    assert "30 days" in words                    # the campaign's window (no preset: the dialer's own 30 days)
    assert "1.5 points" in words                 # one abandon in 68 answers
    assert "32 more answered calls" in words     # 3 / (68 + 32) = 3 %


def test_the_uk_window_is_named_and_a_day_under_the_cap_needs_nothing_more() -> None:
    words = against_the_window(2_000, 50, legal_limits("UK"))
    assert "24 hours" in words
    assert "more answered calls" not in words


def test_a_day_with_no_answer_says_so_without_dividing_by_zero() -> None:
    assert "no live answer" in against_the_window(0, 0, legal_limits(None))
