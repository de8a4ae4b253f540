"""A store outage is said in the engine's log in one line per retry, not as a traceback: asyncpg's pool
logs each failed attempt to restore its connections with the whole traceback (seen by hand: 30 lines every
few seconds, then every minute, while the embedded store was down), which reads as a crash."""

from __future__ import annotations

import logging

import pytest

from dialer.service import quiet_pool_retries


def test_the_pools_retry_warning_is_one_line_naming_the_error(caplog: pytest.LogCaptureFixture) -> None:
    pool_log = logging.getLogger("asyncpg.pool")
    quiet_pool_retries()
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    except ConnectionRefusedError:
        with caplog.at_level(logging.WARNING, logger="asyncpg.pool"):
            pool_log.warning("Failed to restore the pool connection floor; retrying", exc_info=True)
    [record] = caplog.records
    text = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "\n" not in text and "Traceback" not in text, text
    assert "retrying (ConnectionRefusedError: [Errno 111] Connect call failed" in text, text
