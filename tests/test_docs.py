"""Docs that tell the truth: generated references are current, links resolve, README commands run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import gen_docs  # noqa: E402


def test_cli_reference_is_generated_from_the_current_help() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == gen_docs.cli_reference() + "\n", "docs/cli.md is stale: run python tools/gen_docs.py"


def test_events_reference_matches_the_contract_in_code() -> None:
    current = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert current == gen_docs.render_events(current), "docs/events.md is stale: run python tools/gen_docs.py"


def test_every_local_link_in_the_readme_and_docs_resolves() -> None:
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_readme_code_commands_run(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].split() for line in readme.splitlines() if line.startswith("battrace code ")]
    assert len(commands) == 2
    for argv in commands:
        result = subprocess.run([sys.executable, "-m", "battrace", "--db", f"sqlite:///{tmp_path}/d.db", *argv[1:]],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, (argv, result.stderr)
    assert "07HPE010000000G560000001" in result.stdout


def test_every_command_in_the_readme_exists() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_code = False
    for line in readme.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif in_code and line.startswith("battrace "):
            words = [w for w in line.split("#")[0].split()[1:3] if re.match(r"^[a-z][a-z-]*$", w)]
            name = "battrace " + words[0]
            assert f"## `{name}`" in reference, f"README mentions {name!r}, which is not a command"
