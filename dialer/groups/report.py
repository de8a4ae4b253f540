"""``dialer report group NAME``: a campaign group per campaign and per pool.

Per member: its target share, its realized share of the pool's handle time (talk + wrap-up of its calls,
see ``lists.group_report_figures`` for how a wrap-up is attributed), and the campaign report's totals
(attempts, answers, connects, abandons, conversions). The pool row adds them up and gives the pool's
occupancy, (on call + wrap-up) / (on call + wrap-up + ready) of the pool's operators, each counted once.
Times without a zone are in the first member's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from rich.table import Table

from dialer.reports import local_period
from lists import campaigns, group_report_figures, groups, report_figures


@dataclass(frozen=True)
class MemberRow:
    name: str
    target_share: float | None      # None on the pool row
    handle_s: float
    attempts: int
    answers: int
    connects: int
    abandons: int
    talk_s: float
    wrap_s: float
    conversions: int

    @property
    def abandon_rate(self) -> float:
        return self.abandons / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class GroupReport:
    group: str
    since: datetime | None
    until: datetime
    members: tuple[MemberRow, ...]
    pool: MemberRow
    occupancy: float | None
    idle_s: float

    def realized_share(self, row: MemberRow) -> float | None:
        return row.handle_s / self.pool.handle_s if self.pool.handle_s else None


async def make_group_report(db: asyncpg.Pool, name: str, *, until: datetime,
                            since: datetime | None = None) -> GroupReport:
    group = await groups.get_group(db, name)
    if not group.members:
        raise groups.GroupError(f"group {name!r} has no campaigns yet (`dialer group add {name} CAMPAIGN`)")
    zone = ZoneInfo((await campaigns.get_by_id(db, group.members[0].campaign_id)).timezone)
    since, until = local_period(since, until, zone)
    ids = [m.campaign_id for m in group.members]
    targets = group.target_shares()
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        wraps = await group_report_figures.wrap_s_by_campaign(conn, ids, since=since, until=until)
        seconds = await group_report_figures.pool_seconds(conn, ids, since=since, until=until)
        rows = []
        for member in group.members:
            codes = await report_figures.conversion_codes(conn, member.campaign_id, ("sale",))
            found = await report_figures.attempt_figures(conn, campaign_id=member.campaign_id, by="", since=since,
                                                      until=until, conversions=codes)
            f = found[0] if found else {}
            talk, wrap = float(f.get("talk_s", 0.0)), wraps.get(member.campaign_id, 0.0)
            rows.append(MemberRow(member.name, targets[member.campaign_id], talk + wrap, int(f.get("attempts", 0)),
                                  int(f.get("answers", 0)), int(f.get("connects", 0)), int(f.get("abandons", 0)),
                                  talk, wrap, int(f.get("conversions", 0))))
    total = MemberRow("pool", None, *(sum(getattr(r, k) for r in rows) for k in (
        "handle_s", "attempts", "answers", "connects", "abandons", "talk_s", "wrap_s", "conversions")))
    worked = seconds.get("on_call", 0.0) + seconds.get("wrap_up", 0.0)
    idle = seconds.get("ready", 0.0)
    return GroupReport(group.name, since, until, tuple(rows), total,
                       worked / (worked + idle) if worked + idle else None, idle)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def as_table(report: GroupReport) -> Table:
    period = f"{report.since:%Y-%m-%d %H:%M %Z} – " if report.since else "until "
    table = Table(title=f"group {report.group} per campaign and pool ({period}{report.until:%Y-%m-%d %H:%M %Z})",
                  caption=f"handle = talk + wrap-up, in minutes; pool occupancy {_share(report.occupancy)}, "
                          f"idle {report.idle_s / 60:.1f} min")
    for header in ("campaign", "target share", "handle share", "gap (pts)", "handle", "attempts", "answers",
                   "connects", "abandons", "abandon %", "talk", "wrap-up", "conversions"):
        table.add_column(header, justify="left" if header == "campaign" else "right")
    for row in (*report.members, report.pool):
        realized = report.realized_share(row)
        gap = "—" if realized is None or row.target_share is None else f"{100 * (realized - row.target_share):+.1f}"
        table.add_row(row.name, _share(row.target_share), _share(realized), gap, f"{row.handle_s / 60:.1f}",
                      str(row.attempts), str(row.answers), str(row.connects), str(row.abandons),
                      _share(row.abandon_rate), f"{row.talk_s / 60:.1f}", f"{row.wrap_s / 60:.1f}",
                      str(row.conversions), end_section=row is report.members[-1])
    return table
