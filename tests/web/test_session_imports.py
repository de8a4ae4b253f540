"""A server holds one session process per person at work, so what an operator's session imports is
paid hundreds of times: no numpy or scipy (the what-if tools), no pydantic (the settings model; ``dialer
serve`` hands its sessions the store's address in ``DIALER_DATABASE_URL``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "pydantic", "pydantic_settings")


def test_an_operators_session_imports_neither_the_math_nor_the_settings_model() -> None:
    probe = ("import json, sys, dialer.web.__main__, dialer.web.login, dialer.web.driver, "
             "dialer.views.operator_console; "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "DIALER_DATABASE_URL": "postgresql://nobody@127.0.0.1/none"})
    assert json.loads(done.stdout) == []
