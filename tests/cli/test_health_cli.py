from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from battrace.cli import app
from battrace.domain.health import VOLTAGE_COLUMNS

runner = CliRunner()
LFP_ROW = (
    "3.1819,3.2225,3.2414,3.2012,3.1871,3.1466,3.1266,3.1668,3.1837,3.2653,3.3008,"
    "3.2202,3.1907,3.1092,3.0687,3.1498,3.1835,3.3064,3.3571,3.2353,3.194"
)
HEADER = "chemistry,rated_capacity_ah,soc_percent," + ",".join(VOLTAGE_COLUMNS)


def _csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "pulses.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_estimate_prints_json_per_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"LFP,35,5,{LFP_ROW}", f"NCM,150,,{LFP_ROW}")
    result = runner.invoke(app, ["health", "estimate", str(path), "--json"])
    assert result.exit_code == 1, result.output  # row 2 (LFP voltages called NCM) gets no SOH
    rows = json.loads(result.stdout)
    assert [r["row"] for r in rows] == [1, 2]
    assert set(rows[0]) >= {"row", "status", "soh", "soh_low", "soh_high", "grade", "model"}
    assert rows[0]["model"] == "LFP_35Ah/soc" and rows[1]["model"] == "NMC_21Ah/no_soc"
    assert rows[1]["status"] == "outside_domain" and rows[1]["soh"] is None
    assert rows[0]["soh_low"] <= rows[0]["soh"] <= rows[0]["soh_high"]


def test_estimate_prints_a_table_without_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["health", "estimate", str(_csv(tmp_path, f"LFP,35,5,{LFP_ROW}"))])
    assert result.exit_code == 0 and "LFP_35Ah/soc" in result.stdout


def test_estimate_exits_1_naming_row_and_column_when_a_value_is_bad(tmp_path: Path) -> None:
    bad = LFP_ROW.replace("3.2414", "x", 1)
    path = _csv(tmp_path, f"LFP,35,5,{LFP_ROW}", f"LFP,35,5,{bad}")
    proc = subprocess.run(
        [sys.executable, "-c", "from battrace.cli import main; main()", "health", "estimate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1  # row 1 is still estimated; row 2 says what is wrong
    assert "row 2" in proc.stdout and "U3" in proc.stdout and "1 of 2 rows estimated" in proc.stdout


def test_estimate_names_the_row_when_chemistry_has_no_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["health", "estimate", str(_csv(tmp_path, f"LTO,20,5,{LFP_ROW}"))])
    assert result.exit_code == 1
    assert "row 1, column chemistry" in result.stdout and "LTO" in result.stdout


def test_grade_json_uses_lower_bound_for_pulse() -> None:
    result = runner.invoke(
        app,
        [
            "health",
            "grade",
            "--soh",
            "0.82",
            "--method",
            "pulse",
            "--chemistry",
            "LFP",
            "--soh-low",
            "0.79",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["soh_used"] == 0.79 and d["path"] == "reuse" and "e_bike" not in d["applications"]


def test_grade_accepts_percent() -> None:
    result = runner.invoke(
        app, ["health", "grade", "--soh", "55", "--method", "gbt34015", "--chemistry", "LFP", "--json"]
    )
    assert json.loads(result.stdout)["path"] == "recycle"


def test_value_json_reports_both_paths() -> None:
    result = runner.invoke(
        app, ["health", "value", "--chemistry", "NCM", "--energy-kwh", "60", "--soh", "0.85", "--json"]
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["materials_row"] == "NMC622" and d["better_path"] in ("reuse", "recycle")
    assert d["material_value_cny"] > 0 and d["reuse_value_cny"] > 0


def test_forecast_json(tmp_path: Path) -> None:
    path = tmp_path / "inst.csv"
    path.write_text("province,year,count\n110000,2016,1000000\n440000,2018,2000000\n", encoding="utf-8")
    result = runner.invoke(app, ["health", "forecast", "--installations", str(path), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert {r["province"] for r in d["retirements"]} == {"110000", "440000"}
    assert [c["year"] for c in d["checks"]] == [2025, 2030]
    table = runner.invoke(app, ["health", "forecast", "--installations", str(path)])
    assert table.exit_code == 0 and "National check" in table.stdout
