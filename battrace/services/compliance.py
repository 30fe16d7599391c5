"""The compliance engine: rules run as events are stored, and "as of" a date.

:class:`ComplianceEngine` is a ledger observer. After each batch is appended it runs the rules
registered for each accepted event (:mod:`battrace.domain.rules`) with the states before and after
the event, keeps the timers of pending follow-ups (R04b, R05) and the sales per province (R11), and
writes new findings and resolutions — all in the batch's transaction, with a handful of statements
per batch and never a rescan of the log.

:func:`evaluate_as_of` raises the time-based findings (R04b, R05 idle, R11) as of a date with one
indexed query per timer group, and resolves R11 notices whose province is now covered.

Queries for the API, the web pages and the CLI: :func:`list_findings`, :func:`count_findings`,
:func:`findings_stats`, :func:`battery_findings`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from battrace.domain.deadlines import china_date, due_date, overdue_before
from battrace.domain.integrity import techinfo_stream
from battrace.domain.rules import (
    OPEN,
    RESOLVED,
    AsOf,
    EventFacts,
    Finding,
    Resolution,
    RulesConfig,
    get_rule,
    run_event_rules,
    timer_changes,
)
from battrace.domain.rules.finding import province, start_of_day
from battrace.domain.rules.r11 import Sales, uncovered
from battrace.domain.rules.timers import KINDS, Timer, idle, limit_of
from battrace.errors import NotFound, ValidationError
from battrace.services.ledger import Accepted, BatchWorld
from battrace.storage import compliance as db
from battrace.storage.store import Store

AS_OF_CHUNK = 5000
MAX_PAGE = 1000


class ComplianceEngine:
    """Runs the finding rules on every stored batch (a :class:`~battrace.services.ledger.Observer`)."""

    def __init__(self, config: RulesConfig | None = None) -> None:
        self.config = config or RulesConfig()
        #: ``(maker, model)`` pairs read from the database as filed (a filing is never withdrawn).
        self.filed: set[tuple[str, str]] = set()

    def after_append(self, conn: Connection, accepted: list[Accepted], world: BatchWorld) -> None:
        if not accepted:
            return
        makers = _vehicle_makers(conn, accepted, world)
        filed = _techinfo_filed(conn, accepted, world, self.filed)
        raised: list[Finding] = []
        resolved: list[Resolution] = []
        ops: dict[str, Timer | None] = {}
        enders: dict[str, Resolution] = {}
        sales: dict[tuple[str, str], Sales] = {}
        sold: list[Accepted] = []
        for acc in accepted:
            facts = EventFacts(acc.seq, acc.event, acc.recorded_at, acc.decision, world.orgs, self.config,
                               makers, lambda maker, model: (maker, model) in filed)
            found, keys = run_event_rules(facts)
            raised.extend(found)
            resolved.extend(Resolution(k, acc.seq, acc.event.event_id, acc.recorded_at) for k in keys)
            for key, timer in timer_changes(facts):
                if timer is not None and timer.keep_existing:
                    if ops.get(key) is None:  # the first trigger wins
                        ops[key] = timer
                    continue
                if key not in enders:
                    enders[key] = Resolution("", acc.seq, acc.event.event_id, acc.recorded_at)
                ops[key] = timer
            if acc.event.type == "vehicle.sold" and self.config.runs("R11"):
                _count_sale(sales, acc)
                sold.append(acc)
            if acc.event.type == "product.delivered" and self.config.runs("R11"):
                _count_delivery(world, sales, acc)
        # a wait that had raised a finding before this batch is over: its finding is resolved
        for timer in db.write_timers(conn, ops):
            r = enders[timer.key]
            resolved.append(Resolution(timer.finding_key, r.seq, r.event_id, r.at))
        if sold:
            _count_packs_sold(conn, world, sales, sold)
        db.insert_findings(conn, raised)
        db.resolve_findings(conn, resolved)
        db.add_sales(conn, sales.values())


def _count_sale(sales: dict[tuple[str, str], Sales], acc: Accepted) -> None:
    vin = acc.event["vin"]
    vehicle = acc.decision.vehicles.get(vin)
    prov = province(vehicle.region if vehicle else None)
    if vehicle is None or prov is None:
        return
    key = (vehicle.maker, prov)
    prior = sales.get(key)
    if prior is None:
        sales[key] = Sales(vehicle.maker, prov, 1, acc.seq, acc.event.event_id)
    else:
        sales[key] = Sales(prior.maker, prior.province, prior.vehicles + 1, prior.first_seq, prior.first_event_id)


def _add_sale(sales: dict[tuple[str, str], Sales], producer: str | None, prov: str | None, acc: Accepted,
              n: int = 1) -> None:
    if producer is None or prov is None or n <= 0:
        return
    prior = sales.get((producer, prov))
    if prior is None:
        sales[(producer, prov)] = Sales(producer, prov, n, acc.seq, acc.event.event_id)
    else:
        sales[(producer, prov)] = Sales(producer, prov, prior.vehicles + n, prior.first_seq, prior.first_event_id)


def _count_packs_sold(conn: Connection, world: BatchWorld, sales: dict[tuple[str, str], Sales],
                      sold: list[Accepted]) -> None:
    """R11 for battery makers: the packs of each sold vehicle count for their makers in its province
    (the makers of packs not touched by the batch are read with one query per 500 packs)."""
    wanted: dict[str, str | None] = {}
    for acc in sold:
        vehicle = acc.decision.vehicles.get(acc.event["vin"])
        for code in vehicle.packs if vehicle else ():
            entry = world.batteries.get(code)
            wanted[code] = entry[0].maker if entry is not None else None
    missing = [c for c, m in wanted.items() if m is None]
    wanted.update(db.battery_makers(conn, missing))
    for acc in sold:
        vehicle = acc.decision.vehicles.get(acc.event["vin"])
        prov = province(vehicle.region if vehicle else None)
        if vehicle is None or prov is None:
            continue
        makers: dict[str, int] = {}
        for code in vehicle.packs:
            maker = wanted.get(code)
            if maker:
                makers[maker] = makers.get(maker, 0) + 1
        for maker, n in makers.items():
            _add_sale(sales, maker, prov, acc, n)


def _count_delivery(world: BatchWorld, sales: dict[tuple[str, str], Sales], acc: Accepted) -> None:
    """R11 for re-use enterprises: a delivered product counts in the delivery's (or customer's) province."""
    customer = world.orgs.get(str(acc.event.content.get("customer")))
    region = acc.event.region or (customer.region if customer else None)
    _add_sale(sales, acc.event.reporter, province(region), acc)


def _vehicle_makers(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> dict[str, str]:
    """Makers of the vehicles idle waste batteries were last installed in (for R05's take-back party)."""
    vins: set[str] = set()
    for acc in accepted:
        for state in acc.decision.batteries.values():
            if state.last_vin and idle(state):
                vins.add(state.last_vin)
    out: dict[str, str] = {}
    missing: list[str] = []
    for vin in vins:
        entry = world.vehicles.get(vin)
        if entry is not None:
            out[vin] = entry[0].maker
        else:
            missing.append(vin)
    out.update(db.vehicle_makers(conn, missing))
    return out


def _techinfo_filed(
    conn: Connection, accepted: list[Accepted], world: BatchWorld, known: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """``(maker, model)`` pairs of packs produced in the batch whose dismantling information is on file
    (now or by the end of the batch: a filing later in the batch ends the timer anyway). Pairs found
    in the database are remembered in ``known``."""
    pairs = {(a.event.reporter, a.event["model"]) for a in accepted if a.event.type == "battery.produced"}
    if not pairs:
        return set()
    streams = {techinfo_stream(m, model): (m, model) for m, model in pairs - known}
    found = {streams[s] for s in streams if world.techinfo.get(s) is not None}
    unknown = [s for s in streams if s not in world.techinfo]
    stored = {streams[s] for s in db.techinfo_streams_on_file(conn, unknown)}
    known |= stored
    found |= stored
    return found | (pairs & known)


# -- as of a date --------------------------------------------------------------------------------


def evaluate_as_of(store: Store, as_of: date, *, config: RulesConfig | None = None) -> dict[str, Any]:
    """Raise the time-based findings (R04b, R05 idle, R11) as of ``as_of``; resolve covered R11 notices.

    Overdue waits are taken in chunks of :data:`AS_OF_CHUNK`, each chunk in its own write
    transaction (ingest interleaves with a long sweep; an interrupted sweep resumes where it
    stopped, since a raised wait is marked). Returns ``{"as_of", "raised": {rule: n},
    "resolved": {rule: n}}``.
    """
    cfg = config or RulesConfig()
    raised: dict[str, int] = {}
    resolved: dict[str, int] = {}
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
        groups = db.timer_groups(conn)
    ctx = AsOf(as_of, cfg, orgs)
    for kind, deadline in groups:
        rule_id = KINDS.get(kind)
        if rule_id is None or not cfg.runs(rule_id):
            continue
        build = get_rule(rule_id).overdue[kind]
        for era_from, era_until in cfg.eras():  # each regime's limit for the duties that arose under it
            limit, unit, _ = limit_of(kind, deadline, cfg, era_from)
            before = start_of_day(overdue_before(as_of, limit, unit))
            if era_until is not None:
                before = min(before, start_of_day(era_until))
            since = start_of_day(era_from) if era_from is not None else None
            while True:
                with store.writer() as conn:
                    timers = db.overdue_timers(conn, kind, deadline, before, AS_OF_CHUNK, since=since)
                    if not timers:
                        break
                    findings = [build(t, due_date(china_date(t.since), limit, unit), ctx) for t in timers]
                    raised[rule_id] = raised.get(rule_id, 0) + db.insert_findings(conn, findings)
                    db.mark_raised(conn, [t.key for t in timers])
    if cfg.runs("R11"):
        with store.writer() as conn:
            from battrace.services.outlets import coverage

            notices = uncovered(db.load_sales(conn), store.load_orgs(conn), as_of, coverage(store, conn))
            raised["R11"] = db.insert_findings(conn, notices)
            still = {f.dedupe_key for f in notices}
            covered = [k for k in db.open_keys(conn, "R11") if k not in still]
            at = start_of_day(as_of)
            resolved["R11"] = db.resolve_findings(conn, [Resolution(k, None, None, at) for k in covered])
    return {"as_of": as_of.isoformat(), "raised": {k: v for k, v in raised.items() if v},
            "resolved": {k: v for k, v in resolved.items() if v}}


# -- queries -------------------------------------------------------------------------------------


def _check_filters(state: str | None, limit: int, offset: int) -> None:
    if state is not None and state not in (OPEN, RESOLVED):
        raise ValidationError(f"state must be {OPEN} or {RESOLVED}, got {state!r}", field="state")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must be >= 0", field="offset")


def list_findings(
    store: Store,
    *,
    rule: str | None = None,
    org: str | None = None,
    battery: str | None = None,
    vin: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    region_prefix: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Findings (oldest first) matching every given filter; ``org`` matches any organisation named."""
    _check_filters(state, limit, offset)
    with store.reader() as conn:
        return db.select_findings(conn, limit=limit, offset=offset, rule=rule, org=org, battery=battery, vin=vin,
                                  state=state, severity=severity, region_prefix=region_prefix)


def count_findings(
    store: Store,
    *,
    rule: str | None = None,
    org: str | None = None,
    battery: str | None = None,
    vin: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    region_prefix: str | None = None,
) -> int:
    """How many findings :func:`list_findings` would page through."""
    _check_filters(state, 1, 0)
    with store.reader() as conn:
        return db.count_findings(conn, rule=rule, org=org, battery=battery, vin=vin, state=state,
                                 severity=severity, region_prefix=region_prefix)


def battery_findings(
    store: Store, code: str, *, state: str | None = None, also: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Every finding naming battery ``code`` (for its digital ID and ``battrace check``); ``also``:
    findings naming these batteries too (a component's pack), in the same query."""
    _check_filters(state, 1, 0)
    with store.reader() as conn:
        return db.select_findings(conn, limit=1_000_000, offset=0, battery=[code, *also] if also else code,
                                  state=state)


def get_finding(store: Store, finding_id: int) -> dict[str, Any]:
    """One finding by id; :class:`~battrace.errors.NotFound` when there is none."""
    with store.reader() as conn:
        found = db.select_findings(conn, limit=1, offset=0, finding_id=finding_id)
    if not found:
        raise NotFound(f"unknown finding {finding_id}", finding=finding_id)
    return found[0]


def findings_stats(store: Store) -> dict[str, Any]:
    """Counts: ``total``, ``by_state``, and ``{open, resolved}`` per rule, severity and province
    (``440000``; ``unknown`` without a region)."""
    with store.reader() as conn:
        return db.stats(conn)


def rules_catalogue() -> list[dict[str, Any]]:
    """The registered rules: id, severity, titles, whether evaluated as of a date."""
    from battrace.domain.rules import all_rules

    return [{"id": r.id, "severity": r.severity, "title_en": r.title_en, "title_zh": r.title_zh,
             "as_of": r.as_of, "events": sorted(r.checks)} for r in all_rules()]


def timers_pending(store: Store) -> dict[str, int]:
    """Pending waits per timer kind (diagnostics)."""
    with store.reader() as conn:
        return db.count_timers(conn)


__all__ = [
    "ComplianceEngine", "battery_findings", "count_findings", "evaluate_as_of", "findings_stats", "get_finding",
    "list_findings",
    "rules_catalogue", "timers_pending",
]
