"""What a newcomer meets first on the command line (issue 16, points 1 and 3): progress when the
output is a file, global options in either place, one-line usage errors, and read commands that
say which database is empty instead of creating one."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from battrace.cli import hoist_global_options
from battrace.cli.progress import PlainProgress
from tests import story as s


def run(cwd: Path, *args: str, interval: str = "5") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2]),
           "BATTRACE_PROGRESS_INTERVAL": interval}
    return subprocess.run([sys.executable, "-m", "battrace", *args], capture_output=True, text=True, check=False,
                          cwd=cwd, env=env)


def test_global_options_are_moved_to_the_front_and_json_to_the_end() -> None:
    assert hoist_global_options(["passport", "X", "--db", "u"]) == ["--db", "u", "passport", "X"]
    assert hoist_global_options(["passport", "--db=u", "X"]) == ["--db=u", "passport", "X"]
    assert hoist_global_options(["--json", "passport", "X"]) == ["passport", "X", "--json"]
    assert hoist_global_options(["ingest", "f", "--json"]) == ["ingest", "f", "--json"]


def test_usage_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    for args in (["passport", "--json"], ["passport", "X", "--bogus"], ["nosuch"]):
        done = run(tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error [usage]: "), done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_read_commands_name_the_missing_or_empty_database_and_create_nothing(tmp_path: Path) -> None:
    missing = run(tmp_path, "passport", s.PACK)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"error [empty_database]: database sqlite:///{tmp_path / 'battrace.db'} does "
                                      "not exist; pass --db URL or set BATTRACE_DATABASE_URL")
    assert not (tmp_path / "battrace.db").exists()
    db = tmp_path / "empty.db"
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    assert run(tmp_path, "orgs", "import", str(orgs), "--db", f"sqlite:///{db}").returncode == 0
    empty = run(tmp_path, "history", s.PACK, "--db", f"sqlite:///{db}")  # --db after the subcommand
    assert empty.returncode == 1
    assert f"database sqlite:///{db} holds no events" in empty.stderr


def test_ingest_and_verify_print_progress_lines_when_output_is_a_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    orgs = tmp_path / "orgs.json"
    orgs.write_text(json.dumps(s.orgs(), ensure_ascii=False), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in s.story()) + "\n", encoding="utf-8")
    assert run(tmp_path, "--db", db, "orgs", "import", str(orgs)).returncode == 0
    quiet = run(tmp_path, "ingest", str(events), "--db", db)  # short work (under 5 s) prints no progress
    assert quiet.returncode == 0 and quiet.stderr == ""
    ingest = run(tmp_path, "ingest", str(events), "--db", db, interval="0")  # as if every step took long
    assert ingest.returncode == 0, ingest.stderr
    n = len(s.story())
    assert f"· ingest: {n:,} / {n:,} (100 %), " in ingest.stderr
    assert f"· ingest done: {n:,} / {n:,} in " in ingest.stderr
    unknown = run(tmp_path, "passport", "02LCC02100101A8810119814", "--db", db)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error [unknown_battery]")
    verify = run(tmp_path, "verify", "--db", db, interval="0")
    assert verify.returncode == 0
    assert f"· verify events done: {n:,} / {n:,}" in verify.stderr


def test_plain_progress_prints_at_most_one_line_per_interval() -> None:
    ticks = iter([0.0, 1.0, 2.0, 6.0, 7.0, 12.5, 13.0])
    out = io.StringIO()
    plain = PlainProgress(out, interval=5.0, monotonic=lambda: next(ticks), announce=True)
    advance = plain.stage("ingest", 100)  # t=0
    for _ in range(5):  # t=1, 2, 6 (line), 7, 12.5 (line)
        advance(10)
    plain.close()  # t=13
    assert out.getvalue().splitlines() == [
        "· ingest ... (100 to do)",
        "· ingest: 30 / 100 (30 %), 6 s",
        "· ingest: 50 / 100 (50 %), 12 s",
        "· ingest done: 50 / 100 in 13 s",
    ]


def test_a_failed_stage_does_not_claim_to_be_done() -> None:
    out = io.StringIO()
    plain = PlainProgress(out, interval=0.0)
    plain.stage("ingest", None)(3)
    plain.close(ok=False)
    assert out.getvalue() == "· ingest: 3, 0 s\n"
