"""Benchmark and comparison runs of the SNN pipeline (core/snn.py).

``pixels``: a synthetic raster (default 1000 × 1000 = 1,000,000 pixels × 15 smooth random features,
about 1 % landslide pixels drawn from a known additive logit of f01, f02 and the composite f03·f04; the
other 11 features are noise), split by the
Pythagorean tiling, trained with the authors' default schedule (Level 2 = 120 composites, 4000
tournament networks, 50 FKD iterations). Prints each stage's time, the total and the peak memory.

``slope-units``: the 832 real slope units of NE India (shared data): test AUROC on the tiling split and
in 10-fold spatial cross-validation for SNN Level 1 and 2, their teachers, logistic regression, the
likelihood-ratio model and the best single feature.

    .venv/bin/python bench/snn.py pixels --side 300          # quick
    .venv/bin/python bench/snn.py pixels                      # full size
    .venv/bin/python bench/snn.py slope-units --folds 10
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from allocator import as_qgis_process
from package import ROOT, expose_package

expose_package()

import torch  # noqa: E402

from landslide_susceptibility.core import snn  # noqa: E402
from landslide_susceptibility.core.validation import (  # noqa: E402
    fold_splits,
    mask_split,
    pythagorean_tiling_mask,
    pythagorean_tiling_split,
    roc_auc,
    spatial_folds,
)


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def _printer(every: float = 20.0):
    last = [0.0]
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        now = time.perf_counter()
        if now - last[0] >= every:
            last[0] = now
            print(f"  [{now - start:7.1f} s] {100 * fraction:5.1f} %  {message}", flush=True)

    return progress


def synthetic_raster(side: int, n_features: int, seed: int) -> tuple:
    """Smooth random fields (uniform margins on [−1, 1]) and labels from a known additive logit."""
    from scipy.ndimage import gaussian_filter
    from scipy.special import ndtr

    if n_features < 4:
        raise ValueError(f"the synthetic problem needs at least 4 features, got {n_features}")
    rng = np.random.default_rng(seed)
    fields = np.empty((side, side, n_features))
    for j in range(n_features):
        f = gaussian_filter(rng.standard_normal((side, side)), sigma=3.0)
        fields[..., j] = 2.0 * ndtr(f / f.std()) - 1.0
    x = fields.reshape(-1, n_features, order="F")  # column-major pixel order, as the authors' code
    logit = 1.2 * x[:, 0] + 1.5 * np.exp(-(((x[:, 1] - 0.3) / 0.4) ** 2)) + 2.0 * x[:, 2] * x[:, 3] - 5.0
    y = (rng.random(logit.size) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return x, y, logit


MATLAB_SECONDS = 90 * 60.0
MATLAB_LABEL = "authors' MATLAB code, 4-core i7 (snn.md, reported)"


def run_pixels(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    x, y, logit = synthetic_raster(args.side, args.features, args.seed)
    split = mask_split(pythagorean_tiling_mask((args.side, args.side), seed=args.seed), order="F")
    names = [f"f{j + 1:02d}" for j in range(args.features)]
    print(
        f"{x.shape[0]:,} pixels × {x.shape[1]} features, {y.mean():.2%} positive; train/val/test "
        f"{split.train.size:,}/{split.val.size:,}/{split.test.size:,}; data in {time.perf_counter() - t0:.1f} s"
    )
    cfg = snn.SNNConfig(
        level=args.level, tournament_models=args.tournament_models, fkd_iterations=args.fkd_iterations,
        ranking=args.ranking, jacobian_dtype=args.dtype, seed=args.seed,
    )  # fmt: skip
    print(f"level {cfg.level}, {cfg.tournament_models} tournament networks, {cfg.fkd_iterations} FKD iterations, "
          f"Jacobian {cfg.jacobian_dtype}, {torch.get_num_threads()} torch thread(s)")  # fmt: skip
    res = snn.train_snn(x, y, names, split, cfg, progress=_printer())
    print("stage times (s):")
    for stage, seconds in res.timings.items():
        print(f"  {stage:<13} {seconds:8.1f}")
    print(f"peak memory (max RSS): {_peak_gib():.2f} GiB")
    print(f"composites: {len(res.composite_names)}; tournament survivors: {len(res.tournament.survivors)}")
    print(f"forward selection: {res.selection.selected}")
    print(f"model ({len(res.model.names)} terms, rank order): {res.model.names}, neurons {res.neurons}")
    bayes = roc_auc(y[split.test], logit[split.test])
    print(f"test AUROC: SNN {res.auc['test']:.4f}, teacher {res.teacher.auc['test']:.4f}, true logit {bayes:.4f}")
    total = res.timings["total"]
    print(f"\n{'run':<52} {'seconds':>8} {'ratio':>7}")
    print(f"{'this run (' + str(torch.get_num_threads()) + ' thread(s), Jacobian ' + cfg.jacobian_dtype + ')':<52} "
          f"{total:8.0f} {1.0:7.2f}")  # fmt: skip
    for label, seconds in (("goal on the 2-core machine (15 min)", 900.0), (MATLAB_LABEL, MATLAB_SECONDS)):
        print(f"{label:<52} {seconds:8.0f} {seconds / total:7.2f}")


def run_slope_units(args: argparse.Namespace) -> None:
    import geopandas as gpd

    torch.set_num_threads(args.threads)
    names = ["Elev_mean", "RnSum_mean", "Slope_mean", "NDVI_mean", "area"]
    units = gpd.read_file(ROOT.parent / "shared" / "data" / "sz_northeast_india" / "input_variables.shp")
    x = units[names].to_numpy(float)
    y = (units["y"] > 0).astype(int).to_numpy()
    centroids = units.geometry.centroid
    xy = np.c_[centroids.x, centroids.y]
    order = snn.spatial_order(xy)
    splits = [("tiling", pythagorean_tiling_split(xy, args.tile, seed=args.seed))]
    if args.folds:
        fold = spatial_folds(xy, args.folds, seed=args.seed)
        splits += [(f"fold {f}", s) for f, s in fold_splits(y, fold, val_fraction=0.15, seed=args.seed)]
    columns = ("logit", "LR", "best", "SNN1", "teach1", "SNN2", "teach2")
    print(f"{'split':<8} {'test+':>5} " + " ".join(f"{c:>7}" for c in columns))
    table = []
    for label, split in splits:
        base = snn.baselines(x, y, names, split)
        row = [base.logistic, base.likelihood_ratio, base.best_feature_auc]
        for level in (1, 2):
            cfg = snn.SNNConfig(level=level, tournament_models=args.tournament_models, seed=args.seed)
            res = snn.train_snn(x, y, names, split, cfg, order=order)
            row += [res.auc["test"], res.teacher.auc["test"]]
        print(f"{label:<8} {int(y[split.test].sum()):>5} " + " ".join(f"{v:7.3f}" for v in row), flush=True)
        if label != "tiling":
            table.append(row)
    if table:
        arr = np.array(table)
        half = 1.96 * arr.std(axis=0, ddof=1) / np.sqrt(len(arr))
        print(f"{'CV mean':<14} " + " ".join(f"{v:7.3f}" for v in arr.mean(axis=0)))
        print(f"{'± 95 %':<14} " + " ".join(f"{v:7.3f}" for v in half))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    pix = sub.add_parser("pixels", help="synthetic raster benchmark")
    pix.add_argument("--side", type=int, default=1000, help="raster side in pixels (side² samples)")
    pix.add_argument("--features", type=int, default=15)
    pix.add_argument("--level", type=int, default=2)
    pix.add_argument("--tournament-models", type=int, default=4000)
    pix.add_argument("--fkd-iterations", type=int, default=50)
    pix.add_argument("--ranking", choices=("threshold", "points"), default="threshold")
    pix.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="Jacobian precision")
    pix.add_argument("--threads", type=int, default=torch.get_num_threads())
    pix.add_argument("--seed", type=int, default=0)
    units = sub.add_parser("slope-units", help="NE-India slope units: tiling split and spatial CV")
    units.add_argument("--folds", type=int, default=10, help="spatial CV folds (0: tiling split only)")
    units.add_argument("--tile", type=float, default=3000.0, help="tiling lattice pitch in metres")
    units.add_argument("--tournament-models", type=int, default=4000)
    units.add_argument("--threads", type=int, default=torch.get_num_threads())
    units.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    as_qgis_process()
    (run_pixels if args.mode == "pixels" else run_slope_units)(args)


if __name__ == "__main__":
    main()
