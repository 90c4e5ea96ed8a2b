"""The PINN against the logistic baseline and the truth on many demo regions.

Each region (core/synthetic.py, seeds 1..N) is a fresh ~2,000-unit slope-unit table whose true C/t, φ, a_c and
failure probability are known. On each, the PINN and the logistic regression are scored by 5-fold spatial CV on
the same folds (mean of the folds' AUCs), beside the AUC of the true probability on those folds. A single region
cannot tell the two models apart (their fold AUCs spread over ~0.1); the paired differences over many regions can.

Run from the plugin folder:  .venv/bin/python bench/pinn_regions.py [--regions N] [--first-seed S] [--size CELLS]
[--learning-rate R] [--prior-weight W]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import numpy as np
from allocator import as_qgis_process
from package import expose_package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=10, help="number of demo regions")
    parser.add_argument("--first-seed", type=int, default=1, help="seed of the first region (then +1 each)")
    parser.add_argument("--size", type=int, default=400, help="cells per side of each region")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="groups trained in parallel threads")
    parser.add_argument("--learning-rate", type=float, default=None, help="Adam's initial step (default: by depth)")
    parser.add_argument("--prior-weight", type=float, default=None, help="weight of the prior (default: by depth)")
    args = parser.parse_args()
    as_qgis_process()
    expose_package()
    from scipy.stats import spearmanr

    from landslide_susceptibility.core import pinn, synthetic, validation

    features = [f"{name}_mean" for name in synthetic.CONTINUOUS_LAYERS if name != "pga"]
    config = pinn.PINNConfig(
        threads=1, workers=args.workers, learning_rate=args.learning_rate, prior_weight=args.prior_weight
    )
    seeds = range(args.first_seed, args.first_seed + args.regions)
    print(f"{args.regions} demo regions (seeds {seeds[0]}–{seeds[-1]}) of {args.size}² cells, {args.folds}-fold "
          "spatial CV")
    print("seed  units  slides   PINN  logistic  truth  PINN−logistic  a_c ρ  C/t ρ   φ ρ  train s")
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            region = synthetic.create_demo_region(folder, synthetic.DemoRegionConfig(seed=seed, size=args.size))
            table, truth = synthetic.region_unit_table(region)
        data = pinn.PINNData.from_frame(
            table, features, ["geology_maj"], "landslide", "slope_mean", "pga_mean", "g", x="x", y="y"
        )
        started = time.perf_counter()
        result = pinn.train_pinn(data, config, ["spatial_kfold"], folds=args.folds)
        seconds = time.perf_counter() - started
        y, fold = data.label, result.outputs["spatial_cv_fold"].to_numpy()
        p_true = truth["probability"].to_numpy()
        true_auc = np.mean([validation.roc_auc(y[fold == k], p_true[fold == k]) for k in np.unique(fold)])
        out = result.outputs
        row = {
            "pinn": result.metrics["cv"]["spatial_kfold"]["auc_mean"],
            "logistic": result.metrics["baseline"]["spatial_kfold"]["auc_mean"],
            "truth": true_auc,
            **{q: spearmanr(out[q], truth[q]).correlation for q in ("ac_g", "ct_kpa_m", "phi_deg")},
        }
        rows.append(row)
        print(f"{seed:>4} {data.n_units:>6} {int(y.sum()):>7}  {row['pinn']:.3f}     {row['logistic']:.3f}  "
              f"{true_auc:.3f}  {row['pinn'] - row['logistic']:>+13.3f}  {row['ac_g']:.3f}  {row['ct_kpa_m']:.3f} "
              f"{row['phi_deg']:.3f}  {seconds:>7.1f}", flush=True)

    used = result.model.config
    print(f"PINN: depth {used.depth}, learning rate {used.learning_rate:g}, prior weight {used.prior_weight:g}")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    diff = np.array([r["pinn"] - r["logistic"] for r in rows])
    se = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else float("nan")
    print(f"\nmean over {len(rows)} regions: PINN {mean['pinn']:.4f}, logistic {mean['logistic']:.4f}, "
          f"truth {mean['truth']:.4f}; rank correlation with the truth: a_c {mean['ac_g']:.3f}, "
          f"C/t {mean['ct_kpa_m']:.3f}, φ {mean['phi_deg']:.3f}")
    print(f"PINN − logistic, paired: {diff.mean():+.4f} ± {se:.4f} (s.e.); PINN ≥ logistic on "
          f"{int((diff >= 0).sum())} of {diff.size} regions")
    print("\nratio                         mean AUC ratio")
    print(f"PINN / logistic               {mean['pinn'] / mean['logistic']:.4f}")
    print(f"PINN / truth                  {mean['pinn'] / mean['truth']:.4f}")
    print(f"logistic / truth              {mean['logistic'] / mean['truth']:.4f}")


if __name__ == "__main__":
    main()
