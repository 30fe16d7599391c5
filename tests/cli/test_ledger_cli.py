"""The scripted story end to end through the real CLI (a subprocess, a real SQLite file)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import story as s
from tests.cli.inprocess import run_main


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "battrace", "--db", f"sqlite:///{db}", *args],
        capture_output=True, text=True, check=False,
    )


def run_inprocess(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """:func:`run` without a new interpreter (the same entry point, see tests/cli/inprocess.py)."""
    return run_main("--db", f"sqlite:///{db}", *args)


@pytest.mark.parametrize("via", [pytest.param("subprocess", marks=pytest.mark.slow), "in-process"])
def test_story_through_the_cli(tmp_path: Path, via: str) -> None:
    """The fast twin runs the same commands in-process; the ingest is a real subprocess in both."""
    cli = run if via == "subprocess" else run_inprocess
    db = tmp_path / "b.db"
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e, ensure_ascii=False) for e in s.story()]
    events.write_text("\n".join(lines) + "\n{not json\n", encoding="utf-8")

    assert cli(db, "orgs", "import", str(orgs)).returncode == 0
    listed = json.loads(cli(db, "orgs", "list", "--json").stdout)
    assert len(listed) == len(s.orgs())

    first = run(db, "ingest", str(events), "--json")
    assert first.returncode == 1  # the broken last line is rejected
    report = json.loads(first.stdout)
    assert report["accepted"] == len(lines) and report["rejected"] == 1
    assert report["rejections"][0]["line"] == len(lines) + 1
    assert report["rejections"][0]["code"] == "invalid_event"

    again = json.loads(cli(db, "ingest", str(events), "--json").stdout)
    assert (again["accepted"], again["duplicate"]) == (0, len(lines))

    passport = json.loads(cli(db, "passport", s.PACK, "--json").stdout)
    assert passport["state"] == "remade" and passport["products"] == [s.PRODUCT]
    history = json.loads(cli(db, "history", s.PACK, "--json").stdout)
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)
    vehicle = json.loads(cli(db, "vehicle", s.VIN, "--json").stdout)
    assert vehicle["state"] == "scrapped"
    table = cli(db, "passport", s.PACK)
    assert table.returncode == 0 and "remade" in table.stdout

    assert cli(db, "verify").returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET body = replace(body, 'capacity fade', 'accident') WHERE seq = 12")
    broken = cli(db, "verify", "--json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["first_broken"]["seq"] == 12


def test_unknown_battery_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run(tmp_path / "b.db", "passport", s.PACK)
    assert result.returncode == 1
    # a database that does not exist is named, not created (issue 16; tests/cli/test_newcomer_cli.py)
    assert result.stderr.strip().startswith("error [empty_database]")


def test_code_parse_json_and_exit_status(tmp_path: Path) -> None:
    ok = run(tmp_path / "b.db", "code", "parse", "--json", "02LCC02100101A8810119814")
    assert ok.returncode == 0 and json.loads(ok.stdout)[0]["production_date"] == "2018-08-01"
    bad = run(tmp_path / "b.db", "code", "parse", "--json", "02LCC02100101A881011981X", "nonsense")
    assert bad.returncode == 1
    out = json.loads(bad.stdout)
    assert out[1]["valid"] is False and out[1]["error"]["code"] == "invalid_code"
    new = run(tmp_path / "b.db", "code", "new", "--maker", "07H", "--level", "P", "--type", "E", "--spec", "01",
              "--trace", "0000000", "--date", "2026-05-06", "--serial", "1")
    assert new.stdout.strip() == "07HPE010000000G560000001"


def test_parse_workers_ingest_the_same_file_the_same_way(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e, ensure_ascii=False) for e in s.story()]
    events.write_bytes(b"\xef\xbb\xbf" + "\n".join([*lines[:3], "", "{not json", *lines[3:]]).encode() + b"\n")
    reports = []
    for name, extra in (("plain", ()), ("ahead", ("--parse-workers", "1"))):
        db = tmp_path / f"{name}.db"
        assert run(db, "orgs", "import", str(orgs)).returncode == 0
        result = run(db, "ingest", str(events), "--json", *extra)
        reports.append(json.loads(result.stdout))
        assert result.returncode == 1
    assert reports[0] == reports[1]
    assert reports[0]["accepted"] == len(lines) and reports[0]["rejections"][0]["line"] == 5
    refused = run(tmp_path / "c.db", "ingest", str(events), "--format", "csv", "--parse-workers", "1")
    assert refused.returncode != 0 and "--parse-workers needs --format jsonl" in refused.stderr
