"""What if: ``dialer simulate`` (a day of these settings against a simulated world) and ``dialer staffing``
(operators needed), both over ``dialer/sim/whatif.py``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from cli.store import console, fail
from pacing.modes import MODES
from pacing.pacers import BASELINES
from pacing.policies import OPTIMIZE
from pacing.world import TALK_DISTRIBUTIONS

if TYPE_CHECKING:
    from dialer.sim.whatif import CampaignRecord, GroupReport, SimulationReport


def simulate_cmd(
    agents: int = typer.Option(..., "--agents", min=1, help="Operators logged in (with --group: the pool)"),
    answer_rate: float = typer.Option(0.3, "--answer-rate", help="Share of dials a person answers (0-1)"),
    talk: float | None = typer.Option(None, "--talk", help="Mean talk time, seconds (needed unless --from-campaign)"),
    talk_dist: Literal[TALK_DISTRIBUTIONS] | None = typer.Option(None, "--talk-dist",  # type: ignore[valid-type]
                                                                 help="Law of talk times (default lognormal)"),
    wrap: float = typer.Option(10.0, "--wrap", help="Wrap-up after each call, seconds"),
    hours: float = typer.Option(8.0, "--hours", help="Length of the day (virtual time)"),
    mode: Literal[MODES] = typer.Option("predictive", "--mode", help="The dial mode"),
    target_abandon: float = typer.Option(0.025, "--target-abandon", help="Abandonment setpoint (cap 3 %)"),
    optimize: Literal[OPTIMIZE] = typer.Option("abandon", "--optimize",
                                 help="What predictive aims at"),
    target: float | None = typer.Option(None, "--target", help="Its value: abandonment rate, mean operator wait "
                                                               "between calls (s), or busy factor (0-1)"),
    group: str | None = typer.Option(None, "--group", help='A campaign group on one pool, e.g. '
                                     '"A:share=70,answer=0.2;B:share=30,answer=0.35" (keys: share, answer, talk, '
                                     'wrap, priority, work=FROM-TO hours)'),
    reserved: int = typer.Option(0, "--reserved", min=0, help="With --group: operators kept free (not dialed for)"),
    group_ledger: bool = typer.Option(False, "--group-ledger", help="With --group: one abandonment ledger for "
                                                                   "the pool (regimes counting per call centre)"),
    seed: int = typer.Option(1, "--seed", help="Same seed, same day"),
    preset: str | None = typer.Option(None, "--preset", help="Compliance preset whose legal limits bind the "
                                                             "settings: US, UK or RU (none: the dialer's own)"),
    profile: str | None = typer.Option(None, "--profile", help='Answer rate by hour of the day, e.g. '
                                       '"0:0.35,2:0.1,5:0.35" (one category: the dialer is not told)'),
    strategy: Path | None = typer.Option(None, "--strategy", help="The campaign's strategy file (JSON: windows, "
                                         "otherwise, answer_rates per category)"),
    start: str = typer.Option("09:00", "--start", help="The callees' clock when the day starts (for --strategy)"),
    window: str | None = typer.Option(None, "--window", help="The legal window: 24h or 30d (default: the "
                                      "preset's; none: 30d)"),
    before: str | None = typer.Option(None, "--before", help="Earlier days still in the window: ANSWERS:ABANDONS, "
                                      "or 'simulate' (default: a clean window)"),
    from_campaign: str | None = typer.Option(None, "--from-campaign", help="Answer rates, talk and wrap-up "
                                             "measured from this campaign's stored attempts, and its strategy"),
    pacer: Literal[BASELINES] | None = typer.Option(None, "--pacer", help="A benchmark baseline instead "  # type: ignore[valid-type]
                                                    "of --mode"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
) -> None:
    """What would these settings do? A day of the campaign (or of a campaign group) against a simulated world,
    in seconds."""
    import json
    from dataclasses import asdict

    from dialer.sim.whatif import WhatIf, simulate_campaign, simulate_group_campaigns

    if talk is None and from_campaign is None:
        raise fail("give --talk (mean talk time, seconds) or --from-campaign NAME (measured from its attempts)")
    if talk is not None and from_campaign is not None:
        raise fail("--talk and --from-campaign: the campaign's attempts measure the talk time; give one")
    one_campaign = {"--profile": profile, "--strategy": strategy, "--window": window, "--before": before,
                    "--from-campaign": from_campaign, "--pacer": pacer, "--talk-dist": talk_dist}
    given = [name for name, value in one_campaign.items() if value is not None]
    if group is not None and given:
        raise fail(f"{', '.join(given)}: for one campaign's day, not with --group")
    refused = _refusal(answer_rate=answer_rate, talk=talk, wrap=wrap, hours=hours, optimize=optimize, target=target,
                       group=group, reserved=reserved, group_ledger=group_ledger)
    if refused:
        raise fail(refused)
    question = WhatIf(agents, answer_rate, talk or 0.0, wrap, hours, mode, target_abandon, seed, optimize, target,
                      preset, talk_dist, profile, strategy, start, window, before, pacer)
    record = _campaign_record(from_campaign) if from_campaign is not None else None
    try:
        if group is not None:
            pool_report = simulate_group_campaigns(question, group, reserved, group_ledger)
        else:
            report = simulate_campaign(question, record)
    except ValueError as exc:
        raise fail(str(exc)) from None
    aim = "" if optimize == "abandon" and target is None else f", optimizing {optimize} = {target:g}"
    if group is not None:
        if as_json:
            console.print_json(json.dumps(asdict(pool_report)))
            return
        _print_group(pool_report, f"{mode}{aim}, pool of {agents} operators ({reserved} reserved), {hours:g} h, "
                                  f"seed {seed}")
        return
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    rates = f"answer rate by hour {profile}" if profile else f"strategy {strategy}" if strategy else \
        f"answer rate {answer_rate:g}"
    world = f"{rates}, talk {talk:g} s ({talk_dist or 'lognormal'}), wrap {wrap:g} s" if record is None else \
        f"world measured from campaign {record.name}" + (f", strategy {strategy}" if strategy else "")
    console.print(f"{pacer or mode}{aim}, {agents} operators, {hours:g} h, {world} (seed {seed})")
    _print_day(report, window=before is not None)


def _campaign_record(name: str) -> CampaignRecord:
    from cli.store import with_db
    from dialer.sim.whatif import CampaignRecord
    from lists import campaigns
    from lists.attempt_samples import attempt_samples

    async def read(db):  # type: ignore[no-untyped-def]
        campaign = await campaigns.get(db, name)
        return CampaignRecord(name, await attempt_samples(db, campaign.id), campaign.strategy)

    return with_db(read, expected=(campaigns.CampaignNotFound,))


def _print_day(report: SimulationReport, window: bool) -> None:
    console.print(f"  occupancy                      {100 * report.occupancy:6.1f} %")
    console.print(f"  talk minutes per operator-hour {report.talk_minutes_per_operator_hour:6.1f}")
    console.print(f"  abandonment (day / worst hour) {100 * report.abandon_rate:6.2f} % / "
                  f"{100 * report.worst_hour_abandon_rate:.2f} %")
    console.print(f"  operator wait between calls    {report.mean_wait_s:6.1f} s mean, {report.p95_wait_s:.1f} s p95")
    console.print(f"  calls placed per answer        {report.dials_per_answer:6.2f}  "
                  f"({report.dials} dials, {report.answers} answers, {report.abandons} abandoned)")
    if window:
        console.print(f"  legal window at the day's end  {100 * report.window_abandon_rate:6.2f} %  (earlier days "
                      f"included; its worst minute {100 * report.worst_window_abandon_rate:.2f} %)")
    worst = max(report.quarters, key=lambda q: q.abandons / max(q.answers, 1), default=None)
    if worst is not None and worst.abandons:
        console.print(f"  worst quarter of an hour       {100 * worst.abandons / max(worst.answers, 1):6.2f} %  "
                      f"(from {worst.start_s / 3600:g} h: {worst.abandons} of {worst.answers} answers)")


def _refusal(*, answer_rate: float, talk: float | None, wrap: float, hours: float, optimize: str, target: float | None,
             group: str | None, reserved: int, group_ledger: bool) -> str | None:
    """What is wrong with the options, named as the person typed them: the simulator's own checks name its
    fields (``talk_mean_s``), which the command line does not show."""
    if not 0 <= answer_rate <= 1:
        return f"--answer-rate {answer_rate:g} must be between 0 and 1"
    if talk is not None and talk <= 0:
        return f"--talk {talk:g} must be above 0 seconds"
    if wrap < 0:
        return f"--wrap {wrap:g} must be 0 seconds or more"
    if hours <= 0:
        return f"--hours {hours:g} must be above 0"
    if optimize != "abandon" and target is None:
        return (f"--optimize {optimize} needs --target: the mean operator wait between calls in seconds (wait), "
                "or the busy factor between 0 and 1 (busy)")
    if group is None and (reserved or group_ledger):
        return "--reserved and --group-ledger are for a campaign group: give --group too"
    return None


def _print_group(report: GroupReport, title: str) -> None:
    console.print(title)
    console.print(f"  pool: occupancy {100 * report.occupancy:.1f} %, operator wait {report.mean_wait_s:.1f} s mean "
                  f"({report.p95_wait_s:.1f} s p95), abandonment {100 * report.abandon_rate:.2f} %")
    console.print(f"  {'campaign':<12} {'share':>7} {'target':>7} {'dials':>7} {'answers':>8} {'abandoned':>10}")
    for c in report.campaigns:
        console.print(f"  {c.name:<12} {100 * c.share:6.1f}% {100 * c.target_share:6.1f}% {c.dials:>7} "
                      f"{c.answers:>8} {100 * c.abandon_rate:9.2f}%")


def staffing_cmd(
    handle: float = typer.Option(..., "--handle", help="Mean handle time (talk + wrap-up), seconds"),
    calls_per_hour: float | None = typer.Option(None, "--calls-per-hour", help="Answered calls to serve per hour"),
    service_level: float = typer.Option(0.8, "--service-level", help="Share answered within --threshold"),
    threshold: float = typer.Option(20.0, "--threshold", help="Service-level threshold, seconds"),
    leads: int | None = typer.Option(None, "--leads", help="Leads to finish (instead of --calls-per-hour)"),
    hours: float = typer.Option(8.0, "--hours", help="Hours until the deadline (with --leads)"),
    answer_rate: float = typer.Option(0.3, "--answer-rate", help="Share of dials answered (with --leads)"),
    attempts: float = typer.Option(1.0, "--attempts", help="Dials per lead on average (with --leads)"),
    occupancy: float = typer.Option(0.85, "--occupancy", help="Occupancy the dial mode sustains (with --leads)"),
) -> None:
    """Operators needed: per hour for a service level (Erlang C), or to finish a list by a deadline."""
    from dialer.sim.whatif import staff_for_list, staff_for_service_level
    from pacing.erlang import ErlangInputError

    if not handle > 0:   # said by its option's name (the Erlang formula would say "interval and handle time")
        raise fail(f"--handle must be a positive number of seconds (talk + wrap-up), got {handle:g}")
    if calls_per_hour is None and leads is None:
        raise fail("give --calls-per-hour (operators for a service level) or --leads (operators to finish a list)")
    if calls_per_hour is not None and leads is not None:
        raise fail("give either --calls-per-hour (service level) or --leads (finish a list), not both")
    try:
        if calls_per_hour is not None:
            m = staff_for_service_level(calls_per_hour, handle, service_level, threshold)
            console.print(f"{m.operators} operators: service level {100 * m.service_level:.1f} % within "
                          f"{threshold:g} s, P(wait) {100 * m.p_wait:.1f} %, ASA {m.asa_s:.1f} s, "
                          f"occupancy {100 * m.occupancy:.1f} % ({m.load:.1f} Erlangs)")
        else:
            assert leads is not None
            plan = staff_for_list(leads, hours, answer_rate, handle, attempts, occupancy)
            console.print(f"{plan.operators} operators: {plan.dials} dials, {plan.answers:.0f} answers, "
                          f"{plan.work_hours:.1f} operator-hours of handle time at {100 * occupancy:.0f} % occupancy "
                          f"within {hours:g} h")
    except ErlangInputError as exc:
        raise fail(str(exc)) from None
