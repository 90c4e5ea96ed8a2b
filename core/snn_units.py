"""The SNN on a slope-unit table: split, training, the paper's comparison models and per-unit outputs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import pandas as pd

from .progress import Progress, scaled
from .validation import (
    Split,
    check_binary,
    fold_splits,
    holdout_split,
    pythagorean_tiling_split,
    spatial_folds,
)

SPLITS = ("tiling", "random", "spatial")
"""Test-split schemes in Processing enum order: Pythagorean tiling of the centroids (paper), a stratified random
70/15/15 hold-out, or one k-means region of the centroids held out (spatial)."""


@dataclass
class SNNUnits:
    """Outcome of :func:`train_snn_units`: the result of the main SNN, per-unit outputs, the comparison table."""

    result: object  # snn.SNNResult
    outputs: pd.DataFrame
    comparison: list
    split: Split
    label: np.ndarray
    features: list


def numeric_features(frame: pd.DataFrame, features, label: str) -> list:
    """The features to use: ``features`` if given, else every numeric ``*_mean`` field (the aggregation's)."""
    if features:
        return list(features)
    found = [c for c in frame.columns if str(c).endswith("_mean") and pd.api.types.is_numeric_dtype(frame[c])]
    found = [c for c in found if c != label]
    if len(found) < 2:
        raise ValueError("no FEATURES given and fewer than 2 numeric *_mean fields found: choose the features")
    return found


def make_split(xy: np.ndarray, y: np.ndarray, kind: str, tile_size: float, seed: int) -> Split:
    """The train/validation/test split of ``kind`` (see :data:`SPLITS`); ``tile_size`` in map units (tiling)."""
    if kind == "tiling":
        if not tile_size > 0:
            extent = np.ptp(xy, axis=0).max()
            tile_size = extent / 8.0  # about 8 × 8 lattice cells over the area
        return pythagorean_tiling_split(xy, tile_size, seed=seed)
    if kind == "random":
        return holdout_split(y, seed=seed)
    if kind == "spatial":
        fold = spatial_folds(xy, 5, seed=seed)
        return next(iter(fold_splits(y, fold, seed=seed)))[1]
    raise ValueError(f"unknown split {kind!r}: use one of {', '.join(SPLITS)}")


def train_snn_units(
    frame: pd.DataFrame,
    features,
    label: str,
    xy: np.ndarray,
    config=None,
    split: str = "tiling",
    tile_size: float = 0.0,
    compare_level1: bool = True,
    progress: Optional[Progress] = None,
) -> SNNUnits:
    """Train the SNN on slope units (one row each) and the paper's comparison models on the same split."""
    from .snn import SNNConfig, primary_control, spatial_order

    config = config or SNNConfig()
    features = numeric_features(frame, features, label)
    if len(features) < 2:
        raise ValueError(f"the SNN needs at least 2 features, got {len(features)}")
    if label not in frame.columns:
        raise ValueError(f"label field {label!r} not found")
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"feature field(s) {', '.join(map(repr, missing))} not found")
    for name in features:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise ValueError(f"feature {name!r} is not numeric")
        nan = int(frame[name].isna().sum())
        if nan:
            raise ValueError(f"feature {name!r} has {nan} missing (NaN) value(s): fill them or remove those units")
    counts = pd.to_numeric(frame[label], errors="coerce").to_numpy(float)
    if np.isnan(counts).any() or (counts < 0).any():
        raise ValueError(f"label field {label!r} must be 0/1 or a landslide count ≥ 0")
    y = check_binary((counts > 0).astype(int), f"label field {label!r}")
    x = frame[features].to_numpy(float)
    parts = make_split(xy, y, split, tile_size, config.seed)
    order = spatial_order(xy)
    result, comparison = train_and_compare(x, y, list(features), parts, config, order, compare_level1, progress)

    contrib = result.model.contributions(x)
    total = contrib.sum(axis=1)
    outputs = pd.DataFrame({"snn_st": total, "snn_class": (total > result.threshold).astype(np.int64)})
    for j, name in enumerate(result.model.names):
        outputs[contribution_field(name)] = contrib[:, j]
    outputs["primary_control"] = [result.model.names[j] for j in primary_control(contrib)]
    part = np.full(len(y), "train", dtype=object)
    part[parts.val], part[parts.test] = "val", "test"
    outputs["split"] = part
    return SNNUnits(result, outputs, comparison, parts, y, list(features))


def train_and_compare(
    x: np.ndarray,
    y: np.ndarray,
    names: list,
    split: Split,
    config,
    order: np.ndarray,
    compare_level1: bool = True,
    progress: Optional[Progress] = None,
) -> tuple:
    """Train the SNN of ``config`` and the paper's comparison models on the same split: the result and the
    comparison table (rows {"model", "test AUC"}: the SNN, with ``compare_level1`` a Level-1 SNN, the teacher,
    logistic regression, the likelihood-ratio model and the best single feature)."""
    from .snn import baselines, train_snn

    compare = compare_level1 and config.level != 1
    result = train_snn(x, y, names, split, config, scaled(progress, 0.0, 0.65 if compare else 0.95), order=order)
    base = baselines(x, y, names, split)
    comparison = [
        {"model": f"SNN, Level {config.level}", "test AUC": result.auc["test"]},
        {"model": "multistage teacher (MST)", "test AUC": result.teacher.auc["test"]},
        {"model": "logistic regression", "test AUC": base.logistic},
        {"model": "likelihood-ratio model", "test AUC": base.likelihood_ratio},
        {"model": f"best single feature ({base.best_feature})", "test AUC": base.best_feature_auc},
    ]
    if compare:
        level1 = train_snn(x, y, names, split, replace(config, level=1), scaled(progress, 0.65, 0.95), order=order)
        comparison.insert(1, {"model": "SNN, Level 1", "test AUC": level1.auc["test"]})
    return result, comparison


def contribution_field(name: str) -> str:
    """Output field of a (composite) feature's contribution: ``s_`` + the sanitised name ('a & b' → 'a_x_b')."""
    from .aggregate import sanitise_name

    return "s_" + sanitise_name(name.replace("&", "x"))
