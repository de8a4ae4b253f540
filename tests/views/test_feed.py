"""The snapshot doc as typed values, and the feed that brings it from the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialer.views.feed import CommandError, PictureFeed, beat_offset, check_command, on_beat, send_command
from dialer.views.picture import FloorPicture, PictureError, parse_picture
from tests.views.conftest import NOW, Scene, campaign_doc, operator_doc, publish, snapshot


def test_a_doc_becomes_typed_campaigns_and_operators() -> None:
    scene = Scene(campaign_id=1, operator_id=3, lead_id=12, attempt_id=77, earlier_attempt_id=70)
    floor = parse_picture([snapshot([campaign_doc(scene)], [operator_doc(scene, pause_reason=None)])])
    [campaign] = floor.campaigns
    assert (campaign.name, campaign.mode, campaign.alpha, campaign.calls["connected"]) == ("winter", "predictive",
                                                                                          0.025, 5)
    assert "ring_cdf" not in campaign.estimates and campaign.estimates["answer_rate"] == 0.3
    assert campaign.abandonment.last_hour_rate == pytest.approx(1 / 40)
    anna = floor.operator("Anna")
    assert anna is not None and (anna.attempt_id, anna.lead_id, anna.campaigns) == (77, 12, (1,))
    assert floor.at == NOW


def test_two_engines_merge_into_one_floor_and_a_stale_logged_out_entry_loses() -> None:
    a = Scene(campaign_id=1, operator_id=3, lead_id=12, attempt_id=77, earlier_attempt_id=70)
    b = Scene(campaign_id=2, operator_id=3, lead_id=13, attempt_id=78, earlier_attempt_id=70)
    doc_a = snapshot([campaign_doc(a, name="a")], [operator_doc(a, "logged_out", attempt=False)])
    doc_b = {**snapshot([campaign_doc(b, name="b")], [operator_doc(b, "on_call")]), "engine": "engine-2"}
    floor = parse_picture([doc_a, doc_b])
    assert [c.name for c in floor.campaigns] == ["a", "b"]
    assert [(o.name, o.state, o.engine) for o in floor.operators] == [("Anna", "on_call", "engine-2")]
    assert floor.operators_of(2) == floor.operators and floor.operators_of(5) == ()


def test_a_campaign_taken_over_from_a_dead_engine_shows_once_from_its_new_owner() -> None:
    scene = Scene(campaign_id=1, operator_id=3, lead_id=12, attempt_id=77, earlier_attempt_id=70)
    dead = {**snapshot([campaign_doc(scene)], []), "engine": "engine-dead",
            "at": (NOW - timedelta(seconds=30)).isoformat()}
    owner = {**snapshot([campaign_doc(scene)], []), "engine": "engine-2"}
    for docs in ([dead, owner], [owner, dead]):
        assert [(c.name, c.engine) for c in parse_picture(docs).campaigns] == [("winter", "engine-2")]


def test_a_doc_without_what_the_views_need_is_refused_naming_the_key() -> None:
    with pytest.raises(PictureError, match="operator 'Anna' lacks 'state'"):
        parse_picture([{"engine": "e", "operators": [{"id": 1, "name": "Anna"}]}])
    with pytest.raises(PictureError, match="lacks 'engine'"):
        parse_picture([{"campaigns": []}])


@pytest.mark.parametrize(("command", "args", "message"), [
    ("reboot", {}, "unknown command 'reboot'"),
    ("disposition", {"attempt_id": 1}, "needs the attempt_id and a code"),
    ("dial", {"phone": " "}, "needs a phone number"),
    ("spy", {"mode": "shout", "supervisor_extension": "200"}, "spy mode must be one of"),
    ("spy", {"mode": "listen"}, "supervisor's extension"),
])
def test_a_malformed_command_is_refused_before_it_reaches_the_engine(
        command: str, args: dict[str, object], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        check_command(command, args)


@pytest.mark.db
async def test_the_feed_reads_existing_rows_at_start_and_follows_notifications(
        db: asyncpg.Pool, scene: Scene) -> None:
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append)
    await feed.start()
    try:
        assert seen[-1].operators[0].state == "ready"          # no notification needed for the first picture
        for state in ("on_call", "wrap_up", "ready", "paused"):  # a burst: folded, the last one wins
            await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, state)]))
        async with asyncio.timeout(5):
            while seen[-1].operators[0].state != "paused":
                await asyncio.sleep(0.02)
    finally:
        await feed.stop()
    assert len(seen) <= 5 and feed.reads <= 5      # one read at start, at most one per notification


async def paused_is_seen(db: asyncpg.Pool, scene: Scene, seen: list[FloorPicture]) -> None:
    """Publish the operator paused and wait until the feed has handed that picture on."""
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "paused")]))
    async with asyncio.timeout(5):
        while seen[-1].operators[0].state != "paused":
            await asyncio.sleep(0.02)


@pytest.mark.db
async def test_a_snapshot_read_at_start_and_again_on_its_notification_is_shown_once(
        db: asyncpg.Pool, scene: Scene) -> None:
    """LISTEN comes before the first read, so the first snapshot's NOTIFY can arrive after the read
    already saw it: the views' plots count snapshots and must not count that one twice."""
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append)
    await feed.start()
    try:
        await db.execute("SELECT pg_notify('dialer_picture', $1)", "engine-test")    # the late NOTIFY
        await paused_is_seen(db, scene, seen)
    finally:
        await feed.stop()
    assert [floor.operators[0].state for floor in seen] == ["ready", "paused"]


