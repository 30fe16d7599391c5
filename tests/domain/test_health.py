from __future__ import annotations

import csv
import json
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battrace.domain.health import (
    VOLTAGE_COLUMNS,
    InvalidHealthInput,
    PulseTest,
    estimate_many,
    estimate_soh,
    fit_kernel_ridge,
    fit_ridge,
    grade_for,
    grouped_folds,
    load_model,
    normalise_chemistry,
    pulse_features,
)
from battrace.errors import ValidationError
from tests.conftest import shared_path

LFP_ROW = (
    3.1819,
    3.2225,
    3.2414,
    3.2012,
    3.1871,
    3.1466,
    3.1266,
    3.1668,
    3.1837,
    3.2653,
    3.3008,
    3.2202,
    3.1907,
    3.1092,
    3.0687,
    3.1498,
    3.1835,
    3.3064,
    3.3571,
    3.2353,
    3.194,
)


def _pulsebat_rows() -> list[dict[str, str]]:
    with shared_path("data", "pulsebat", "pulse_features_train.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_model_ships_with_the_package_and_attributes_pulsebat() -> None:
    doc = json.loads(resources.files("battrace.domain.data").joinpath("health_model.json").read_text("utf-8"))
    assert doc["attribution"]["licence"] == "MIT"
    assert "Tao" in doc["attribution"]["copyright"]
    licence = resources.files("battrace.domain.data").joinpath("PULSEBAT-LICENSE.txt").read_text("utf-8")
    assert "MIT License" in licence and "Permission is hereby granted" in licence
    assert {s.name for s in load_model().submodels} == {"LFP_35Ah", "LMO_10Ah", "NMC_2.1Ah", "NMC_21Ah"}


def test_estimate_returns_interval_around_soh_when_input_is_a_training_row() -> None:
    e = estimate_soh(PulseTest(LFP_ROW, "LFP", 35.0, 5.0))
    assert e.soh_low < e.soh < e.soh_high
    assert abs(e.soh - 0.8135) < 0.03  # the row's measured SOH
    assert (e.model, e.matched, e.grade) == ("LFP_35Ah/soc", "exact", "A")
    assert e.coverage == pytest.approx(0.9)


def test_estimate_picks_same_chemistry_nearest_capacity_when_no_exact_model() -> None:
    model = load_model()
    assert model.choose("NCM", 2.0)[0].name == "NMC_2.1Ah"
    assert model.choose("NCM", 2.0)[1] == "exact"
    assert model.choose("NCM", 150.0)[0].name == "NMC_21Ah"
    assert model.choose("NCM", 150.0)[1] == "nearest"
    assert model.choose("LFP", 280.0)[0].name == "LFP_35Ah"
    e = estimate_soh(PulseTest(LFP_ROW, "LFP", 280.0))
    assert e.matched == "nearest" and e.model == "LFP_35Ah/no_soc"
    assert any("nearest" in n for n in e.notes) and any("soc_percent" in n for n in e.notes)


def test_estimate_rejects_chemistry_when_no_model_exists() -> None:
    with pytest.raises(InvalidHealthInput, match="no pulse model"):
        estimate_soh(PulseTest(LFP_ROW, "LTO", 20.0))
    assert issubclass(InvalidHealthInput, ValidationError)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"U3": "abc"}, "U3"),
        ({"U7": ""}, "U7"),
        ({"U1": "3200"}, "U1"),  # millivolts
        ({"rated_capacity_ah": "-1"}, "rated_capacity_ah"),
        ({"soc_percent": "140"}, "soc_percent"),
        ({"chemistry": ""}, "chemistry"),
    ],
)
def test_pulse_test_names_the_column_when_input_is_bad(change: dict[str, str], field: str) -> None:
    row = {c: str(v) for c, v in zip(VOLTAGE_COLUMNS, LFP_ROW, strict=True)}
    row.update(chemistry="LFP", rated_capacity_ah="35", soc_percent="20")
    row.update(change)
    with pytest.raises(InvalidHealthInput) as exc:
        PulseTest.from_mapping(row)
    assert exc.value.context["field"] == field


def test_pulse_test_rejects_wrong_number_of_voltages() -> None:
    with pytest.raises(InvalidHealthInput, match="21 voltages"):
        PulseTest(LFP_ROW[:20], "LFP", 35.0)


@pytest.mark.parametrize(("soh", "grade"), [(0.95, "A"), (0.80, "A"), (0.7999, "B"), (0.65, "C"), (0.2, "D")])
def test_grade_bands(soh: float, grade: str) -> None:
    assert grade_for(soh) == grade


