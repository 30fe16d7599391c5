"""``battrace export …`` and ``battrace ingest --format epcis|csv`` through the real CLI (a subprocess,
a real SQLite file)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import segno

from battrace.interop.batterypass import aspect_errors
from battrace.interop.csv_io import write_events_csv
from battrace.interop.epcis import first_schema_error
from tests import story as s
from tests.cli.inprocess import run_main
from tests.conftest import shared_path
from tests.interop.test_carriers import _png_matrix

CODES = [*s.CELLS, *s.MODULES, s.PACK, s.SPARE, s.PRODUCT]
BASE = "https://trace.example.org"
PLATFORM_FIELDS = ("seq", "recorded_at", "imported", "hash", "link")


def run(db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "BATTRACE_PUBLIC_BASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "battrace", "--db", f"sqlite:///{db}", *args],
        capture_output=True, text=True, check=False, env={**environ, **(env or {})},
    )


def run_inprocess(db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`run` without a new interpreter (the same entry point, see tests/cli/inprocess.py)."""
    return run_main("--db", f"sqlite:///{db}", *args, env={"BATTRACE_PUBLIC_BASE_URL": None, **(env or {})})


def _orgs(db: Path) -> None:
    path = db.with_name(db.stem + "-orgs.json")
    path.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    assert run(db, "orgs", "import", str(path)).returncode == 0


@pytest.fixture(scope="module")
def story_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("story") / "b.db"
    _orgs(db)
    events = db.with_name("events.jsonl")
    events.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in s.story()), encoding="utf-8")
    assert run(db, "ingest", str(events)).returncode == 0
    return db


def _native(db: Path, code: str) -> list[dict[str, Any]]:
    out = run(db, "history", code, "--json")
    assert out.returncode == 0, out.stderr
    return [{k: v for k, v in e.items() if k not in PLATFORM_FIELDS} for e in json.loads(out.stdout)]


