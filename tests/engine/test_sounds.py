"""A recording given to `dialer campaign prompts` is untrusted bytes: whatever they are, the result is a file
Asterisk plays or a SoundError that names the file, never another exception."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer import sounds


def judge(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None)     # the pure-Python path: no sox
    with tempfile.TemporaryDirectory() as tmp:
        src, dest = Path(tmp) / "given.wav", Path(tmp) / "out" / "seller-1.wav"
        src.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + b"WAVE" + body)
        try:
            made = sounds.from_wav(src, dest)
        except sounds.SoundError as exc:
            assert "given.wav" in str(exc)
            assert not dest.exists()
        else:
            assert sounds.check(made.path).seconds > 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_any_riff_wave_bytes_give_a_playable_file_or_a_sound_error(
        body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    judge(body, monkeypatch)


@st.composite
def wav_like(draw: st.DrawFn) -> bytes:
    """A fmt chunk with any fields and a data chunk whose declared size may lie."""
    tag = draw(st.sampled_from([1, 3, 6, 7, 0xFFFE, draw(st.integers(0, 0xFFFF))]))
    channels = draw(st.integers(0, 3))
    rate = draw(st.sampled_from([0, 8000, 16000, 44100]))
    width = draw(st.integers(0, 4))
    fmt = (tag.to_bytes(2, "little") + channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
           + (rate * channels * width).to_bytes(4, "little") + (channels * width).to_bytes(2, "little")
           + (8 * width).to_bytes(2, "little"))
    data = draw(st.binary(max_size=64))
    declared = draw(st.sampled_from([len(data), len(data) + 7, 0, 0xFFFFFFFF]))
    return b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + declared.to_bytes(4, "little") + data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=wav_like())
def test_any_fmt_and_data_chunks_give_a_playable_file_or_a_sound_error(
        body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    judge(body, monkeypatch)
