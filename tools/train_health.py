"""Train the pulse-test SOH model OFFLINE and write ``battrace/domain/data/health_model.json``.

Usage: .venv/bin/python tools/train_health.py [PULSEBAT_CSV] [--out PATH]

For every PulseBat dataset (chemistry × format) and for both variants (with and without SOC):

1. choose the kernel ridge hyper-parameters (penalty λ, RBF width γ) on a small grid by 5-fold
   cross-validation GROUPED BY CELL (no cell in both the training and the test fold);
2. with those hyper-parameters, collect out-of-fold residuals from a second, differently seeded
   grouped 5-fold split; their 5 % / 95 % quantiles give the estimate's interval;
3. refit on the whole dataset and store standardisation, dual coefficients and the training
   inputs (the kernel needs them at prediction time).

The output is deterministic for a given CSV (no timestamps; the CSV's SHA-256 is recorded).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from battrace.domain.health import (  # noqa: E402
    MODEL_FORMAT,
    VOLTAGE_COLUMNS,
    FloatArray,
    fit_kernel_ridge,
    fit_ridge,
    grouped_folds,
    pulse_features,
)

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "pulsebat" / "pulse_features_train.csv"
DEFAULT_OUT = ROOT / "battrace" / "domain" / "data" / "health_model.json"
K = 5
SELECT_SEED, RESIDUAL_SEED = 0, 1
LAMBDAS = (0.001, 0.003, 0.01, 0.03)
GAMMAS = (0.3, 1.0)
LINEAR_WEIGHT = 1.0
RIDGE_LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
Q_LOW, Q_HIGH = 0.05, 0.95
ATTRIBUTION = {
    "dataset": "PulseBat — pulse-test features of retired lithium-ion cells",
    "authors": "Shengyu (Terence) Tao et al., Tsinghua University",
    "licence": "MIT",
    "copyright": "Copyright (c) 2024 Terence (Shengyu) Tao",
    "licence_file": "battrace/domain/data/PULSEBAT-LICENSE.txt",
    "note": "The training inputs in this file come from PulseBat, redistributed under its MIT licence.",
}


@dataclass(frozen=True)
class Dataset:
    name: str
    chemistry: str
    rated_capacity_ah: float
    volts: FloatArray
    soc: FloatArray
    soh: FloatArray
    cells: list[str]


def read_datasets(path: Path) -> list[Dataset]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for name in sorted({r["dataset"] for r in rows}):
        rs = [r for r in rows if r["dataset"] == name]
        out.append(
            Dataset(
                name=name,
                chemistry=rs[0]["chemistry"],
                rated_capacity_ah=float(rs[0]["rated_capacity_ah"]),
                volts=np.array([[float(r[c]) for c in VOLTAGE_COLUMNS] for r in rs]),
                soc=np.array([float(r["soc_percent"]) for r in rs]),
                soh=np.array([float(r["soh"]) for r in rs]),
                cells=[f"{name}/{r['cell_id']}" for r in rs],
            )
        )
    return out


def cv_predict_krr(x: FloatArray, y: FloatArray, folds: np.ndarray, lam: float, gamma: float) -> FloatArray:
    pred = np.empty_like(y)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        pred[te] = fit_kernel_ridge(x[tr], y[tr], lam=lam, gamma=gamma, linear_weight=LINEAR_WEIGHT).predict(
            x[te]
        )
    return pred


def cv_predict_ridge(x: FloatArray, y: FloatArray, folds: np.ndarray, lam: float) -> FloatArray:
    pred = np.empty_like(y)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        pred[te] = fit_ridge(x[tr], y[tr], lam=lam).predict(x[te])
    return pred


def mape(y: FloatArray, pred: FloatArray) -> float:
    return float(np.mean(np.abs(pred - y) / y) * 100.0)


def rmse(y: FloatArray, pred: FloatArray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def select_krr(x: FloatArray, y: FloatArray, cells: Sequence[str], seed: int) -> tuple[float, float]:
    """(λ, γ) with the lowest grouped-CV MAPE on this data."""
    folds = grouped_folds(cells, K, seed)
    scores = {(lam, g): mape(y, cv_predict_krr(x, y, folds, lam, g)) for lam in LAMBDAS for g in GAMMAS}
    return min(scores, key=lambda k: scores[k])


def select_ridge(x: FloatArray, y: FloatArray, cells: Sequence[str], seed: int) -> float:
    folds = grouped_folds(cells, K, seed)
    scores = {lam: mape(y, cv_predict_ridge(x, y, folds, lam)) for lam in RIDGE_LAMBDAS}
    return min(scores, key=lambda k: scores[k])


def _floats(a: FloatArray) -> list[float]:
    return [float(v) for v in a]


def train_variant(ds: Dataset, with_soc: bool) -> dict[str, object]:
    x = pulse_features(ds.volts, ds.soc if with_soc else None)
    lam, gamma = select_krr(x, ds.soh, ds.cells, SELECT_SEED)
    oof = cv_predict_krr(x, ds.soh, grouped_folds(ds.cells, K, RESIDUAL_SEED), lam, gamma)
    resid = ds.soh - oof
    model = fit_kernel_ridge(x, ds.soh, lam=lam, gamma=gamma, linear_weight=LINEAR_WEIGHT)
    print(
        f"  {ds.name:<10} {'soc' if with_soc else 'no_soc':<6} λ={lam:<6} γ={gamma:<4} "
        f"CV MAPE {mape(ds.soh, oof):.2f} %  RMSE {rmse(ds.soh, oof):.4f}  "
        f"interval [{np.quantile(resid, Q_LOW):+.4f}, {np.quantile(resid, Q_HIGH):+.4f}]"
    )
    return {
        "lam": lam,
        "gamma": gamma,
        "linear_weight": LINEAR_WEIGHT,
        "mean": _floats(model.mean),
        "scale": _floats(model.scale),
        "y_mean": model.y_mean,
        "alpha": _floats(model.alpha),
        "residual_low": float(np.quantile(resid, Q_LOW)),
        "residual_high": float(np.quantile(resid, Q_HIGH)),
        "cv_mape": round(mape(ds.soh, oof), 4),
        "cv_rmse": round(rmse(ds.soh, oof), 6),
    }


def train(csv_path: Path) -> dict[str, object]:
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    subs = []
    for ds in read_datasets(csv_path):
        inputs = np.hstack([ds.volts, ds.soc[:, None]])
        subs.append(
            {
                "name": ds.name,
                "chemistry": ds.chemistry,
                "rated_capacity_ah": ds.rated_capacity_ah,
                "rows": len(ds.soh),
                "cells": len(set(ds.cells)),
                "variants": {"soc": train_variant(ds, True), "no_soc": train_variant(ds, False)},
                "inputs": [[float(v) for v in row] for row in inputs],
            }
        )
    return {
        "format": MODEL_FORMAT,
        "description": "Per-dataset kernel ridge (RBF + linear) pulse-test SOH models; see docs/health.md.",
        "coverage": round(Q_HIGH - Q_LOW, 4),
        "features": "U1..U21, Uk-U1 (k=2..21), s, s*(Uk-U1), s^2 with s=SOC/100; no_soc: U1..U21, Uk-U1",
        "training": {
            "source_file": "pulsebat/pulse_features_train.csv",
            "source_sha256": digest,
            "cv": f"{K}-fold grouped by cell",
            "select_seed": SELECT_SEED,
            "residual_seed": RESIDUAL_SEED,
            "grid": {"lambda": list(LAMBDAS), "gamma": list(GAMMAS)},
            "interval_quantiles": [Q_LOW, Q_HIGH],
            "tool": "tools/train_health.py",
        },
        "attribution": ATTRIBUTION,
        "submodels": subs,
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    doc = train(args.csv)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