def test_chemistry_aliases_map_code_chemistries() -> None:
    assert normalise_chemistry("ncm") == normalise_chemistry("NCA") == "NMC"
    assert normalise_chemistry("LFP") == "LFP"


@settings(max_examples=40, deadline=None)
@given(
    shift=st.floats(min_value=-0.02, max_value=0.02),
    soc=st.one_of(st.none(), st.floats(min_value=5, max_value=50)),
    rated=st.floats(min_value=1, max_value=300),
    chem=st.sampled_from(["LFP", "NCM", "LMO"]),
)
def test_interval_always_brackets_the_estimate(
    shift: float, soc: float | None, rated: float, chem: str
) -> None:
    e = estimate_soh(PulseTest(tuple(v + shift for v in LFP_ROW), chem, rated, soc))
    assert 0.0 <= e.soh_low <= e.soh <= e.soh_high
    assert e.grade == grade_for(e.soh)


def test_batch_estimates_equal_single_estimates() -> None:
    tests = [PulseTest(LFP_ROW, "LFP", 35.0, s) for s in (5.0, 25.0)] + [PulseTest(LFP_ROW, "LFP", 35.0)]
    for batch, single in zip(estimate_many(tests), [estimate_soh(t) for t in tests], strict=True):
        assert batch.soh == pytest.approx(single.soh, abs=1e-12)
        assert (batch.model, batch.grade, batch.notes) == (single.model, single.grade, single.notes)


def test_grouped_folds_never_split_a_cell() -> None:
    groups = [f"c{i // 10}" for i in range(200)]
    folds = grouped_folds(groups, 5, seed=3)
    for g in set(groups):
        assert len({int(f) for f, h in zip(folds, groups, strict=True) if h == g}) == 1
    assert set(folds.tolist()) == set(range(5))


def test_fitters_recover_a_linear_function() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = x @ np.array([0.3, -0.1, 0.05, 0.0]) + 0.8
    assert np.allclose(fit_ridge(x, y, lam=1e-8).predict(x[:5]), y[:5], atol=1e-6)
    assert np.allclose(fit_kernel_ridge(x, y, lam=1e-6, gamma=0.1).predict(x[:5]), y[:5], atol=1e-2)


def test_shipped_model_is_accurate_on_pulsebat_in_sample() -> None:
    rows = _pulsebat_rows()
    est = estimate_many([PulseTest.from_mapping(r) for r in rows])
    y = np.array([float(r["soh"]) for r in rows])
    p = np.array([e.soh for e in est])
    assert float(np.mean(np.abs(p - y) / y)) < 0.03


def test_grouped_cv_beats_ridge_on_every_dataset() -> None:
    """A single (non-nested) grouped split, quick version of bench/health.py."""
    rows = _pulsebat_rows()
    for name in sorted({r["dataset"] for r in rows}):
        rs = [r for r in rows if r["dataset"] == name]
        u = np.array([[float(r[c]) for c in VOLTAGE_COLUMNS] for r in rs])
        soc = np.array([float(r["soc_percent"]) for r in rs])
        y = np.array([float(r["soh"]) for r in rs])
        folds = grouped_folds([r["cell_id"] for r in rs], 5, seed=7)
        x = pulse_features(u, soc)
        p_base, p_model = np.empty_like(y), np.empty_like(y)
        for f in range(5):
            tr, te = folds != f, folds == f
            p_base[te] = fit_ridge(u[tr], y[tr], lam=1e-3).predict(u[te])
            p_model[te] = fit_kernel_ridge(x[tr], y[tr], lam=0.003, gamma=0.3).predict(x[te])
        mape_base = np.mean(np.abs(p_base - y) / y)
        mape_model = np.mean(np.abs(p_model - y) / y)
        assert mape_model < mape_base, name
        assert mape_model < 0.04, name


@pytest.mark.parametrize("module", ["health", "grading", "valuation", "forecast", "alarms"])
def test_health_modules_are_pure_domain(module: str) -> None:
    import ast
    from pathlib import Path

    import battrace.domain

    path = Path(battrace.domain.__file__).parent / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for layer in ("storage", "services", "api", "web", "cli", "clock"):
        assert not any(m.startswith(f"battrace.{layer}") for m in imported), (module, layer)
    source = path.read_text(encoding="utf-8")
    for clock_read in ("datetime.now", "date.today", "time.time(", "utcnow"):
        assert clock_read not in source, (module, clock_read)
