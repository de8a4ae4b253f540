"""The fixed prompts ship: every sound the sample dialplan plays is in config/asterisk/sounds/, in English and
Russian, in the one format Asterisk's format_wav plays without transcoding (8 kHz mono 16-bit PCM)."""

from __future__ import annotations

import re
import tomllib
import wave
from pathlib import Path

import pytest

ASTERISK = Path(__file__).resolve().parents[2] / "config" / "asterisk"
LANGUAGES = ("en", "ru")


def played_sounds() -> set[str]:
    """Every fixed file the dialplan plays: Playback(file) and Read(var,file,…); ${…} are the engine's own."""
    text = "\n".join(line.split(";", 1)[0] for line in (ASTERISK / "extensions.conf").read_text().splitlines())
    names = set(re.findall(r"\b(?:Playback|Background)\(([^),]+)", text))
    names |= set(re.findall(r"\bRead\([^,]*,([^,)]+)", text))
    return {n.strip() for n in names if "${" not in n}


def test_the_dialplan_plays_the_prompts_we_expect() -> None:
    # guards the parser above: if the dialplan grows a prompt, the next test must see it
    assert played_sounds() == {"dialer/press-9-to-opt-out", "dialer/opted-out", "dialer/rate-the-call",
                               "dialer/thank-you"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sound_the_dialplan_plays_ships_in_a_format_asterisk_plays(language: str) -> None:
    for name in sorted(played_sounds()):
        path = ASTERISK / "sounds" / language / f"{name}.wav"
        assert path.is_file(), f"{path} is missing"
        assert path.read_bytes()[:4] == b"RIFF"
        with wave.open(str(path), "rb") as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 8000, 2), path
            assert w.getnframes() > 8000, f"{path} is shorter than a second"


def test_the_generator_speaks_every_fixed_prompt_in_both_languages() -> None:
    texts = tomllib.loads((ASTERISK / "sounds" / "prompts.toml").read_text(encoding="utf-8"))
    assert {f"dialer/{name}" for name in texts} == played_sounds()
    assert all(set(by_language) == set(LANGUAGES) and all(t.strip() for t in by_language.values())
               for by_language in texts.values())
