from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.caps import ContactCap, ContactHistory, caps_verdict, in_period, next_free
from compliance.hours import policy_for

START = datetime(2026, 3, 1, tzinfo=UTC)
RU_CAPS = policy_for("RU").caps


def test_russian_debtor_gets_one_conversation_a_day() -> None:
    talked = ContactHistory(conversations=(START,))
    verdict = caps_verdict(talked, START + timedelta(hours=23, minutes=59), RU_CAPS)
    assert not verdict and "230-FZ" in verdict.reason
    assert caps_verdict(talked, START + timedelta(hours=24, seconds=1), RU_CAPS)


def test_russian_debtor_gets_two_conversations_a_week_and_eight_a_month() -> None:
    two = ContactHistory(conversations=(START, START + timedelta(days=2)))
    assert not caps_verdict(two, START + timedelta(days=5), RU_CAPS)
    assert next_free(two, START + timedelta(days=5), RU_CAPS) == START + timedelta(days=7)
    eight = ContactHistory(conversations=tuple(START + timedelta(hours=84 * i) for i in range(8)))
    verdict = caps_verdict(eight, START + timedelta(days=29, hours=1), RU_CAPS)
    assert not verdict and "31 days" in verdict.reason


def test_unanswered_attempts_do_not_count_as_conversations() -> None:
    dialed = ContactHistory(attempts=tuple(START + timedelta(hours=h) for h in range(5)))
    assert caps_verdict(dialed, START + timedelta(hours=6), RU_CAPS)


caps = st.lists(
    st.builds(
        ContactCap,
        limit=st.integers(1, 5),
        per=st.integers(1, 24 * 40).map(lambda h: timedelta(hours=h)),
        counts=st.sampled_from(["attempts", "conversations"]),
        source=st.just("test cap"),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300)
@given(
    caps=caps,
    tries=st.lists(st.tuples(st.integers(0, 90 * 24 * 60), st.booleans()), max_size=60),
)
def test_dialing_only_when_allowed_never_exceeds_any_cap_in_any_rolling_period(caps, tries) -> None:
    """Greedy dialer: at each try it asks the rule; every accepted attempt (and conversation) is recorded."""
    attempts: list[datetime] = []
    talks: list[datetime] = []
    for minute, talked in sorted(tries):
        moment = START + timedelta(minutes=minute)
        if caps_verdict(ContactHistory(tuple(attempts), tuple(talks)), moment, caps):
            attempts.append(moment)
            if talked:
                talks.append(moment)
    for cap in caps:
        events = attempts if cap.counts == "attempts" else talks
        for e in events:
            assert len(in_period(events, e, cap.per)) <= cap.limit


@settings(max_examples=300)
@given(caps=caps, offsets=st.lists(st.integers(0, 60 * 24 * 60), max_size=30), at=st.integers(0, 60 * 24 * 60))
def test_next_free_is_the_first_moment_the_caps_allow(caps, offsets, at) -> None:
    events = tuple(sorted(START + timedelta(minutes=m) for m in offsets))
    history = ContactHistory(attempts=events, conversations=events)
    moment = START + timedelta(minutes=at)
    # Only the past counts: the history as it stood at ``moment``.
    past = ContactHistory(tuple(e for e in events if e <= moment), tuple(e for e in events if e <= moment))
    free = next_free(past, moment, caps)
    assert free >= moment
    assert caps_verdict(past, free, caps)
    if free > moment:
        assert not caps_verdict(past, free - timedelta(seconds=1), caps)
    del history
