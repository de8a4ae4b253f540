"""`dialer campaign prompts` and `dialer campaign start` as a campaign manager runs them: the seller prompt the
safe-harbor message plays (config/asterisk/extensions.conf, dialer-safeharbor), made with espeak-ng or from a
recording, kept where Asterisk finds it, recorded in the store and the audit trail; and a campaign under a
preset that wants the seller named does not start without it."""

from __future__ import annotations

import asyncio
import json
import shutil
import wave
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from compliance import store as compliance_store
from compliance.rules import CampaignRules
from tests.lists.conftest import make_campaign

pytestmark = pytest.mark.db

HAS_ESPEAK = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def runner_for(store_schema: tuple[str, str], sounds: Path, **extra: str):
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "200",
           "DIALER_SOUNDS_DIR": str(sounds), **extra}
    runner = CliRunner()

    async def run(*args: str) -> tuple[int, str]:
        # the CLI runs its own event loop: keep it off this test's loop
        result = await asyncio.to_thread(runner.invoke, cli.app, list(args), env=env)
        return result.exit_code, result.output

    return run


def write_wav(path: Path, *, rate: int = 8000, channels: int = 1, seconds: float = 0.5) -> Path:
    """A tone the test writes itself: what a recorded prompt looks like to the command."""
    frames = int(rate * seconds)
    sample = (1000).to_bytes(2, "little", signed=True) + (-1000).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(sample * (frames * channels // 2))
    return path


def plays_in_asterisk(path: Path) -> float:
    """What format_wav reads: RIFF/WAVE PCM, mono, 8000 Hz, 16-bit. Returns the seconds of sound."""
    assert path.read_bytes()[:4] == b"RIFF"
    with wave.open(str(path), "rb") as w:
        assert (w.getcomptype(), w.getnchannels(), w.getframerate(), w.getsampwidth()) == ("NONE", 1, 8000, 2)
        return w.getnframes() / 8000


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


async def audit_settings(db: asyncpg.Pool, campaign_id: int) -> list[str]:
    return [r["setting"] for r in await db.fetch(
        "SELECT setting FROM audit WHERE campaign_id = $1 ORDER BY id", campaign_id)]


async def test_a_recorded_wav_becomes_the_campaigns_seller_prompt_in_its_language_folder(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
    sounds = tmp_path / "sounds"
    run = runner_for(store_schema, sounds)
    recording = write_wav(tmp_path / "romashka.wav", seconds=1.5)

    code, output = await run("campaign", "prompts", "spring", "--seller", "Ромашка", "--language", "ru",
                             "--wav", str(recording))

    assert code == 0, output
    made = sounds / "ru" / "dialer" / f"seller-{campaign_id}.wav"
    assert plays_in_asterisk(made) == pytest.approx(1.5)
    row = await db.fetchrow("SELECT language, seller_prompt FROM campaign WHERE id = $1", campaign_id)
    assert row["language"] == "ru"
    prompt = json.loads(row["seller_prompt"])
    assert prompt["seller"] == "Ромашка" and prompt["source"] == "romashka.wav"
    assert {"seller_prompt", "language"} <= set(await audit_settings(db, campaign_id))


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
async def test_a_cd_quality_stereo_recording_is_converted_to_8khz_mono(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
    sounds = tmp_path / "sounds"
    recording = write_wav(tmp_path / "studio.wav", rate=44100, channels=2, seconds=1.0)

    code, output = await runner_for(store_schema, sounds)(
        "campaign", "prompts", "spring", "--seller", "Acme", "--wav", str(recording))

    assert code == 0, output
    assert plays_in_asterisk(sounds / "en" / "dialer" / f"seller-{campaign_id}.wav") == pytest.approx(1.0, abs=0.01)


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng and sox are not installed")
@pytest.mark.parametrize("language", ["en", "ru"])
async def test_espeak_speaks_the_seller_prompt(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path, language: str) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
    sounds = tmp_path / "sounds"

    code, output = await runner_for(store_schema, sounds)(
        "campaign", "prompts", "spring", "--seller", "Ромашка", "--language", language)

    assert code == 0, output
    # the seller's name and the way to call back: seconds of speech, not a click
    assert plays_in_asterisk(sounds / language / "dialer" / f"seller-{campaign_id}.wav") > 3.0
    prompt = json.loads(await db.fetchval("SELECT seller_prompt FROM campaign WHERE id = $1", campaign_id))
    assert prompt["source"] == "espeak-ng"


async def test_bad_input_gets_one_line_that_says_what_to_do(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
    sounds = tmp_path / "sounds"
    run = runner_for(store_schema, sounds)
    text = tmp_path / "notes.wav"
    text.write_text("this is not a recording\n")
    recording = write_wav(tmp_path / "ok.wav")

    code, output = await run("campaign", "prompts", "spring", "--seller", "Acme", "--wav", str(text))
    assert code == 2 and "notes.wav is not a WAV file" in one_line(output)
    damaged = tmp_path / "cut.wav"
    damaged.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")      # a WAV cut short in its first chunk
    code, output = await run("campaign", "prompts", "spring", "--seller", "Acme", "--wav", str(damaged))
    assert code == 2 and "cut.wav" in one_line(output)
    code, output = await run("campaign", "prompts", "spring", "--seller", "Acme", "--wav", str(tmp_path / "no.wav"))
    assert code == 2 and "no.wav" in one_line(output)
    code, output = await run("campaign", "prompts", "autumn", "--seller", "Acme", "--wav", str(recording))
    assert code == 2 and "no campaign named 'autumn'" in one_line(output)
    code, output = await run("campaign", "prompts", "spring", "--seller", "Acme", "--language", "fr",
                             "--wav", str(recording))
    assert code == 2 and "language 'fr'" in one_line(output) and "en, ru" in output
    code, output = await run("campaign", "prompts", "spring", "--seller", "  ", "--wav", str(recording))
    assert code == 2 and "--seller" in one_line(output)

    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    code, output = await runner_for(store_schema, sounds, PATH=str(no_tools))(
        "campaign", "prompts", "spring", "--seller", "Acme")
    assert code == 2 and "espeak-ng" in one_line(output) and "--wav" in output

    not_a_directory = tmp_path / "sounds.txt"
    not_a_directory.write_text("")
    code, output = await runner_for(store_schema, not_a_directory)(
        "campaign", "prompts", "spring", "--seller", "Acme", "--wav", str(recording))
    assert code == 2 and "cannot write" in one_line(output) and "DIALER_SOUNDS_DIR" in output

    assert not sounds.exists()
    assert await db.fetchval("SELECT seller_prompt FROM campaign WHERE id = $1", campaign_id) is None


def test_the_presets_that_name_the_seller() -> None:
    from compliance.presets import seller_prompt_law

    # US 16 CFR 310.4(b)(4)(iii), UK Ofcom's abandoned-call message, RU 230-FZ: the caller says who calls
    assert seller_prompt_law("US") and seller_prompt_law("UK") and seller_prompt_law("RU")
    assert not seller_prompt_law(None) and not seller_prompt_law("none")


@pytest.mark.parametrize("preset", ["US", "UK", "RU"])
async def test_start_refuses_a_campaign_without_its_seller_prompt_under_a_preset_that_wants_one(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path, preset: str) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
        await compliance_store.set_campaign_rules(conn, campaign_id, CampaignRules(preset=preset))
    run = runner_for(store_schema, tmp_path / "sounds")

    code, output = await run("campaign", "start", "spring")
    line = one_line(output)
    assert code == 2 and "seller prompt" in line and "dialer campaign prompts spring --seller" in line
    assert await db.fetchval("SELECT state FROM campaign WHERE id = $1", campaign_id) == "paused"

    code, output = await run("campaign", "prompts", "spring", "--seller", "Acme",
                             "--wav", str(write_wav(tmp_path / "acme.wav")))
    assert code == 0, output
    code, output = await run("campaign", "start", "spring")
    assert code == 0, output
    assert await db.fetchval("SELECT state FROM campaign WHERE id = $1", campaign_id) == "running"


async def test_start_without_a_preset_warns_but_starts(
        db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
    code, output = await runner_for(store_schema, tmp_path / "sounds")("campaign", "start", "spring")
    assert code == 0, output
    assert "no seller prompt" in output and "is running" in output
    assert await db.fetchval("SELECT state FROM campaign WHERE id = $1", campaign_id) == "running"
