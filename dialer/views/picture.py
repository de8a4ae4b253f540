"""The engine's published state as typed values: the doc ``dialer/control.py`` writes into ``engine_picture``.

Views render these and nothing else of the engine. Parsing is lenient about keys a newer engine adds
and strict about the ones a view needs: a doc without them is refused with the key named, so a mismatch
between engine and views shows up as a clear message rather than as blank cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class PictureError(ValueError):
    """A picture doc that lacks what the views need; the message names the key."""


@dataclass(frozen=True)
class Abandonment:
    window_hours: float
    answers: int
    abandons: int
    rate: float
    cap: float
    last_hour_answers: int
    last_hour_abandons: int
    today_answers: int | None = None      # optional in the doc: shown when the engine publishes it
    today_abandons: int | None = None

    @property
    def last_hour_rate(self) -> float:
        return self.last_hour_abandons / self.last_hour_answers if self.last_hour_answers else 0.0

    @property
    def today_rate(self) -> float | None:
        if self.today_answers is None or self.today_abandons is None:
            return None
        return self.today_abandons / self.today_answers if self.today_answers else 0.0


@dataclass(frozen=True)
class CampaignState:
    id: int
    name: str
    mode: str
    effective_mode: str
    alpha: float | None
    settings: Mapping[str, Any]
    estimates: Mapping[str, float]
    calls: Mapping[str, int]
    abandonment: Abandonment
    totals: Mapping[str, int]
    engine: str = ""
    nothing_to_dial: bool = False     # the engine's last claim found no lead dialable now


@dataclass(frozen=True)
class OperatorRow:
    id: int
    name: str
    extension: str
    state: str
    since_s: float
    campaigns: tuple[int, ...]
    attempt_id: int | None
    lead_id: int | None
    calls: int
    talk_s: float
    occupancy: float
    pause_reason: str | None = None
    engine: str = ""
    phone_up: bool | None = None          # None: an engine that does not say
    logged_out_why: str | None = None     # why the engine logged the operator out
    wrap_up_ran_out: int | None = None    # the call whose wrap-up time ran out before a code (coded no_code)


@dataclass(frozen=True)
class PoolMember:
    id: int
    name: str
    share: float
    target_share: float      # of the group, before unused share flows on
    priority: int
    handle_s: float          # talk + wrap-up of its calls since the engine started the group
    placed: int
    has_work: bool = True


@dataclass(frozen=True)
class PoolState:
    """A campaign group: the operators its campaigns share, and how the pool's time went to each."""
    id: int
    name: str
    reserved: int
    group_ledger: bool
    logged_in: int
    free: int
    busy: int
    paused: int
    occupancy: float
    answers: int
    abandons: int
    cap: float
    window_hours: float
    members: tuple[PoolMember, ...]
    engine: str = ""

    @property
    def abandon_rate(self) -> float:
        return self.abandons / self.answers if self.answers else 0.0

    def realized_shares(self) -> dict[int, float]:
        """Each member's share of the pool's handle time so far (empty before any call was handled)."""
        total = sum(m.handle_s for m in self.members)
        return {m.id: m.handle_s / total for m in self.members} if total > 0 else {}


