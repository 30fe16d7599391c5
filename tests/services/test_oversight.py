"""Dashboard aggregates: findings per province and rule, the on-time league, holdings."""

from __future__ import annotations

from collections import Counter

import pytest

from battrace.errors import ValidationError
from battrace.services.compliance import list_findings
from battrace.services.holdings import list_holdings
from battrace.services.oversight import findings_matrix, reporting_league
from tests import story as s
from tests.web.world import build_world


def test_the_findings_matrix_counts_what_list_findings_lists(db_url: str) -> None:
    world = build_world(db_url)
    try:
        store = world.platform.store
        every = list_findings(store, state="open", limit=1000)
        assert every, "the story is reported late: R04 findings expected"
        expected: Counter[tuple[str, str]] = Counter(
            ((f["region"] or "")[:2] + "0000" if f["region"] else "unknown", f["rule"]) for f in every)
        matrix = findings_matrix(store)
        got = Counter({(p, r): n for p, row in matrix["counts"].items() for r, n in row.items()})
        assert got == expected
        assert matrix["provinces"][0] == max(matrix["counts"], key=lambda p: sum(matrix["counts"][p].values()))
        far = findings_matrix(store, jurisdiction="110000")
        assert far == {"provinces": [], "rules": [], "counts": {}}
    finally:
        world.platform.close()


def test_the_league_sets_late_reports_against_events_reported(db_url: str) -> None:
    world = build_world(db_url)
    try:
        store = world.platform.store
        rows, total = reporting_league(store, limit=100)
        by_org = {r.org: r for r in rows}
        late = Counter(f["responsible"] for f in list_findings(store, rule="R04", limit=1000))
        reported = Counter(e["reporter"] for e in s.story())
        assert total == len(reported)
        for org, n in reported.items():
            assert by_org[org].events == n
            assert by_org[org].late == late.get(org, 0)
            assert by_org[org].on_time == pytest.approx(1 - late.get(org, 0) / n)
        rates = [r.on_time for r in rows]
        assert rates == sorted(rates)
        best, _ = reporting_league(store, worst_first=False, limit=100)
        assert [r.on_time for r in best] == sorted(rates, reverse=True)
        guangdong, _ = reporting_league(store, jurisdiction="440000", limit=100)
        assert {r.region[:2] for r in guangdong if r.region} == {"44"}
        assert reporting_league(store, min_events=100)[1] == 0
    finally:
        world.platform.close()


def test_holdings_list_what_an_organisation_holds(db_url: str) -> None:
    world = build_world(db_url)
    try:
        store = world.platform.store
        held = list_holdings(store, s.REUSER)
        assert {r["code"] for r in held.rows} == {s.PACK, s.PRODUCT}
        assert held.total == 2 and held.by_state == {"remade": 1, "in_service": 1}
        assert held.rows[0]["code"] == s.PRODUCT  # most recent activity first
        assert held.rows[0]["last_event"] == "product.delivered"
        assert list_holdings(store, s.REUSER, state="remade").total == 1
        assert list_holdings(store, s.REUSER, limit=1, offset=1).rows[0]["code"] == s.PACK
        with pytest.raises(ValidationError):
            list_holdings(store, s.REUSER, limit=0)
    finally:
        world.platform.close()
