"""A worker's garbage collector policy (``dialer/web/collector.py``): the consoles' long-lived objects leave
the collector's walks, no automatic full collection stops the sessions, and what a session leaves behind
is freed once sessions end, so memory stays bounded over a day of sessions opening and closing."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from dialer.web.collector import SessionCollector


class Session:
    """A session's objects as Textual makes them: a tree whose nodes point at their parents (cycles)."""

    def __init__(self, size: int = 2000) -> None:
        self.nodes = [Node(self) for _ in range(size)]


class Node:
    def __init__(self, parent: Session) -> None:
        self.parent = parent


@pytest.fixture
def collector() -> Iterator[SessionCollector]:
    policy = SessionCollector(tidy_s=3600.0)    # the test tidies by hand
    yield policy
    policy.stop()
    gc.unfreeze()


def _walked() -> set[int]:
    """Ids of the objects a collection walks (frozen ones are not among them)."""
    return {id(o) for o in gc.get_objects()}


async def test_what_survives_a_tidy_leaves_the_collectors_walks(collector: SessionCollector) -> None:
    collector.start()
    collector.opened()
    session = Session()
    assert id(session) in _walked()
    collector.tidy()
    assert id(session) not in _walked()


async def test_no_automatic_full_collection_stops_the_sessions(collector: SessionCollector) -> None:
    collector.start()
    full = len(collector.pauses.wall[2])    # the start's own
    kept = []
    for _ in range(300):               # hundreds of young collections' worth of objects, kept alive
        kept.append(Session(500))
    assert collector.pauses.wall[1]          # the young generations are collected as before
    assert len(collector.pauses.wall[2]) == full


async def test_a_closed_sessions_garbage_is_freed_once_the_last_session_ends(collector: SessionCollector) -> None:
    collector.start()
    collector.opened()
    session = Session()
    gone = weakref.ref(session.nodes[0])
    collector.tidy()                  # frozen while the session is open
    del session
    collector.tidy()
    assert gone() is not None         # frozen cyclic garbage: only a reclaim frees it
    collector.closed()
    collector.tidy()
    assert gone() is None


async def test_memory_stays_bounded_over_waves_of_sessions(collector: SessionCollector) -> None:
    collector.start()
    bare = gc.get_freeze_count()
    staying = []
    for _wave in range(10):
        coming = [Session() for _ in range(20)]   # twenty log in, each tidy sees some of them
        for _ in coming:
            collector.opened()
        collector.tidy()
        staying.append(coming.pop())   # one of them stays all day, the others leave
        for _ in coming:
            collector.closed()
        del coming
        collector.tidy()
        live = bare + len(staying) * 2002
        assert gc.get_freeze_count() <= collector.growth * live + 20_000   # never more than GROWTH × what lives
    for _ in staying:
        collector.closed()
    staying.clear()
    collector.tidy()
    assert gc.get_freeze_count() < bare + 5_000     # the end of the day gives it all back


async def test_garbage_made_inside_sessions_that_stay_open_is_freed_too() -> None:
    """A day of calls: each card's widgets live a while (frozen by a tidy), then are replaced."""
    collector = SessionCollector(tidy_s=3600.0, reclaim_gap_s=0.0)
    try:
        collector.start()
        for _ in range(10):
            collector.opened()
        staying = [Session() for _ in range(10)]
        collector.tidy()
        alive = gc.get_freeze_count()
        size = alive // 5
        card = Session(size)
        first_card = weakref.ref(card)
        for _call in range(15):     # three times as much garbage as is alive, in all
            collector.tidy()        # the card is up: frozen
            card = Session(size)    # the next call replaces it
            # the bound: GROWTH times what lives (a card included), and the card a tidy freezes past it
            assert gc.get_freeze_count() <= collector.growth * (alive + size) + size + 5_000
        assert first_card() is None
        assert len(staying) == 10
    finally:
        collector.stop()
        gc.unfreeze()


async def test_growth_alone_calls_the_long_walk_at_most_once_a_gap(collector: SessionCollector) -> None:
    collector.start()
    collector.opened()
    walks = len(collector.pauses.reclaims)
    size = collector.alive_after_reclaim // 20
    logged_in = [Session(size) for _ in range(50)]     # people logging in all morning: no garbage
    collector.tidy()
    assert gc.get_freeze_count() > collector.growth * collector.alive_after_reclaim
    collector.tidy()
    assert len(collector.pauses.reclaims) == walks
    assert logged_in


class Console(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("Anna (ext 101)")
        yield Input(placeholder="notes")


async def test_a_closed_textual_screen_is_freed(collector: SessionCollector) -> None:
    collector.start()
    collector.opened()
    app = Console()
    async with app.run_test() as pilot:
        await pilot.pause()
        collector.tidy()           # the console is up: its widgets are frozen
        widget = weakref.ref(app.query_one(Input))
    del app, pilot
    async with asyncio.timeout(10):
        while len(asyncio.all_tasks()) > 1:   # the app's timers and message loops have ended
            await asyncio.sleep(0.01)
    for _ in range(20):
        await asyncio.sleep(0)        # and the callbacks they left in the loop have run
    collector.tidy()
    assert widget() is not None
    collector.closed()
    collector.tidy()
    assert widget() is None
