"""Benchmark of the PINN's whole protocol on a Gorkha-sized synthetic slope-unit table.

The paper's protocol: 1 hold-out fit + 10-fold random CV + 10-fold spatial CV + 50 bootstraps (50 % each),
100 epochs, on 16,533 units × 12 numeric features + a 9-class geology. CV folds and bootstrap members are
trained as vectorised ensembles, ``--workers`` groups at a time in parallel threads; a few bootstrap members
are then trained one at a time (``max_members=1``) and the one-at-a-time protocol time is extrapolated from them.

Run from the plugin folder:  .venv/bin/python bench/pinn.py [--units N] [--epochs E] [--workers W] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from allocator import as_qgis_process
from package import expose_package


def _import_core():
    """The plugin's core modules this benchmark uses."""
    expose_package()
    from landslide_susceptibility.core import pinn, synthetic_table, validation

    return pinn, synthetic_table, validation


STAGES = {"holdout": "hold-out model", "random_kfold": "random 10-fold CV", "spatial_kfold": "spatial 10-fold CV",
          "bootstrap": "bootstraps (50 %)"}


def stage_seconds(result) -> dict:
    """Worker-seconds spent training each stage (groups running in parallel each count their own time)."""
    return {stage: sum(result.history[stage]["group_seconds"]) for stage in STAGES if stage in result.history}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=16_533)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--bootstraps", type=int, default=50)
    parser.add_argument("--single", type=int, default=2, help="bootstrap members timed one at a time (≥ 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--workers", type=int, default=2, help="groups trained in parallel threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    as_qgis_process()
    pinn, synthetic_table, validation = _import_core()

    frame = synthetic_table.synthetic_unit_table(args.units, n_numeric=12, n_geology=9, seed=0)
    attrs = frame.attrs
    table = pinn.PINNData.from_frame(
        frame, attrs["numeric"], attrs["categorical"], label=attrs["label"], slope=attrs["slope"],
        pga=attrs["pga"], x=attrs["x"], y=attrs["y"],
    )
    config = pinn.PINNConfig(epochs=args.epochs, threads=args.threads, device=args.device, workers=args.workers)
    config = pinn.resolve_config(config, args.units)
    import torch

    threads = args.threads or (1 if args.workers > 1 else torch.get_num_threads())
    print(f"table: {args.units} units, {len(attrs['numeric'])} numeric + geology (9 classes), "
          f"{frame[attrs['label']].mean():.1%} landslides; torch {torch.__version__}, {args.workers} worker(s) × "
          f"{threads} torch thread(s), device {args.device}, {os.cpu_count()} CPUs")
    print(f"config: depth {config.depth} × width {config.width}, dropout {config.dropout}, batch {config.batch_size}, "
          f"Adam from {config.learning_rate:g}, "
          f"{config.epochs} epochs, vectorised groups of ≤ {config.max_members} networks")

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    result = pinn.train_pinn(
        table, config, validation=["random_kfold", "spatial_kfold"], folds=args.folds,
        bootstraps=args.bootstraps, bootstrap_fraction=0.5,
    )
    total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    seconds = stage_seconds(result)
    counts = {"holdout": 1, "random_kfold": args.folds, "spatial_kfold": args.folds, "bootstrap": args.bootstraps}

    single = pinn.train_pinn(table, replace(config, max_members=1), bootstraps=args.single)
    one_boot = stage_seconds(single)["bootstrap"] / args.single
    vec_boot = seconds["bootstrap"] / args.bootstraps
    # One at a time, a CV fold costs a bootstrap member's time scaled by its training rows (steps per epoch).
    fold_rows = (1 - 1 / args.folds) * (1 - config.val_fraction)
    boot_rows = 0.5 * (1 - config.val_fraction)
    one_fold = one_boot * fold_rows / boot_rows
    one_work = seconds["holdout"] + 2 * args.folds * one_fold + args.bootstraps * one_boot
    vec_work = sum(seconds.values())

    print(f"\nload average before the run: {load:.2f} (other processes share the CPUs)")
    print("stage                      models   worker-s    s/model")
    for stage, name in STAGES.items():
        print(f"{name:<26} {counts[stage]:>6} {seconds[stage]:>10.1f} {seconds[stage] / counts[stage]:>10.2f}")
    print(f"{'whole protocol, wall':<26} {sum(counts.values()):>6} {total:>10.1f}   = {total / 60:.1f} min "
          f"(process CPU {cpu:.0f} s; {config.workers} worker(s))")
    print(f"\none at a time (max_members=1): {args.single} bootstrap members took {one_boot:.2f} worker-s each, "
          f"vectorised {vec_boot:.2f} (×{one_boot / vec_boot:.2f}). Extrapolated one-at-a-time protocol: "
          f"{one_work:.0f} worker-s (CV folds scaled by their training rows) vs {vec_work:.0f} vectorised: "
          f"×{one_work / vec_work:.2f}; wall with the same {config.workers} worker(s) ≈ "
          f"{one_work / config.workers / 60:.1f} min vs {total / 60:.1f} min measured")

    m = result.metrics
    y = frame[attrs["label"]].to_numpy()
    test = (result.outputs["split"] == "test").to_numpy()
    true_auc = validation.roc_auc(y[test], frame["true_probability"].to_numpy()[test])
    print("\nAUC                          PINN    logistic   truth")
    base = m["baseline"]["test"]["auc"]
    print(f"hold-out test               {m['test']['auc']:.3f}     {base:.3f}    {true_auc:.3f}")
    for scheme in ("random_kfold", "spatial_kfold"):
        cv, base = m["cv"][scheme], m["baseline"][scheme]
        print(f"{scheme:<14} mean [min–max] {cv['auc_mean']:.3f} [{cv['auc_min']:.3f}–{cv['auc_max']:.3f}]  "
              f"{base['auc_mean']:.3f} [{base['auc_min']:.3f}–{base['auc_max']:.3f}]")
    b = m["bootstrap"]
    print(f"bootstrap test mean [min–max] {b['auc_mean']:.3f} [{b['auc_min']:.3f}–{b['auc_max']:.3f}]")
    print(f"hold-out balanced accuracy {m['test']['balanced_accuracy']:.3f}, F1 {m['test']['f1']:.3f}")


if __name__ == "__main__":
    main()
