"""``dialer users …``: the people who log in to ``dialer serve``, their roles and passwords.

A password is typed twice at a hidden prompt, or read from standard input (``--password-stdin``, for
scripts); it is never an argument, where the shell's history and ``ps`` would keep it.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import asyncpg
import typer
from rich.table import Table

from cli.store import console, fail, with_db

users_app = typer.Typer(help="People who log in to `dialer serve`: roles and passwords.", no_args_is_help=True)
ROLE_HELP = "operator | supervisor | manager"


def _password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _change(work: Callable[[asyncpg.Pool], Awaitable[None]], done: str) -> None:
    """One change to a person, refused in one line when it cannot be made; ``done`` says what was done."""
    from people import store

    with_db(work, expected=(store.PersonError,))
    console.print(done)


@users_app.command("add")
def add(
    name: str,
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    operator: str | None = typer.Option(None, "--operator", help="The operator row this person works as "
                                                                 "(required for an operator)"),
    extension: str | None = typer.Option(None, "--extension", help="A supervisor's own phone, rung to listen, "
                                                                    "whisper or barge from the browser"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input"),
) -> None:
    """Add a person who logs in with a name and a password."""
    from dialer.clock import SystemClock
    from people import passwords, store
    from people.rights import ROLES

    if role not in ROLES:     # before the password is typed twice
        raise fail(f"role {role!r} is not one of {', '.join(ROLES)}")
    password = _password(password_stdin)

    async def work(db: asyncpg.Pool) -> None:
        await store.add(db, name=name, role=role, password=password, operator=operator, now=SystemClock().now(),
                        extension=extension)

    with_db(work, expected=(store.PersonError, passwords.PasswordError))
    console.print(f"{name} added ({role})")


@users_app.command("extension")
def extension(name: str, extension: str) -> None:
    """A supervisor's own phone, rung when they listen, whisper or barge from the browser."""
    from people import store

    _change(lambda db: store.set_extension(db, name, extension), f"{name} listens from extension {extension}")


@users_app.command("passwd")
def passwd(
    name: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input"),
) -> None:
    """Set a person's password (this also lifts a lock after failed logins)."""
    from people import passwords, store

    password = _password(password_stdin)

    async def work(db: asyncpg.Pool) -> None:
        await store.set_password(db, name, password)

    with_db(work, expected=(store.PersonError, passwords.PasswordError))
    console.print(f"password of {name} changed")


@users_app.command("disable")
def disable(name: str) -> None:
    """Stop a person from logging in (their rows and audit stay)."""
    from people import store

    _change(lambda db: store.disable(db, name), f"{name} disabled")


@users_app.command("supervise")
def supervise(name: str, campaign: str) -> None:
    """Let a supervisor watch, tune, pause and listen to a campaign."""
    from people import store

    _change(lambda db: store.supervise(db, name, campaign), f"{name} supervises {campaign}")


@users_app.command("list")
def list_users() -> None:
    """Everyone who may log in, with their role, operator row, own phone, campaigns and whether they are locked."""
    from dialer.clock import SystemClock
    from people import store

    rows = with_db(store.all_people)
    now = SystemClock().now()
    table = Table("name", "role", "operator", "phone", "campaigns", "state", box=None)
    for row in rows:
        state = "disabled" if row.disabled else \
            f"locked until {row.locked_until:%H:%M:%S}" if row.locked_until and row.locked_until > now else "active"
        table.add_row(row.name, row.role, row.operator or "", row.extension or "", ", ".join(row.campaigns), state)
    console.print(table if rows else "nobody yet: add people with `dialer users add NAME --role …`")
