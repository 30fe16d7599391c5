"""Regulator departments (which rules each enforces) and levels (national / provincial / municipal).

The departments are configurable data (``data/departments.json``); a regulator organisation names
its department in its ``department`` field (none: ``industry``, which enforces every rule). The
level follows from the jurisdiction's region code: ``000000`` national, ``XX0000`` provincial,
else municipal. A regulator sees and acts on what lies within its jurisdiction and is enforced by
its department; the national level sees and acts on everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from battrace.domain.access import Caller, region_prefix

DATA = Path(__file__).parent / "data" / "departments.json"
DEFAULT_DEPARTMENT = "industry"
NATIONAL, PROVINCIAL, MUNICIPAL = "national", "provincial", "municipal"


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    zh: str
    en: str
    rules: frozenset[str]


@cache
def departments() -> dict[str, Department]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return {k: Department(k, v["zh"], v["en"], frozenset(v["rules"])) for k, v in raw.items() if not k.startswith("_")}


def department_of(name: str | None) -> Department:
    return departments()[name if name in departments() else DEFAULT_DEPARTMENT]


def level_of(jurisdiction: str | None) -> str:
    if not jurisdiction or jurisdiction == "000000":
        return NATIONAL
    return PROVINCIAL if jurisdiction.endswith("0000") else MUNICIPAL


def department_for(rules: Iterable[str], preferred: str | None = None) -> str:
    """The department that takes a case on findings of ``rules``: ``preferred`` when it enforces
    them all, else the first (in the data's order) that does, else ``industry``."""
    wanted = set(rules)
    if preferred is not None and wanted <= department_of(preferred).rules:
        return department_of(preferred).id
    for dept in departments().values():
        if wanted <= dept.rules:
            return dept.id
    return DEFAULT_DEPARTMENT


@dataclass(frozen=True, slots=True)
class Regulator:
    """A regulator's reach: where (region prefix, empty for national) and which department."""

    prefix: str
    department: str
    national: bool

    def covers_region(self, region: str | None) -> bool:
        return self.national or (region is not None and region.startswith(self.prefix))

    def acts_on(self, region: str | None, department: str) -> bool:
        return self.national or (self.covers_region(region) and department == self.department)


def reach_of(caller: Caller, department: str | None) -> Regulator | None:
    """The caller's reach as a regulator (admin: national); None for everyone else."""
    if caller.admin:
        return Regulator("", DEFAULT_DEPARTMENT, True)
    if caller.org_type != "regulator" or caller.jurisdiction is None:
        return None
    prefix = region_prefix(caller.jurisdiction)
    return Regulator(prefix, department_of(department).id, prefix == "")