def _bodies(db: Path, *, with_seq: bool = False) -> list[Any]:
    """The stored events' canonical content, in ledger order."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq, body FROM events ORDER BY seq").fetchall()
    return [(seq, body) for seq, body in rows] if with_seq else [body for _seq, body in rows]


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def test_export_epcis_writes_a_valid_document(story_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.jsonld"
    result = run(story_db, "export", "epcis", s.PACK, "--out", str(out))
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text("utf-8"))
    assert first_schema_error(doc) is None
    assert [e["bt:event_type"] for e in doc["epcisBody"]["eventList"]][:1] == ["battery.produced"]
    stdout = run(story_db, "export", "epcis", s.PACK)  # without --out: the document on stdout
    assert json.loads(stdout.stdout)["epcisBody"] == doc["epcisBody"]


@pytest.mark.parametrize("via", [pytest.param("subprocess", marks=pytest.mark.slow), "in-process"])
def test_ingest_epcis_round_trips_into_a_fresh_database(story_db: Path, tmp_path: Path, via: str) -> None:
    """Every battery's export, merged, ingested into a fresh database gives the same log. The fast
    twin exports in-process (nine interpreters fewer); the ingest is a real subprocess in both."""
    cli = run if via == "subprocess" else run_inprocess
    exported: dict[int, dict[str, Any]] = {}
    header: dict[str, Any] = {}
    for code in CODES:
        doc = json.loads(cli(story_db, "export", "epcis", code).stdout)
        header = {k: v for k, v in doc.items() if k != "epcisBody"}
        exported.update({e["bt:seq"]: e for e in doc["epcisBody"]["eventList"]})
    merged = tmp_path / "all.jsonld"
    merged.write_text(json.dumps({**header, "epcisBody": {"eventList": [exported[k] for k in sorted(exported)]}}),
                      encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    _orgs(fresh)
    first = run(fresh, "ingest", str(merged), "--format", "epcis", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["accepted"] == len(exported)
    assert _bodies(fresh) == [body for seq, body in _bodies(story_db, with_seq=True) if seq in exported]
    assert _native(fresh, s.PACK) == _native(story_db, s.PACK)
    again = json.loads(cli(fresh, "ingest", str(merged), "--format", "epcis", "--json").stdout)
    assert (again["accepted"], again["duplicate"]) == (0, len(exported))


def test_ingest_of_a_refused_epcis_document_is_one_line_exit_1_and_stores_nothing(
    story_db: Path, tmp_path: Path
) -> None:
    doc = json.loads(run(story_db, "export", "epcis", s.CELLS[0]).stdout)
    doc["epcisBody"]["eventList"][1]["example:colour"] = "red"  # the first event alone would be fine
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    _orgs(fresh)
    result = run(fresh, "ingest", str(bad), "--format", "epcis")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [epcis_not_understood]")
    assert "event 1" in lines[0] and "example:colour" in lines[0]
    assert _count(fresh) == 0


def test_ingest_of_a_gs1_example_is_refused(tmp_path: Path) -> None:
    example = shared_path("anchors", "epcis", "JSON", "Example_9.6.1-ObjectEvent.jsonld")
    db = tmp_path / "b.db"
    _orgs(db)
    result = run(db, "ingest", str(example), "--format", "epcis")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error [epcis_not_understood]") and "epcList[0]" in result.stderr
    assert _count(db) == 0


def test_ingest_of_a_file_that_is_not_json_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_bytes(b"\xff{not json")
    result = run(tmp_path / "b.db", "ingest", str(bad), "--format", "epcis")
    assert result.returncode == 1 and result.stderr.strip().startswith("error [invalid_event]")
    assert len(result.stderr.strip().splitlines()) == 1


def test_ingest_csv_goes_through_the_ledger_and_names_the_line(tmp_path: Path) -> None:
    story = s.story()
    text = write_events_csv(story)
    lines = text.splitlines()
    # a row the ledger refuses (a second battery.produced of the same code, new event id)
    again = write_events_csv([{**story[0], "event_id": "dup-1"}], columns=lines[0].split(",")).splitlines()[1]
    path = tmp_path / "events.csv"
    path.write_text(text + again + "\n", encoding="utf-8")
    db = tmp_path / "b.db"
    _orgs(db)
    result = run(db, "ingest", str(path), "--format", "csv", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert (report["accepted"], report["rejected"]) == (len(story), 1)
    assert report["rejections"][0]["line"] == len(lines) + 1
    assert report["rejections"][0]["code"] == "duplicate_code"
    assert _native(db, s.PACK)[0]["event_id"] == story[6]["event_id"]


def test_ingest_of_a_malformed_csv_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,type,occurred_at,reporter,soh\ne1,battery.tested,2026-01-01T00:00:00+08:00,"
                    f"{s.REUSER},high\n", encoding="utf-8")
    db = tmp_path / "b.db"
    _orgs(db)
    result = run(db, "ingest", str(path), "--format", "csv")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error [invalid_csv]") and "line 2" in result.stderr
    assert _count(db) == 0


def test_export_passport_eu_batterypass_and_native(story_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "pass.json"
    assert run(story_db, "export", "passport", s.PACK, "--format", "eu-batterypass", "--out", str(out)).returncode == 0
    eu = json.loads(out.read_text("utf-8"))
    for aspect, payload in eu["aspects"].items():
        assert aspect_errors(aspect, payload) == []
    for aspect, payload in eu["partial"].items():
        assert aspect_errors(aspect, payload, relaxed=True) == []
    assert eu["partial"]["GeneralProductInformation"]["productIdentifier"] == s.PACK
    native = json.loads(run(story_db, "export", "passport", s.PACK, "--format", "native").stdout)
    assert native["code"] == s.PACK and native["history"]
    bad = run(story_db, "export", "passport", s.PACK, "--format", "xml")
    assert bad.returncode != 0


def _matrix(content: str) -> list[list[int]]:
    return [list(map(int, row)) for row in segno.make(content, error="m", micro=False, boost_error=False).matrix]


def test_export_qr_png_and_svg(story_db: Path, tmp_path: Path) -> None:
    png = tmp_path / "qr.png"
    assert run(story_db, "export", "qr", s.PACK, "--format", "png", "--base-url", BASE,
               "--out", str(png)).returncode == 0
    assert _png_matrix(png.read_bytes(), 8, 4) == _matrix(f"{BASE}/b/{s.PACK}")
    svg = tmp_path / "qr.svg"  # format from the suffix, base URL from the setting
    result = run(story_db, "export", "qr", s.PACK, "--out", str(svg), env={"BATTRACE_PUBLIC_BASE_URL": BASE})
    assert result.returncode == 0, result.stderr
    assert svg.read_text("utf-8").startswith("<?xml") and f"<title>{BASE}/b/{s.PACK}</title>" in svg.read_text("utf-8")


def test_export_qr_without_a_base_url_is_one_line(story_db: Path, tmp_path: Path) -> None:
    result = run(story_db, "export", "qr", s.PACK, "--out", str(tmp_path / "qr.png"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error [invalid_input]") and "--base-url" in result.stderr
    assert not (tmp_path / "qr.png").exists()


def test_export_label(story_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "label.svg"
    assert run(story_db, "export", "label", s.PACK, "--base-url", BASE, "--out", str(out)).returncode == 0
    svg = out.read_text("utf-8")
    assert 'width="100mm" height="50mm"' in svg and f"{BASE}/b/{s.PACK}" in svg and "宁德示例电池" in svg
    assert s.VIN not in svg


def test_export_of_an_unknown_battery_is_one_line(story_db: Path, tmp_path: Path) -> None:
    result = run(story_db, "export", "epcis", s.code("P", 999), "--out", str(tmp_path / "x.json"))
    assert result.returncode == 1 and result.stderr.strip().startswith("error [unknown_battery]")
    assert not (tmp_path / "x.json").exists()
