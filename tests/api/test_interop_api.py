"""Interop over HTTP: EPCIS export and capture, the EU Battery Pass, QR codes and labels, through the
real app on a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
import segno
from sqlalchemy import func, select

from battrace.interop.batterypass import aspect_errors
from battrace.interop.epcis import first_schema_error
from battrace.storage import schema
from tests import story as s
from tests.api.conftest import Api, _org_of, build
from tests.conftest import shared_path
from tests.interop.test_carriers import _png_matrix

PACK = s.PACK
CODES = [*s.CELLS, *s.MODULES, s.PACK, s.SPARE, s.PRODUCT]
PLATFORM_FIELDS = ("seq", "recorded_at", "imported", "hash", "link")


def _epcis(api: Api, code: str, role: str = "admin") -> dict[str, Any]:
    r = api.client.get(f"/api/v1/batteries/{code}/epcis", headers=api.headers(role))
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def _native(api: Api, code: str) -> list[dict[str, Any]]:
    """The battery's history as reported (platform fields left out)."""
    r = api.client.get(f"/api/v1/batteries/{code}/history", headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    return [{k: v for k, v in e.items() if k not in PLATFORM_FIELDS} for e in r.json()["events"]]


def _stored(api: Api) -> int:
    with api.platform.store.reader() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.events)).scalar_one())


def _audit(api: Api, action: str) -> list[tuple[str | None, bool]]:
    a = schema.audit_log
    with api.platform.store.reader() as conn:
        rows = conn.execute(select(a.c.actor_org, a.c.allowed).where(a.c.action == action).order_by(a.c.id))
        return [(r.actor_org, bool(r.allowed)) for r in rows]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Api]:
    """A second platform, same organisations and roles, no events."""
    api = build(f"sqlite:///{tmp_path / 'fresh.db'}")
    yield api
    api.platform.close()


# -- EPCIS export ------------------------------------------------------------------------------------

