"""Several Asterisk servers for one engine: a TOML file named by ``DIALER_AMI_SERVERS_FILE``.

```toml
[[server]]
name = "asterisk-1"          # shown in logs, metrics and attempt rows
host = "10.0.0.5"
port = 5038
username = "dialer"
secret = "…"                 # never printed: errors name the field, not its value
max_channels = 200           # channels the dialer may hold on this server at once
cps = 20                     # originates in any one second
operators = ["1*"]           # extensions (shell patterns) whose phones are on this server
```

Why a file and not more environment variables: a list of servers, each with a secret and limits, is
a document; TOML keeps it readable and each mistake is reported with the server and field it concerns.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class ServersError(Exception):
    """The servers file is unreadable or wrong; the message names the server and the field."""


class AmiServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)
    host: str = Field(min_length=1)
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = Field(default="dialer", min_length=1)
    secret: SecretStr
    max_channels: int = Field(default=100, ge=1)
    cps: int = Field(default=10, ge=1)
    operators: tuple[str, ...] = ("*",)


def load_servers(path: Path) -> list[AmiServer]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServersError(f"{path}: cannot read it: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ServersError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(document) - {"server"}
    if unknown:
        raise ServersError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; servers are [[server]] tables")
    rows = document.get("server")
    if not isinstance(rows, list) or not rows:
        raise ServersError(f"{path}: no [[server]] table")
    servers: list[AmiServer] = []
    for number, row in enumerate(rows, start=1):
        label = f"server #{number}" + (f" ({row['name']})" if isinstance(row.get("name"), str) else "")
        try:
            servers.append(AmiServer.model_validate(row))
        except ValidationError as exc:
            # Only the field and the reason: pydantic's own text would quote the value, maybe a secret.
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ServersError(f"{path}: {label}: {problems}") from None
    names = [s.name for s in servers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ServersError(f"{path}: server name(s) used twice: {', '.join(twice)}")
    return servers
