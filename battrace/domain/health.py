"""Fast state-of-health (SOH) estimation from a pulse test.

A pulse test records 21 voltages ``U1``…``U21`` (volts) around a train of short charge and
discharge current pulses: ``U1`` is the rest voltage before the first pulse, the others the
voltage at the end of each pulse or rest. The pulse responses ``Uk − U1`` carry the cell's
resistance and polarisation, which grow as the cell ages.

Model
-----
One kernel ridge regression per PulseBat dataset (chemistry × cell format), with the kernel
``exp(−γ‖z−z'‖²/p) + z·z'/p`` (RBF plus linear) on standardised features::

    U1…U21, Uk − U1 (k = 2…21), s, s·(Uk − U1), s²        with s = SOC / 100

and, for inputs without a state of charge, a second variant on ``U1…U21, Uk − U1`` only. The
models are trained OFFLINE by ``tools/train_health.py`` on the PulseBat data (MIT licence,
attribution in ``data/PULSEBAT-LICENSE.txt``) and shipped as ``data/health_model.json``; this
module only loads that file and predicts — it never trains at run time and reads no clock.

The estimate carries an interval from the 5 % and 95 % quantiles of the grouped-by-cell
cross-validation residuals of the chosen sub-model (a nominal 90 % interval).

Choosing the sub-model: the dataset with the same chemistry whose rated capacity is closest (on
a log scale) to the input's. The result names it in ``model`` and says in ``matched`` whether
the match was ``exact`` (same chemistry, rated capacity within ±10 %) or only ``nearest``.

The fitting primitives (:func:`pulse_features`, :func:`fit_kernel_ridge`, :func:`fit_ridge`,
:func:`grouped_folds`) live here so that the training tool, the benchmark and the runtime share
one implementation of the features.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from battrace.errors import InvalidHealthInput as InvalidHealthInput  # re-exported; lives in battrace.errors

N_VOLTAGES = 21
VOLTAGE_COLUMNS = tuple(f"U{i}" for i in range(1, N_VOLTAGES + 1))
MODEL_FILE = "health_model.json"
MODEL_FORMAT = "battrace.health_model/1"
# Voltages outside this band are not a lithium-ion cell's pulse test (typing error, mV, pack V).
MIN_VOLTS, MAX_VOLTS = 0.5, 5.0
EXACT_CAPACITY_TOLERANCE = 0.10
#: An input is inside the model's domain when every feature lies within the training data's range
#: widened by this share of the range on each side; otherwise no SOH is given (status outside_domain).
DOMAIN_MARGIN = 0.10
#: A point estimate outside this band is not a state of health a cell can have; it is withheld
#: (status implausible) instead of printed.
PLAUSIBLE_SOH = (0.0, 1.05)

# SOH grade bands on the point estimate: (lower bound inclusive, grade).
GRADES: tuple[tuple[float, str], ...] = ((0.80, "A"), (0.70, "B"), (0.60, "C"), (0.0, "D"))

# Chemistry names accepted on input → the PulseBat chemistry family.
CHEMISTRY_ALIASES: Mapping[str, str] = {
    "NCM": "NMC",
    "NMC": "NMC",
    "NCA": "NMC",
    "TERNARY": "NMC",
    "三元": "NMC",
    "LFP": "LFP",
    "LIFEPO4": "LFP",
    "磷酸铁锂": "LFP",
    "LMO": "LMO",
    "锰酸锂": "LMO",
}

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- features & fitting


def pulse_features(voltages: FloatArray, soc_percent: FloatArray | None) -> FloatArray:
    """The feature matrix for ``n`` pulse tests (``voltages`` is ``n × 21``).

    With ``soc_percent`` (length ``n``) the SOC terms are included, without it they are not.
    """
    u = np.asarray(voltages, dtype=np.float64)
    response = u[:, 1:] - u[:, :1]
    if soc_percent is None:
        return np.hstack([u, response])
    s = (np.asarray(soc_percent, dtype=np.float64) / 100.0)[:, None]
    return np.hstack([u, response, s, response * s, s * s])


def _standardise(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


@dataclass(frozen=True, slots=True, eq=False)
class KernelRidge:
    """Kernel ridge regression with an RBF + linear kernel on standardised features."""

    mean: FloatArray
    scale: FloatArray
    train: FloatArray  # standardised training features
    alpha: FloatArray
    y_mean: float
    gamma: float
    linear_weight: float

    def kernel(self, z: FloatArray) -> FloatArray:
        p = self.train.shape[1]
        sq = (z * z).sum(1)[:, None] + (self.train * self.train).sum(1)[None, :] - 2.0 * z @ self.train.T
        return np.exp(-self.gamma * np.maximum(sq, 0.0) / p) + self.linear_weight * (z @ self.train.T) / p

    def predict(self, x: FloatArray) -> FloatArray:
        z = (x - self.mean) / self.scale
        return self.kernel(z) @ self.alpha + self.y_mean


def fit_kernel_ridge(
    x: FloatArray, y: FloatArray, *, lam: float, gamma: float, linear_weight: float = 1.0
) -> KernelRidge:
    """Fit :class:`KernelRidge` (closed form; ``lam`` is the ridge penalty on the kernel matrix)."""
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    y_mean = float(y.mean())
    proto = KernelRidge(mean, scale, z, np.zeros(len(z)), y_mean, gamma, linear_weight)
    k = proto.kernel(z)
    alpha = np.asarray(np.linalg.solve(k + lam * np.eye(len(z)), y - y_mean), dtype=np.float64)
    return KernelRidge(mean, scale, z, alpha, y_mean, gamma, linear_weight)


@dataclass(frozen=True, slots=True, eq=False)
class LinearRidge:
    """Plain ridge regression on standardised features (the benchmark's baseline)."""

    mean: FloatArray
    scale: FloatArray
    coef: FloatArray
    y_mean: float

    def predict(self, x: FloatArray) -> FloatArray:
        return ((x - self.mean) / self.scale) @ self.coef + self.y_mean


def fit_ridge(x: FloatArray, y: FloatArray, *, lam: float) -> LinearRidge:
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    y_mean = float(y.mean())
    solved = np.linalg.solve(z.T @ z + lam * np.eye(z.shape[1]), z.T @ (y - y_mean))
    coef = np.asarray(solved, dtype=np.float64)
    return LinearRidge(mean, scale, coef, y_mean)


def grouped_folds(groups: Sequence[str], k: int, seed: int) -> NDArray[np.int64]:
    """Fold number per row so that every group (cell) lies in exactly one fold."""
    unique = np.array(sorted(set(groups)))
    np.random.default_rng(seed).shuffle(unique)
    fold_of = {g: i % k for i, g in enumerate(unique)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


# --------------------------------------------------------------------------- runtime model


@dataclass(frozen=True, slots=True, eq=False)
class Variant:
    """One fitted sub-model variant (with or without SOC) and its CV residual quantiles."""

    regressor: KernelRidge
    residual_low: float
    residual_high: float
    cv_mape: float


@dataclass(frozen=True, slots=True, eq=False)
class SubModel:
    name: str
    chemistry: str
    rated_capacity_ah: float
    soc_range: tuple[float, float]
    u1_range: tuple[float, float]
    with_soc: Variant
    without_soc: Variant
    #: Per-feature (low, high) of the training inputs, for the variants with and without SOC.
    soc_bounds: tuple[FloatArray, FloatArray] | None = None
    no_soc_bounds: tuple[FloatArray, FloatArray] | None = None

    def outside_domain(self, features: FloatArray, with_soc: bool) -> list[str]:
        """Names of the features of one input outside the training range (widened by DOMAIN_MARGIN)."""
        bounds = self.soc_bounds if with_soc else self.no_soc_bounds
        if bounds is None:
            return []
        low, high = bounds
        span = high - low
        lo, hi = low - DOMAIN_MARGIN * span, high + DOMAIN_MARGIN * span
        names = feature_names(with_soc)
        return [f"{names[i]} = {features[i]:.4g} (training {low[i]:.4g}…{high[i]:.4g})"
                for i in range(len(names)) if not lo[i] - 1e-9 <= features[i] <= hi[i] + 1e-9]


def feature_names(with_soc: bool) -> list[str]:
    """Readable names of the :func:`pulse_features` columns."""
    names = list(VOLTAGE_COLUMNS) + [f"U{k}-U1" for k in range(2, N_VOLTAGES + 1)]
    if with_soc:
        names += ["soc"] + [f"soc*(U{k}-U1)" for k in range(2, N_VOLTAGES + 1)] + ["soc^2"]
    return names


def _bounds(features: FloatArray) -> tuple[FloatArray, FloatArray]:
    return features.min(axis=0), features.max(axis=0)


@dataclass(frozen=True, slots=True, eq=False)
class HealthModel:
    submodels: tuple[SubModel, ...]
    coverage: float
    provenance: Mapping[str, Any]

    def choose(self, chemistry: str, rated_capacity_ah: float) -> tuple[SubModel, str]:
        """The sub-model for a chemistry and rated capacity, and ``exact`` or ``nearest``."""
        family = normalise_chemistry(chemistry)
        candidates = [m for m in self.submodels if m.chemistry == family]
        if not candidates:
            known = sorted({m.chemistry for m in self.submodels})
            raise InvalidHealthInput(
                f"no pulse model for chemistry {chemistry!r} (models exist for {', '.join(known)})",
                field="chemistry",
                value=chemistry,
            )
        best = min(candidates, key=lambda m: abs(math.log(rated_capacity_ah / m.rated_capacity_ah)))
        ratio = rated_capacity_ah / best.rated_capacity_ah
        exact = abs(ratio - 1.0) <= EXACT_CAPACITY_TOLERANCE
        return best, "exact" if exact else "nearest"


def normalise_chemistry(chemistry: str) -> str:
    """Map a code chemistry (``NCM``, ``LFP``, ``LMO`` …) to a PulseBat family, or raise."""
    key = chemistry.strip().upper() if chemistry.isascii() else chemistry.strip()
    family = CHEMISTRY_ALIASES.get(key)
    if family is None:
        raise InvalidHealthInput(
            f"chemistry {chemistry!r} has no pulse model (use NCM/NMC/NCA, LFP or LMO)",
            field="chemistry",
            value=chemistry,
        )
    return family


def _variant(d: Mapping[str, Any], train: FloatArray) -> Variant:
    mean = np.asarray(d["mean"], dtype=np.float64)
    scale = np.asarray(d["scale"], dtype=np.float64)
    reg = KernelRidge(
        mean,
        scale,
        (train - mean) / scale,
        np.asarray(d["alpha"], dtype=np.float64),
        float(d["y_mean"]),
        float(d["gamma"]),
        float(d["linear_weight"]),
    )
    return Variant(reg, float(d["residual_low"]), float(d["residual_high"]), float(d["cv_mape"]))


def model_from_dict(doc: Mapping[str, Any]) -> HealthModel:
    """Build the runtime model from the JSON document written by ``tools/train_health.py``."""
    if doc.get("format") != MODEL_FORMAT:
        raise InvalidHealthInput(f"health model format {doc.get('format')!r} is not {MODEL_FORMAT!r}")
    subs = []
    for s in doc["submodels"]:
        inputs = np.asarray(s["inputs"], dtype=np.float64)  # n × 22: U1…U21, soc
        volts, soc = inputs[:, :N_VOLTAGES], inputs[:, N_VOLTAGES]
        with_soc_x, without_soc_x = pulse_features(volts, soc), pulse_features(volts, None)
        subs.append(
            SubModel(
                name=s["name"],
                chemistry=s["chemistry"],
                rated_capacity_ah=float(s["rated_capacity_ah"]),
                soc_range=(float(soc.min()), float(soc.max())),
                u1_range=(float(volts[:, 0].min()), float(volts[:, 0].max())),
                with_soc=_variant(s["variants"]["soc"], with_soc_x),
                without_soc=_variant(s["variants"]["no_soc"], without_soc_x),
                soc_bounds=_bounds(with_soc_x),
                no_soc_bounds=_bounds(without_soc_x),
            )
        )
    provenance = {k: v for k, v in doc.items() if k not in ("submodels",)}
    return HealthModel(tuple(subs), float(doc["coverage"]), provenance)


@lru_cache(maxsize=1)
def load_model() -> HealthModel:
    """The model shipped in the package (loaded once)."""
    text = resources.files("battrace.domain.data").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return model_from_dict(json.loads(text))


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True, slots=True)
class PulseTest:
    """One pulse test: 21 voltages in volts, the cell's chemistry and rated capacity."""

    voltages: tuple[float, ...]
    chemistry: str
    rated_capacity_ah: float
    soc_percent: float | None = None

    def __post_init__(self) -> None:
        if len(self.voltages) != N_VOLTAGES:
            raise InvalidHealthInput(
                f"a pulse test needs {N_VOLTAGES} voltages U1…U21, got {len(self.voltages)}",
                field="voltages",
            )
        for name, v in zip(VOLTAGE_COLUMNS, self.voltages, strict=True):
            if not (isinstance(v, int | float) and math.isfinite(v) and MIN_VOLTS <= v <= MAX_VOLTS):
                raise InvalidHealthInput(
                    f"{name} = {v!r} is not a cell voltage in volts ({MIN_VOLTS}–{MAX_VOLTS} V)",
                    field=name,
                    value=v,
                )
        if not (math.isfinite(self.rated_capacity_ah) and self.rated_capacity_ah > 0):
            raise InvalidHealthInput(
                f"rated_capacity_ah = {self.rated_capacity_ah!r} must be a positive number of Ah",
                field="rated_capacity_ah",
                value=self.rated_capacity_ah,
            )
        if self.soc_percent is not None and not (
            math.isfinite(self.soc_percent) and 0.0 <= self.soc_percent <= 100.0
        ):
            raise InvalidHealthInput(
                f"soc_percent = {self.soc_percent!r} must be between 0 and 100",
                field="soc_percent",
                value=self.soc_percent,
            )

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> PulseTest:
        """Build from a dict with ``chemistry``, ``rated_capacity_ah``, ``U1``…``U21``, ``soc_percent``."""

        def number(key: str, *, required: bool = True) -> float | None:
            raw = row.get(key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if required:
                    raise InvalidHealthInput(f"column {key!r} is missing or empty", field=key)
                return None
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidHealthInput(f"column {key!r} = {raw!r} is not a number", field=key) from None
            if not math.isfinite(value):
                raise InvalidHealthInput(f"column {key!r} = {raw!r} is not a finite number", field=key)
            return value

        chemistry = row.get("chemistry")
        if not isinstance(chemistry, str) or not chemistry.strip():
            raise InvalidHealthInput("column 'chemistry' is missing or empty", field="chemistry")
        volts = tuple(number(c) or 0.0 for c in VOLTAGE_COLUMNS)
        rated = number("rated_capacity_ah")
        assert rated is not None
        return cls(volts, chemistry.strip(), rated, number("soc_percent", required=False))


@dataclass(frozen=True, slots=True)
class HealthEstimate:
    soh: float
    soh_low: float
    soh_high: float
    grade: str
    model: str
    matched: str  # "exact" or "nearest"
    coverage: float  # nominal coverage of [soh_low, soh_high]
    notes: tuple[str, ...] = field(default=())
    #: ``ok``; ``outside_domain`` (some feature outside the training range: see ``outside``) or
    #: ``implausible`` (the point estimate is not a possible SOH): then no SOH is reported.
    status: str = "ok"
    outside: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        shown = self.ok
        return {
            "status": self.status,
            "soh": round(self.soh, 4) if shown else None,
            "soh_low": round(self.soh_low, 4) if shown else None,
            "soh_high": round(self.soh_high, 4) if shown else None,
            "grade": self.grade if shown else None,
            "outside": list(self.outside),
            "model": self.model,
            "matched": self.matched,
            "coverage": self.coverage,
            "notes": list(self.notes),
        }


def grade_for(soh: float) -> str:
    """The SOH grade (A ≥ 80 %, B ≥ 70 %, C ≥ 60 %, D below) of a point estimate."""
    for bound, grade in GRADES:
        if soh >= bound:
            return grade
    return GRADES[-1][1]


def estimate_many(tests: Iterable[PulseTest], model: HealthModel | None = None) -> list[HealthEstimate]:
    """Estimate SOH for many pulse tests (vectorised per sub-model)."""
    model = model or load_model()
    items = list(tests)
    chosen = [model.choose(t.chemistry, t.rated_capacity_ah) for t in items]
    out: list[HealthEstimate | None] = [None] * len(items)
    buckets: dict[tuple[str, bool], list[int]] = {}
    for i, (sub, _) in enumerate(chosen):
        buckets.setdefault((sub.name, items[i].soc_percent is not None), []).append(i)
    by_name = {s.name: s for s in model.submodels}
    for (name, has_soc), idx in buckets.items():
        sub = by_name[name]
        volts = np.array([items[i].voltages for i in idx], dtype=np.float64)
        soc = np.array([items[i].soc_percent for i in idx], dtype=np.float64) if has_soc else None
        variant = sub.with_soc if has_soc else sub.without_soc
        features = pulse_features(volts, soc)
        preds = variant.regressor.predict(features)
        for j, i in enumerate(idx):
            outside = sub.outside_domain(features[j], has_soc)
            out[i] = _estimate(items[i], sub, chosen[i][1], variant, float(preds[j]), model.coverage, outside)
    return [e for e in out if e is not None]


def estimate_soh(test: PulseTest, model: HealthModel | None = None) -> HealthEstimate:
    """Estimate the SOH of one pulse test."""
    return estimate_many([test], model)[0]


def _estimate(
    test: PulseTest, sub: SubModel, matched: str, variant: Variant, pred: float, coverage: float,
    outside: Sequence[str] = (),
) -> HealthEstimate:
    notes: list[str] = []
    status = "ok"
    if outside:
        status = "outside_domain"
        notes.append(f"{len(outside)} input feature(s) outside the {sub.name} training data, no SOH given: "
                     + "; ".join(outside[:3]) + (" …" if len(outside) > 3 else ""))
    elif not PLAUSIBLE_SOH[0] <= pred <= PLAUSIBLE_SOH[1]:
        status = "implausible"
        notes.append(f"the model's output {pred:.1%} is not a possible SOH "
                     f"({PLAUSIBLE_SOH[0]:.0%}–{PLAUSIBLE_SOH[1]:.0%}); no SOH given")
    if matched == "nearest":
        notes.append(
            f"no {sub.chemistry} model at {test.rated_capacity_ah:g} Ah; used the nearest rated capacity "
            f"({sub.rated_capacity_ah:g} Ah) — treat the interval as optimistic"
        )
    if test.soc_percent is None:
        notes.append("no soc_percent given: the model without SOC terms was used (wider interval)")
    elif not sub.soc_range[0] <= test.soc_percent <= sub.soc_range[1]:
        notes.append(
            f"soc_percent {test.soc_percent:g} is outside the training range "
            f"{sub.soc_range[0]:g}–{sub.soc_range[1]:g} %"
        )
    lo, hi = sub.u1_range
    if not lo - 0.1 <= test.voltages[0] <= hi + 0.1:
        notes.append(
            f"rest voltage U1 {test.voltages[0]:.3f} V is outside the training range {lo:.3f}–{hi:.3f} V"
        )
    soh = max(pred, 0.0)
    return HealthEstimate(
        soh=soh,
        soh_low=max(pred + variant.residual_low, 0.0),
        soh_high=max(pred + variant.residual_high, 0.0),
        grade=grade_for(soh),
        model=f"{sub.name}/{'soc' if test.soc_percent is not None else 'no_soc'}",
        matched=matched,
        coverage=coverage,
        notes=tuple(notes),
        status=status,
        outside=tuple(outside),
    )
