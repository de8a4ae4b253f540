"""What the safe-harbor message says: who called and the number to call back, in the campaign's language.

The law wants an answered call that reaches no operator in time to hear the seller's name and a number to
call back (US 16 CFR 310.4(b)(4)(iii); Ofcom's persistent-misuse policy). How long "in time" is, is
``compliance.limits``'.
"""

from __future__ import annotations

from compliance.verdict import ComplianceError

# Languages the message can be spoken in: those of the fixed prompts in config/asterisk/sounds/.
LANGUAGES = ("en", "ru")


class SafeHarborError(ComplianceError, ValueError):
    """A seller prompt the message cannot use; the message names what to change."""


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
