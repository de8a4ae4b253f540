"""What a campaign's stored attempts say about its callees and operators, for ``dialer simulate --from-campaign``.

A what-if is only as good as the world it runs against; a campaign that has dialed already has measured its
own: the share of dials a person answered, per lead category (a callback is not a cold call), how long the
conversations lasted, and how long the operators spent in wrap-up after them. Raw samples come back; fitting
a law to them is pacing's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class AttemptSamples:
    dials: dict[str, int]          # per lead category: attempts that reached the network
    answers: dict[str, int]        # per lead category: answered by a person (not a machine)
    talk_s: tuple[float, ...]      # connected → ended, of the conversations that ended
    wrap_s: tuple[float, ...]      # the wrap-ups of the campaign's operators

    @property
    def total_dials(self) -> int:
        return sum(self.dials.values())


async def attempt_samples(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> AttemptSamples:
    rows = await conn.fetch(
        """SELECT coalesce(a.category, l.category, '') AS category,   -- rows from before the column: the lead's
                  count(*) AS dials,
                  count(*) FILTER (WHERE a.answered_at IS NOT NULL AND a.outcome IS DISTINCT FROM 'machine')
                      AS answers
           FROM attempt a JOIN lead l ON l.id = a.lead_id
           WHERE a.campaign_id = $1 AND a.ended_at IS NOT NULL AND a.outcome IS DISTINCT FROM 'not_dialed'
           GROUP BY 1""", campaign_id)
    talk = await conn.fetch(
        """SELECT extract(epoch FROM ended_at - connected_at)::float8 AS s FROM attempt
           WHERE campaign_id = $1 AND connected_at IS NOT NULL AND ended_at > connected_at""", campaign_id)
    # Wrap-up is an operator state, not a column of the attempt: the wrap-ups of the operators who took
    # this campaign's calls (an operator working two campaigns lends both the same habit).
    wrap = await conn.fetch(
        """SELECT extract(epoch FROM s.ended_at - s.started_at)::float8 AS s FROM operator_session s
           WHERE s.state = 'wrap_up' AND s.ended_at IS NOT NULL
             AND s.operator_id IN (SELECT operator_id FROM attempt
                                   WHERE campaign_id = $1 AND operator_id IS NOT NULL)""", campaign_id)
    return AttemptSamples({r["category"]: r["dials"] for r in rows}, {r["category"]: r["answers"] for r in rows},
                          tuple(r["s"] for r in talk), tuple(r["s"] for r in wrap))
