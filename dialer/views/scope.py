"""What a logged-in person may see of the floor: a supervisor their campaigns (and the operators and
campaign groups working them), a manager everything. The engine checks every command again
(``dialer/command_rights.py``); this keeps other campaigns off the screen."""

from __future__ import annotations

from dataclasses import replace

from dialer.views.picture import FloorPicture
from people.rights import Person, may_manage_campaign


def scoped(floor: FloorPicture, person: Person) -> FloorPicture:
    if person.role == "manager" and not person.disabled:
        return floor
    mine = {c.id for c in floor.campaigns if may_manage_campaign(person, c.id)}
    return replace(
        floor,
        campaigns=tuple(c for c in floor.campaigns if c.id in mine),
        operators=tuple(o for o in floor.operators if mine.intersection(o.campaigns)),
        pools=tuple(p for p in floor.pools if any(m.id in mine for m in p.members)),
    )
