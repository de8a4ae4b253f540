"""Running things: the engine (``dialer run``), a whole simulated day (``dialer demo``) and the PBX
simulator (``dialer sim-pbx``)."""

from __future__ import annotations

import asyncio
from typing import Literal

import typer

from cli.store import console, fail, settings_or_fail, store_url
from lists import database
from pacing.modes import MODES


def run(
    operator_channel: str = typer.Option("PJSIP/{ext}", help="How operators' phones are called"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=0, max=65535,
                                            help="Serve Prometheus metrics at http://HOST:PORT/metrics"),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host",
                                     help="Address the metrics endpoint binds to (0.0.0.0: every interface)"),
) -> None:
    """Run the engine: the running campaigns it owns, against the Asterisk server(s) given by DIALER_AMI_*."""
    from dialer.service import serve

    settings = settings_or_fail()
    try:
        asyncio.run(serve(settings, store_url(settings), operator_channel=operator_channel, console=console,
                          metrics=(metrics_host, metrics_port) if metrics_port is not None else None))
    except KeyboardInterrupt:
        console.print("stopped")
    except Exception as exc:  # the message is ours (typed errors); the secret is never in it
        raise fail(str(exc)) from None


def demo(
    leads: int = typer.Option(3000, min=1, help="Leads in the generated list"),
    operators: int = typer.Option(6, min=1, help="Simulated operators"),
    hours: float = typer.Option(8.0, min=0.1, help="Length of the working day (virtual time)"),
    mode: Literal[MODES] = typer.Option("predictive", help="Dial mode"),
    seed: int = typer.Option(1, help="Random seed: the same seed gives the same day"),
    live: bool = typer.Option(False, "--live", help="Show the floor while the day runs"),
    servers: int = typer.Option(1, min=1, max=16, help="Simulated Asterisk servers (operators dealt among them)"),
    max_channels: int = typer.Option(100, min=1, help="Channel limit per server (with --servers 2 or more)"),
    cps: int = typer.Option(10, min=1, help="Originates per second per server (with --servers 2 or more)"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=0, max=65535,
                                            help="Serve Prometheus metrics on 127.0.0.1:PORT while the day runs"),
) -> None:
    """A full simulated campaign on the embedded store: a working day in virtual time."""
    from dialer.sim.demo import DemoSettings, run_demo
    from dialer.sim.demo_view import DemoProgress, DemoView, print_result

    settings = DemoSettings(leads=leads, operators=operators, hours=hours, mode=mode, seed=seed, servers=servers,
                            max_channels=max_channels, cps=cps, metrics_port=metrics_port)
    url = store_url()
    console.print(f"store: {database.redact(url)} (schema dialer_demo)", soft_wrap=True)   # a path stays whole
    with DemoView(console) if live else DemoProgress(console, hours) as view:
        result = run_demo(url, settings, progress=view.update)
    print_result(console, settings, result)


def sim_pbx(
    port: int = typer.Option(5038, help="TCP port for AMI (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    # A trial's world: half the callees answer within seconds, so a first `dialer sim-pbx` shows calls reaching
    # operators in the first minute (a cold list's 0.3 and 3-15 s are options; the start line says which).
    answer: float = typer.Option(0.5, help="Share of calls answered."),
    busy: float = typer.Option(0.1, help="Share of calls busy."),
    congestion: float = typer.Option(0.02, help="Share of calls failing with congestion (the rest: no answer)."),
    ring: str = typer.Option("2-8", help="Ring time before answer, seconds LOW-HIGH."),
    talk: float = typer.Option(120.0, help="Mean talk time after answer, seconds (lognormal)."),
    patience: float = typer.Option(0.0, help="Mean patience of an answered callee left unconnected, seconds "
                                             "(0: waits forever)."),
    machine: float = typer.Option(0.0, help="Share of answers that are answering machines."),
    seed: int | None = typer.Option(None, help="Seed for a reproducible world."),
    scripted: bool = typer.Option(False, help="First digit decides instead (1 answer, 2 busy, 3 no answer, "
                                              "4 congestion, 5 long talk), as the reference dialplan."),
    manager_conf: str | None = typer.Option(None, help="Take the AMI users from this manager.conf "
                                                        "(e.g. config/asterisk/manager.conf)."),
) -> None:
    """A PBX simulator speaking AMI as Asterisk 22 does (the dialplan of config/asterisk), in real time."""
    import os
    from pathlib import Path

    from ami.simulator import ParametricCallees, ScriptedCallees, SimulatorHandle
    from ami.simulator.permissions import PermissionSpecError, users_from_manager_conf
    from ami.simulator.standalone import parse_range, serve
    from dialer import collector
    from dialer.tasks import Supervisor

    try:
        callees = ScriptedCallees() if scripted else ParametricCallees(
            answer=answer, busy=busy, congestion=congestion, ring_s=parse_range(ring, option="--ring"),
            talk_mean_s=talk, patience_mean_s=patience or float("inf"), machine=machine, seed=seed)
        users = users_from_manager_conf(Path(manager_conf).read_text(), source=manager_conf) if manager_conf else None
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None

    kept: list[object] = []

    def ready(handle: SimulatorHandle) -> None:
        # It stands in for Asterisk, which never stops to collect garbage: Python's full collections, over
        # thousands of channels, stopped its loop for up to half a second, and a benchmark's hand-offs took
        # that for the engine's. The engine's policy: start-up frozen, full collections only when due.
        tasks = Supervisor().tasks()
        kept.append((tasks, collector.settle(tasks, in_flight=lambda: len(handle.channels))))
        console.print(f"AMI simulator (Asterisk 22 dialect) listening on {handle.host}:{handle.port}; Ctrl-C stops; "
                      f"kill -USR1 / -USR2 {os.getpid()}: core stop gracefully / now (then it starts again)")
        console.print(_world(scripted, answer, busy, congestion, ring, talk), soft_wrap=True)
        for user in handle.users.values():
            secret = "(secret from the file)" if manager_conf else f"secret {user.secret!r}"
            console.print(f"  user {user.name!r}, {secret}: read {user.describe_read()}; write {user.describe_write()}",
                          soft_wrap=True)

    try:
        asyncio.run(serve(host, port, callees, users, ready, seed=seed))
    except KeyboardInterrupt:
        console.print("simulator stopped")
    except (OSError, PermissionSpecError) as exc:
        raise fail(str(exc)) from None


def _world(scripted: bool, answer: float, busy: float, congestion: float, ring: str, talk: float) -> str:
    """What the simulated callees do, said at start: a trial that connects little is then read as the world
    it was given (``--answer``, ``--ring``), not as a fault."""
    if scripted:
        return ("  callees: the first digit of the number decides (1 answers, 2 busy, 3 no answer, 4 congestion, "
                "5 long talk)")
    rest = max(0.0, 1.0 - answer - busy - congestion)
    return (f"  callees: {answer:.0%} answer after {ring} s of ringing and talk {talk:.0f} s on average, "
            f"{busy:.0%} busy, {congestion:.0%} congestion, {rest:.0%} ring until the engine gives up "
            "(the campaign's ring_timeout_s)")