@dataclass(frozen=True)
class FloorPicture:
    """Everything the views show, merged over all engines' pictures."""
    campaigns: tuple[CampaignState, ...] = ()
    operators: tuple[OperatorRow, ...] = ()
    at: datetime | None = None
    engines: tuple[str, ...] = field(default=())
    pools: tuple[PoolState, ...] = ()
    pbx_down: tuple[str, ...] = ()      # Asterisk servers an engine has lost its AMI link to
    engines_at: tuple[tuple[str, datetime], ...] = ()   # when each engine wrote its picture
    engines_stopped: tuple[str, ...] = ()   # engines whose picture is the last one of a clean stop

    def campaigns_run(self, now: datetime, stale_s: float, gone: frozenset[str] = frozenset()) -> frozenset[int]:
        """Campaigns an engine runs: in a picture written within ``stale_s`` by an engine that has not
        stopped and is not ``gone``. A stopped or killed engine's last picture stays in the store and still
        lists its campaigns; a stop says so in it (known at once), a kill by its age or, sooner, by ``gone``
        (the engines whose session with the store ended: ``dialer/views/gone.py``)."""
        fresh = {engine for engine, at in self.engines_at
                 if (now - at).total_seconds() <= stale_s and engine not in {*self.engines_stopped, *gone}}
        written = {engine for engine, _ in self.engines_at}
        return frozenset(c.id for c in self.campaigns if c.engine in fresh or c.engine not in written)

    def stopped_at(self, engine: str) -> datetime | None:
        """When ``engine`` stopped (its last picture's moment), or None while it has not stopped cleanly."""
        if engine not in self.engines_stopped:
            return None
        return next((at for name, at in self.engines_at if name == engine), None)

    def pool_of(self, campaign_id: int) -> PoolState | None:
        return next((p for p in self.pools if any(m.id == campaign_id for m in p.members)), None)

    def campaign(self, name: str) -> CampaignState | None:
        return next((c for c in self.campaigns if c.name == name), None)

    def operator(self, name: str) -> OperatorRow | None:
        return next((o for o in self.operators if o.name == name), None)

    def operators_of(self, campaign_id: int | None) -> tuple[OperatorRow, ...]:
        if campaign_id is None:
            return self.operators
        return tuple(o for o in self.operators if campaign_id in o.campaigns)