@pytest.mark.db
async def test_the_feed_listens_again_after_its_connection_is_lost_and_says_so_meanwhile(
        db: asyncpg.Pool, scene: Scene) -> None:
    """A store restarted (or a network cut) ends the feed's LISTEN connection: seen by hand, `dialer watch`
    then showed the picture of before the outage for good, while the engine wrote new ones every second."""
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    errors: list[str] = []
    feed = PictureFeed(db, seen.append, errors.append)
    await feed.start()
    try:
        assert feed.listening_pid() is not None
        await db.execute("SELECT pg_terminate_backend($1)", feed.listening_pid())    # the outage
        async with asyncio.timeout(5):
            while not errors:
                await asyncio.sleep(0.02)
        assert "listening again" in errors[0], errors
        async with asyncio.timeout(10):         # back: the pictures written meanwhile are read, then followed
            while feed.listening_pid() is None:
                await asyncio.sleep(0.05)
        await paused_is_seen(db, scene, seen)
    finally:
        await feed.stop()


@pytest.mark.db
async def test_the_feed_listens_again_when_the_pool_hands_it_dead_connections_and_after_a_second_outage(
        db: asyncpg.Pool, scene: Scene, store_schema: tuple[str, str]) -> None:
    """Seen by hand: after a second outage of the embedded store the watch stayed on its old picture, though
    the store was back: every connection of the view's pool had died with it, not only the listening one."""
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append, lambda _: None)
    await feed.start()
    try:
        for _ in range(2):
            lost = feed.listening_pid()
            pids = [h._con.get_server_pid() for h in db._holders if h._con is not None]   # the pool's all
            killer = await asyncpg.connect(store_schema[0])
            try:
                await killer.execute("SELECT pg_terminate_backend(p) FROM unnest($1::int[]) AS p", pids)
            finally:
                await killer.close()
            async with asyncio.timeout(15):
                while feed.listening_pid() in (None, lost):
                    await asyncio.sleep(0.05)
        await paused_is_seen(db, scene, seen)
    finally:
        await feed.stop()


