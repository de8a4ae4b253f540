"""What a day on the floor must keep, whatever happened during it. Each check returns the violations it
found, each one with its evidence (attempt ids, virtual times in seconds since the day began), so a
failing test says which invariant broke and where to look."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tests.floor.record import DayRecord

ANSWER_MET_S = 2.0
TIMER_SLACK_S = 0.01      # virtual time: timers fire on time, the database takes no time
SHOWN = 8                 # violations listed per invariant


def _story(r: DayRecord, row: object) -> str:
    a = row  # an attempt record
    return (f"attempt {a['id']} lead {a['lead_id']}: state={a['state']} outcome={a['outcome']} "  # type: ignore[index]
            f"claimed={r.at(a['claimed_at'])} answered={r.at(a['answered_at'])} "  # type: ignore[index]
            f"connected={r.at(a['connected_at'])} ended={r.at(a['ended_at'])} "  # type: ignore[index]
            f"operator={a['operator_id']} disposition={a['disposition']}")  # type: ignore[index]


def no_lead_lost(r: DayRecord) -> list[str]:
    found = [f"lead {lead['id']} left {lead['state']} (claimed_by={lead['claimed_by']})"
             for lead in r.leads if lead["state"] not in ("ready", "done")]
    attempts = {a["id"]: a for a in r.attempts}
    found += [f"the PBX placed attempt-{attempt_id} but the store has no such attempt"
              for attempt_id in r.witness.channels if attempt_id not in attempts]
    for attempt_id, life in r.witness.channels.items():
        row = attempts.get(attempt_id)
        if row is not None and life.joined is not None and row["outcome"] != "connected":
            found.append(f"a conversation (joined an operator at {round(life.joined - r.t0, 3)}) recorded as "
                         f"{row['outcome']}: {_story(r, row)}")
    return found


def no_double_dial(r: DayRecord) -> list[str]:
    found = [f"attempt-{a} created twice on the PBX" for a in r.witness.created_twice]
    found += [f"number {n} had two calls up at once on the PBX" for n in r.witness.overlapping_numbers()]
    by_lead: dict[int, list[object]] = defaultdict(list)
    for a in r.attempts:
        by_lead[a["lead_id"]].append(a)
    for attempts in by_lead.values():
        attempts.sort(key=lambda a: a["claimed_at"])  # type: ignore[index]
        for i, first in enumerate(attempts):
            for later in attempts[i + 1:]:
                if first["ended_at"] is None or later["claimed_at"] < first["ended_at"]:  # type: ignore[index]
                    found.append(f"two attempts of one lead overlap: {_story(r, first)} | {_story(r, later)}")
            talked = first["connected_at"] is not None or first["outcome"] == "connected"  # type: ignore[index]
            code = r.codes.get(first["disposition"] or "")  # type: ignore[index]
            asked_again = code is not None and not code.final
            if talked and not asked_again and len(attempts) > i + 1:
                found.append(f"dialed again after talking to an operator with no callback asked: "
                             f"{_story(r, first)} | then {_story(r, attempts[i + 1])}")
    return found


def every_answer_met(r: DayRecord) -> list[str]:
    found = []
    for life in r.witness.channels.values():
        if life.answered is None:
            continue
        met = life.taken_care_of()
        if met is None or met - life.answered > ANSWER_MET_S + TIMER_SLACK_S:
            waited = "never" if met is None else f"after {met - life.answered:.3f} s"
            found.append(f"attempt {life.attempt_id} answered at {life.answered - r.t0:.3f}, met {waited} "
                         f"(operator {life.joined and round(life.joined - r.t0, 3)}, "
                         f"message {life.safe_harbor and round(life.safe_harbor - r.t0, 3)}, "
                         f"hung up {life.ended and round(life.ended - r.t0, 3)})")
    return found


def every_attempt_has_an_outcome(r: DayRecord) -> list[str]:
    found = [f"left open: {_story(r, a)}" for a in r.attempts
             if a["ended_at"] is None or a["outcome"] is None or a["state"] != "ended"]
    found += [f"connected with no operator: {_story(r, a)}" for a in r.attempts
              if (a["connected_at"] is not None or a["outcome"] == "connected") and a["operator_id"] is None]
    found += [f"attempt {e.attempt_id} put into {e.conference} with no operator's phone in it at {e.at - r.t0:.3f}"
              for e in r.witness.empty_joins]
    return found


def snapshot_always_fresh(r: DayRecord) -> list[str]:
    if r.samples == 0:
        return ["the snapshot was never sampled while an engine ran"]
    if not r.stale:
        return []
    return [f"{len(r.stale)} of {r.samples} samples older than 2 s; first at {r.stale[0][0]} s "
            f"(age {r.stale[0][1]} s), last at {r.stale[-1][0]} s (age {r.stale[-1][1]} s)"]


def no_unexpected_error(r: DayRecord) -> list[str]:
    return list(r.errors)


INVARIANTS: dict[str, Callable[[DayRecord], list[str]]] = {
    "0 leads lost": no_lead_lost,
    "0 double dials": no_double_dial,
    "every answer met within 2 s": every_answer_met,
    "every attempt has an outcome, every connected call an operator": every_attempt_has_an_outcome,
    "the views' snapshot never older than 2 s": snapshot_always_fresh,
    "no ERROR the test did not cause": no_unexpected_error,
    "what the scenario waited for came": lambda r: list(r.expectations),
}


def broken(r: DayRecord) -> str:
    """Every invariant that broke, with its evidence; empty when the day was clean."""
    parts = []
    for name, check in INVARIANTS.items():
        found = check(r)
        if found:
            shown = "\n    ".join(found[:SHOWN])
            more = f"\n    … and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            parts.append(f"BROKEN: {name} ({len(found)}):\n    {shown}{more}")
    return "\n".join(parts)


def summary(r: DayRecord) -> str:
    outcomes: dict[str, int] = defaultdict(int)
    for a in r.attempts:
        outcomes[str(a["outcome"])] += 1
    faults = "; ".join(f"{t:.0f} s {what}" for t, what in r.faults)
    consoles = "; ".join(f"{c.name}: {len(c.saved)} codes, said {c.messages[-3:]}" for c in r.consoles.values())
    return (f"day: {r.virtual_s / 3600:.2f} virtual h in {r.wall_s:.1f} s real; {len(r.attempts)} attempts "
            f"{dict(outcomes)}; snapshot samples {r.samples}\n  faults: {faults or 'none'}\n  consoles: {consoles}"
            f"\n  excused errors: {len(r.excused)}")
