"""Cases through the real API: the whole state machine, signed webhooks to a real local receiver,
who may see and do what (jurisdiction, department, the company concerned), and verify catching an
edited or deleted step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from battrace.services.access import create_key
from battrace.services.orgs import import_orgs
from battrace.services.verify import verify
from tests import story as s
from tests.api.conftest import NOW, Api
from tests.supervision.receiver import Receiver, start_receiver

ENV_REGULATOR = s.credit(20)  # Guangdong, environment department
CITY_REGULATOR = s.credit(21)  # Shenzhen (municipal), industry department


@pytest.fixture
def sup(story_api: Api) -> Api:
    import_orgs(story_api.platform.store, [
        {"credit_code": ENV_REGULATOR, "name": "广东省生态环境厅", "type": "regulator", "jurisdiction": "440000",
         "department": "environment"},
        {"credit_code": CITY_REGULATOR, "name": "深圳市工信局", "type": "regulator", "jurisdiction": "440300"},
    ], NOW)
    story_api.keys["env_regulator"] = create_key(story_api.platform.store, ENV_REGULATOR, NOW)
    story_api.keys["city_regulator"] = create_key(story_api.platform.store, CITY_REGULATOR, NOW)
    return story_api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.close()


def _finding(api: Api, responsible: str, rule: str = "R04") -> dict[str, Any]:
    r = api.client.get("/api/v1/findings", params={"rule": rule}, headers=api.headers("admin"))
    return next(f for f in r.json() if f["responsible"] == responsible)


def _step(api: Api, role: str, case_id: int, **body: Any) -> Any:
    return api.client.post(f"/api/v1/cases/{case_id}/steps", json=body, headers=api.headers(role))


def test_a_case_from_finding_to_closing_with_signed_webhooks(sup: Api, receiver: Receiver) -> None:
    api = sup
    r = api.client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["case.step"]},
                        headers=api.headers("dismantler"))
    assert r.status_code == 200, r.text
    receiver.secret = r.json()["secret"]
    assert receiver.secret.startswith("whsec_")
    finding = _finding(api, s.DISMANTLER)

    r = api.client.post("/api/v1/cases", json={"findings": [finding["id"]], "reason": "late scrapping report"},
                        headers=api.headers("regulator"))
    assert r.status_code == 200, r.text
    case = r.json()
    assert (case["state"], case["org"], case["department"], case["region"]) == (
        "opened", s.DISMANTLER, "industry", "440300")

    r = _step(api, "regulator", case["id"], action="order", due_date="2026-12-31", legal_basis="《办法》第三十条")
    assert r.status_code == 200 and r.json()["state"] == "rectification_ordered", r.text
    assert _step(api, "regulator", case["id"], action="close", reason="x").status_code == 409  # not answered yet

    r = _step(api, "dismantler", case["id"], action="respond", text="已补报", curing_events=["nope"])
    assert r.status_code == 422 and r.json()["context"]["unknown"] == ["nope"]
    r = _step(api, "dismantler", case["id"], action="respond", text="已补报，今后按时报送",
              attachments=["doc://rectify/1.pdf"], curing_events=[finding["event_id"]])
    assert r.status_code == 200 and r.json()["state"] == "responded", r.text

    r = _step(api, "regulator", case["id"], action="close", reason="整改到位", verified=True)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["state"] == "closed" and closed["closed_at"]
    assert [st["action"] for st in closed["steps"]] == ["open", "order", "respond", "close"]
    assert closed["steps"][2]["body"]["curing_events"] == [finding["event_id"]]
    assert closed["steps"][1]["actor"] == s.REGULATOR and closed["steps"][2]["actor"] == s.DISMANTLER

    # the receiver verified every signature and got one notice per step, in order
    assert receiver.rejected == []
    got = [(m["payload"]["data"]["version"], m["payload"]["data"]["action"]) for m in receiver.received]
    assert got == [(1, "open"), (2, "order"), (3, "respond"), (4, "close")]
    r = api.client.get("/api/v1/webhooks/deliveries", headers=api.headers("dismantler"))
    assert {d["status"] for d in r.json()} == {"delivered"} and len(r.json()) == 4

    stats = api.client.get("/api/v1/cases/stats", headers=api.headers("national_regulator")).json()
    assert stats["by_state"]["closed"] == 1 and stats["by_department"]["industry"]["closed"] == 1
    assert stats["mean_days_to_close"] == 0.0  # the test clock stands still
    assert verify(api.platform.store).ok


def test_escalation_fine_and_transfer(sup: Api) -> None:
    api = sup
    finding = _finding(api, s.DISMANTLER)
    case = api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator")).json()
    r = _step(api, "regulator", case["id"], action="escalate", measure="fine", reason="屡次迟报")
    assert r.status_code == 422 and r.json()["context"]["field"] == "amount"
    r = _step(api, "regulator", case["id"], action="escalate", measure="fine", amount=20000, reason="屡次迟报")
    assert r.status_code == 200 and r.json()["steps"][-1]["body"]["amount"] == 20000
    r = _step(api, "regulator", case["id"], action="escalate", measure="transfer", department="environment",
              reason="涉及危废")
    assert r.status_code == 200 and r.json()["department"] == "environment"
    # now the environment department holds it; the industry regulator no longer acts on it
    assert _step(api, "regulator", case["id"], action="close", reason="x").status_code == 404
    r = _step(api, "env_regulator", case["id"], action="close", reason="已处罚结案")
    assert r.status_code == 200 and r.json()["state"] == "closed"


def test_regulators_act_only_within_region_and_department(sup: Api) -> None:
    api = sup
    finding = _finding(api, s.DISMANTLER)  # R04, region 440300
    body = {"findings": [finding["id"]]}
    r = api.client.post("/api/v1/cases", json=body, headers=api.headers("far_regulator"))
    assert r.status_code == 403 and "jurisdiction" in r.json()["error"]
    r = api.client.post("/api/v1/cases", json=body, headers=api.headers("env_regulator"))
    assert r.status_code == 403 and "environment" in r.json()["error"]
    assert api.client.post("/api/v1/cases", json=body, headers=api.headers("dismantler")).status_code == 403
    case = api.client.post("/api/v1/cases", json=body, headers=api.headers("city_regulator")).json()
    assert case["state"] == "opened"
    order = {"action": "order", "due_date": "2026-12-31", "legal_basis": "x"}
    for role in ("far_regulator", "env_regulator"):
        assert _step(api, role, case["id"], **order).status_code == 404, role
        assert api.client.get(f"/api/v1/cases/{case['id']}", headers=api.headers(role)).status_code == 404
        assert api.client.get("/api/v1/cases", headers=api.headers(role)).json() == []
    assert _step(api, "dismantler", case["id"], **order).status_code == 403  # a company does not order
    assert _step(api, "national_regulator", case["id"], **order).status_code == 200  # national acts anywhere
    assert _step(api, "regulator", case["id"], action="respond", text="x").status_code == 403
    assert len(api.client.get("/api/v1/cases", headers=api.headers("regulator")).json()) == 1


def test_a_company_sees_only_its_own_cases(sup: Api) -> None:
    api = sup
    finding = _finding(api, s.DISMANTLER)
    case = api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator")).json()
    assert [c["id"] for c in api.client.get("/api/v1/cases", headers=api.headers("dismantler")).json()] == [case["id"]]
    assert api.client.get("/api/v1/cases", headers=api.headers("outlet")).json() == []
    assert api.client.get(f"/api/v1/cases/{case['id']}", headers=api.headers("outlet")).status_code == 404
    assert _step(api, "outlet", case["id"], action="respond", text="x").status_code == 404
    assert api.client.get(f"/api/v1/cases/{case['id']}").status_code == 401
    assert api.client.get("/api/v1/cases").status_code == 401


def test_a_case_shows_a_finding_the_ledger_resolved(sup: Api) -> None:
    """A finding resolved by a later event is shown as such on its case."""
    api = sup
    from battrace.storage import schema

    finding = _finding(api, s.DISMANTLER)
    case = api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator")).json()
    assert case["resolved_by_ledger"] == []
    with api.platform.store.writer() as conn:  # as the engine does when a later event resolves it
        conn.execute(schema.findings.update().where(schema.findings.c.id == finding["id"]).values(
            state="resolved", resolved_event_id="e-cure", resolved_at=NOW, resolved_seq=25))
    got = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.headers("regulator")).json()
    assert got["resolved_by_ledger"][0]["event_id"] == "e-cure"


def test_verify_detects_an_edited_or_deleted_case_step(sup: Api) -> None:
    api = sup
    finding = _finding(api, s.DISMANTLER)
    case = api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator")).json()
    _step(api, "regulator", case["id"], action="order", due_date="2026-12-31", legal_basis="x")
    _step(api, "dismantler", case["id"], action="respond", text="done")
    store = api.platform.store
    assert verify(store).ok
    with pytest.raises(Exception, match="append-only"), store.writer() as conn:  # the database itself refuses
        conn.execute(text("UPDATE case_steps SET body = '{}' WHERE version = 2"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER case_steps_no_update"))
        conn.execute(text("DROP TRIGGER case_steps_no_delete"))
        conn.execute(text("UPDATE case_steps SET body = replace(body, 'x', 'y') WHERE version = 2"))
    report = verify(store)
    assert not report.ok and report.problems[0]["kind"] == "case_step_hash" and report.problems[0]["version"] == 2
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE case_steps SET body = replace(body, 'y', 'x') WHERE version = 2"))
    assert verify(store).ok
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM case_steps WHERE version = 3"))
    report = verify(store)
    assert not report.ok and report.problems[0]["kind"] == "case_head"
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM case_steps WHERE version = 1"))
    assert verify(store).problems[0]["kind"] == "case_step_missing"


def test_case_notices_reach_only_who_may_see_the_case(sup: Api) -> None:
    """A regulator of another department in the same province is not told about the case."""
    api = sup
    for role in ("regulator", "env_regulator", "far_regulator", "outlet", "dismantler"):
        r = api.client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["case.step"]},
                            headers=api.headers(role))
        assert r.status_code == 200
    finding = _finding(api, s.DISMANTLER)
    api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator"))
    queued = {role: len(api.client.get("/api/v1/webhooks/deliveries", headers=api.headers(role)).json())
              for role in ("regulator", "env_regulator", "far_regulator", "outlet", "dismantler")}
    assert queued == {"regulator": 1, "env_regulator": 0, "far_regulator": 0, "outlet": 0, "dismantler": 1}
    [row] = api.client.get("/api/v1/webhooks/deliveries", headers=api.headers("dismantler")).json()
    assert row["status"] == "pending" and row["attempts"] == 1 and "ConnectError" in (row["last_error"] or "")
