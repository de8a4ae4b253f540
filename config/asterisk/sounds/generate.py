"""Regenerate the fixed prompts in this folder (en/dialer/*.wav, ru/dialer/*.wav) from prompts.toml with
espeak-ng and sox, in the format Asterisk plays as it is (dialer/sounds.py: 8 kHz mono 16-bit WAV):

    apt-get install espeak-ng sox
    .venv/bin/python config/asterisk/sounds/generate.py
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from dialer import sounds

HERE = Path(__file__).resolve().parent


def main() -> int:
    texts = tomllib.loads((HERE / "prompts.toml").read_text(encoding="utf-8"))
    try:
        for name, by_language in texts.items():
            for language, text in by_language.items():
                sound = sounds.synthesize(text, language, sounds.prompt_path(HERE, language, name))
                print(f"{sound.path.relative_to(HERE)}  {sound.seconds:.1f} s")
    except sounds.SoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
