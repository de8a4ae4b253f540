"""What a worker of ``dialer serve`` imports to serve operators is paid by each worker and slows its
start: no numpy or scipy (the what-if tools, loaded when a supervisor logs in), no pydantic (the settings
model; ``dialer serve`` hands its workers the store's address in ``DIALER_DATABASE_URL``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "pydantic", "pydantic_settings")


def test_a_worker_serving_operators_imports_neither_the_math_nor_the_settings_model() -> None:
    probe = ("import json, sys, dialer.web.worker, dialer.web.server, dialer.web.session, "
             "dialer.views.operator_console; "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "DIALER_DATABASE_URL": "postgresql://nobody@127.0.0.1/none"})
    assert json.loads(done.stdout) == []
