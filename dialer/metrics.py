"""Prometheus metrics of one engine: ``dialer run --metrics-port N`` serves ``GET /metrics``.

Our own small asyncio handler rather than ``prometheus_client``: the figures already live in the engine
(its counters, floor, pacing loops, AMI links), so a scrape reads them in the engine's own loop at that
moment — no second set of counters to keep in step, no HTTP thread reading asyncio state from outside
the loop — and the text exposition format (version 0.0.4) is a few lines. The handler reads at most
``MAX_REQUEST_BYTES`` within ``REQUEST_TIMEOUT_S``, answers one request per connection, and anything
that is not ``GET /metrics`` gets an error status: a bad peer costs a socket, never the engine.

Counters count from the engine's start (a restart resets them; Prometheus' ``rate()`` handles that).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ami.cluster import PbxCluster
from ami.pbx import Pbx
from dialer.call import CallState
from dialer.floor import FloorOperator, OperatorState

if TYPE_CHECKING:
    from dialer.engine import Engine

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT_S = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: its name, type, help text and samples (labels → value)."""
    name: str
    type: str            # counter | gauge
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: object) -> None:
        self.samples.append((tuple((k, str(v)) for k, v in labels.items()), float(value)))

    def render(self) -> str:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.type}"]
        for labels, value in self.samples:
            inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            lines.append(f"{self.name}{{{inner}}} {_number(value)}" if inner else f"{self.name} {_number(value)}")
        return "\n".join(lines)


def exposition(families: Iterable[Family]) -> str:
    return "\n".join(f.render() for f in families) + "\n"


