"""Organisations: the companies and authorities that report to and supervise the platform."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from battrace.domain.credit import validate_credit_code
from battrace.errors import ValidationError

ORG_TYPES = (
    "battery_maker",
    "vehicle_maker",
    "swap_operator",
    "repair_shop",
    "dismantler",
    "collection_outlet",
    "reuse_enterprise",
    "recycler",
    "regulator",
)
QUALIFICATION_KINDS = (
    "investment_filing",
    "eia_approval",
    "discharge_permit",
    "hazardous_waste_license",
    "industry_norm_listed",
)
#: Organisation types that code batteries of their own (their manufacturer codes are filed).
CODING_TYPES = ("battery_maker", "reuse_enterprise")
_REGION = re.compile(r"^\d{6}$")
_MAKER_CODE = re.compile(r"^[0-9A-Z]{3}$")


class InvalidOrg(ValidationError):
    code = "invalid_org"


@dataclass(frozen=True, slots=True)
class Qualification:
    kind: str
    number: str
    valid_from: date | None
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "number": self.number,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


@dataclass(frozen=True, slots=True)
class Org:
    credit_code: str
    name: str
    type: str
    region: str | None = None
    manufacturer_codes: tuple[str, ...] = ()
    operated_for: str | None = None
    jurisdiction: str | None = None
    qualifications: tuple[Qualification, ...] = field(default=())
    #: A regulator's department (``battrace.domain.departments``); None: ``industry``.
    department: str | None = None

    def holds(self, kind: str, day: date) -> bool:
        """Whether the organisation holds a valid qualification of ``kind`` on ``day``."""
        return any(q.kind == kind and q.valid_on(day) for q in self.qualifications)

    def as_dict(self) -> dict[str, Any]:
        return {
            "credit_code": self.credit_code,
            "name": self.name,
            "type": self.type,
            "region": self.region,
            "manufacturer_codes": list(self.manufacturer_codes),
            "operated_for": self.operated_for,
            "jurisdiction": self.jurisdiction,
            "qualifications": [q.as_dict() for q in self.qualifications],
            **({"department": self.department} if self.department else {}),
        }


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise InvalidOrg(f"{where} must be a YYYY-MM-DD date, got {value!r}", field=where, value=value)


def parse_org(raw: Any) -> Org:
    """Validate an organisation object (as imported from JSON); raise :class:`InvalidOrg`."""
    if not isinstance(raw, dict):
        raise InvalidOrg(f"an organisation must be a JSON object, got {type(raw).__name__}")
    known = {
        "credit_code", "name", "type", "region", "manufacturer_codes", "operated_for", "jurisdiction",
        "qualifications", "department",
    }
    extra = sorted(set(raw) - known)
    if extra:
        raise InvalidOrg(f"unknown organisation field(s): {', '.join(extra)}", fields=extra)
    credit = raw.get("credit_code")
    if not isinstance(credit, str):
        raise InvalidOrg("credit_code is required (the 18-character unified social credit code)", field="credit_code")
    validate_credit_code(credit)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidOrg(f"{credit}: name is required", field="name", credit_code=credit)
    org_type = raw.get("type")
    if org_type not in ORG_TYPES:
        raise InvalidOrg(
            f"{credit}: type must be one of {', '.join(ORG_TYPES)}, got {org_type!r}", field="type", credit_code=credit
        )
    region = raw.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION.match(region)):
        raise InvalidOrg(f"{credit}: region must be a 6-digit GB/T 2260 code, got {region!r}", field="region")
    codes = raw.get("manufacturer_codes") or []
    if not isinstance(codes, list) or not all(isinstance(c, str) and _MAKER_CODE.match(c) for c in codes):
        raise InvalidOrg(
            f"{credit}: manufacturer_codes must be a list of 3-character codes, got {codes!r}",
            field="manufacturer_codes",
        )
    if codes and org_type not in CODING_TYPES:
        raise InvalidOrg(
            f"{credit}: only battery makers and re-use enterprises have manufacturer codes",
            field="manufacturer_codes",
        )
    operated_for = raw.get("operated_for")
    if operated_for is not None:
        if not isinstance(operated_for, str):
            raise InvalidOrg(f"{credit}: operated_for must be a credit code", field="operated_for")
        validate_credit_code(operated_for)
    jurisdiction = raw.get("jurisdiction")
    if jurisdiction is not None and (not isinstance(jurisdiction, str) or not _REGION.match(jurisdiction)):
        raise InvalidOrg(f"{credit}: jurisdiction must be a 6-digit region code", field="jurisdiction")
    if org_type == "regulator" and jurisdiction is None:
        raise InvalidOrg(f"{credit}: a regulator needs a jurisdiction (region code)", field="jurisdiction")
    department = raw.get("department")
    if department is not None:
        from battrace.domain.departments import departments

        if org_type != "regulator" or department not in departments():
            raise InvalidOrg(f"{credit}: department must be one of {', '.join(departments())} (regulators only), "
                             f"got {department!r}", field="department")
    quals_raw = raw.get("qualifications") or []
    if not isinstance(quals_raw, list):
        raise InvalidOrg(f"{credit}: qualifications must be a list", field="qualifications")
    quals = []
    for i, q in enumerate(quals_raw):
        where = f"qualifications[{i}]"
        if not isinstance(q, dict) or q.get("kind") not in QUALIFICATION_KINDS:
            raise InvalidOrg(
                f"{credit}: {where}.kind must be one of {', '.join(QUALIFICATION_KINDS)}", field=where
            )
        number = q.get("number")
        if not isinstance(number, str) or not number:
            raise InvalidOrg(f"{credit}: {where}.number is required", field=where)
        valid_from, valid_to = _date(q.get("valid_from"), where), _date(q.get("valid_to"), where)
        quals.append(Qualification(q["kind"], number, valid_from, valid_to))
    return Org(
        credit_code=credit,
        name=name.strip(),
        type=org_type,
        region=region,
        manufacturer_codes=tuple(codes),
        operated_for=operated_for,
        jurisdiction=jurisdiction,
        qualifications=tuple(quals),
        department=department,
    )
