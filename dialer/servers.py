"""Calls and operators on several Asterisk servers.

An operator's phone is registered on one Asterisk server and sits in its conference there; a Redirect
moves a channel within its own server only. So:

* **operators' phones** are called on the server(s) the servers file gives their extension
  (``operators = ["1*"]``);
* **an answered call goes only to an operator on its own server** — preferred operators, routing and
  waiting all apply among those. A call whose server has no free operator waits like any other and hears
  the safe-harbor message at the deadline. (Bridging across servers would need an inter-server trunk in
  the dialplan and its emulation in the simulator; not done.)
* **customer calls** go where operators are free: the cluster ranks servers by ready operators there minus
  calls already ringing or waiting there, then by load, within each server's channel and cps limits.

The cluster (``ami/cluster.py``) knows nothing of operators; this module gives it the two hooks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from ami.client import AmiClient
from ami.cluster import PbxCluster, ServerLimits
from ami.pbx import OriginateRequest
from config.servers import AmiServer
from dialer.call import Call, CallState
from dialer.floor import FloorOperator, OperatorState

if TYPE_CHECKING:
    from dialer.engine import Engine

log = logging.getLogger(__name__)

_PHONE = re.compile(r"^op(.+)-\d+$")       # an operator's phone channel, as dialer/phones.py names it
_PENDING = (CallState.ORIGINATING, CallState.WAITING)


def build_cluster(servers: Sequence[AmiServer]) -> PbxCluster:
    """One AMI client per server, behind one Pbx port."""
    return PbxCluster({s.name: (AmiClient(s.host, s.port, s.username, s.secret.get_secret_value(),
                                          control_session=True),
                                ServerLimits(max_channels=s.max_channels, cps=s.cps)) for s in servers})


async def start_cluster(cluster: PbxCluster) -> None:
    """Log in everywhere; at start every server must answer (a wrong setting is reported, not hidden)."""
    for client in cluster.servers.values():
        assert isinstance(client, AmiClient)
        await client.start()


async def close_cluster(cluster: PbxCluster) -> None:
    for client in cluster.servers.values():
        assert isinstance(client, AmiClient)
        await client.close()


class ServerAffinity:
    def __init__(self, engine: Engine, cluster: PbxCluster, operators: Mapping[str, Sequence[str]]) -> None:
        """``operators``: server name → extension patterns of the operators whose phones are there."""
        self._engine = engine
        self._cluster = cluster
        self._operators = {name: tuple(patterns) for name, patterns in operators.items()}
        self._demand_at: float | None = None
        self._demand: Counter[str] = Counter()
        self._warned: set[int] = set()
        cluster.route = self.route
        cluster.preference = self.preference
        cluster.placed = self.placed
        engine.handoff.reachable = self.reachable

    def route(self, request: OriginateRequest) -> list[str] | None:
        match = _PHONE.match(request.channel_id)
        if match is None:
            return self._campaign_servers(request.channel_id)
        extension = match.group(1)
        return [name for name, patterns in self._operators.items()
                if any(fnmatchcase(extension, p) for p in patterns)]

    def _campaign_servers(self, channel_id: str) -> list[str] | None:
        """A customer call: the servers its campaign allows (``dialer campaign set NAME servers=a,b``),
        any when it names none."""
        call = self._engine.calls.get(channel_id)
        runner = self._engine.runners.get(call.campaign_id) if call is not None else None
        allowed = runner.campaign.pacing.get("servers") if runner is not None else None
        if not allowed:
            return None
        known = [name for name in allowed if name in self._operators]
        if not known and runner is not None and runner.campaign.id not in self._warned:
            self._warned.add(runner.campaign.id)
            log.error("campaign %s: none of its servers (%s) is configured here (%s): it cannot dial",
                      runner.campaign.name, ", ".join(allowed), ", ".join(self._operators))
        return known

    def reachable(self, call: Call, operator: FloorOperator) -> bool:
        call_server = self._cluster.server_of(call.channel_id)
        phone_server = self._cluster.server_of(operator.phone_channel_id) if operator.phone_channel_id else None
        return call_server is None or phone_server is None or call_server == phone_server

    def preference(self, server: str) -> float:
        """Ready operators on the server minus calls there still needing one (counted once per loop
        iteration — a dialing round of many originates costs one pass over the floor — and kept current
        within it by ``placed``)."""
        now = asyncio.get_running_loop().time()
        if now != self._demand_at:
            self._demand_at = now
            demand: Counter[str] = Counter()
            for operator in self._engine.floor.operators.values():
                if operator.state is OperatorState.READY and operator.phone_channel_id:
                    demand[self._cluster.server_of(operator.phone_channel_id) or ""] += 1
            for call in self._engine.calls.values():
                if call.state in _PENDING:
                    demand[self._cluster.server_of(call.channel_id) or ""] -= 1
            self._demand = demand
        return float(self._demand[server])

    def placed(self, server: str) -> None:
        self._demand[server] -= 1
