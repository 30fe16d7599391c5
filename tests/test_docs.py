"""Docs that tell the truth: generated references are current, links resolve, README commands run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.domain.event_types import BY_NAME
from battrace.interop.epcis import to_epcis_event
from tests.interop.strategies import native_event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import gen_docs  # noqa: E402

#: Top-level keys of every exported event that the EPCIS table's common paragraph covers, not its rows.
COMMON_KEYS = {"@context", "type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "readPoint",
               "action", "bizStep", "disposition", "ilmd"}
#: The envelope and platform ``bt:`` properties of every event (described above the table).
ENVELOPE = {"bt:event_id", "bt:event_type", "bt:reporter", "bt:occurred_at", "bt:data", "bt:seq",
            "bt:ledger_hash", "bt:imported"}


def test_cli_reference_is_generated_from_the_current_help() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == gen_docs.cli_reference() + "\n", "docs/cli.md is stale: run python tools/gen_docs.py"


def test_events_reference_matches_the_contract_in_code() -> None:
    current = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert current == gen_docs.render_events(current), "docs/events.md is stale: run python tools/gen_docs.py"


def test_interop_epcis_table_matches_the_mapping_in_code() -> None:
    current = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    assert current == gen_docs.render_interop(current), "docs/interop.md is stale: run python tools/gen_docs.py"


def _epcis_rows() -> dict[str, list[str]]:
    """The cells of each row of the EPCIS table in docs/interop.md, by native type."""
    text = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    table = text.split("<!-- epcis-table:start -->")[1].split("<!-- epcis-table:end -->")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()[2:]]
    return {row[0].strip("`"): row for row in rows}


def _chosen(cell: str, event: dict[str, Any]) -> str | None:
    """A table cell's value for ``event``: ``X if `field` given, else Y`` picks by the field; ``—`` is absent."""
    m = re.fullmatch(r"(.+) if `(\w+)` given, else (.+)", cell)
    if m:
        cell = m[1] if event.get(m[2]) else m[3]
    return None if cell == "—" else cell.strip("`")


def test_the_epcis_table_lists_every_type() -> None:
    assert list(_epcis_rows()) == list(BY_NAME)


@pytest.mark.parametrize("event_type", list(BY_NAME))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_epcis_table_row_is_what_the_exporter_produces(event_type: str, data: st.DataObject) -> None:
    """Type, action, bizStep and disposition as the row says (for this event's content); every slot
    filled is named in the row's slots; every ``bt:`` property and ILMD field is named in the row, and every
    ``bt:`` property the row lists as another field is exported when its native field is given."""
    event = {k: v for k, v in data.draw(native_event(event_type)).items() if k != "data"}  # no partner fields
    _, etype, action, biz_step, disposition, slots, others = _epcis_rows()[event_type]
    ev = to_epcis_event(event)
    assert (ev["type"], ev.get("action"), ev.get("bizStep"), ev.get("disposition")) == (
        _chosen(etype, event), _chosen(action, event), _chosen(biz_step, event), _chosen(disposition, event))
    for key in set(ev) - COMMON_KEYS - {k for k in ev if k.startswith("bt:")}:
        assert f"`{key}" in slots, f"{event_type}: {key} is exported but not in the table's slots"
    for key in set(ev) & {k for k in ev if k.startswith("bt:")} - ENVELOPE:
        assert f"`{key}`" in slots + others, f"{event_type}: {key} is exported but not in the table"
    for key in ev.get("ilmd", {}):
        assert f"`{key}`" in others.split(";")[0], f"{event_type}: ILMD {key} is exported but not in the table"
    for name in re.findall(r"`bt:(\w+)`", others):
        assert event.get(name) is None or f"bt:{name}" in ev or f"bt:{name}" in ev.get("ilmd", {}), (
            f"{event_type}: the table lists bt:{name}, which is not exported")


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
