r"""The AMI wire format as a pure state machine (sans-IO): bytes in, messages out, and back.

A message is lines of ``Key: Value`` ended by an empty line (``\r\n\r\n``). Keys may repeat
(``Variable``), so a message keeps an ordered list of pairs. Bytes are buffered until a whole message
is there and only then decoded, so a UTF-8 character split across two TCP reads survives. A peer that
sends an endless message is cut off at ``max_message_bytes`` instead of eating memory.
"""

from __future__ import annotations

from collections.abc import Iterable

EOL = b"\r\n"
END = b"\r\n\r\n"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024


class WireError(Exception):
    """The peer sent something that is not AMI; the connection should be closed."""


class Message:
    """One AMI message (action, response or event). Lookup by key is case-insensitive."""

    __slots__ = ("_index", "pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs: list[tuple[str, str]] = list(pairs)
        self._index: dict[str, str] = {}
        for key, value in self.pairs:
            self._index.setdefault(key.lower(), value)

    @classmethod
    def of(cls, **fields: str | int | list[str]) -> Message:
        pairs: list[tuple[str, str]] = []
        for key, value in fields.items():
            if isinstance(value, list):
                pairs.extend((key, str(v)) for v in value)
            else:
                pairs.append((key, str(value)))
        return cls(pairs)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._index.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [v for k, v in self.pairs if k.lower() == wanted]

    def add(self, key: str, value: str | int) -> None:
        self.pairs.append((key, str(value)))
        self._index.setdefault(key.lower(), str(value))

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def to_bytes(self) -> bytes:
        return encode(self)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={'***' if k.lower() == 'secret' else v!r}" for k, v in self.pairs)
        return f"Message({shown})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.pairs == other.pairs


def encode(message: Message) -> bytes:
    """The message as Asterisk reads it: ``Key: Value`` lines, then the empty line. A line break in a key or
    value raises ``ValueError``, since it would let a lead's data inject AMI headers."""
    lines = []
    for key, value in message.pairs:
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
            # A value with a line break would let a lead's data inject AMI headers.
            raise ValueError(f"AMI field {key!r} contains a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def decode(block: bytes) -> Message:
    """One whole message block. Bad UTF-8 is replaced, not raised: one odd byte must not cost the connection.
    Only a space right after the colon is taken off, so values keep their own spaces."""
    pairs = []
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if sep:
            pairs.append((key.strip(), value[1:] if value[:1] == " " else value))
        else:
            # Asterisk sends bare lines only in command output; keep them under a pseudo key.
            pairs.append(("Output", line))
    return Message(pairs)


class Parser:
    """Feed bytes as they arrive; take whole messages out. The greeting line is reported once."""

    def __init__(self, *, expect_banner: bool = True,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._max = max_message_bytes
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        return [decode(block) for block in self.blocks(data)]

    def blocks(self, data: bytes) -> list[bytes]:
        """The whole message blocks ``data`` completes, not yet decoded: a reader with many of them can
        decode and handle them a few at a time. Empty blocks are left out."""
        self._buffer += data
        if self._expect_banner and self.banner is None:
            end = self._buffer.find(EOL)
            if end < 0:
                if len(self._buffer) > self._max:
                    raise WireError("no AMI greeting line")
                return []
            self.banner = self._buffer[:end].decode("utf-8", errors="replace")
            del self._buffer[: end + 2]
        end = self._buffer.rfind(END)
        whole = b""
        if end >= 0:    # every whole message at once: one copy, not one per message
            whole = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
        if len(self._buffer) > self._max:
            raise WireError(f"message longer than {self._max} bytes")
        return [block for block in whole.split(END) if block.strip()]
