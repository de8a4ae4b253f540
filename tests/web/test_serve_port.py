"""``dialer serve`` on an address it cannot listen on stops with one line, before it announces that it
serves (it printed its banner and "Serving … on http://…", then a traceback)."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

import cli


def test_a_port_in_use_is_refused_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli.app, ["serve", "--port", str(port)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{port}: "), result.output
    assert "Serving" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
