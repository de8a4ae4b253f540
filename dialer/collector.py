"""Python's cyclic garbage collector in a running engine.

A full collection walks every object the process holds and stops the one event loop while it does; with
thousands of calls in flight it is the longest stop of all, longer than any callback of the engine's, and on
a floor it finds next to nothing: calls, operators, messages and tasks are freed by their reference counts
(``benchmarks/engine.py --slow-callbacks`` counts what each collection freed). So, once the engine has
started (``dialer run``):

* what start-up made (the modules, the floor's operators, the campaigns' settings) is frozen out of every
  collection: it lives as long as the process, and walking it again each time finds nothing;
* a full collection is tried ten times less often than Python's default. The young generations are still
  collected as often as before, and they are where the rare cycle (a caught exception and its frames) dies.
"""

from __future__ import annotations

import gc

# Collections of the middle generation between two full ones (Python's default is 10).
FULL_AFTER = 100


def settle() -> None:
    """Call once the engine has started: freeze what exists, make full collections rarer."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_AFTER)
