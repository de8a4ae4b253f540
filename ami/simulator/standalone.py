"""``dialer sim-pbx``: the simulator on its own, in real time, until interrupted.

Signals play Asterisk's own stops, so a person can watch the engine live through them: SIGUSR1 is
``core stop gracefully`` (every action and login refused until the calls up have ended), SIGUSR2 is
``core stop now``. The simulated Asterisk starts again ``restart_s`` after it has stopped, as a service
manager would restart it (an AMI user with ``command`` write may also send ``Command: core stop now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
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


log = logging.getLogger("ami.simulator")


async def serve(host: str, port: int, callees: CalleeModel, users: Mapping[str, User] | None,
                on_ready: Callable[[SimulatorHandle], None], *, seed: int | None = None,
                restart_s: float = 5.0) -> None:
    """Serve until cancelled; SIGUSR1/SIGUSR2 play ``core stop gracefully``/``now``, and every stop is followed
    by a fresh start ``restart_s`` later, calls gone, as after a service manager's restart."""
    handle = await start_simulator(host, port, callees=callees, users=users, order_seed=seed)
    loop = asyncio.get_running_loop()
    for signum, stop in ((signal.SIGUSR1, handle.stop_gracefully), (signal.SIGUSR2, handle.stop_now)):
        with contextlib.suppress(NotImplementedError, AttributeError):   # no such signals on Windows
            loop.add_signal_handler(signum, stop)
    try:
        on_ready(handle)
        while True:                      # until cancelled (Ctrl-C)
            await handle.stopped.wait()
            log.warning("simulated Asterisk stopped; starting again in %g s", restart_s)
            await asyncio.sleep(restart_s)
            await handle.restart()
            log.warning("simulated Asterisk started again (no calls) on %s:%s", handle.host, handle.port)
    finally:
        await handle.close()
