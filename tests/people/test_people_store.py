"""People in the store: logging in, the lockout on the injected clock, the login audit, and ``dialer users``."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from lists import database
from people import passwords, store
from people.store import LoginRefused

pytestmark = pytest.mark.db
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PASSWORD = "tulips in may"


async def _anna(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO operator (name, extension) VALUES ('Anna', '101')")
    await store.add(db, name="anna", role="operator", password=PASSWORD, operator="Anna", now=NOW)


async def _audit(db: asyncpg.Pool) -> list[tuple[str, str | None]]:
    return [(r["event"], r["reason"]) for r in await db.fetch("SELECT event, reason FROM login_audit ORDER BY id")]


async def test_the_right_password_logs_in_and_is_audited_and_the_hash_is_not_the_password(db: asyncpg.Pool) -> None:
    await _anna(db)
    person = await store.log_in(db, "anna", PASSWORD, NOW)
    operator_id = await db.fetchval("SELECT id FROM operator WHERE name = 'Anna'")
    assert (person.name, person.role, person.operator_id, person.actor) == ("anna", "operator", operator_id,
                                                                            "operator:anna")
    stored = await db.fetchval("SELECT password_hash FROM person")
    assert PASSWORD not in stored and stored.startswith("scrypt$")
    await store.log_out(db, person, NOW + timedelta(hours=1))
    assert await _audit(db) == [("login", None), ("logout", None)]


async def test_five_wrong_passwords_lock_the_account_for_five_minutes_on_the_clock_given(db: asyncpg.Pool) -> None:
    await _anna(db)
    for n in range(4):
        with pytest.raises(LoginRefused, match=r"^wrong name or password$"):
            await store.log_in(db, "anna", f"guess {n}", NOW)
    with pytest.raises(LoginRefused, match="locked for 5 min"):
        await store.log_in(db, "anna", "guess 5", NOW)
    with pytest.raises(LoginRefused, match="try again in 4 min"):   # the right password does not help now
        await store.log_in(db, "anna", PASSWORD, NOW + timedelta(seconds=70))
    person = await store.log_in(db, "anna", PASSWORD, NOW + timedelta(minutes=5))
    assert person.name == "anna"
    assert [e for e, _ in await _audit(db)] == ["failed"] * 4 + ["locked", "refused", "login"]
    assert await db.fetchval("SELECT failed_logins FROM person") == 0


async def test_an_unknown_name_and_a_disabled_person_are_refused_and_the_typed_name_is_not_kept(
        db: asyncpg.Pool) -> None:
    await _anna(db)
    with pytest.raises(LoginRefused, match="wrong name or password"):
        await store.log_in(db, PASSWORD, "anna", NOW)         # name and password swapped
    await store.disable(db, "anna")
    with pytest.raises(LoginRefused, match="disabled"):
        await store.log_in(db, "anna", PASSWORD, NOW)
    rows = await db.fetch("SELECT person_id, event, reason FROM login_audit ORDER BY id")
    assert [(r["person_id"] is None, r["event"], r["reason"]) for r in rows] == [
        (True, "failed", "unknown name"), (False, "refused", "disabled")]
    assert PASSWORD not in str([dict(r) for r in await db.fetch("SELECT * FROM login_audit")])


async def test_an_operator_login_needs_an_operator_row(db: asyncpg.Pool) -> None:
    with pytest.raises(store.PersonError, match="--operator"):
        await store.add(db, name="bob", role="operator", password=PASSWORD, operator=None, now=NOW)
    with pytest.raises(store.PersonError, match="no operator named 'Bob'"):
        await store.add(db, name="bob", role="operator", password=PASSWORD, operator="Bob", now=NOW)
    with pytest.raises(store.PersonError, match="role 'boss'"):
        await store.add(db, name="bob", role="boss", password=PASSWORD, operator=None, now=NOW)


def _url_for(store_schema: tuple[str, str]) -> str:
    url, schema = store_schema
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def test_dialer_users_adds_lists_changes_and_disables_people(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    await db.execute("INSERT INTO operator (name, extension) VALUES ('Anna', '101')")
    await db.execute("INSERT INTO campaign (name, channel_template, caller_id) VALUES ('winter', 'L/{phone}', '1')")
    env = {"DIALER_DATABASE_URL": _url_for(store_schema), "COLUMNS": "200"}
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(cli.app, list(args), env=env, input=stdin)
        return result.exit_code, result.output

    async def dialer(*args: str, stdin: str | None = None) -> tuple[int, str]:
        return await asyncio.to_thread(run, *args, stdin=stdin)   # the CLI runs its own event loop

    code, out = await dialer("users", "add", "anna", "--role", "operator", "--operator", "Anna",
                             stdin=f"{PASSWORD}\n{PASSWORD}\n")        # the hidden prompt, typed twice
    assert code == 0 and "anna added (operator)" in out, out
    assert PASSWORD not in out
    code, out = await dialer("users", "add", "sofia", "--role", "supervisor", "--password-stdin",
                             stdin="another secret\n")
    assert code == 0, out
    code, out = await dialer("users", "add", "max", "--role", "manager", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 8 characters" in out
    code, out = await dialer("users", "add", "sofia", "--role", "manager", "--password-stdin", stdin="long enough\n")
    assert code == 2 and "'sofia' exists already" in out
    assert (await dialer("users", "supervise", "sofia", "winter"))[0] == 0
    code, out = await dialer("users", "supervise", "anna", "winter")
    assert code == 2 and "not a supervisor" in out
    assert (await store.log_in(db, "sofia", "another secret", NOW)).campaigns == {
        await db.fetchval("SELECT id FROM campaign")}
    assert (await dialer("users", "extension", "sofia", "200"))[0] == 0
    code, out = await dialer("users", "extension", "sofia", "two hundred")
    assert code == 2 and "a phone extension is digits" in out
    assert (await store.log_in(db, "sofia", "another secret", NOW)).extension == "200"

    assert (await dialer("users", "passwd", "anna", "--password-stdin", stdin="a new password\n"))[0] == 0
    assert (await store.log_in(db, "anna", "a new password", NOW)).name == "anna"
    assert (await dialer("users", "disable", "anna"))[0] == 0
    code, out = await dialer("users", "list")
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert lines["anna"] == ["anna", "operator", "Anna", "disabled"]
    assert lines["sofia"] == ["sofia", "supervisor", "200", "winter", "active"]
    code, out = await dialer("users", "passwd", "nobody", "--password-stdin", stdin="whatever123\n")
    assert code == 2 and "no person named 'nobody'" in out


def test_a_wrong_role_is_refused_before_the_password_is_asked() -> None:
    """``dialer users add bob --role king`` asked for the password twice, then said the role was wrong."""
    from typer.testing import CliRunner

    import cli
    result = CliRunner().invoke(cli.app, ["users", "add", "bob", "--role", "king"], input="secret123\nsecret123\n")
    assert result.exit_code == 2 and "role 'king' is not one of operator, supervisor, manager" in result.output
    assert "assword" not in result.output


async def test_logins_hashing_hold_no_store_connection(db: asyncpg.Pool, store_schema: tuple[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A password's hash takes a large share of a second of CPU on purpose: a connection held meanwhile is
    one the consoles already on a call cannot read their card with (a server's pool is a few of them)."""
    await _anna(db)
    hashing = threading.Event()
    release = threading.Event()
    verify = passwords.verify

    def slow_verify(password: str, stored: str) -> bool:
        hashing.set()
        release.wait(10)
        return verify(password, stored)

    monkeypatch.setattr(passwords, "verify", slow_verify)
    url, schema = store_schema
    small = await database.open_db(url, search_path=schema, min_size=1, max_size=1)
    try:
        logins = [asyncio.ensure_future(store.log_in(small, "anna", PASSWORD, NOW)) for _ in range(3)]
        await asyncio.to_thread(hashing.wait, 10)
        async with asyncio.timeout(5):      # the card's read gets the pool's one connection meanwhile
            assert await small.fetchval("SELECT 1") == 1
        release.set()
        people = await asyncio.gather(*logins)
    finally:
        release.set()
        await small.close()
    assert [p.name for p in people] == ["anna"] * 3


async def test_wrong_guesses_at_once_still_lock_after_five(db: asyncpg.Pool) -> None:
    await _anna(db)
    results = await asyncio.gather(*(store.log_in(db, "anna", f"guess {n}", NOW) for n in range(8)),
                                   return_exceptions=True)
    assert all(isinstance(r, LoginRefused) for r in results)
    with pytest.raises(LoginRefused, match="try again in 5 min"):
        await store.log_in(db, "anna", PASSWORD, NOW + timedelta(seconds=1))
    events = [e for e, _ in await _audit(db)]
    assert events[:5] == ["failed"] * 4 + ["locked"] and set(events[5:]) == {"refused"}
