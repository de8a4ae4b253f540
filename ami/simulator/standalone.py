"""``dialer sim-pbx``: the simulator on its own, in real time, until interrupted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from ami.simulator.callees import CalleeModel
from ami.simulator.permissions import User
from ami.simulator.server import SimulatorHandle, start_simulator


def parse_range(text: str, *, option: str) -> tuple[float, float]:
    """``"3-15"`` → (3.0, 15.0); a single number is a fixed time."""
    low, sep, high = text.partition("-")
    try:
        bounds = (float(low), float(high if sep else low))
    except ValueError:
        raise ValueError(f"{option} {text!r}: give seconds as LOW-HIGH, e.g. 3-15") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ValueError(f"{option} {text!r}: need 0 <= LOW <= HIGH")
    return bounds


async def serve(host: str, port: int, callees: CalleeModel, users: Mapping[str, User] | None,
                on_ready: Callable[[SimulatorHandle], None]) -> None:
    handle = await start_simulator(host, port, callees=callees, users=users)
    try:
        on_ready(handle)
        await asyncio.Event().wait()   # until cancelled (Ctrl-C)
    finally:
        await handle.close()
