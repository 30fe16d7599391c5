"""``battrace findings``, ``check`` and ``rules`` through the real CLI app (in process, a real SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from battrace.cli import app
from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Events, orgs

runner = CliRunner()


def _setup(tmp_path: Path) -> list[str]:
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    (tmp_path / "orgs.json").write_text(json.dumps(orgs(), ensure_ascii=False), encoding="utf-8")
    e = Events()
    e.in_service()
    e.in_service(PACK2, VIN2)
    e.replace(VIN2, PACK2, "2025-06-01")
    e.hand_over([PACK2], s.REPAIR_SHOP, s.DISMANTLER, "2025-06-02")  # R02
    lines = [json.dumps({**x, "recorded_at": x["occurred_at"]}, ensure_ascii=False) for x in e.items]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(app, [*db, "orgs", "import", str(tmp_path / "orgs.json")]).exit_code == 0
    result = runner.invoke(app, [*db, "ingest", str(tmp_path / "events.jsonl"), "--import-history"])
    assert result.exit_code == 0, result.output
    return db


def test_findings_json_lists_findings_with_the_documented_fields(tmp_path: Path) -> None:
    db = _setup(tmp_path)
    result = runner.invoke(app, [*db, "findings", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [f["rule"] for f in found] == ["R02"]
    f = found[0]
    for key in ("rule", "severity", "batteries", "vin", "orgs", "event_id", "due_at", "state", "message"):
        assert key in f
    assert set(f["message"]) == {"zh", "en"} and f["batteries"] == [PACK2]


def test_findings_as_of_runs_the_time_based_rules_first(tmp_path: Path) -> None:
    db = _setup(tmp_path)
    result = runner.invoke(app, [*db, "findings", "--as-of", "2025-12-31", "--rule", "R05", "--json"])
    assert result.exit_code == 0, result.output
    [idle] = json.loads(result.stdout)
    assert idle["batteries"] == [PACK2] and idle["responsible"] == s.VEHICLE_MAKER
    assert json.loads(runner.invoke(app, [*db, "findings", "--state", "resolved", "--json"]).stdout) == []
    table = runner.invoke(app, [*db, "findings", "--org", s.DISMANTLER])
    assert table.exit_code == 0 and "R02" in table.stdout


def test_check_exits_1_when_a_violation_is_open(tmp_path: Path) -> None:
    db = _setup(tmp_path)
    bad = runner.invoke(app, [*db, "check", PACK2])
    assert bad.exit_code == 1 and "R02" in bad.stdout
    good = runner.invoke(app, [*db, "check", s.PACK])
    assert good.exit_code == 0 and "no findings" in good.stdout


def test_rules_lists_the_catalogue(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "--json"])
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)][:3] == ["R01", "R02", "R03"]
