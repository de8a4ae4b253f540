"""What each role may ask of the engine. Pure: the command handler gathers the facts (who sent the
command, which campaigns the target operator works, whose the attempt is) and asks here.

* an operator acts only as themself: their state, their calls, their dispositions and callbacks;
* a supervisor watches, tunes, pauses and listens for the campaigns they supervise;
* a manager may do everything.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

ROLES = ("operator", "supervisor", "manager")
OPERATOR_COMMANDS = frozenset({"login", "ready", "pause", "logout", "disposition", "dial", "end_call"})
SUPERVISOR_COMMANDS = frozenset({"ready", "pause", "spy"})


@dataclass(frozen=True)
class Person:
    """Who is logged in, as the rules need them."""
    id: int
    name: str
    role: str
    operator_id: int | None = None
    campaigns: frozenset[int] = frozenset()     # supervised campaigns (a supervisor's)
    disabled: bool = False
    extension: str | None = None                # their own phone, rung to listen (a supervisor's)

    @property
    def actor(self) -> str:
        """How the person is named in audit rows and command rows."""
        return f"{self.role}:{self.name}"


def command_refusal(person: Person, command: str, operator_id: int, operator_campaigns: Collection[int],
                    attempt_operators: Collection[int | None] = (), spy_extension: str | None = None) -> str | None:
    """None when ``person`` may send ``command`` for operator ``operator_id``; else the reason.

    ``attempt_operators``: the operator of each attempt the command names (a disposition's), None for an
    attempt that reached no operator. ``spy_extension``: the phone a listen, whisper or barge rings.
    """
    if person.disabled:
        return f"{person.name}'s account is disabled"
    if person.role == "manager":
        return None
    if person.role == "operator":
        if person.operator_id != operator_id:
            return f"{person.name} may act only as their own operator"
        if command not in OPERATOR_COMMANDS:
            return f"an operator may not {command}"
        if any(owner != operator_id for owner in attempt_operators):
            return f"that call belongs to another operator; {person.name} may dispose only their own calls"
        return None
    if person.role == "supervisor":
        if command not in SUPERVISOR_COMMANDS:
            return f"a supervisor may not {command} for an operator (only {', '.join(sorted(SUPERVISOR_COMMANDS))})"
        if not person.campaigns.intersection(operator_campaigns):
            return f"{person.name} supervises none of this operator's campaigns"
        if command == "spy" and (person.extension is None or spy_extension != person.extension):
            # another phone would let someone else hear the call
            return f"{person.name} listens only from their own phone (`dialer users add … --extension`)"
        return None
    return f"unknown role {person.role!r}"


def may_manage_campaign(person: Person, campaign_id: int) -> bool:
    """Tune, start or pause a campaign (and watch it)."""
    if person.disabled:
        return False
    return person.role == "manager" or (person.role == "supervisor" and campaign_id in person.campaigns)