@pytest.mark.db
async def test_a_lost_connection_told_twice_is_listened_again_once(db: asyncpg.Pool, scene: Scene) -> None:
    """asyncpg may tell a termination more than once: two loops then each made a LISTEN connection, and a
    watch seen by hand stayed on an old picture after the store was back."""
    errors: list[str] = []
    feed = PictureFeed(db, lambda _: None, errors.append)
    await feed.start()
    try:
        lost = feed.listening_pid()
        await db.execute("SELECT pg_terminate_backend($1)", lost)
        feed._lost(None)                              # told again
        async with asyncio.timeout(10):
            while feed.listening_pid() in (None, lost):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert errors.count("the store answers again: the picture is live") == 1, errors
    finally:
        await feed.stop()


async def test_a_broken_doc_is_reported_not_shown(db: asyncpg.Pool, scene: Scene) -> None:
    errors: list[str] = []
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append, errors.append)
    await feed.start()
    try:
        await publish(db, {"engine": "engine-test", "operators": [{"id": 1}]})
        async with asyncio.timeout(5):
            while not errors:
                await asyncio.sleep(0.02)
    finally:
        await feed.stop()
    assert "cannot read the engine's picture" in errors[0] and "lacks 'name'" in errors[0]


@pytest.mark.db
async def test_a_command_is_one_row_and_one_notification(db: asyncpg.Pool, scene: Scene) -> None:
    heard: list[str] = []

    def hear(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        heard.append(payload)

    async with db.acquire() as listener:
        await listener.add_listener("dialer_command", hear)
        command_id = await send_command(db, operator_id=scene.operator_id, command="pause",
                                        args={"reason": "lunch"}, actor="operator:Anna",
                                        now=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
        async with asyncio.timeout(5):
            while not heard:
                await asyncio.sleep(0.02)
        await listener.remove_listener("dialer_command", hear)
    row = await db.fetchrow("SELECT command, created_at, done_at FROM operator_command WHERE id = $1", command_id)
    assert (row["command"], row["created_at"], row["done_at"]) == ("pause", datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
                                                                   None)
    assert str(command_id) in heard


def test_the_consoles_of_a_server_read_the_pictures_spread_over_the_period_not_at_once() -> None:
    """200 consoles reading every 3 s: never more than a handful in any 50 ms of the period."""
    every_s = 3.0
    moments = sorted(beat_offset(operator_id) * every_s for operator_id in range(1, 201))
    crowded = max(sum(1 for m in moments if start <= m < start + 0.05) for start in moments)
    assert crowded <= 6


def test_a_late_read_keeps_the_views_beat() -> None:
    assert on_beat(10.7, 3.0, 0.5) == pytest.approx(9.5)     # read late at 10.7: the next is due at 12.5
    assert on_beat(9.5, 3.0, 0.5) == pytest.approx(9.5)
    assert on_beat(4.2, 0.0, 0.5) == 4.2                     # no period (a view that waits on a command)


async def test_consoles_open_before_an_engine_starts_read_its_first_picture_each_on_its_own_beat(
        db: asyncpg.Pool, scene: Scene) -> None:
    """An engine that starts (or restarts) under a server's hundreds of open consoles: they do not all read
    and redraw on its first notification, where a new call's card would wait behind them."""
    every_s = 3.0
    read_at: dict[int, float] = {}
    feeds = {key: PictureFeed(db, lambda _floor, key=key: read_at.setdefault(key, loop.time()) if started else None,
                              operator_id=key, picture_every_s=every_s) for key in (1, 2)}
    loop, started = asyncio.get_running_loop(), False
    for feed in feeds.values():
        await feed.start()          # no engine yet: an empty floor
    started = True
    due = {key: on_beat(loop.time(), every_s, beat_offset(key) * every_s) + every_s for key in feeds}
    try:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))   # the engine starts
        async with asyncio.timeout(10):
            while len(read_at) < 2:
                await asyncio.sleep(0.02)
    finally:
        for feed in feeds.values():
            await feed.stop()
    first, second = sorted(feeds, key=due.__getitem__)
    assert read_at[second] - read_at[first] >= 1.0     # their beats are 1.15 s or 1.85 s apart
