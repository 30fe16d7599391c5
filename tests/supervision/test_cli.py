"""``battrace cases``, ``obligations``, ``outlets``, ``webhooks`` through the real CLI (a real SQLite file)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import load_workbook
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
    e.hand_over([PACK2], s.REPAIR_SHOP, s.DISMANTLER, "2025-06-02")  # R02 (repair shop -> dismantler)
    lines = [json.dumps({**x, "recorded_at": x["occurred_at"]}, ensure_ascii=False) for x in e.items]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(app, [*db, "orgs", "import", str(tmp_path / "orgs.json")]).exit_code == 0
    result = runner.invoke(app, [*db, "ingest", str(tmp_path / "events.jsonl"), "--import-history"])
    assert result.exit_code == 0, result.output
    return db


def test_cases_from_the_command_line(tmp_path: Path) -> None:
    db = _setup(tmp_path)
    [finding] = json.loads(runner.invoke(app, [*db, "findings", "--json"]).stdout)
    r = runner.invoke(app, [*db, "cases", "open", "--finding", str(finding["id"]), "--as", s.REGULATOR,
                            "--reason", "R02", "--json"])
    assert r.exit_code == 0, r.output
    case = json.loads(r.stdout)
    assert case["state"] == "opened" and case["org"] == finding["responsible"]
    r = runner.invoke(app, [*db, "cases", "step", str(case["id"]), "order", "--as", s.REGULATOR,
                            "-f", "due_date=2030-01-31", "-f", "legal_basis=第三十条"])
    assert r.exit_code == 0 and "rectification_ordered" in r.output, r.output
    r = runner.invoke(app, [*db, "cases", "step", str(case["id"]), "order", "--as", s.REGULATOR, "-f", "bad"])
    assert r.exit_code == 1 and "name=value" in str(r.exception)
    r = runner.invoke(app, [*db, "cases", "step", str(case["id"]), "close", "--as", s.REGULATOR, "-f", "reason=x"])
    assert r.exit_code == 1 and "cannot close" in str(r.exception)
    r = runner.invoke(app, [*db, "cases", "list"])
    assert r.exit_code == 0 and "rectification_ordered" in r.output
    r = runner.invoke(app, [*db, "cases", "show", str(case["id"])])
    assert r.exit_code == 0 and "order" in r.output
    r = runner.invoke(app, [*db, "cases", "stats", "--json"])
    assert json.loads(r.stdout)["by_state"]["rectification_ordered"] == 1
    r = runner.invoke(app, [*db, "verify"])
    assert r.exit_code == 0, r.output


def test_obligations_outlets_and_deliveries(tmp_path: Path) -> None:
    db = _setup(tmp_path)
    r = runner.invoke(app, [*db, "obligations", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert all({"due", "org", "kind", "message"} <= set(o) for o in rows)
    out = tmp_path / "obl.xlsx"
    r = runner.invoke(app, [*db, "obligations", "--export", str(out)])
    assert r.exit_code == 0 and out.exists()
    assert list(load_workbook(io.BytesIO(out.read_bytes())).active.values)[0][0] == "kind"
    r = runner.invoke(app, [*db, "obligations", "--due-within", "tomorrow"])
    assert r.exit_code == 1 and "due-within" in str(r.exception)
    (tmp_path / "outlets.json").write_text(json.dumps([{"name": "南山网点", "operated_for": s.BATTERY_MAKER,
                                                        "region": "440305", "address": "深圳市南山区 1 号"}],
                                                      ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, [*db, "outlets", "import", str(tmp_path / "outlets.json")])
    assert r.exit_code == 0 and "added 1" in r.output
    r = runner.invoke(app, [*db, "outlets", "list", "--region", "440000", "--json"])
    assert [o["name"] for o in json.loads(r.stdout) if o["id"]] == ["南山网点"]
    r = runner.invoke(app, [*db, "webhooks", "deliver"])
    assert r.exit_code == 0 and "delivered 0" in r.output
