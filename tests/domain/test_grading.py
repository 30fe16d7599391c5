from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.grading import APPLICATIONS, GradingPolicy, grade, grade_estimate
from battrace.domain.health import HealthEstimate, InvalidHealthInput

NO_STORAGE = ("backup_power", "charging_station", "low_speed_vehicle", "other")


@pytest.mark.parametrize(
    ("soh", "method", "chem", "path", "apps"),
    [
        (0.85, "gbt34015", "LFP", "reuse", APPLICATIONS),
        (
            0.85,
            "gbt34015",
            "NCM",
            "reuse",
            ("backup_power", "charging_station", "low_speed_vehicle", "other"),
        ),
        (
            0.76,
            "gbt34015",
            "LFP",
            "reuse",
            ("backup_power", "charging_station", "low_speed_vehicle", "other"),
        ),
        (0.72, "gbt34015", "LFP", "reuse", ("backup_power", "low_speed_vehicle", "other")),
        (0.62, "gbt34015", "LFP", "reuse", ("other",)),
        (0.59, "gbt34015", "LFP", "recycle", ()),
        (0.90, "gbt34015", "NiMH", "recycle", ()),
        (0.82, "pulse", "LFP", "reuse", NO_STORAGE),
    ],
)
def test_grade_table(soh: float, method: str, chem: str, path: str, apps: tuple[str, ...]) -> None:
    d = grade(soh, method, chem)
    assert (d.path, d.applications) == (path, apps)
    assert d.reason_en and d.reason_zh


def test_pulse_uses_lower_bound_when_interval_given() -> None:
    d = grade(0.82, "pulse", "LFP", soh_low=0.79)
    assert d.soh_used == 0.79 and "energy_storage" not in d.applications
    assert "lower bound" in d.reason_en and "下限" in d.reason_zh


def test_pulse_estimate_below_floor_is_recycled_even_when_point_estimate_passes() -> None:
    d = grade_estimate(HealthEstimate(0.62, 0.57, 0.66, "C", "LFP_35Ah/soc", "exact", 0.9), "LFP")
    assert d.path == "recycle" and "再生" in d.reason_zh


def test_policy_rejects_e_bike() -> None:
    with pytest.raises(InvalidHealthInput, match="prohibited"):
        GradingPolicy.from_dict({"min_soh": {"e_bike": 0.6}})


def test_policy_loads_from_json_and_overrides_defaults() -> None:
    p = GradingPolicy.from_json('{"min_soh": {"energy_storage": 0.9, "other": 0.5}, "barred": {}}')
    assert grade(0.85, "gbt34015", "NCM", policy=p).applications == ("other",)
    assert grade(0.55, "gbt34015", "LFP", policy=p).applications == ("other",)
    assert GradingPolicy.from_dict(p.as_dict()) == p


@pytest.mark.parametrize("bad", ['{"min_soh": {"boat": 0.7}}', '{"colour": 1}', "[1]", "{nope"])
def test_policy_rejects_bad_config(bad: str) -> None:
    with pytest.raises(InvalidHealthInput):
        GradingPolicy.from_json(bad)


def test_grade_rejects_unknown_method_and_bad_soh() -> None:
    with pytest.raises(InvalidHealthInput, match="method"):
        grade(0.8, "guess", "LFP")
    with pytest.raises(InvalidHealthInput, match="soh"):
        grade(float("nan"), "gbt34015", "LFP")


@given(soh=st.floats(0, 1.2), low=st.floats(0, 1.2), chem=st.sampled_from(["LFP", "NCM", "LMO", "LCO"]))
def test_never_e_bike_and_monotone_in_soh(soh: float, low: float, chem: str) -> None:
    d = grade(soh, "pulse", chem, soh_low=low)
    assert "e_bike" not in d.applications
    assert d.soh_used <= soh
    # more health never removes an application
    better = grade(min(soh + 0.1, 1.3), "pulse", chem, soh_low=min(low + 0.1, 1.3))
    assert set(d.applications) <= set(better.applications)
