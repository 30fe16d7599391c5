"""Obligations (and their exports), public reports, the outlets directory and webhook retries,
through the real API on a real SQLite file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from battrace import clock
from battrace.services.obligations import obligations, parse_within
from battrace.services.webhooks import deliver_due, retry_delay
from tests import story as s
from tests.api.conftest import NOW, Api
from tests.rules.scenarios import Events
from tests.supervision.receiver import Receiver, start_receiver

VIN9 = "LGXCE4CB0R0000009"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.close()


def _scrapped_not_removed(api: Api) -> None:
    """A pack in a vehicle scrapped on 2026-11-16 and not yet removed: the dismantler owes a removal."""
    from battrace.domain.vin import with_check_digit

    e = Events()
    pack = s.code("P", 9)
    vin = with_check_digit(VIN9)
    e.produce(pack, "2026-01-05")
    e.certify(vin, [pack], "2026-01-10")
    e.sell(vin, "2026-01-20")
    e.add("vehicle.scrapped", s.DISMANTLER, "2026-11-16", vin=vin, batteries_present=[pack], certificate_no="SC-9")
    report = api.platform.ledger.ingest(list(enumerate(e.items, 1)))
    assert report.rejected == 0, report.as_dict()


def test_obligations_before_they_are_overdue(api: Api) -> None:
    _scrapped_not_removed(api)
    today = date(2026, 11, 21)
    [duty] = [o for o in obligations(api.platform.store, today=today) if o["kind"] == "removal"]
    assert duty["org"] == s.DISMANTLER and duty["rule"] == "R04b" and duty["since"] == "2026-11-16"
    # the same arithmetic as R04b: 15 working days after Monday 16 Nov 2026 is Monday 7 Dec
    assert duty["due"] == "2026-12-07" and duty["days_left"] == 16
    assert "by 2026-12-07" in duty["message"]["en"]
    r = api.client.get("/api/v1/obligations", headers=api.headers("dismantler"))
    assert [o["kind"] for o in r.json()] == ["removal"]
    r = api.client.get("/api/v1/obligations", params={"due_within": "5d"}, headers=api.headers("dismantler"))
    assert r.json() == []
    r = api.client.get("/api/v1/obligations", params={"due_within": "3w"}, headers=api.headers("dismantler"))
    assert len(r.json()) == 1
    # a company sees only its own; asking for another's is refused
    assert api.client.get("/api/v1/obligations", headers=api.headers("recycler")).json() == []
    r = api.client.get("/api/v1/obligations", params={"org": s.DISMANTLER}, headers=api.headers("recycler"))
    assert r.status_code == 403
    assert api.client.get("/api/v1/obligations").status_code == 401
    r = api.client.get("/api/v1/obligations", headers=api.headers("far_regulator"))
    assert r.json() == []  # Beijing's regulator: nothing in its jurisdiction
    r = api.client.get("/api/v1/obligations", params={"due_within": "soon"}, headers=api.headers("dismantler"))
    assert r.status_code == 422 and "due-within" in r.json()["error"]
    assert parse_within("2w") == 14


def test_obligations_and_findings_export_as_csv_and_xlsx(story_api: Api) -> None:
    api = story_api
    _scrapped_not_removed(api)
    r = api.client.get("/api/v1/exports/obligations", params={"format": "csv"}, headers=api.headers("dismantler"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(x["kind"], x["due"]) for x in rows] == [("removal", "2026-12-07")]
    r = api.client.get("/api/v1/exports/findings", params={"format": "xlsx"}, headers=api.headers("dismantler"))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    table = list(sheet.values)
    assert table[0][:4] == ("id", "rule", "severity", "state")
    assert len(table) > 1 and all(row[4] == s.DISMANTLER for row in table[1:])
    assert api.client.get("/api/v1/exports/findings", params={"format": "pdf"},
                          headers=api.headers("dismantler")).status_code == 422


def test_public_reports_receipts_rate_limit_and_triage(story_api: Api) -> None:
    api = story_api
    body = {"code": s.PACK, "what": "在路边摊低价出售", "region": "440305", "contact": "138xxxx"}
    r = api.client.post("/api/v1/reports", json=body)
    assert r.status_code == 200, r.text
    receipt = r.json()["receipt"]
    status = api.client.get(f"/api/v1/reports/{receipt}").json()
    assert status["state"] == "received" and "what" not in status and "contact" not in status
    # the public sees only receipts: no list, no triage
    assert api.client.get("/api/v1/reports").status_code == 401
    assert api.client.post(f"/api/v1/reports/{receipt}/triage", json={"action": "dismiss", "reason": "x"}
                           ).status_code == 401
    assert api.client.get("/api/v1/reports", headers=api.headers("dismantler")).status_code == 403
    # validation
    for bad, field in (({**body, "code": "not-a-code"}, None), ({**body, "region": "44"}, "region"),
                       ({**body, "what": "?"}, "what"), ({**body, "extra": 1}, None)):
        r = api.client.post("/api/v1/reports", json=bad)
        assert r.status_code == 422, bad
        if field:
            assert r.json()["context"]["field"] == field
    # triage by the region's regulator only
    assert [x["receipt"] for x in api.client.get("/api/v1/reports", headers=api.headers("far_regulator")).json()] == []
    r = api.client.post(f"/api/v1/reports/{receipt}/triage", json={"action": "link"},
                        headers=api.headers("far_regulator"))
    assert r.status_code == 404
    listed = api.client.get("/api/v1/reports", headers=api.headers("regulator")).json()
    assert listed[0]["contact"] == "138xxxx"
    r = api.client.post(f"/api/v1/reports/{receipt}/triage", json={"action": "link"}, headers=api.headers("regulator"))
    assert r.status_code == 200 and r.json()["battery"] == s.PACK and r.json()["state"] == "linked"
    r = api.client.post(f"/api/v1/reports/{receipt}/triage",
                        json={"action": "open_case", "org": s.BATTERY_MAKER, "reason": "核查销售渠道"},
                        headers=api.headers("regulator"))
    assert r.status_code == 200 and r.json()["state"] == "case_opened", r.text
    case = api.client.get(f"/api/v1/cases/{r.json()['case']}", headers=api.headers("maker")).json()
    assert case["report"] == receipt and case["org"] == s.BATTERY_MAKER
    assert api.client.get(f"/api/v1/reports/{receipt}").json()["state"] == "case_opened"
    # rate limit: 5 an hour from one address (one already sent, plus the rejected ones are not counted)
    for _ in range(4):
        assert api.client.post("/api/v1/reports", json=body).status_code == 200
    r = api.client.post("/api/v1/reports", json=body)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    other = api.client.post("/api/v1/reports", json=body).json()
    assert other["code"] == "rate_limited"
    receipt2 = api.client.get("/api/v1/reports", headers=api.headers("regulator")).json()[0]["receipt"]
    r = api.client.post(f"/api/v1/reports/{receipt2}/triage", json={"action": "dismiss", "reason": "重复举报"},
                        headers=api.headers("regulator"))
    assert r.status_code == 200
    assert api.client.get(f"/api/v1/reports/{receipt2}").json()["reason"] == "重复举报"
    assert api.client.get("/api/v1/reports/PR-0000000000").status_code == 404
    assert api.client.get("/api/v1/reports/garbage").status_code == 422


def test_outlets_directory(api: Api) -> None:
    outlet = {"name": "深圳南山回收点", "operated_for": s.BATTERY_MAKER, "region": "440305",
              "address": "深圳市南山区示例路 8 号", "accepts": ["pack", "module"]}
    assert api.client.post("/api/v1/outlets", json=outlet).status_code == 401
    r = api.client.post("/api/v1/outlets", json=outlet, headers=api.headers("vehicle_maker"))
    assert r.status_code == 403  # not set up for the vehicle maker
    r = api.client.post("/api/v1/outlets", json=[outlet], headers=api.headers("maker"))
    assert r.status_code == 200 and r.json() == {"added": 1}
    r = api.client.post("/api/v1/outlets", json={**outlet, "accepts": ["cars"]}, headers=api.headers("maker"))
    assert r.status_code == 422
    listed = api.client.get("/api/v1/outlets", params={"region": "440000"}).json()
    names = {o["name"]: o for o in listed}
    assert names["深圳南山回收点"]["city"] == "440300" and names["深圳南山回收点"]["accepts"] == ["module", "pack"]
    assert "回收网点" in names  # the registered outlet organisation is listed too
    assert api.client.get("/api/v1/outlets", params={"region": "110000"}).json() == []
    assert api.client.get("/api/v1/outlets", params={"operated_for": s.BATTERY_MAKER}).json()[0]["address"]


def test_webhook_retries_with_back_off_then_delivers(story_api: Api, receiver: Receiver) -> None:
    api = story_api
    r = api.client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["case.step", "finding.new"]},
                        headers=api.headers("regulator"))
    receiver.secret = r.json()["secret"]
    receiver.fail_first = [503, 500]
    finding = api.client.get("/api/v1/findings", params={"rule": "R04"}, headers=api.headers("regulator")).json()[0]
    api.client.post("/api/v1/cases", json={"findings": [finding["id"]]}, headers=api.headers("regulator"))
    [row] = api.client.get("/api/v1/webhooks/deliveries", headers=api.headers("regulator")).json()
    assert (row["status"], row["attempts"], row["last_status"]) == ("pending", 1, 503)
    store = api.platform.store
    assert deliver_due(store, NOW, signed_at=clock.now()) == {"delivered": 0, "retrying": 0, "failed": 0}  # not due
    later = NOW + retry_delay(1)
    assert deliver_due(store, later, signed_at=clock.now())["retrying"] == 1
    assert deliver_due(store, later + retry_delay(2), signed_at=clock.now())["delivered"] == 1
    [row] = api.client.get("/api/v1/webhooks/deliveries", headers=api.headers("regulator")).json()
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert receiver.rejected == [] and receiver.received[0]["payload"]["type"] == "case.step"
    # a replayed delivery (stale timestamp) fails verification; a fresh one passes
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    from battrace.services.webhooks import sign

    body = '{"type":"case.step"}'
    Webhook(receiver.secret).verify(body, sign(receiver.secret, "m1", clock.now(), body))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(receiver.secret).verify(body, sign(receiver.secret, "m1", clock.now() - timedelta(minutes=10), body))
    assert retry_delay(20) == timedelta(hours=6)
    r = api.client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["case.step"]},
                        headers=api.headers("regulator"))
    assert r.status_code == 422


def test_new_findings_are_notified(api: Api, receiver: Receiver) -> None:
    r = api.client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["finding.new"]},
                        headers=api.headers("dismantler"))
    receiver.secret = r.json()["secret"]
    for event in s.story():
        api.platform.ledger.ingest([(1, event)])
    deliver_due(api.platform.store, NOW, signed_at=clock.now())
    got = [m["payload"]["data"] for m in receiver.received]
    assert got and all(s.DISMANTLER in d["orgs"] for d in got)
    assert {d["rule"] for d in got} == {"R04"}
