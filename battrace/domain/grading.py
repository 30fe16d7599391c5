"""Grading: turn a state of health into re-use or material recycling.

The decision depends on

* the SOH and how it was obtained — ``gbt34015`` (a full residual-capacity test per GB/T 34015,
  taken at face value) or ``pulse`` (a fast estimate from :mod:`battrace.domain.health`, judged on
  the LOWER bound of its interval, so uncertainty never promotes a battery);
* the chemistry (re-use only for chemistries the policy lists; some applications can be barred
  per chemistry);
* a configurable :class:`GradingPolicy` (minimum SOH per application).

Re-use applications are ``energy_storage``, ``backup_power``, ``charging_station``,
``low_speed_vehicle`` and ``other``. ``e_bike`` is never allowed: a policy that names it is
rejected. Every decision carries its reason in Chinese and English.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from battrace.domain.health import HealthEstimate, InvalidHealthInput

APPLICATIONS: tuple[str, ...] = (
    "energy_storage",
    "backup_power",
    "charging_station",
    "low_speed_vehicle",
    "other",
)
PROHIBITED_APPLICATIONS = frozenset({"e_bike"})
APPLICATION_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "energy_storage": "储能",
        "backup_power": "备用电源",
        "charging_station": "充换电站",
        "low_speed_vehicle": "低速车",
        "other": "其他",
    }
)
METHODS: Mapping[str, str] = MappingProxyType(
    {
        "gbt34015": "full residual-capacity test (GB/T 34015)",
        "pulse": "pulse-test estimate",
    }
)
REUSE = "reuse"
RECYCLE = "recycle"


def _frozen(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True, slots=True)
class GradingPolicy:
    """Configurable thresholds; every field has a documented default.

    ``min_soh`` — the minimum SOH (fraction of rated capacity) for each re-use application.
    ``reuse_chemistries`` — chemistries eligible for re-use at all (code chemistries, upper case).
    ``barred`` — applications barred for a chemistry. Default: ternary (NCM/NCA) packs are not
    proposed for stationary ``energy_storage`` — a conservative choice reflecting the Chinese
    energy administration's 2022 safety requirements that keep ternary cells out of medium and
    large storage stations; override it if your use case differs.
    ``pulse_margin`` — when a pulse estimate comes without its lower bound, the bound is taken as
    ``soh − pulse_margin``.
    """

    min_soh: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "energy_storage": 0.80,
                "charging_station": 0.75,
                "backup_power": 0.70,
                "low_speed_vehicle": 0.70,
                "other": 0.60,
            }
        )
    )
    reuse_chemistries: frozenset[str] = frozenset({"LFP", "NCM", "NCA", "NMC", "LMO", "LTO"})
    barred: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _frozen(
            {
                "NCM": ("energy_storage",),
                "NCA": ("energy_storage",),
                "NMC": ("energy_storage",),
            }
        )
    )
    pulse_margin: float = 0.05
    #: Applications for which a re-made product must carry a certification (R14). Default: stationary
    #: energy storage, where product certification of re-used batteries is the established practice.
    certification_required: frozenset[str] = frozenset({"energy_storage"})

    def __post_init__(self) -> None:
        for app in self.certification_required:
            if app not in APPLICATIONS:
                raise InvalidHealthInput(f"certification_required names unknown application {app!r}", field=app)
        for app, threshold in self.min_soh.items():
            if app in PROHIBITED_APPLICATIONS:
                raise InvalidHealthInput(
                    f"application {app!r} is prohibited for re-used batteries", field=app
                )
            if app not in APPLICATIONS:
                raise InvalidHealthInput(
                    f"unknown application {app!r} (allowed: {', '.join(APPLICATIONS)})", field=app
                )
            if not (isinstance(threshold, int | float) and 0.0 < threshold <= 1.0):
                raise InvalidHealthInput(f"min_soh[{app!r}] = {threshold!r} must be in (0, 1]", field=app)
        for chem, apps in self.barred.items():
            for app in apps:
                if app not in APPLICATIONS:
                    raise InvalidHealthInput(
                        f"barred[{chem!r}] names unknown application {app!r}", field=chem
                    )
        if not 0.0 <= self.pulse_margin < 0.5:
            raise InvalidHealthInput(f"pulse_margin = {self.pulse_margin!r} must be in [0, 0.5)")

    @property
    def reuse_floor(self) -> float:
        """The lowest SOH at which any application accepts the battery."""
        return min(self.min_soh.values())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GradingPolicy:
        """Build from a dict (e.g. parsed JSON); missing keys take the defaults."""
        unknown = set(d) - {"min_soh", "reuse_chemistries", "barred", "pulse_margin", "certification_required"}
        if unknown:
            raise InvalidHealthInput(f"unknown grading policy keys: {', '.join(sorted(unknown))}")
        base = cls()
        return cls(
            min_soh=_frozen({k: float(v) for k, v in d.get("min_soh", base.min_soh).items()}),
            reuse_chemistries=frozenset(
                c.upper() for c in d.get("reuse_chemistries", base.reuse_chemistries)
            ),
            barred=_frozen({k.upper(): tuple(v) for k, v in d.get("barred", base.barred).items()}),
            pulse_margin=float(d.get("pulse_margin", base.pulse_margin)),
            certification_required=frozenset(d.get("certification_required", base.certification_required)),
        )

    @classmethod
    def from_json(cls, text: str) -> GradingPolicy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidHealthInput(f"grading policy is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidHealthInput("grading policy JSON must be an object")
        return cls.from_dict(data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_soh": dict(self.min_soh),
            "reuse_chemistries": sorted(self.reuse_chemistries),
            "barred": {k: list(v) for k, v in self.barred.items()},
            "pulse_margin": self.pulse_margin,
            "certification_required": sorted(self.certification_required),
        }


DEFAULT_POLICY = GradingPolicy()


@dataclass(frozen=True, slots=True)
class GradingDecision:
    path: str  # "reuse" or "recycle"
    applications: tuple[str, ...]
    soh: float
    soh_used: float  # the figure judged: the measured SOH, or a pulse estimate's lower bound
    method: str
    chemistry: str
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "applications": list(self.applications),
            "soh": round(self.soh, 4),
            "soh_used": round(self.soh_used, 4),
            "method": self.method,
            "chemistry": self.chemistry,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


def grade(
    soh: float,
    method: str,
    chemistry: str,
    *,
    soh_low: float | None = None,
    policy: GradingPolicy = DEFAULT_POLICY,
) -> GradingDecision:
    """Decide re-use (with the allowed applications) or material recycling.

    ``soh`` is a fraction (0.85 = 85 %). For ``method="pulse"`` the decision uses ``soh_low``
    (the estimate's lower bound), or ``soh − policy.pulse_margin`` when it is not given.
    """
    if method not in METHODS:
        raise InvalidHealthInput(f"method {method!r} must be one of: {', '.join(METHODS)}", field="method")
    for name, value in (("soh", soh), ("soh_low", soh_low)):
        if value is not None and not (
            isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1.5
        ):
            raise InvalidHealthInput(f"{name} = {value!r} must be a fraction between 0 and 1.5", field=name)
    chem = chemistry.strip().upper()
    if not chem:
        raise InvalidHealthInput("chemistry is empty", field="chemistry")

    pct = f"{soh * 100:.1f}%"
    if method == "pulse":
        margin_used = soh_low is None
        used = soh - policy.pulse_margin if soh_low is None else min(soh_low, soh)
        basis_en = f"pulse estimate {pct}, judged on its lower bound {used * 100:.1f}%" + (
            f" (estimate − {policy.pulse_margin * 100:.0f} points, no interval given)" if margin_used else ""
        )
        basis_zh = f"脉冲估算SOH {pct}，按区间下限 {used * 100:.1f}% 判定"
    else:
        used = soh
        basis_en = f"measured SOH {pct} (GB/T 34015 full test)"
        basis_zh = f"按GB/T 34015完整测试实测SOH {pct}"
    used = max(used, 0.0)

    if chem not in policy.reuse_chemistries:
        return GradingDecision(
            RECYCLE,
            (),
            soh,
            used,
            method,
            chem,
            f"{basis_zh}；{chem} 不在可梯次利用的化学体系之列，应进行材料再生利用。",
            f"{basis_en}; {chem} is not a chemistry eligible for re-use, so: material recycling.",
        )
    barred = set(policy.barred.get(chem, ()))
    allowed = tuple(
        a for a in APPLICATIONS if a in policy.min_soh and used >= policy.min_soh[a] and a not in barred
    )
    if not allowed:
        floor = min((t for a, t in policy.min_soh.items() if a not in barred), default=policy.reuse_floor)
        return GradingDecision(
            RECYCLE,
            (),
            soh,
            used,
            method,
            chem,
            f"{basis_zh}，低于梯次利用最低要求 {floor * 100:.0f}%，应进行材料再生利用。",
            f"{basis_en} is below the re-use minimum of {floor * 100:.0f}%, so: material recycling.",
        )
    apps_zh = "、".join(APPLICATION_NAMES_ZH[a] for a in allowed)
    barred_en = f"; not {', '.join(sorted(barred))} for {chem}" if barred else ""
    barred_zh = (
        f"；{chem} 不用于" + "、".join(APPLICATION_NAMES_ZH[a] for a in sorted(barred)) if barred else ""
    )
    return GradingDecision(
        REUSE,
        allowed,
        soh,
        used,
        method,
        chem,
        f"{basis_zh}，可作为再利用候选：{apps_zh}{barred_zh}；禁止用于电动自行车。",
        f"{basis_en}: re-use candidate for {', '.join(allowed)}{barred_en}; never for e-bikes.",
    )


#: Lifecycle states in which re-use is out of the question whatever the SOH, and why.
NO_REUSE_STATES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "recycled": ("该电池已再生利用，材料已回收，不再作为梯次利用候选，也无剩余价值。",
                 "the battery has been recycled: its materials are recovered, so it is no re-use candidate "
                 "and has no residual value left."),
    "dismantled": ("该电池已拆解，不再是完整电池，不作为梯次利用候选；其释放的模组/单体各自另有记录。",
                   "the battery has been dismantled: it is no longer whole, so it is no re-use candidate "
                   "(the modules or cells it freed have records of their own)."),
    "remade": ("该电池已用于再制造，其价值体现在再制造产品中，不再作为梯次利用候选。",
               "the battery has already been re-made into a product: its value lives on in that product, "
               "so it is no re-use candidate."),
})


def no_reuse(state: str | None, decision: GradingDecision) -> GradingDecision:
    """``decision`` for a battery in lifecycle ``state``: never re-use once it is recycled, dismantled
    or already re-made, with the reason (the SOH still shown)."""
    reason = NO_REUSE_STATES.get(state or "")
    if reason is None:
        return decision
    return GradingDecision(RECYCLE, (), decision.soh, decision.soh_used, decision.method, decision.chemistry,
                           reason[0], reason[1])


def grade_estimate(
    estimate: HealthEstimate, chemistry: str, *, policy: GradingPolicy = DEFAULT_POLICY
) -> GradingDecision:
    """Grade a pulse-test estimate on its lower bound."""
    return grade(estimate.soh, "pulse", chemistry, soh_low=estimate.soh_low, policy=policy)
