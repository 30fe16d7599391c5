"""Issue 16, point 10: ``health estimate`` reports row by row, refuses inputs outside the model's
training domain, never prints an impossible SOH, and the sample CSV in the docs works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from battrace.domain.health import PLAUSIBLE_SOH, PulseTest, estimate_soh
from tests.domain.test_health import LFP_ROW

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "docs" / "examples" / "pulse-tests.csv"


def estimate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "battrace", "health", "estimate", str(path), "--json"],
                          capture_output=True, text=True, check=False)


def test_the_sample_csv_is_estimated_row_by_row() -> None:
    done = estimate(SAMPLE)
    assert done.returncode == 1  # two rows get no SOH; the others are still estimated
    rows = json.loads(done.stdout)
    assert [r["status"] for r in rows] == ["ok"] * 5 + ["invalid", "outside_domain"]
    for r in rows[:5]:
        assert 0.5 < r["soh"] <= PLAUSIBLE_SOH[1] and r["soh_low"] <= r["soh"] <= r["soh_high"]
    assert rows[5]["error"]["code"] == "invalid_health_input" and "column chemistry" in rows[5]["error"]["error"]
    assert rows[6]["soh"] is None and rows[6]["grade"] is None
    assert any(o.startswith("U1 = ") for o in rows[6]["outside"])


def test_the_sample_is_referenced_in_the_docs() -> None:
    assert "docs/examples/pulse-tests.csv" in (ROOT / "docs" / "health.md").read_text(encoding="utf-8")


def test_lfp_voltages_called_ncm_get_no_soh_instead_of_an_impossible_one() -> None:
    e = estimate_soh(PulseTest(LFP_ROW, "NCM", 21.0, 30.0))
    assert e.status == "outside_domain" and e.as_dict()["soh"] is None
    assert e.soh > PLAUSIBLE_SOH[1]  # what used to be printed (here about 158 %)


def test_the_table_names_the_rows_without_an_soh(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "battrace", "health", "estimate", str(SAMPLE)],
                          capture_output=True, text=True, check=False)
    assert "5 of 7 rows estimated; 2 without an SOH" in done.stdout
    assert "row 6:" in done.stdout and "LTO" in done.stdout and "outside_domain" in done.stdout
