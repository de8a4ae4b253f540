"""``dialer report CAMPAIGN --by operator|hour|disposition|list``: the figures a manager judges a campaign
and each operator by.

Definitions (so two reports can be compared):
* answers: attempts a person answered; connects: answers that reached an operator; abandons: answers
  dropped or sent to the safe-harbor message (the legal rate is abandons / answers).
* talk: connected → ended of each attempt. wrap-up and idle (ready) time come from operator_session rows;
  occupancy = (on call + wrap-up) / (on call + wrap-up + ready) of those sessions. Operator time is not per
  campaign (an operator can work several), so it is shown where it can be attributed: by operator, by hour
  and in the total; grouped by disposition or list it is blank.
* conversions: attempts whose disposition is a final success (the codes marked so in the catalogue, else
  ``sale`` or the codes given with --conversion).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from lists import campaigns, report_figures

GROUPINGS = report_figures.GROUPINGS


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class ReportRow:
    key: str
    attempts: int
    answers: int
    connects: int
    abandons: int
    talk_s: float
    wrap_s: float | None
    idle_s: float | None
    occupancy: float | None
    conversions: int
    rating: float | None
    ratings: int

    @property
    def abandon_rate(self) -> float:
        return self.abandons / self.answers if self.answers else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.connects if self.connects else 0.0


@dataclass(frozen=True)
class Report:
    campaign: str
    by: str
    since: datetime | None
    until: datetime
    conversion_codes: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    total: ReportRow


def _row(figures: Mapping[str, Any], times: dict[str, float] | None) -> ReportRow:
    wrap = idle = occupancy = None
    if times is not None:
        on_call, wrap, idle = times.get("on_call", 0.0), times.get("wrap_up", 0.0), times.get("ready", 0.0)
        worked = on_call + wrap + idle
        occupancy = (on_call + wrap) / worked if worked else None
    return ReportRow(
        key=str(figures["key"]), attempts=int(figures["attempts"]), answers=int(figures["answers"]),
        connects=int(figures["connects"]), abandons=int(figures["abandons"]),
        talk_s=float(figures["talk_s"]), wrap_s=wrap, idle_s=idle, occupancy=occupancy,
        conversions=int(figures["conversions"]),
        rating=None if figures["rating"] is None else float(figures["rating"]),
        ratings=int(figures["ratings"]),
    )


def local_period(since: datetime | None, until: datetime, zone: ZoneInfo) -> tuple[datetime | None, datetime]:
    """The period asked for; times without a zone (typed by a manager) are in ``zone``."""
    until = until if until.tzinfo else until.replace(tzinfo=zone)
    since = since if since is None or since.tzinfo else since.replace(tzinfo=zone)
    if since is not None and since >= until:
        raise ReportError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    return since, until


_EMPTY = {"attempts": 0, "answers": 0, "connects": 0, "abandons": 0, "talk_s": 0.0, "conversions": 0,
          "rating": None, "ratings": 0}


async def make_report(db: asyncpg.Pool, campaign_name: str, *, by: str, until: datetime,
                      since: datetime | None = None, conversions: tuple[str, ...] = ("sale",)) -> Report:
    """Times without a zone (typed by a manager) are in the campaign's time zone."""
    if by not in GROUPINGS:
        raise ReportError(f"--by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    campaign = await campaigns.get(db, campaign_name)
    since, until = local_period(since, until, ZoneInfo(campaign.timezone))
    async with report_figures.consistent_read(db) as conn:   # the groups and the total agree
        codes = tuple(await report_figures.conversion_codes(conn, campaign.id, conversions))
        grouped = await report_figures.attempt_figures(conn, campaign_id=campaign.id, by=by, since=since, until=until,
                                                    conversions=codes)
        totals = await report_figures.attempt_figures(conn, campaign_id=campaign.id, by="", since=since, until=until,
                                                   conversions=codes)
        total = totals[0] if totals else {"key": "total", **_EMPTY}   # no attempt in the period: no group
        times: dict[str, dict[str, float]] = {}
        if by in ("operator", "hour"):
            times = await report_figures.session_figures(conn, campaign_id=campaign.id, by=by, since=since, until=until)
        total_times = (await report_figures.session_figures(conn, campaign_id=campaign.id, by="", since=since,
                                                         until=until)).get("total", {})
    keys = {f["key"]: f for f in grouped}
    if by in ("operator", "hour"):   # an operator who worked but took no call is a row too
        for key in times:
            keys.setdefault(key, {"key": key, **_EMPTY})
    rows = tuple(_row(keys[k], times.get(k)) for k in sorted(keys))
    return Report(campaign=campaign.name, by=by, since=since, until=until, conversion_codes=codes, rows=rows,
                  total=_row(total, total_times))


# ---- output -------------------------------------------------------------------------------------


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


# Short headers, no vertical rules: the whole table fits 120 columns without cutting a header or the hour.
_HEADERS = ("dials", "answered", "connected", "abandoned", "aband.%", "talk", "wrap", "idle", "occup.",
            "conv.", "conv.%", "rating")
_CALLS = 5     # the first headers are the calls, the rest time and conversions: the halves of a narrow report


def as_table(report: Report, headers: tuple[str, ...] = _HEADERS, *, titled: bool = True,
             captioned: bool = True) -> Table:
    period = f"{report.since:%Y-%m-%d %H:%M %Z} – " if report.since else "until "
    table = Table(title=f"{report.campaign} by {report.by} ({period}{report.until:%Y-%m-%d %H:%M %Z})"
                  if titled else None,
                  caption=f"conversions: {', '.join(report.conversion_codes)}; talk, wrap and idle in minutes"
                  if captioned else None,
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column(report.by, justify="left", no_wrap=True)
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for row in (*report.rows, report.total):
        cells = dict(zip(_HEADERS, (
            str(row.attempts), str(row.answers), str(row.connects), str(row.abandons),
            _share(row.abandon_rate), _minutes(row.talk_s), _minutes(row.wrap_s), _minutes(row.idle_s),
            _share(row.occupancy), str(row.conversions), _share(row.conversion_rate),
            "—" if row.rating is None else f"{row.rating:.2f} ({row.ratings})"), strict=True))
        table.add_row(row.key, *(cells[h] for h in headers),
                      end_section=row is report.rows[-1] if report.rows else False)
    return table


def as_tables(report: Report, width: int) -> list[Table]:
    """The report as one table, or as two (calls; time and conversions) when one does not fit ``width``
    columns: rich drops the last columns of a table too wide for the terminal, and 80 columns is both a
    plain terminal and what rich assumes when the output goes to a pipe or a file."""
    whole = as_table(report)
    if natural_width(whole) <= width:
        return [whole]
    return [as_table(report, _HEADERS[:_CALLS], captioned=False),
            as_table(report, _HEADERS[_CALLS:], titled=False)]


def natural_width(table: Table) -> int:
    """The columns a table takes when nothing is cut or folded."""
    return Measurement.get(_MEASURE, _MEASURE.options, table).maximum


_MEASURE = Console(width=1000)


def write_csv(report: Report, path: Path) -> None:
    """Raw figures (seconds, fractions) for spreadsheets; the total is the last row."""
    names = [f.name for f in fields(ReportRow)]
    names[0] = report.by
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in (*report.rows, report.total):
            writer.writerow(["" if v is None else (round(v, 3) if isinstance(v, float) else v) for v in astuple(row)])