def test_epcis_export_is_json_ld_valid_against_the_shipped_schema(story_api: Api) -> None:
    r = story_api.client.get(f"/api/v1/batteries/{PACK}/epcis", headers=story_api.headers("holder"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert first_schema_error(doc) is None
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    events = doc["epcisBody"]["eventList"]
    history = story_api.client.get(f"/api/v1/batteries/{PACK}/history", headers=story_api.headers("holder")).json()
    assert [e["bt:seq"] for e in events] == [h["seq"] for h in history["events"]]
    assert [e["bt:ledger_hash"] for e in events] == [h["hash"] for h in history["events"]]
    assert len({e["eventID"] for e in events}) == len(events)
    assert all(e["eventID"].startswith("ni:///sha-256;") for e in events)
    assert not any("bt:link" in e for e in events)


ACCESS = {"anonymous": 401, "unrelated": 403, "recycler": 403, "far_regulator": 403,
          "maker": 200, "holder": 200, "repair_shop": 200, "regulator": 200, "admin": 200}


@pytest.mark.parametrize("path", ["epcis", "passport", "passport?format=native"])
def test_epcis_and_passport_need_the_participant_tier(story_api: Api, path: str) -> None:
    got = {role: story_api.client.get(f"/api/v1/batteries/{PACK}/{path}", headers=story_api.headers(role))
           for role in ACCESS}
    assert {role: r.status_code for role, r in got.items()} == ACCESS
    for r in got.values():
        if r.status_code != 200:
            body = r.json()
            assert set(body) == {"ok", "error", "code", "status", "context"}
            assert body["ok"] is False and body["status"] == r.status_code


def test_epcis_reads_are_audited_like_history(story_api: Api) -> None:
    story_api.client.get(f"/api/v1/batteries/{PACK}/epcis", headers=story_api.headers("maker"))
    story_api.client.get(f"/api/v1/batteries/{PACK}/epcis", headers=story_api.headers("unrelated"))
    story_api.client.get(f"/api/v1/batteries/{PACK}/passport", headers=story_api.headers("holder"))
    assert _audit(story_api, "battery.epcis") == [(s.BATTERY_MAKER, True), (s.SWAPPER, False)]
    assert _audit(story_api, "battery.passport") == [(s.REUSER, True)]


def test_epcis_of_an_unknown_or_malformed_code_is_a_canonical_error(story_api: Api) -> None:
    unknown = s.code("P", 999)
    assert story_api.client.get(f"/api/v1/batteries/{unknown}/epcis", headers=story_api.headers("admin")).json()[
        "code"] == "unknown_battery"
    assert story_api.client.get("/api/v1/batteries/nonsense/epcis", headers=story_api.headers("admin")).json()[
        "code"] == "invalid_code"


def test_the_context_is_served_and_is_the_one_embedded_in_exports(story_api: Api) -> None:
    r = story_api.client.get("/api/v1/epcis/context.jsonld")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    shipped = json.loads(resources.files("battrace.interop.data").joinpath("battrace-epcis-context.jsonld")
                         .read_text("utf-8"))
    assert r.json() == shipped
    assert _epcis(story_api, PACK)["@context"][1] == shipped["@context"]


# -- EPCIS capture -----------------------------------------------------------------------------------

def test_capture_of_exported_documents_into_a_fresh_database_gives_the_same_events(
    story_api: Api, fresh: Api
) -> None:
    exported: dict[int, dict[str, Any]] = {}
    header: dict[str, Any] = {}
    for code in CODES:
        doc = _epcis(story_api, code)
        header = {k: v for k, v in doc.items() if k != "epcisBody"}
        exported.update({e["bt:seq"]: e for e in doc["epcisBody"]["eventList"]})
    role_of = {_org_of(fresh, role): role for role in fresh.keys if role != "admin"}
    # each party captures its own events, in ledger order, with its own key
    for reporter, run in groupby([exported[k] for k in sorted(exported)], key=lambda e: e["bt:reporter"]):
        events = list(run)
        r = fresh.client.post("/api/v1/epcis/capture", json={**header, "epcisBody": {"eventList": events}},
                              headers=fresh.headers(role_of[reporter]))
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["accepted"], report["rejected"]) == (len(events), 0), report
    assert _stored(fresh) == len(exported)
    for code in CODES:
        assert _native(fresh, code) == _native(story_api, code)


def test_capture_reports_like_post_events_each_event_on_its_own(story_api: Api, fresh: Api) -> None:
    doc = _epcis(story_api, s.CELLS[0])  # the cell's production, then its module's (made of cells 0 and 1)
    assert [e["bt:event_type"] for e in doc["epcisBody"]["eventList"]] == ["battery.produced"] * 2
    first = fresh.client.post("/api/v1/epcis/capture", json=doc, headers=fresh.headers("maker")).json()
    posted = fresh.client.post("/api/v1/events", json=[], headers=fresh.headers("maker")).json()
    assert set(first) == set(posted)
    # the same ledger checks: the module is refused, cell 1 being unknown in the fresh database
    assert [(o["line"], o["status"]) for o in first["outcomes"]] == [(1, "accepted"), (2, "rejected")]
    assert s.CELLS[1] in first["rejections"][0]["message"]
    again = fresh.client.post("/api/v1/epcis/capture", content=json.dumps(doc),
                              headers={**fresh.headers("maker"), "content-type": "application/ld+json"}).json()
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 1, 1)
    assert _stored(fresh) == 1


def test_capture_refuses_an_event_of_another_reporter_and_stores_nothing(story_api: Api, fresh: Api) -> None:
    doc = _epcis(story_api, PACK)  # produced by the battery maker, then the vehicle maker's events ...
    r = fresh.client.post("/api/v1/epcis/capture", json=doc, headers=fresh.headers("maker"))
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "forbidden" and body["context"]["reporter"] == s.VEHICLE_MAKER
    assert _stored(fresh) == 0


