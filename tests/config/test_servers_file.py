"""The servers file: several Asterisk servers with their limits; mistakes named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.servers import ServersError, load_servers

GOOD = """
[[server]]
name = "asterisk-1"
host = "10.0.0.5"
secret = "s3cret-one"
max_channels = 200
cps = 20
operators = ["1*"]

[[server]]
name = "asterisk-2"
host = "10.0.0.6"
port = 5039
secret = "s3cret-two"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "servers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_servers_file_gives_each_server_its_address_and_limits(tmp_path: Path) -> None:
    one, two = load_servers(write(tmp_path, GOOD))
    assert (one.name, one.host, one.port, one.max_channels, one.cps, one.operators) == (
        "asterisk-1", "10.0.0.5", 5038, 200, 20, ("1*",))
    assert (two.port, two.max_channels, two.cps, two.operators) == (5039, 100, 10, ("*",))
    assert two.secret.get_secret_value() == "s3cret-two"
    assert "s3cret" not in repr(one) and "s3cret" not in str([one, two])


@pytest.mark.parametrize(("change", "message"), [
    (("cps = 20", "cps = 0"), r"server #1 \(asterisk-1\): cps: Input should be greater than or equal to 1"),
    (('port = 5039', 'port = "x"'), r"server #2 \(asterisk-2\): port: "),
    (('secret = "s3cret-two"', "secret = 12345"), r"server #2 \(asterisk-2\): secret: "),
    (('secret = "s3cret-two"', 'secret = "s3cret-two"\nmax_chanels = 3'), r"max_chanels: Extra inputs"),
    (('name = "asterisk-2"', 'name = "asterisk-1"'), "server name\\(s\\) used twice: asterisk-1"),
])
def test_a_wrong_server_is_refused_naming_the_server_and_field_never_the_secret(
        tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(ServersError, match=message) as refused:
        load_servers(write(tmp_path, GOOD.replace(*change)))
    assert "s3cret" not in str(refused.value) and "12345" not in str(refused.value)


def test_a_file_that_is_not_a_servers_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServersError, match="no \\[\\[server\\]\\] table"):
        load_servers(write(tmp_path, "# nothing\n"))
    with pytest.raises(ServersError, match="not valid TOML"):
        load_servers(write(tmp_path, "[[server]\n"))
    with pytest.raises(ServersError, match="cannot read it"):
        load_servers(tmp_path / "missing.toml")