def _get(doc: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return doc[key]
    except (KeyError, TypeError):
        raise PictureError(f"picture {where} lacks {key!r}") from None


def _campaign(doc: Mapping[str, Any], engine: str) -> CampaignState:
    name = str(_get(doc, "name", "campaign"))
    where = f"campaign {name!r}"
    ab = doc.get("abandonment") or {}
    last_hour = ab.get("last_hour") or {}
    today = ab.get("today") or {}
    settings = doc.get("settings") or {}
    return CampaignState(
        id=int(_get(doc, "id", where)),
        name=name,
        mode=str(_get(doc, "mode", where)),
        effective_mode=str(doc.get("effective_mode") or doc["mode"]),
        alpha=None if doc.get("alpha") is None else float(doc["alpha"]),
        settings=dict(settings),
        estimates={k: float(v) for k, v in (doc.get("estimates") or {}).items()
                   if isinstance(v, int | float) and not isinstance(v, bool)},   # ring_cdf is a list
        calls={k: int(v) for k, v in (doc.get("calls") or {}).items()},
        abandonment=Abandonment(
            window_hours=float(ab.get("window_hours", settings.get("window_hours", 24))),
            answers=int(ab.get("answers", 0)),
            abandons=int(ab.get("abandons", 0)),
            rate=float(ab.get("rate", 0.0)),
            cap=float(ab.get("cap", settings.get("abandon_cap", 0.03))),
            last_hour_answers=int(last_hour.get("answers", 0)),
            last_hour_abandons=int(last_hour.get("abandons", 0)),
            today_answers=None if "answers" not in today else int(today["answers"]),
            today_abandons=None if "abandons" not in today else int(today["abandons"]),
        ),
        totals={k: int(v) for k, v in (doc.get("totals") or {}).items()},
        engine=engine,
        nothing_to_dial=bool(doc.get("nothing_to_dial", False)),
    )


def _operator(doc: Mapping[str, Any], engine: str) -> OperatorRow:
    name = str(_get(doc, "name", "operator"))
    where = f"operator {name!r}"
    return OperatorRow(
        id=int(_get(doc, "id", where)),
        name=name,
        extension=str(doc.get("extension", "")),
        state=str(_get(doc, "state", where)),
        since_s=float(doc.get("since_s") or 0.0),
        campaigns=tuple(int(c) for c in doc.get("campaigns") or ()),
        attempt_id=None if doc.get("attempt_id") is None else int(doc["attempt_id"]),
        lead_id=None if doc.get("lead_id") is None else int(doc["lead_id"]),
        calls=int(doc.get("calls") or 0),
        talk_s=float(doc.get("talk_s") or 0.0),
        occupancy=float(doc.get("occupancy") or 0.0),
        pause_reason=doc.get("pause_reason"),
        engine=engine,
        phone_up=None if doc.get("phone_up") is None else bool(doc["phone_up"]),
        logged_out_why=doc.get("logged_out_why"),
        wrap_up_ran_out=None if doc.get("wrap_up_ran_out") is None else int(doc["wrap_up_ran_out"]),
    )


def _pool(doc: Mapping[str, Any], engine: str) -> PoolState:
    name = str(_get(doc, "name", "group"))
    where = f"group {name!r}"
    operators = doc.get("operators") or {}
    ab = doc.get("abandonment") or {}
    return PoolState(
        id=int(_get(doc, "id", where)), name=name, reserved=int(doc.get("reserved") or 0),
        group_ledger=bool(doc.get("group_ledger")), logged_in=int(operators.get("logged_in", 0)),
        free=int(operators.get("free", 0)), busy=int(operators.get("busy", 0)), paused=int(operators.get("paused", 0)),
        occupancy=float(doc.get("occupancy") or 0.0), answers=int(ab.get("answers", 0)),
        abandons=int(ab.get("abandons", 0)), cap=float(ab.get("cap", 0.03)),
        window_hours=float(ab.get("window_hours", 24)),
        members=tuple(PoolMember(
            id=int(_get(m, "id", f"{where} member")), name=str(m.get("name", "")), share=float(m.get("share", 1.0)),
            target_share=float(m.get("target_share", 0.0)), priority=int(m.get("priority", 0)),
            handle_s=float(m.get("handle_s", 0.0)), placed=int(m.get("placed", 0)),
            has_work=bool(m.get("has_work", True))) for m in _get(doc, "members", where)),
        engine=engine,
    )


def parse_picture(docs: Iterable[Mapping[str, Any]]) -> FloorPicture:
    """Merge the picture docs of every engine into one floor. An operator logged in on two engines
    (should not happen, but a restart can leave a stale row) shows once: the busier entry wins. A
    campaign taken over from a dead engine shows once too: the newest picture's (its owner now)."""
    campaigns: dict[int, tuple[datetime | None, CampaignState]] = {}
    operators: dict[int, OperatorRow] = {}
    pools: dict[int, PoolState] = {}
    engines: list[str] = []
    engines_at: list[tuple[str, datetime]] = []
    stopped: list[str] = []
    pbx_down: set[str] = set()
    latest: datetime | None = None
    for doc in docs:
        engine = str(_get(doc, "engine", "doc"))
        engines.append(engine)
        if doc.get("stopped"):
            stopped.append(engine)
        pbx_down.update(str(server) for server in doc.get("pbx_down") or ())
        at = doc.get("at")
        moment = datetime.fromisoformat(str(at)) if at else None
        if moment is not None:
            engines_at.append((engine, moment))
            latest = moment if latest is None or moment > latest else latest
        for raw in doc.get("campaigns") or ():
            campaign = _campaign(raw, engine)
            seen_at, _ = campaigns.get(campaign.id, (None, None))
            if campaign.id not in campaigns or (moment is not None and (seen_at is None or moment > seen_at)):
                campaigns[campaign.id] = (moment, campaign)
        for raw in doc.get("groups") or ():
            pool = _pool(raw, engine)
            pools.setdefault(pool.id, pool)   # one engine paces a group (its members' owner)
        for raw in doc.get("operators") or ():
            operator = _operator(raw, engine)
            seen = operators.get(operator.id)
            if seen is None or (seen.state == "logged_out" and operator.state != "logged_out"):
                operators[operator.id] = operator
    return FloorPicture(
        campaigns=tuple(sorted((c for _, c in campaigns.values()), key=lambda c: c.name)),
        operators=tuple(sorted(operators.values(), key=lambda o: o.name)),
        at=latest,
        engines=tuple(engines),
        pools=tuple(sorted(pools.values(), key=lambda p: p.name)),
        pbx_down=tuple(sorted(pbx_down)),
        engines_at=tuple(engines_at),
        engines_stopped=tuple(stopped),
    )
