"""Cases on both stores (SQLite and PostgreSQL): the chain, the database refusing to change a step,
verify, and obligation.due_soon notices queued once per obligation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from battrace.config import Settings
from battrace.domain.access import Caller
from battrace.domain.vin import with_check_digit
from battrace.services.cases import act, get_case, open_case
from battrace.services.compliance import list_findings
from battrace.services.obligations import notify_due_soon
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.verify import verify
from battrace.services.webhooks import subscribe
from battrace.storage import schema
from tests import story as s
from tests.api.conftest import NOW
from tests.rules.scenarios import Events

REG = Caller(org=s.REGULATOR, org_type="regulator", jurisdiction="440000")


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    report = p.ledger.ingest(list(enumerate(s.story(), 1)))
    assert report.rejected == 0
    yield p
    p.close()


def test_case_chain_on_both_stores(platform: Platform) -> None:
    store = platform.store
    finding = next(f for f in list_findings(store, rule="R04") if f["responsible"] == s.DISMANTLER)
    case = open_case(store, REG, [finding["id"]], reason="迟报", now=NOW)
    act(store, REG, case["id"], "order", {"due_date": "2026-12-31", "legal_basis": "第三十条"}, NOW)
    company = Caller(org=s.DISMANTLER, org_type="dismantler")
    act(store, company, case["id"], "respond", {"text": "已补报", "curing_events": [finding["event_id"]]}, NOW)
    got = get_case(store, company, case["id"])
    assert [st["action"] for st in got["steps"]] == ["open", "order", "respond"]
    assert verify(store).ok
    with pytest.raises(Exception, match="append-only"), store.writer() as conn:
        conn.execute(text("DELETE FROM case_steps"))
    with store.writer() as conn:  # editing the case row (not the steps) is caught too
        conn.execute(schema.cases.update().values(version=2))
    assert verify(store).problems[0]["kind"] == "case_head"


def test_obligation_due_soon_is_queued_once(platform: Platform) -> None:
    store = platform.store
    # the story's vehicle is already scrapped: scrap a fresh one with a pack still present
    ev = Events()
    pack = s.code("P", 9)
    vin = with_check_digit("LGXCE4CB0R0000009")
    ev.produce(pack, "2026-01-05")
    ev.certify(vin, [pack], "2026-01-10")
    ev.sell(vin, "2026-01-20")
    ev.add("vehicle.scrapped", s.DISMANTLER, "2026-11-16", vin=vin, batteries_present=[pack], certificate_no="S9")
    assert platform.ledger.ingest(list(enumerate(ev.items, 1))).rejected == 0
    subscribe(store, Caller(org=s.DISMANTLER, org_type="dismantler"), "http://127.0.0.1:9/x",
              ["obligation.due_soon"], NOW)
    subscribe(store, Caller(org=s.RECYCLER, org_type="recycler"), "http://127.0.0.1:9/y",
              ["obligation.due_soon"], NOW)
    assert notify_due_soon(store, NOW, within_days=5) == 0  # due 2026-12-07: not within 5 days
    assert notify_due_soon(store, NOW, within_days=20) == 1  # the dismantler's only
    assert notify_due_soon(store, NOW, within_days=20) == 0  # once per obligation and due day
