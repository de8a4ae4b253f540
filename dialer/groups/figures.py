"""The campaign groups' part of the engine's picture: what ``dialer watch`` shows per pool.

Per pool: its operators (free, busy, paused, the reserve), their mean occupancy, abandonment over the
pool (the group ledger when the group keeps one, else the sum of the members' ledgers), and per member the
target share, the realized share of the pool's handle time (talk + wrap-up since the engine started the
group) and the calls placed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dialer.floor import BUSY_STATES, OperatorState

if TYPE_CHECKING:
    from dialer.engine import Engine


def group_docs(engine: Engine, loop_now: float) -> list[dict[str, Any]]:
    docs = []
    for group_runner in engine.groups.runners.values():
        group = group_runner.group
        members = set(group_runner.members)
        db = [o for o in engine.floor.operators.values() if not o.campaigns.isdisjoint(members)]
        logged_in = [o for o in db if o.state not in (OperatorState.OFFLINE, OperatorState.LOGGING_IN)]
        if group_runner.ledger is not None:
            answers, abandons = group_runner.ledger.counts(loop_now)
        else:
            counts = [runner.ledger.counts(loop_now) for runner in group_runner.members.values()]
            answers, abandons = sum(a for a, _ in counts), sum(b for _, b in counts)
        settings = [runner.settings for runner in group_runner.members.values()]
        handle = group_runner.handle_s(loop_now)
        targets = group.target_shares()
        docs.append({
            "id": group.id, "name": group.name, "reserved": group.reserved, "group_ledger": group.group_ledger,
            "operators": {
                "logged_in": len(logged_in),
                "free": sum(o.state is OperatorState.READY for o in db),
                "busy": sum(o.state in BUSY_STATES for o in db),
                "paused": sum(o.state is OperatorState.PAUSED for o in db),
            },
            "occupancy": sum(o.occupancy(loop_now) for o in logged_in) / len(logged_in) if logged_in else 0.0,
            "abandonment": {
                "answers": answers, "abandons": abandons, "rate": abandons / answers if answers else 0.0,
                "cap": min((s.abandon_cap for s in settings), default=0.03),
                "window_hours": max((s.window_hours for s in settings), default=24.0),
            },
            "members": [{
                "id": campaign_id, "name": runner.campaign.name,
                "share": (member.share if (member := group.member(campaign_id)) else 1.0),
                "target_share": targets.get(campaign_id, 0.0), "priority": member.priority if member else 0,
                "handle_s": handle.get(campaign_id, 0.0), "placed": group_runner.placed.get(campaign_id, 0),
                "has_work": runner.has_work(loop_now),
            } for campaign_id, runner in group_runner.members.items()],
        })
    return docs
