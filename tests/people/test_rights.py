"""The pure rules: password hashes, the lockout after failed logins, and what each role may ask."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from people import passwords
from people.lockout import CLEAR, LOCK_FOR, MAX_FAILURES
from people.rights import Person, command_refusal, may_manage_campaign

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_password_is_stored_as_a_salted_scrypt_hash_that_names_its_parameters() -> None:
    first, second = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert first != second                                   # a fresh salt each time
    assert "correct horse" not in first
    assert first.startswith(f"scrypt${passwords.N}${passwords.R}${passwords.P}$")
    assert passwords.verify("correct horse", first) and passwords.verify("correct horse", second)
    assert not passwords.verify("correct horsE", first)


@settings(max_examples=10, deadline=None)   # scrypt is slow on purpose
@given(st.text(min_size=1, max_size=30))
def test_only_the_same_password_verifies(other: str) -> None:
    stored = passwords.hash_password("s3cret-enough", salt=b"x" * 16)
    assert passwords.verify(other, stored) == (other == "s3cret-enough")


@pytest.mark.parametrize("stored", ["", "plain", "md5$abc", "scrypt$16384$8$1$!!$!!", "scrypt$x$8$1$AA==$AA=="])
def test_an_unreadable_hash_never_verifies(stored: str) -> None:
    assert not passwords.verify("anything", stored)


@pytest.mark.parametrize("password, reason", [("short", "at least 8"), (" padded pass ", "space")])
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    with pytest.raises(passwords.PasswordError, match=reason):
        passwords.check_new(password)


def test_five_failed_logins_lock_the_account_for_five_minutes() -> None:
    standing = CLEAR
    for n in range(MAX_FAILURES - 1):
        standing = standing.after_failure(NOW)
        assert standing.failures == n + 1 and not standing.locked(NOW)
    standing = standing.after_failure(NOW)
    assert standing.locked(NOW) and standing.locked(NOW + LOCK_FOR - timedelta(seconds=1))
    assert standing.minutes_left(NOW) == 5 and standing.minutes_left(NOW + timedelta(seconds=250)) == 1
    assert not standing.locked(NOW + LOCK_FOR)
    assert not standing.after_failure(NOW + LOCK_FOR).locked(NOW + LOCK_FOR)   # a new count of five begins


ANNA = Person(1, "anna", "operator", operator_id=10)
SOFIA = Person(2, "sofia", "supervisor", campaigns=frozenset({100}), extension="200")
MAX = Person(3, "max", "manager")


def test_an_operator_acts_only_as_their_own_operator() -> None:
    assert command_refusal(ANNA, "pause", 10, [100]) is None
    assert command_refusal(ANNA, "disposition", 10, [100], [10]) is None
    assert "only as their own operator" in str(command_refusal(ANNA, "pause", 11, [100]))
    assert "another operator" in str(command_refusal(ANNA, "disposition", 10, [100], [11]))
    assert "another operator" in str(command_refusal(ANNA, "disposition", 10, [100], [None]))
    assert "may not spy" in str(command_refusal(ANNA, "spy", 10, [100]))


def test_a_supervisor_pauses_and_listens_only_in_their_campaigns() -> None:
    assert command_refusal(SOFIA, "pause", 11, [100, 200]) is None
    assert command_refusal(SOFIA, "spy", 11, [100], spy_extension="200") is None
    assert "supervises none" in str(command_refusal(SOFIA, "pause", 11, [200]))
    assert "may not disposition" in str(command_refusal(SOFIA, "disposition", 11, [100]))
    assert may_manage_campaign(SOFIA, 100) and not may_manage_campaign(SOFIA, 200)


def test_a_supervisor_listens_only_from_their_own_phone() -> None:
    """Another extension would let whoever answers it hear the customer."""
    assert "own phone" in str(command_refusal(SOFIA, "spy", 11, [100], spy_extension="201"))
    assert "own phone" in str(command_refusal(replace(SOFIA, extension=None), "spy", 11, [100], spy_extension="200"))
    assert command_refusal(SOFIA, "pause", 11, [100], spy_extension="201") is None   # only a listen rings a phone


def test_a_manager_may_do_everything_and_a_disabled_person_nothing() -> None:
    assert command_refusal(MAX, "disposition", 11, [], [12]) is None and may_manage_campaign(MAX, 999)
    gone = Person(3, "max", "manager", disabled=True)
    assert "disabled" in str(command_refusal(gone, "pause", 11, [])) and not may_manage_campaign(gone, 1)
