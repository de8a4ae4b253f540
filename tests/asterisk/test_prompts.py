"""The safe-harbor message on a real Asterisk: a customer no operator can take hears the seller's name,
the callback number and the opt-out offer, from prompts the project ships (``config/asterisk/sounds``,
found by this Asterisk as its sounds directory) — Asterisk logs no missing sound file."""

from __future__ import annotations

import asyncio
import wave
from datetime import UTC, datetime

from dialer import seller_prompt
from dialer.call import channel_id_of
from tests.asterisk.campaign import numbers, set_up_campaign
from tests.asterisk.conftest import Store
from tests.asterisk.engine_run import DialerRun
from tests.asterisk.observer import Observer, wait_until
from tests.asterisk.pbx import Asterisk


async def test_the_safe_harbor_message_finds_every_prompt(
        asterisk: Asterisk, observer: Observer, store: Store, dialer: DialerRun) -> None:
    await asyncio.wait_for(observer.connected.wait(), 10)
    # More answers than the one operator can take: some customers get the message.
    await set_up_campaign(store.db, numbers("answer", 6, talk_s=10), operators_count=1, mode="ratio",
                          pacing={"ratio": 3.0})
    # the campaign's seller prompt, as `dialer campaign prompts real-asterisk --seller … --wav FILE` makes it
    recording = asterisk.base / "seller.wav"
    with wave.open(str(recording), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 8000)
    await seller_prompt.make(store.db, "real-asterisk", seller="Acme Energy", language="en", wav=recording,
                             sounds_dir=asterisk.base / "data" / "sounds", actor="test", now=datetime.now(UTC))
    played: list[str] = []
    observer.listeners.append(lambda h: played.append(h.fields.get("AttemptId", ""))
                              if h.fields.get("UserEvent") == "DialerSafeHarborPlayed" else None)
    await dialer.start()
    await wait_until(lambda: bool(played), 60, "a safe-harbor message")
    # The opt-out offer comes after that event: wait until the customer has heard it all and gone.
    await wait_until(lambda: channel_id_of(played[0]) not in observer.live, 30, "the message to end")
    missing = [line for line in asterisk.warnings() if "dialer/" in line]
    assert missing == []
