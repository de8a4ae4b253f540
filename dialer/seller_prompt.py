"""A campaign's seller prompt: the recording that says who calls, played by the safe-harbor message before the
callback number (config/asterisk/extensions.conf, ``dialer-safeharbor``; the engine names it
``dialer/seller-<campaign id>`` on every Originate). Without the file Asterisk logs that it does not exist and
the message is the number alone, which is not what the law asks; so a campaign under a preset that wants the
seller named does not start without it.

The file goes to ``<sounds>/<language>/dialer/seller-<id>.wav`` (DIALER_SOUNDS_DIR: Asterisk's sounds
directory); the campaign row records that it was made, for which seller and from what, and the language the
engine sets on the campaign's channels (``CHANNEL(language)``), so Asterisk plays the prompt, the fixed
prompts and the digits of the number from that language's folder.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from compliance import store as compliance_store
from compliance.presets import seller_prompt_law
from compliance.safe_harbor import LANGUAGES, SafeHarborError, seller_announcement
from dialer import sounds
from lists import campaigns
from lists.campaigns import Campaign, CampaignError


class SellerPromptError(CampaignError):
    """The seller prompt cannot be made, or a campaign cannot start without one; the message says what to run."""


@dataclass(frozen=True)
class Made:
    campaign: Campaign
    sound: sounds.Sound


def check_request(seller: str, language: str, wav: Path | None) -> None:
    """What can be judged before the store is opened: the seller's name, the language, the tools."""
    if language not in LANGUAGES:
        raise SellerPromptError(f"language {language!r} has no prompts; choose one of {', '.join(LANGUAGES)}")
    if not seller.strip():
        raise SellerPromptError("--seller is blank: the message must name the seller")
    if wav is None and (missing := sounds.synthesis_missing()):
        raise SellerPromptError(f"{missing} not installed (apt-get install espeak-ng sox); "
                                f"or give a recording with --wav FILE")


async def make(conn: asyncpg.Connection | asyncpg.Pool, name: str, *, seller: str, language: str,
               wav: Path | None, sounds_dir: Path, actor: str, now: datetime) -> Made:
    """Speak (or take) the campaign's seller prompt, put it where Asterisk reads it, and record it (audited)."""
    check_request(seller, language, wav)
    campaign = await campaigns.get(conn, name)
    dest = sounds.prompt_path(sounds_dir, language, f"seller-{campaign.id}")
    try:
        if wav is None:
            text = seller_announcement(seller, language)
            sound = await asyncio.to_thread(sounds.synthesize, text, language, dest)
        else:
            sound = await asyncio.to_thread(sounds.from_wav, wav, dest)
    except (sounds.SoundError, SafeHarborError) as exc:
        raise SellerPromptError(str(exc)) from None
    prompt = {"seller": seller.strip(), "source": "espeak-ng" if wav is None else wav.name,
              "file": str(sound.path), "seconds": round(sound.seconds, 2)}
    updated = await campaigns.set_seller_prompt(conn, name, prompt, language=language, actor=actor, now=now)
    return Made(updated, sound)


async def start(conn: asyncpg.Connection, name: str, *, actor: str, now: datetime) -> Campaign:
    """Set the campaign running, unless its preset wants the seller named and it has no seller prompt."""
    campaign = await campaigns.get(conn, name)
    if campaign.seller_prompt is None:
        rules = await compliance_store.campaign_rules(conn, campaign.id)
        law = seller_prompt_law(rules.preset)
        if law:
            raise SellerPromptError(
                f"campaign {name!r} has no seller prompt, which the {rules.preset} preset ({law}) wants: "
                f"run `dialer campaign prompts {name} --seller \"Your company\"`")
    return await campaigns.set_state(conn, name, "running", actor=actor, now=now)