def test_capture_of_a_gs1_example_is_refused_naming_the_part_not_understood(fresh: Api) -> None:
    path = shared_path("anchors", "epcis", "JSON", "Example_9.6.2-ObjectEvent.jsonld")
    r = fresh.client.post("/api/v1/epcis/capture", content=path.read_bytes(),
                          headers={**fresh.headers("maker"), "content-type": "application/ld+json"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "epcis_not_understood"
    assert (body["context"]["event_index"], body["context"]["field"]) == (0, "example:myField")
    assert "example:myField" in body["error"]
    assert _stored(fresh) == 0


def test_capture_of_a_document_with_one_foreign_part_stores_none_of_it(story_api: Api, fresh: Api) -> None:
    doc = _epcis(story_api, s.CELLS[0])
    doc["epcisBody"]["eventList"].append({**doc["epcisBody"]["eventList"][0], "bizStep": "shipping"})
    r = fresh.client.post("/api/v1/epcis/capture", json=doc, headers=fresh.headers("maker"))
    assert r.status_code == 422 and r.json()["context"]["field"] == "bizStep"
    assert r.json()["context"]["event_index"] == len(doc["epcisBody"]["eventList"]) - 1
    assert _stored(fresh) == 0


@pytest.mark.parametrize(("role", "body", "status", "code"), [
    ("anonymous", b"{}", 401, "unauthorized"),
    ("admin", b"{}", 403, "forbidden"),
    ("maker", b"{not json", 422, "invalid_input"),
    ("maker", b"\xff\xfe", 422, "invalid_input"),
    ("maker", b"[]", 422, "epcis_not_understood"),
    ("maker", b'{"type": "EPCISDocument"}', 422, "epcis_not_understood"),
])
def test_capture_refusals_are_canonical(fresh: Api, role: str, body: bytes, status: int, code: str) -> None:
    r = fresh.client.post("/api/v1/epcis/capture", content=body,
                          headers={**fresh.headers(role), "content-type": "application/json"})
    assert r.status_code == status and r.json()["code"] == code, r.text


# -- EU Battery Pass ---------------------------------------------------------------------------------

def test_eu_batterypass_output_validates_against_the_shipped_schemas(story_api: Api) -> None:
    r = story_api.client.get(f"/api/v1/batteries/{PACK}/passport?format=eu-batterypass",
                             headers=story_api.headers("holder"))
    assert r.status_code == 200
    out = r.json()
    assert set(out) == {"aspects", "not_provided", "partial"}
    for aspect, payload in out["aspects"].items():  # complete aspects: the strict official schema
        assert aspect_errors(aspect, payload) == []
    for aspect, payload in out["partial"].items():  # the rest: every field we hold fits its definition
        assert aspect_errors(aspect, payload, relaxed=True) == []
    left_out = {entry["aspect"] for entry in out["not_provided"]}
    assert left_out | set(out["aspects"]) == {"GeneralProductInformation", "PerformanceAndDurability",
                                              "Circularity", "Labeling"}
    assert all(entry["missing"] for entry in out["not_provided"])
    general = out["partial"]["GeneralProductInformation"]
    assert general["productIdentifier"] == PACK and general["batteryStatus"] == "Waste"


def test_native_passport_is_the_digital_id(story_api: Api) -> None:
    native = story_api.client.get(f"/api/v1/batteries/{PACK}/passport?format=native",
                                  headers=story_api.headers("maker")).json()
    full = story_api.client.get(f"/api/v1/batteries/{PACK}", headers=story_api.headers("maker")).json()
    assert native["code"] == PACK and native["history"] == full["history"]


def test_unknown_passport_format_is_a_canonical_422(story_api: Api) -> None:
    r = story_api.client.get(f"/api/v1/batteries/{PACK}/passport?format=xml", headers=story_api.headers("maker"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


# -- QR codes and labels -----------------------------------------------------------------------------

def _matrix(content: str) -> list[list[int]]:
    return [list(map(int, row)) for row in segno.make(content, error="m", micro=False, boost_error=False).matrix]


def test_qr_png_holds_the_public_page_of_the_request_base_url(story_api: Api,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTRACE_PUBLIC_BASE_URL", raising=False)
    r = story_api.client.get(f"/api/v1/public/batteries/{PACK}/qr.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert _png_matrix(r.content, 8, 4) == _matrix(f"http://testserver/b/{PACK}")


def test_qr_holds_the_configured_public_base_url(story_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(story_api.platform.settings, public_base_url="https://trace.example.org/")
    monkeypatch.setattr(story_api.platform, "settings", settings)
    png = story_api.client.get(f"/api/v1/public/batteries/{PACK}/qr.png").content
    assert _png_matrix(png, 8, 4) == _matrix(f"https://trace.example.org/b/{PACK}")
    assert _png_matrix(png, 8, 4) != _matrix(f"http://testserver/b/{PACK}")
    svg = story_api.client.get(f"/api/v1/public/batteries/{PACK}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert f"<title>https://trace.example.org/b/{PACK}</title>" in svg.text


def test_qr_of_an_unknown_battery_is_404(story_api: Api) -> None:
    r = story_api.client.get(f"/api/v1/public/batteries/{s.code('P', 999)}/qr.svg")
    assert r.status_code == 404 and r.json()["code"] == "unknown_battery"


def test_label_shows_public_tier_data_only(story_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(story_api.platform.settings, public_base_url="https://trace.example.org")
    monkeypatch.setattr(story_api.platform, "settings", settings)
    r = story_api.client.get(f"/api/v1/public/batteries/{PACK}/label.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    svg = r.text
    assert PACK[:12] in svg and PACK[12:] in svg
    assert "宁德示例电池" in svg and "150 Ah" in svg and f"https://trace.example.org/b/{PACK}" in svg
    for secret in (s.VIN, "梯次利用", s.REUSER, "0.78", "117"):  # vehicle, custodian, health: not public
        assert secret not in svg
