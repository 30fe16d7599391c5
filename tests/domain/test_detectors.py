"""The early-warning monitor runs one registered detector per hazard, in a fixed order."""

from __future__ import annotations

import pytest

from battrace.domain.alarms import DETECTORS, HAZARDS_45688, THERMAL_RUNAWAY, detector


def test_every_hazard_has_its_detector_in_order() -> None:
    assert list(DETECTORS) == [
        "long_offline", "over_temperature", "cell_over_voltage_charging", "cell_voltage_spread_charging",
        "cell_under_voltage_discharging", "voltage_sampling_fault", "low_insulation", THERMAL_RUNAWAY, "bms_level",
    ]
    assert set(HAZARDS_45688) <= set(DETECTORS)


def test_a_detector_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        detector("over_temperature")(DETECTORS["over_temperature"])
