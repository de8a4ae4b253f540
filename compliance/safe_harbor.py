"""The safe harbor of an answered call, and the minimum ring time of an unanswered one.

US (16 CFR 310.4(b)(4)): a person who answers is connected to a sales representative within 2 seconds of
the completed greeting, or hears a recorded message with the seller's name and telephone number; an
unanswered call rings at least 15 seconds or four rings. UK (Ofcom): the same 2 seconds and information
message (no marketing), 15 seconds' ring. We start the 2 seconds at answer, not at the end of the greeting:
stricter, and it means AMD time counts against the window, as the design says.

Times here are the engine's loop-clock seconds; the functions only compare them.
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance.caller_id import valid_caller_id
from compliance.verdict import ComplianceError

MAX_WAIT_S = 2.0
MIN_RING_S = 15.0
# Languages the message can be spoken in: those of the fixed prompts in config/asterisk/sounds/.
LANGUAGES = ("en", "ru")


class SafeHarborError(ComplianceError, ValueError):
    """A campaign's safe-harbor settings that the law does not allow; the message names the setting."""


@dataclass(frozen=True)
class SafeHarbor:
    seller_name: str
    callback_number: str
    max_wait_s: float = MAX_WAIT_S
    min_ring_s: float = MIN_RING_S

    def __post_init__(self) -> None:
        if not 0 < self.max_wait_s <= MAX_WAIT_S:
            raise SafeHarborError(
                f"safe_harbor_s = {self.max_wait_s}: an answered call must reach an operator or the message "
                f"within {MAX_WAIT_S:g} s; use a value in (0, {MAX_WAIT_S:g}]"
            )
        if self.min_ring_s < MIN_RING_S:
            raise SafeHarborError(
                f"ring_timeout_s = {self.min_ring_s}: unanswered calls must ring at least {MIN_RING_S:g} s"
            )
        if not self.seller_name.strip():
            raise SafeHarborError("the safe-harbor message needs the seller's name (campaign script: seller_name)")
        valid_caller_id(self.callback_number, where="safe-harbor callback number")


def operator_deadline(answered_at: float, policy: SafeHarbor) -> float:
    """Loop time by which the answered call must be bridged to an operator."""
    return answered_at + policy.max_wait_s


def must_play_message(answered_at: float, now: float, policy: SafeHarbor) -> bool:
    """No operator yet and the window is over (or would be before a hand-off could finish): message it."""
    return now >= operator_deadline(answered_at, policy)


def may_stop_ringing(originated_at: float, now: float, policy: SafeHarbor) -> bool:
    """Giving up on an unanswered call earlier than the minimum ring time is not allowed."""
    return now - originated_at >= policy.min_ring_s


def message_text(policy: SafeHarbor) -> str:
    """What the message says: who called and how to reach them (or opt out) — nothing else."""
    return (
        f"This call was made by {policy.seller_name.strip()}. We are sorry we could not connect you. "
        f"To call us back or to stop further calls, call {valid_caller_id(policy.callback_number)}."
    )


# The seller prompt: the part of the message a campaign records (config/asterisk/extensions.conf,
# dialer-safeharbor: Playback of the prompt, then SayDigits of the callback number, then the opt-out key).
# Present tense in Russian ("звонит") agrees with any seller's name in the nominative: "банк", "ООО …".
_ANNOUNCEMENTS = {
    "en": "Hello, this is {seller} calling. We are sorry, all our operators are busy. "
          "To call us back, dial",
    "ru": "Здравствуйте, вам звонит {seller}. К сожалению, все операторы сейчас заняты. "
          "Чтобы перезвонить нам, наберите номер",
}


class UnknownLanguageError(SafeHarborError):
    def __init__(self, language: str) -> None:
        super().__init__(f"language {language!r} has no prompts; choose one of {', '.join(LANGUAGES)}")


def seller_announcement(seller_name: str, language: str = "en") -> str:
    """What the seller prompt says: who calls, and that the number to call back follows."""
    if language not in _ANNOUNCEMENTS:
        raise UnknownLanguageError(language)
    if not seller_name.strip():
        raise SafeHarborError("the seller prompt needs the seller's name (--seller)")
    return _ANNOUNCEMENTS[language].format(seller=seller_name.strip())
