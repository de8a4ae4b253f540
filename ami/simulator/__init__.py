"""A PBX simulator that speaks AMI as Asterisk 22 does, for tests, the demo and benchmarks.

Start one, point an AMI client at it, close it::

    handle = await start_simulator(callees=ParametricCallees(answer=0.3, seed=1))
    ... connect an AMI client to 127.0.0.1:handle.port, user "dialer-lp", secret "change-me" ...
    await handle.close()
"""

from ami.simulator.callees import CalleeFate, CalleeModel, ParametricCallees, ScriptedCallees
from ami.simulator.permissions import User, default_users, least_privilege_user
from ami.simulator.server import SimulatorHandle, start_simulator

__all__ = [
    "CalleeFate", "CalleeModel", "ParametricCallees", "ScriptedCallees", "SimulatorHandle", "User",
    "default_users", "least_privilege_user", "start_simulator",
]