class EngineMetrics:
    """Reads an engine's state into metric families. Campaign names are remembered, so a paused
    campaign's counters keep their label."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._names: dict[int, str] = {}

    def families(self) -> list[Family]:
        engine = self._engine
        loop_now = asyncio.get_running_loop().time()
        for campaign_id, runner in engine.runners.items():
            self._names[campaign_id] = runner.campaign.name
        name = self._campaign_name
        counted = {
            "originated": Family("dialer_attempts_total", "counter", "Calls originated (attempts sent to the PBX)"),
            "answered": Family("dialer_answers_total", "counter", "Calls answered by a person"),
            "connected": Family("dialer_connects_total", "counter", "Answered calls connected to an operator"),
            "abandoned": Family("dialer_abandons_total", "counter",
                                "Answered calls that found no operator in time (safe-harbor message)"),
            "not_dialed": Family("dialer_not_dialed_total", "counter",
                                 "Leads claimed but not dialed (PBX link down); given back to the list"),
        }
        for campaign_id in sorted(engine.campaign_stats):
            totals = engine.campaign_totals(campaign_id)
            for key, family in counted.items():
                family.add(totals[key], campaign=name(campaign_id))
        in_flight = Family("dialer_calls_in_flight", "gauge", "Calls alive now, by campaign and state")
        states = [s for s in CallState if s is not CallState.ENDED]
        for campaign_id in sorted(engine.runners):
            counts = dict.fromkeys(states, 0)
            for call in engine.calls.values():
                if call.campaign_id == campaign_id and call.state in counts:
                    counts[call.state] += 1
            for state, n in counts.items():
                in_flight.add(n, campaign=name(campaign_id), state=state.value)
        return [*counted.values(), in_flight, *self._pacing(loop_now), *self._operators(loop_now),
                *self._links(), *self._ownership(), *self._store()]

    def _campaign_name(self, campaign_id: int) -> str:
        return self._names.get(campaign_id, str(campaign_id))

    def _pacing(self, loop_now: float) -> list[Family]:
        engine = self._engine
        lines = Family("dialer_pacing_lines_per_operator", "gauge",
                       "Calls not yet with an operator (ringing, waiting, handing off) per working operator")
        alpha = Family("dialer_pacing_alpha", "gauge", "Predictive pacing's allowed abandonment share now")
        fallback = Family("dialer_pacing_fallback", "gauge",
                          "1 while a predictive campaign dials progressive because abandonment nears the cap")
        occupancy = Family("dialer_occupancy", "gauge",
                           "Operators' time on calls and wrap-up over their logged-in time, per campaign")
        rate = Family("dialer_abandonment_window_ratio", "gauge",
                      "Abandoned share of live answers over the campaign's legal window")
        pending = (CallState.ORIGINATING, CallState.WAITING, CallState.HANDING_OFF)
        for campaign_id, runner in sorted(engine.runners.items()):
            label = self._campaign_name(campaign_id)
            ops = [o for o in engine.floor.operators.values() if campaign_id in o.campaigns]
            working = [o for o in ops if o.state not in (OperatorState.OFFLINE, OperatorState.LOGGING_IN,
                                                          OperatorState.PAUSED)]
            waiting = sum(1 for c in engine.calls.values() if c.campaign_id == campaign_id and c.state in pending)
            lines.add(waiting / len(working) if working else 0.0, campaign=label)
            if runner.alpha is not None:
                alpha.add(runner.alpha, campaign=label)
            fallback.add(1.0 if runner.fallback else 0.0, campaign=label)
            occupancy.add(_occupancy(ops, loop_now), campaign=label)
            answers, abandons = runner.ledger.counts(loop_now)
            rate.add(abandons / answers if answers else 0.0, campaign=label)
        return [lines, alpha, fallback, occupancy, rate]

    def _operators(self, loop_now: float) -> list[Family]:
        by_state = Family("dialer_operators", "gauge", "Operators on this engine's floor, by state")
        counts = dict.fromkeys(OperatorState, 0)
        for operator in self._engine.floor.operators.values():
            counts[operator.state] += 1
        for state, n in counts.items():
            by_state.add(n, state=state.value)
        return [by_state]

    def _links(self) -> list[Family]:
        up = Family("dialer_ami_up", "gauge", "1 while the AMI link to the server is logged in")
        reconnects = Family("dialer_ami_reconnects_total", "counter", "AMI re-logins after a lost link")
        events = Family("dialer_ami_events_total", "counter", "AMI events read")
        channels = Family("dialer_pbx_channels", "gauge", "Channels the dialer holds on the server (its limit below)")
        limit = Family("dialer_pbx_channel_limit", "gauge", "The server's max_channels")
        pbx = self._engine.pbx
        for server, client in pbx_links(self._engine):
            up.add(1.0 if client.connected else 0.0, server=server)
            reconnects.add(getattr(client, "reconnects", 0), server=server)
            events.add(getattr(client, "events_received", 0), server=server)
            if isinstance(pbx, PbxCluster):
                channels.add(pbx.channels(server), server=server)
                limit.add(pbx.limits(server).max_channels, server=server)
        return [up, reconnects, events, channels, limit]

    def _ownership(self) -> list[Family]:
        ownership = self._engine.ownership
        owned = Family("dialer_campaign_owned", "gauge", "1 for each campaign this engine owns and runs")
        takeovers = Family("dialer_ownership_takeovers_total", "counter",
                           "Campaigns taken over from an engine that died or went silent")
        losses = Family("dialer_ownership_losses_total", "counter",
                        "Campaigns this engine lost without giving them up (store away, stale heartbeat)")
        running = sorted(self._engine.runners) if ownership is None else ownership.owned
        for campaign_id in running:
            owned.add(1.0, campaign=self._campaign_name(campaign_id))
        takeovers.add(ownership.takeovers if ownership else 0)
        losses.add(ownership.losses if ownership else 0)
        return [owned, takeovers, losses]

    def _store(self) -> list[Family]:
        recorder = self._engine.recorder
        up = Family("dialer_store_up", "gauge", "0 while the write-behind recorder cannot reach the database")
        backlog = Family("dialer_store_backlog", "gauge", "Writes queued for the database")
        dead = Family("dialer_dead_letters_total", "counter", "Writes the store refused, set aside")
        restarts = Family("dialer_task_restarts_total", "counter", "Background tasks started again after a failure")
        up.add(1.0 if recorder.store_up else 0.0)
        backlog.add(recorder.backlog)
        dead.add(recorder.dead_letters)
        restarts.add(self._engine.supervisor.restarts)
        return [up, backlog, dead, restarts]


def pbx_links(engine: Engine) -> list[tuple[str, Pbx]]:
    """(server name, AMI link) for each Asterisk the engine talks to."""
    if isinstance(engine.pbx, PbxCluster):
        return sorted(engine.pbx.servers.items())
    return [(engine.config.pbx_name, engine.pbx)]


def _occupancy(operators: list[FloorOperator], now: float) -> float:
    spent = [o.busy_and_logged_s(now) for o in operators]
    logged = sum(total for _, total in spent)
    return sum(busy for busy, _ in spent) / logged if logged > 0 else 0.0


class MetricsServer:
    """``GET /metrics`` on ``host:port`` (``port=0``: any free port, see ``port`` after ``start``)."""

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.metrics = EngineMetrics(engine)
        self.host = host
        self.port = port
        self.scrapes = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_REQUEST_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                return await _respond(writer, 431, "request header too large\n")
            except (asyncio.IncompleteReadError, TimeoutError):
                return None
            if len(head) > MAX_REQUEST_BYTES:
                return await _respond(writer, 431, "request header too large\n")
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
                return await _respond(writer, 400, "bad request\n")
            method, target = parts[0], parts[1].split(b"?", 1)[0]
            if target != b"/metrics":
                return await _respond(writer, 404, "only /metrics is served here\n")
            if method not in (b"GET", b"HEAD"):
                return await _respond(writer, 405, "GET /metrics\n")
            self.scrapes += 1
            body = exposition(self.metrics.families())
            return await _respond(writer, 200, body, CONTENT_TYPE, head_only=method == b"HEAD")
        except (ConnectionError, OSError):
            return None
        except Exception:
            log.exception("metrics: scrape failed")
            return await _respond(writer, 500, "internal error\n")
        finally:
            writer.close()


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            431: "Request Header Fields Too Large", 500: "Internal Server Error"}


async def _respond(writer: asyncio.StreamWriter, status: int, body: str, content_type: str = "text/plain",
                   *, head_only: bool = False) -> None:
    data = body.encode()
    head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    try:
        writer.write(head if head_only else head + data)
        await writer.drain()
    except (ConnectionError, OSError):
        pass


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() else repr(value)
