from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.forecast import (
    REFERENCE_FIGURES,
    Installation,
    Weibull,
    check_national,
    forecast,
    national_totals,
    read_installations_csv,
)
from battrace.domain.health import InvalidHealthInput


@given(shape=st.floats(1, 8), scale=st.floats(2, 25))
def test_retire_shares_sum_to_one(shape: float, scale: float) -> None:
    life = Weibull(shape, scale)
    total = sum(life.retire_share(a) for a in range(0, 400))
    assert total == pytest.approx(1.0, abs=1e-6)
    assert all(life.retire_share(a) >= 0 for a in range(0, 60))


def test_forecast_conserves_packs_per_province_over_a_long_horizon() -> None:
    insts = [
        Installation("110000", 2018, 1000),
        Installation("110000", 2020, 500),
        Installation("440000", 2019, 300),
    ]
    result = forecast(insts, life=Weibull(3.5, 10), last_year=2120)
    per = {p: sum(r.expected for r in result if r.province == p) for p in ("110000", "440000")}
    assert per == pytest.approx({"110000": 1500.0, "440000": 300.0}, rel=1e-6)
    assert all(r.expected == 0 for r in result if r.year < 2018)


def test_peak_retirement_is_near_the_weibull_mode() -> None:
    result = forecast([Installation("110000", 2015, 1e6)], life=Weibull(3.5, 10))
    peak = max(result, key=lambda r: r.expected)
    mode = 10 * ((3.5 - 1) / 3.5) ** (1 / 3.5)
    assert abs(peak.year - 2015 - mode) <= 1


def test_national_check_reports_ratio_against_published_figures() -> None:
    # A near-zero service life retires every pack in its installation year: 1 M packs in 2025 at
    # 400 kg each are 400 kt, exactly the published lower bound for 2025.
    instant = Weibull(1.0, 1e-9)
    result = forecast([Installation("110000", 2025, 1e6)], life=instant, last_year=2030)
    assert national_totals(result)[2025] == pytest.approx(1e6)
    checks = check_national(result, kg_per_pack=400)
    by_year = {c.year: c for c in checks}
    assert by_year[2025].ratio == pytest.approx(1.0)
    assert by_year[2030].ratio == pytest.approx(0.0)
    assert {r.year for r in REFERENCE_FIGURES} == {2025, 2030}
    assert all(r.source for r in REFERENCE_FIGURES)


def test_read_installations_names_the_bad_row() -> None:
    with pytest.raises(InvalidHealthInput, match="row 2") as exc:
        read_installations_csv("province,year,count\n110000,2020,5\n110000,twenty,5\n")
    assert exc.value.context["column"] == "year"
    with pytest.raises(InvalidHealthInput, match="row 1"):
        read_installations_csv("province,year,count\n110000,2020,-5\n")


def test_kg_per_pack_must_be_positive() -> None:
    with pytest.raises(InvalidHealthInput):
        check_national([], kg_per_pack=0)
