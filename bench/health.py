"""Benchmark: honest accuracy of the pulse-test SOH model on PulseBat.

Usage: .venv/bin/python bench/health.py [PULSEBAT_CSV] [--seeds 3]

NESTED, GROUPED-BY-CELL cross-validation: the outer 5-fold split puts every cell in exactly one
test fold; inside each outer training fold the hyper-parameters of BOTH methods are chosen by an
inner grouped 5-fold CV, so no test cell influences any choice. Compared, per dataset:

(a) baseline — ridge regression on U1…U21 (λ tuned in the inner CV on a 6-point grid),
(b) battrace — kernel ridge (RBF + linear) on pulse responses and SOC terms (tools/train_health.py).

Reports MAPE and RMSE per dataset and overall, averaged over ``--seeds`` outer splits, and the
empirical coverage of the 90 % interval ((b) with residual quantiles from its inner CV).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from train_health import (  # noqa: E402
    DEFAULT_CSV,
    GAMMAS,
    LAMBDAS,
    LINEAR_WEIGHT,
    Q_HIGH,
    Q_LOW,
    cv_predict_krr,
    mape,
    read_datasets,
    rmse,
    select_krr,
    select_ridge,
)

from battrace.domain.health import fit_kernel_ridge, fit_ridge, grouped_folds, pulse_features  # noqa: E402

K = 5


def nested(
    ds_volts: np.ndarray, soc: np.ndarray, y: np.ndarray, cells: list[str], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold predictions of baseline and model, and whether y fell inside the interval."""
    x_base = ds_volts
    x_model = pulse_features(ds_volts, soc)
    outer = grouped_folds(cells, K, 100 + seed)
    p_base, p_model = np.empty_like(y), np.empty_like(y)
    inside = np.zeros(len(y), dtype=bool)
    for f in range(K):
        tr, te = outer != f, outer == f
        tr_cells = [c for c, t in zip(cells, tr, strict=True) if t]
        lam_r = select_ridge(x_base[tr], y[tr], tr_cells, seed)
        p_base[te] = fit_ridge(x_base[tr], y[tr], lam=lam_r).predict(x_base[te])
        lam, gamma = select_krr(x_model[tr], y[tr], tr_cells, seed)
        oof = cv_predict_krr(x_model[tr], y[tr], grouped_folds(tr_cells, K, seed + 1), lam, gamma)
        lo, hi = np.quantile(y[tr] - oof, [Q_LOW, Q_HIGH])
        model = fit_kernel_ridge(x_model[tr], y[tr], lam=lam, gamma=gamma, linear_weight=LINEAR_WEIGHT)
        p_model[te] = model.predict(x_model[te])
        inside[te] = (y[te] >= p_model[te] + lo) & (y[te] <= p_model[te] + hi)
    return p_base, p_model, inside


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    datasets = read_datasets(args.csv)
    print(
        f"PulseBat: {sum(len(d.soh) for d in datasets)} pulse tests, "
        f"{sum(len(set(d.cells)) for d in datasets)} cells; nested {K}-fold CV grouped by cell, "
        f"{args.seeds} outer seed(s); grid λ={LAMBDAS} γ={GAMMAS}"
    )
    header = (
        f"{'dataset':<11}{'rows':>6}{'cells':>6}  {'ridge MAPE':>10} {'ridge RMSE':>10}  "
        f"{'model MAPE':>10} {'model RMSE':>10}  {'90% cover':>9}"
    )
    print(header)
    print("-" * len(header))
    all_y, all_b, all_m, all_in = [], [], [], []
    for ds in datasets:
        ys, bs, ms, ins = [], [], [], []
        for seed in range(args.seeds):
            b, m, inside = nested(ds.volts, ds.soc, ds.soh, ds.cells, seed)
            ys.append(ds.soh)
            bs.append(b)
            ms.append(m)
            ins.append(inside)
        y, b, m, inside = (np.concatenate(v) for v in (ys, bs, ms, ins))
        all_y.append(y)
        all_b.append(b)
        all_m.append(m)
        all_in.append(inside)
        print(
            f"{ds.name:<11}{len(ds.soh):>6}{len(set(ds.cells)):>6}  {mape(y, b):>9.2f}% {rmse(y, b):>10.4f}  "
            f"{mape(y, m):>9.2f}% {rmse(y, m):>10.4f}  {inside.mean() * 100:>8.1f}%"
        )
    y, b, m, inside = (np.concatenate(v) for v in (all_y, all_b, all_m, all_in))
    print("-" * len(header))
    print(
        f"{'overall':<11}{len(y) // args.seeds:>6}{'':>6}  {mape(y, b):>9.2f}% {rmse(y, b):>10.4f}  "
        f"{mape(y, m):>9.2f}% {rmse(y, m):>10.4f}  {inside.mean() * 100:>8.1f}%"
    )


if __name__ == "__main__":
    main()
