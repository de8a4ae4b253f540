"""Settings of one dialer installation, read from the environment (``DIALER_*``) and defaults.

Why pydantic-settings: a bad value must fail at start with the setting's name in the message, not
deep inside the engine an hour later.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "dialer"


class Settings(BaseSettings):
    # VAR= counts as unset: an empty DIALER_DATA_DIR must not put the embedded store in the current folder
    model_config = SettingsConfigDict(env_prefix="DIALER_", extra="ignore", env_ignore_empty=True)

    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://… of the store; unset = embedded PostgreSQL in data_dir",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    engine_name: str = Field(default="engine-1", description="how this engine signs its claims")
    sounds_dir: Path | None = Field(
        default=None,
        description="Asterisk's sounds directory (astdatadir/sounds, e.g. /var/lib/asterisk/sounds): "
                    "`dialer campaign prompts` writes <dir>/<language>/dialer/seller-<id>.wav there; "
                    "unset = data_dir/sounds, to copy to every Asterisk server",
    )

    def prompts_dir(self) -> Path:
        return self.sounds_dir or self.data_dir / "sounds"

    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = "dialer"
    ami_secret: SecretStr = SecretStr("change-me")
    ami_servers_file: Path | None = Field(
        default=None,
        description="TOML file listing several Asterisk servers with their limits (config/servers.py); "
                    "when set, DIALER_AMI_HOST/PORT/USERNAME/SECRET are not used",
    )


class SettingsError(ValueError):
    """A ``DIALER_*`` value that cannot be used; one line naming the variable (and the value, unless secret)."""


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``DIALER_NAME='value': why``; a secret's value is never repeated."""
    name = str(error["loc"][0]) if error.get("loc") else "?"
    variable = f"DIALER_{name.upper()}"
    secret = name in _SECRETS
    shown = "" if secret or "input" not in error else f"={error['input']!r}"
    return f"{variable}{shown}: {error['msg']}"


_SECRETS = {name for name, spec in Settings.model_fields.items() if "SecretStr" in str(spec.annotation)}


# ``DIALER_*`` variables read outside these settings: switches of the engine and the web workers, and of the
# tests (a real Asterisk's binary, a whole day on the floor, the README's screenshots).
ELSEWHERE = frozenset({"DIALER_CHECK_FLOOR", "DIALER_SERVE_TRACE", "DIALER_ASTERISK", "DIALER_FLOOR_HOURS",
                       "DIALER_SCREENSHOTS"})
KNOWN = frozenset(f"DIALER_{name.upper()}" for name in Settings.model_fields) | ELSEWHERE


def unknown(environ: Mapping[str, str]) -> str | None:
    """The first ``DIALER_*`` variable that no part of dialer reads, as one line with the name it most likely
    meant: a mistyped name was ignored, and the setting it meant to change kept its default without a word."""
    for name in sorted(environ):
        if name.startswith("DIALER_") and name not in KNOWN:
            close = difflib.get_close_matches(name, sorted(KNOWN), n=1)
            meant = f" ({close[0]}?)" if close else ""
            return f"{name}: not a setting of dialer{meant}; the settings are {', '.join(sorted(KNOWN))}"
    return None


def load_settings() -> Settings:
    stray = unknown(os.environ)
    if stray:
        raise SettingsError(stray)
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("; ".join(describe(error) for error in exc.errors())) from None
