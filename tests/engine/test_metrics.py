"""The Prometheus endpoint, scraped over TCP the way Prometheus does, while the engine runs calls."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ami.pbx import CallAnswered, ConferenceJoined, OriginateResult
from dialer.engine import Engine
from dialer.metrics import MetricsServer
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db

SAMPLE = re.compile(r'^([a-z_]+)(\{([a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')


async def http(port: int, request: bytes) -> tuple[int, dict[str, str], str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split(" ")[1]), headers, body.decode()


def parse(text: str) -> dict[str, float]:
    """Sample lines → {'name{labels}': value}; fails on anything that is not valid exposition text."""
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split(" ")[2])
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        assert match.group(1) in typed, f"{match.group(1)} has no TYPE line before its samples"
        samples[line.rsplit(" ", 1)[0]] = float(match.group(5))
    return samples


@pytest.fixture
async def scraped(db: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx, MetricsServer]]:
    pbx = FakePbx()
    await make_campaign(db, operators_n=2, leads_n=10)
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    server = MetricsServer(engine, port=0)
    await server.start()
    try:
        yield engine, pbx, server
    finally:
        await server.close()
        await engine.stop(drain_s=0)


async def test_a_scrape_shows_attempts_answers_connects_and_operators_as_they_happened(
        scraped: tuple[Engine, FakePbx, MetricsServer]) -> None:
    _, pbx, server = scraped
    pbx.reconnects = 3           # what AmiClient counts after re-logins
    await until(lambda: len(pbx.customer_calls()) >= 2)
    first, second = pbx.customer_calls()[:2]
    pbx.emit(CallAnswered(first.channel_id))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", first.channel_id))
    pbx.emit(OriginateResult(second.channel_id, False, 5))       # busy: the free operator gets a new call
    await until(lambda: len(pbx.customer_calls()) >= 3)
    await asyncio.sleep(0.05)

    status, headers, body = await http(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = parse(body)
    assert m['dialer_attempts_total{campaign="c1"}'] == len(pbx.customer_calls())
    assert m['dialer_answers_total{campaign="c1"}'] == 1
    assert m['dialer_connects_total{campaign="c1"}'] == 1
    assert m['dialer_abandons_total{campaign="c1"}'] == 0
    assert m['dialer_calls_in_flight{campaign="c1",state="connected"}'] == 1
    assert m['dialer_calls_in_flight{campaign="c1",state="originating"}'] == len(pbx.customer_calls()) - 2
    assert m['dialer_operators{state="on_call"}'] == 1 and m['dialer_operators{state="ready"}'] == 1
    assert m['dialer_pacing_lines_per_operator{campaign="c1"}'] == pytest.approx(
        m['dialer_calls_in_flight{campaign="c1",state="originating"}'] / 2)
    assert 0 < m['dialer_occupancy{campaign="c1"}'] < 1
    assert m['dialer_ami_reconnects_total{server="asterisk-1"}'] == 3
    assert m['dialer_ami_up{server="asterisk-1"}'] == 1
    assert m['dialer_campaign_owned{campaign="c1"}'] == 1
    assert m["dialer_store_up"] == 1
    pbx.set_connected(False)
    _, _, body = await http(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert parse(body)['dialer_ami_up{server="asterisk-1"}'] == 0


async def test_a_bad_or_oversized_request_gets_an_error_and_the_endpoint_keeps_serving(
        scraped: tuple[Engine, FakePbx, MetricsServer]) -> None:
    _, _, server = scraped
    assert (await http(server.port, b"\x00\xffgarbage\r\n\r\n"))[0] == 400
    assert (await http(server.port, b"GET /admin HTTP/1.1\r\n\r\n"))[0] == 404
    assert (await http(server.port, b"POST /metrics HTTP/1.1\r\n\r\n"))[0] == 405
    try:   # the server answers 431 and closes; the rest of our 100 kB may make the kernel reset the socket
        assert (await http(server.port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n"))[0] == 431
    except ConnectionResetError:
        pass
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /met")          # a peer that stops mid-request and closes
    writer.close()
    status, _, body = await http(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert status == 200 and "dialer_attempts_total" in body
    assert server.scrapes == 1
