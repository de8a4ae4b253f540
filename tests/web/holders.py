"""What keeps an object alive that should be garbage: the chain of references from something the
collector cannot see into (a C global, a running frame) to it. For a test's failure message."""

from __future__ import annotations

import gc
import sys
import types
from collections import deque


def held_by(target: object) -> str:
    """The shortest chain of references from an object held from outside the collector's sight to
    ``target``, one line per link (empty when nothing reaches it)."""
    goal = id(target)     # only its id in what follows: a comprehension naming it would hold it in a cell
    objects = gc.get_objects()
    incoming = dict.fromkeys(map(id, objects), 0)
    for holder in objects:
        for referent in gc.get_referents(holder):
            if id(referent) in incoming:
                incoming[id(referent)] += 1
    by_id = {id(o): o for o in objects}
    # held by more than the tracked objects account for (the list, the loop's name, getrefcount's argument)
    roots = [i for i, o in by_id.items() if sys.getrefcount(o) - 3 > incoming[i]
             and not isinstance(o, (type, types.ModuleType)) and i != goal]
    parent: dict[int, int | None] = dict.fromkeys(roots)
    queue = deque(roots)
    while queue and goal not in parent:
        at = queue.popleft()
        for referent in gc.get_referents(by_id[at]):
            if id(referent) in by_id and id(referent) not in parent:
                parent[id(referent)] = at
                queue.append(id(referent))
    if goal not in parent:
        return ""
    chain: list[str] = []
    link: int | None = goal
    while link is not None:
        chain.append(f"{type(by_id[link]).__qualname__}: {repr(by_id[link])[:120]}")
        link = parent[link]
    return "\n".join(reversed(chain))
