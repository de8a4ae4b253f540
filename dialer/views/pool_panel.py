"""The pool panel of ``dialer watch``: a campaign group's shared operators and how their time is shared.

A pure function of the snapshot (like the pacing panel), so tests read exactly what the supervisor sees.
Realized shares are of the pool's handle time (talk + wrap-up) since the engine started the group; the
gap to the target is shown both in points and relative to the target, since a tolerance such as "within
5 %" is read either way.
"""

from __future__ import annotations

from dialer.views.picture import CampaignState, PoolState


def pool_lines(pool: PoolState, campaigns: tuple[CampaignState, ...]) -> list[str]:
    ledger = "group ledger" if pool.group_ledger else "sum of the campaigns"
    lines = [
        f"pool {pool.name} ({len(pool.members)} campaigns): {pool.logged_in} operators logged in — "
        f"free {pool.free}, busy {pool.busy}, paused {pool.paused}; {pool.reserved} kept free (reserved)",
        f"pool occupancy {pool.occupancy:.0%}   abandoned {pool.window_hours:g} h window: "
        f"{pool.abandons}/{pool.answers} = {pool.abandon_rate:.2%} ({ledger}, cap {pool.cap:.1%})"
        + ("  OVER CAP" if pool.abandon_rate > pool.cap else ""),
    ]
    realized = pool.realized_shares()
    by_id = {c.id: c for c in campaigns}
    width = max((len(m.name) for m in pool.members), default=0)
    for member in pool.members:
        line = f"  {member.name:<{width}}  target {member.target_share:.1%}"
        if member.id in realized:
            gap = realized[member.id] - member.target_share
            relative = gap / member.target_share if member.target_share else 0.0
            line += f"  realized {realized[member.id]:.1%} ({100 * gap:+.1f} pts, {relative:+.0%})"
        line += f"  placed {member.placed}"
        if (campaign := by_id.get(member.id)) is not None:
            ab = campaign.abandonment
            line += f"  abandoned {ab.abandons}/{ab.answers} = {ab.rate:.2%}"
        if not member.has_work:
            line += "  (nothing to dial: its share flows to the others)"
        lines.append(line)
    return lines
