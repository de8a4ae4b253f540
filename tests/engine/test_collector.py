"""Once started, the engine freezes what start-up made out of the garbage collector's walks and makes full
collections rarer (``dialer/collector.py``); the young generations are collected as before."""

from __future__ import annotations

import gc

from dialer import collector


def test_settle_freezes_start_up_and_makes_full_collections_rarer() -> None:
    before = gc.get_threshold()
    try:
        collector.settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], collector.FULL_AFTER)
        assert collector.FULL_AFTER > before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
