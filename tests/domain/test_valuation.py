from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.health import InvalidHealthInput
from battrace.domain.valuation import (
    PriceSheet,
    RecoveryRates,
    ReuseTerms,
    material_value,
    materials,
    residual_value,
)
from tests.conftest import shared_path


def test_shipped_materials_match_the_shared_table() -> None:
    import csv

    with shared_path("domain", "materials.csv").open(encoding="utf-8") as fh:
        shared = {r["chemistry"]: r for r in csv.DictReader(fh)}
    assert set(materials()) == set(shared)
    assert materials()["NMC622"].kg_per_kwh["ni"] == float(shared["NMC622"]["ni_kg_per_kwh"])


def test_default_prices_state_their_date_and_recovery_follows_2024_norms() -> None:
    assert PriceSheet().as_of == date(2025, 6, 30)
    r = RecoveryRates().rates
    assert (r["ni"], r["co"], r["mn"], r["li"]) == (0.98, 0.98, 0.98, 0.90)


def test_material_value_is_kg_times_energy_times_price_times_recovery() -> None:
    prices = PriceSheet(as_of=date(2026, 1, 1), cny_per_kg={"ni": 100.0})
    v = material_value(materials()["NMC622"], 50.0, prices=prices, recovery=RecoveryRates({"ni": 0.5}))
    assert v["ni"] == pytest.approx(0.54 * 50 * 100 * 0.5)
    assert v["li"] == 0.0


def test_ncm_maps_to_nmc622_and_reuse_wins_when_healthy() -> None:
    v = residual_value("NCM", 60.0, 0.85)
    assert v.materials_row == "NMC622"
    assert v.reuse_value_cny == pytest.approx(0.85 * 60 * 300)
    assert v.better_path == "reuse" and v.residual_value_cny == v.reuse_value_cny
    assert v.as_dict()["prices_as_of"] == "2025-06-30"


def test_recycling_wins_when_reuse_not_allowed() -> None:
    v = residual_value("LFP", 60.0, 0.5)
    assert not v.reuse_allowed and v.better_path == "recycle"
    assert v.residual_value_cny == v.material_value_cny


def test_recycling_wins_when_metal_is_worth_more() -> None:
    v = residual_value("NCM", 60.0, 0.7, reuse=ReuseTerms(cny_per_kwh=10.0))
    assert v.better_path == "recycle"


def test_chemistry_map_is_configurable_and_missing_rows_are_reported() -> None:
    assert residual_value("NCM", 60, 0.9, chemistry_map={"NCM": "NMC811"}).materials_row == "NMC811"
    v = residual_value("LMO", 10.0, 0.9)
    assert v.material_value_cny is None and any("no materials row" in n for n in v.notes)


@pytest.mark.parametrize(("energy", "soh"), [(0, 0.8), (-5, 0.8), (60, -0.1), (60, float("nan"))])
def test_rejects_bad_numbers(energy: float, soh: float) -> None:
    with pytest.raises(InvalidHealthInput):
        residual_value("LFP", energy, soh)


@given(energy=st.floats(1, 200), soh=st.floats(0, 1.2), chem=st.sampled_from(["NCM", "LFP", "NCA"]))
def test_residual_is_the_better_of_allowed_paths(energy: float, soh: float, chem: str) -> None:
    v = residual_value(chem, energy, soh)
    material = v.material_value_cny or 0.0
    assert v.residual_value_cny >= material - 1e-9
    if v.reuse_allowed:
        assert v.residual_value_cny == pytest.approx(max(material, v.reuse_value_cny))
