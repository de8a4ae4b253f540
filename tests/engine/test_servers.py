"""The engine on two Asterisk servers: operators' phones where the servers file puts them, answered calls
only to operators on their own server, dialing within the servers' channel limits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ami.cluster import PbxCluster, ServerLimits
from ami.pbx import CallAnswered
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.metrics import EngineMetrics, exposition
from dialer.servers import ServerAffinity
from dialer.sim.demo import DemoSettings, run_demo
from dialer.tuning import parse_assignments, validate_pacing
from tests.conftest import store_url
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, settle, until
from tests.engine.test_metrics import parse

pytestmark = pytest.mark.db


class TwoServers:
    def __init__(self, db: asyncpg.Pool, limits: ServerLimits) -> None:
        self.a, self.b = FakePbx(), FakePbx()
        self.pbx = PbxCluster({"a": (self.a, limits), "b": (self.b, limits)})
        self.engine = Engine(db, self.pbx, midday(), CONFIG)
        ServerAffinity(self.engine, self.pbx, {"a": ["101"], "b": ["102"]})

    def calls_on(self, fake: FakePbx) -> list[str]:
        return [r.channel_id for r in fake.customer_calls()]


@pytest.fixture
async def floor(db: asyncpg.Pool) -> AsyncIterator[TwoServers]:
    servers = TwoServers(db, ServerLimits(max_channels=3, cps=50))
    await make_campaign(db, operators_n=2, leads_n=10)           # extensions 101 and 102
    await db.execute("UPDATE campaign SET safe_harbor_s = 0.5")
    await servers.engine.start()
    try:
        yield servers
    finally:
        await servers.engine.stop(drain_s=0)


async def test_each_operator_phone_is_called_on_its_own_server_and_calls_follow_free_operators(
        floor: TwoServers) -> None:
    await until(lambda: len(floor.calls_on(floor.a)) + len(floor.calls_on(floor.b)) >= 2)
    phones = {fake: [r.channel_id for r in fake.originated if r.channel_id.startswith("op")]
              for fake in (floor.a, floor.b)}
    assert [p.split("-")[0] for p in phones[floor.a]] == ["op101"]
    assert [p.split("-")[0] for p in phones[floor.b]] == ["op102"]
    # one free operator on each server: one call on each
    assert (len(floor.calls_on(floor.a)), len(floor.calls_on(floor.b))) == (1, 1)


async def test_an_answered_call_goes_only_to_an_operator_on_its_server(floor: TwoServers) -> None:
    engine = floor.engine
    await until(lambda: len(floor.calls_on(floor.a)) >= 1 and len(floor.calls_on(floor.b)) >= 1)
    on_a, on_b = floor.calls_on(floor.a)[0], floor.calls_on(floor.b)[0]
    # 101 (server a) pauses; 102 (server b) is free. The call on a is answered: nobody on a can take it,
    # so it hears the safe-harbor message there — never Redirected to a conference on the other server.
    anna = engine.floor.by_extension("101")
    assert anna is not None
    engine.floor.set_state(anna, OperatorState.PAUSED, asyncio.get_running_loop().time())
    floor.a.emit(CallAnswered(on_a))
    await until(lambda: bool(floor.a.redirects), timeout=3)
    assert floor.a.redirects == [(on_a, "dialer-safeharbor", "s")]
    assert floor.b.redirects == []
    # The call on b goes to 102, on b.
    floor.b.emit(CallAnswered(on_b))
    await until(lambda: bool(floor.b.redirects))
    assert floor.b.redirects == [(on_b, "operator-join", "102")]


async def test_the_engine_never_claims_more_calls_than_the_servers_have_channels(db: asyncpg.Pool) -> None:
    servers = TwoServers(db, ServerLimits(max_channels=2, cps=50))    # a phone + one call per server
    await make_campaign(db, operators_n=2, leads_n=10, mode="ratio")
    await db.execute("UPDATE campaign SET pacing = '{\"ratio\": 3.0}'")   # wants 6 calls for 2 operators
    await servers.engine.start()
    try:
        await until(lambda: len(servers.calls_on(servers.a)) + len(servers.calls_on(servers.b)) >= 2)
        await settle(0.5)
        assert (len(servers.calls_on(servers.a)), len(servers.calls_on(servers.b))) == (1, 1)
        assert servers.engine.stats.not_dialed == 0          # nothing claimed only to be given back
        claimed = await db.fetchval("SELECT count(*) FROM lead WHERE state = 'claimed'")
        assert claimed == 2
        metrics = parse(exposition(EngineMetrics(servers.engine).families()))
        assert metrics['dialer_pbx_channels{server="a"}'] == metrics['dialer_pbx_channel_limit{server="a"}'] == 2
        assert metrics['dialer_ami_up{server="b"}'] == 1
    finally:
        await servers.engine.stop(drain_s=0)


async def test_a_simulated_day_on_two_servers_over_real_ami_connects_every_call_on_its_own_server() -> None:
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    settings = DemoSettings(leads=80, operators=4, hours=1.0, seed=3, mode="progressive", schema=schema,
                            servers=2, max_channels=3, cps=2)
    result = await asyncio.to_thread(run_demo, store_url(), settings)
    conn = await asyncpg.connect(store_url(), server_settings={"search_path": schema})
    try:
        assert result.summary.connected > 10
        per_server = dict(await conn.fetch("SELECT pbx, count(*) FROM attempt GROUP BY pbx"))
        assert set(per_server) == {"sim-1", "sim-2"}
        # operators 101, 103 sit on sim-1 and 102, 104 on sim-2 (dealt in turn)
        crossed = await conn.fetch("""
            SELECT a.id FROM attempt a JOIN operator o ON o.id = a.operator_id
            WHERE a.connected_at IS NOT NULL
              AND a.pbx <> CASE WHEN o.extension::int % 2 = 1 THEN 'sim-1' ELSE 'sim-2' END""")
        assert crossed == []
        assert await conn.fetch("""SELECT id FROM attempt WHERE answered_at IS NOT NULL AND connected_at IS NULL
                                   AND NOT abandoned""") == []
        assert await conn.fetch("SELECT id FROM attempt WHERE ended_at IS NULL") == []
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_a_campaign_limited_to_one_server_dials_only_there(db: asyncpg.Pool) -> None:
    servers = TwoServers(db, ServerLimits(max_channels=5, cps=50))
    await make_campaign(db, operators_n=2, leads_n=10, mode="ratio")
    await db.execute("""UPDATE campaign SET pacing = '{"ratio": 2.0, "servers": ["b"]}'""")
    await servers.engine.start()
    try:
        await until(lambda: len(servers.calls_on(servers.b)) >= 3)
        await settle(0.3)
        assert servers.calls_on(servers.a) == []
    finally:
        await servers.engine.stop(drain_s=0)


def test_the_servers_setting_is_a_list_of_server_names() -> None:
    changes = parse_assignments(["servers=asterisk-1, asterisk-2"])
    assert changes == {"servers": ["asterisk-1", "asterisk-2"]}
    validate_pacing("progressive", changes)
    assert parse_assignments(["servers="]) == {"servers": []}          # any server again
    with pytest.raises(ValueError, match="servers must be server names"):
        parse_assignments(["servers=a;b"])
