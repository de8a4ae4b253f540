"""Sound files Asterisk plays to a called person: spoken by espeak-ng, or taken from a recording, and always
written in the one format Asterisk's ``format_wav`` reads without a transcoding module: RIFF/WAVE, PCM,
mono, 8000 Hz, 16-bit signed little-endian (``slin``, the native format of every channel driver's
translation path; ``format_wav`` refuses any other rate, width or channel count, and ``.wav16`` would need
the 16 kHz path). Written to a temporary file and renamed, so a Playback never opens half a file.

espeak-ng speaks at 22050 Hz; sox resamples (with its anti-aliasing filter) and normalizes the level. A
recording already in the target format needs neither: it is read and written again with ``wave``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from compliance.safe_harbor import LANGUAGES

RATE = 8000
# espeak-ng's voices for our prompt languages
_VOICES = {"en": "en-us", "ru": "ru"}
# peak level of what we write: loud enough on a phone line, with room below clipping after the codec
_NORM_DB = "-3"


class SoundError(Exception):
    """A sound that cannot be made; the message names the file or the missing tool and what to do."""


@dataclass(frozen=True)
class Sound:
    path: Path
    seconds: float


def prompt_path(sounds_dir: Path, language: str, name: str) -> Path:
    """Where Asterisk finds ``dialer/<name>`` for a channel of ``language``: <sounds>/<language>/dialer/."""
    return sounds_dir / language / "dialer" / f"{name}.wav"


def synthesis_missing() -> str:
    """The tools espeak synthesis needs and that are not installed ('' when both are there)."""
    return " and ".join(tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None)


def synthesize(text: str, language: str, dest: Path) -> Sound:
    """Speak ``text`` in ``language`` into ``dest``."""
    if language not in _VOICES:
        raise SoundError(f"language {language!r} has no voice; choose one of {', '.join(LANGUAGES)}")
    missing = synthesis_missing()
    if missing:
        raise SoundError(f"{missing} not installed (apt-get install espeak-ng sox)")
    with tempfile.TemporaryDirectory(prefix="dialer-sound-") as tmp:
        spoken = Path(tmp) / "spoken.wav"
        _run(["espeak-ng", "-v", _VOICES[language], "-s", "150", "-w", str(spoken), "--", text], "espeak-ng")
        return _converted(spoken, dest, shown=f"espeak-ng's output for {text[:30]!r}")


def from_wav(src: Path, dest: Path) -> Sound:
    """Take a recorded WAV: as it is when already 8 kHz mono 16-bit, else converted with sox."""
    try:
        with src.open("rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise SoundError(f"{src}: {exc.strerror or exc}") from None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise SoundError(f"{src} is not a WAV file (RIFF/WAVE); record or export the prompt as WAV")
    try:
        with wave.open(str(src), "rb") as w:
            shape = (w.getnchannels(), w.getframerate(), w.getsampwidth())
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, RuntimeError, ValueError, struct.error):
        # compressed, float or extensible WAV (sox knows more encodings), or a damaged one (sox says why);
        # `wave` raises RuntimeError for a chunk whose size runs past the file
        shape, frames = None, b""
    if shape == (1, RATE, 2):
        if not frames:
            raise SoundError(f"{src} holds no sound")
        return _write(dest, frames)
    if shutil.which("sox") is None:
        what = f"{shape[1]} Hz, {shape[0]} channel(s), {8 * shape[2]}-bit" if shape else "not plain PCM"
        raise SoundError(f"{src} is {what}; Asterisk plays 8000 Hz mono 16-bit: install sox, or convert it with "
                         f"`sox {src} -r 8000 -c 1 -b 16 out.wav`")
    return _converted(src, dest, shown=str(src))


def check(path: Path) -> Sound:
    """Read back what was written: the format ``format_wav`` plays, and some sound in it."""
    with wave.open(str(path), "rb") as w:
        if (w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getcomptype()) != (1, RATE, 2, "NONE"):
            raise SoundError(f"{path} is not 8000 Hz mono 16-bit PCM")
        if w.getnframes() == 0:
            raise SoundError(f"{path} holds no sound")
        return Sound(path, w.getnframes() / RATE)


def _converted(src: Path, dest: Path, *, shown: str) -> Sound:
    with tempfile.TemporaryDirectory(prefix="dialer-sound-") as tmp:
        out = Path(tmp) / "out.wav"
        _run(["sox", str(src), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(out),
              "norm", _NORM_DB], "sox", shown=shown)
        # written again by `wave`: a plain 44-byte header, whatever chunks sox would add
        with wave.open(str(out), "rb") as w:
            frames = w.readframes(w.getnframes())
    if not frames:
        raise SoundError(f"{shown} holds no sound")
    return _write(dest, frames)


def _write(dest: Path, frames: bytes) -> Sound:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}-", suffix=".wav", dir=dest.parent)
    except OSError as exc:
        raise SoundError(f"cannot write {dest}: {exc.strerror or exc}; set DIALER_SOUNDS_DIR to Asterisk's sounds "
                         f"directory, writable by you") from None
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(frames)
        os.chmod(tmp, 0o644)     # Asterisk runs as its own user
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SoundError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return check(dest)


def _run(command: list[str], tool: str, *, shown: str = "") -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise SoundError(f"{tool} is not installed (apt-get install espeak-ng sox)") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise SoundError(f"{tool} could not read {shown}: {reason}" if shown else f"{tool}: {reason}")
