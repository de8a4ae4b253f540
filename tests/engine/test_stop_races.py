"""The engine's stop against what the PBX keeps saying meanwhile: an answer handled between two operators'
log-outs must not go to an operator the stop then logs out."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from ami.pbx import CallAnswered, ConferenceJoined
from dialer.call import attempt_of_channel
from dialer.engine import Engine
from dialer.floor import OperatorState
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


class AnswerDuringLogOut(FakePbx):
    """The first phone hung up by the stop lets the reader in: a ringing customer's answer is handled
    before the other operators are logged out, as when the loop runs the reader between their log-outs."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False
        self.answered: str | None = None

    async def hangup(self, channel_id: str, cause: int = 16) -> None:
        await super().hangup(channel_id, cause)
        if self.stopping and self.answered is None and attempt_of_channel(channel_id) is None:
            self.answered = self.customer_calls()[0].channel_id
            self.emit(CallAnswered(self.answered))


async def test_an_answer_during_the_stop_goes_to_no_operator_the_stop_logs_out(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    pbx = AnswerDuringLogOut()
    await make_campaign(db, operators_n=3, leads_n=10)
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    await until(lambda: len(pbx.customer_calls()) >= 3)
    pbx.stopping = True
    with caplog.at_level(logging.ERROR, logger="dialer"):
        await engine.stop(drain_s=0)
        assert pbx.answered is not None
        to_operators = [exten for channel, context, exten in pbx.redirects
                        if channel == pbx.answered and context == "operator-join"]
        for exten in to_operators:           # whoever took it is on it, not logged out under it
            pbx.emit(ConferenceJoined(f"op{exten}", pbx.answered))
            operator = engine.floor.by_extension(exten)
            assert operator is not None and operator.state is OperatorState.ON_CALL
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
