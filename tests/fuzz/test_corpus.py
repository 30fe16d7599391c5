"""The hostile-input corpus of issue 12 (``corpus/events.json``) on every face: the ledger on SQLite and
PostgreSQL, the real CLI, and HTTP (JSON Lines and a JSON array). Each case sits between two valid
events: it gets its expected outcome on its own line, its neighbours are stored, nothing answers
with a traceback or a 5xx, and ``verify`` passes afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from battrace.config import Settings
from battrace.interop.jsonl import decode_lines, split_lines
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.verify import verify
from tests import story as s
from tests.api.conftest import Api, build
from tests.fuzz import corpus

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
CASES = corpus.cases()


def _check(outcomes: list[dict[str, Any]], *, http: bool = False, skip: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    by_line = {o["line"]: o for o in outcomes}
    wrong = []
    index = 0
    for i, case in enumerate(CASES):
        if i in skip:
            continue
        base = 3 * index + 1
        index += 1
        expect = case.http_expect if http else case.expect
        before, got, after = by_line.get(base), by_line.get(base + 1), by_line.get(base + 2)
        outcome = (got or {}).get("status") if expect == "accepted" else (got or {}).get("code")
        if outcome != expect:
            wrong.append(f"{case.name}: expected {expect}, got {got}")
        for n in (before, after):
            if (n or {}).get("status") != "accepted":
                wrong.append(f"{case.name}: a neighbour was not stored: {n}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    yield p
    p.close()


def test_every_case_through_the_ledger(platform: Platform) -> None:
    items = list(decode_lines(split_lines(corpus.jsonl())))
    report = platform.ledger.ingest(items)
    _check([o.as_dict() for o in report.outcomes])
    result = verify(platform.store)
    assert result.ok, result.problems[:3]


def test_every_case_through_the_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    events = tmp_path / "corpus.jsonl"
    events.write_bytes(corpus.jsonl())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "battrace", "--db", db, *args], capture_output=True, text=True,
                              check=False)

    assert run("orgs", "import", str(orgs)).returncode == 0
    result = run("ingest", str(events), "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    report = json.loads(result.stdout)
    accepted_cases = sum(1 for c in CASES if c.expect == "accepted")
    assert report["accepted"] == 2 * len(CASES) + accepted_cases
    rejected = {r["line"]: r["code"] for r in report["rejections"]}
    outcomes = [{"line": 3 * i + 2, "status": "accepted" if c.expect == "accepted" else "rejected",
                 "code": rejected.get(3 * i + 2)} for i, c in enumerate(CASES)]
    outcomes += [{"line": 3 * i + k, "status": "rejected" if 3 * i + k in rejected else "accepted"}
                 for i in range(len(CASES)) for k in (1, 3)]
    _check(outcomes)
    checked = run("verify")
    assert checked.returncode == 0 and "Traceback" not in checked.stderr, checked.stdout + checked.stderr


@pytest.fixture
def http(db_url: str) -> Iterator[Api]:
    api = build(db_url)
    yield api
    api.platform.close()


def test_every_case_over_http_as_json_lines(http: Api) -> None:
    r = http.client.post("/api/v1/events", content=corpus.jsonl(),
                         headers={**http.headers("maker"), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text[:500]
    _check(r.json()["outcomes"], http=True)
    assert verify(http.platform.store).ok


def test_every_case_over_http_as_a_json_array(http: Api) -> None:
    # a body that is not UTF-8, or an element that is not JSON at all, cannot be split into events
    broken = {i for i, c in enumerate(CASES) if c.expect == "invalid_utf8" or c.name == "not JSON"}
    elements = []
    for i, case in enumerate(CASES):
        if i not in broken:
            before, after = corpus.neighbours(i)
            elements += [before, case.line, after]
    body = b"[" + b",\n".join(elements) + b"]"
    r = http.client.post("/api/v1/events", content=body, headers=http.headers("maker"))
    assert r.status_code == 200, r.text[:500]
    _check(r.json()["outcomes"], http=True, skip=broken)
    assert verify(http.platform.store).ok
    # an array that is not UTF-8 cannot be split into events: refused whole, naming the line
    r = http.client.post("/api/v1/events", content=b'[\n{"a": 1},\n{"b": "\xff"}]', headers=http.headers("maker"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_utf8" and r.json()["context"]["line"] == 3
    r = http.client.post("/api/v1/events", content=b'[\n{"a": 1},\n{oops]', headers=http.headers("maker"))
    assert r.status_code == 422 and r.json()["context"]["line"] == 3, r.json()
    # an element that is not JSON but balanced is rejected alone
    r = http.client.post("/api/v1/events", content=b'[\n{"a": 1},\n{oops}]', headers=http.headers("maker"))
    assert r.status_code == 200 and [x["code"] for x in r.json()["rejections"]] == ["invalid_event"] * 2


def test_an_epcis_capture_nested_too_deep_is_refused_not_a_crash(http: Api) -> None:
    body = b'{"type": "EPCISDocument", "epcisBody": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    r = http.client.post("/api/v1/epcis/capture", content=body, headers={
        **http.headers("maker"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text[:300]
