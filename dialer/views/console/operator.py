"""Who sits at a console: the operator named on the command line (or logged in to ``dialer serve``), with
the campaigns they work."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from lists import operators
from lists.operators import OperatorError


@dataclass(frozen=True)
class OperatorIdentity:
    id: int
    name: str
    extension: str
    campaigns: tuple[tuple[int, str, str], ...]   # (id, name, time zone) of the campaigns this operator works


class ConsoleError(Exception):
    """The console cannot start; the message says what to do."""


async def find_operator(db: asyncpg.Pool, name: str) -> OperatorIdentity:
    try:
        row = await operators.get(db, name)
    except OperatorError:
        raise ConsoleError(f"no operator named {name!r}; add one with `dialer operators add {name} --extension …`") \
            from None
    if row.simulated:
        # the engine's operator model answers its calls: a person at its console would fight it
        raise ConsoleError(f"{name} is a simulated operator, driven by the engine; a console is for a person")
    campaigns = await operators.campaigns_of(db, row.id)
    return OperatorIdentity(row.id, row.name, row.extension, tuple(campaigns))
