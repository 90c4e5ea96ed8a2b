"""Metrics and data splits shared by every model: one place for AUROC, thresholds and cross-validation folds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import numpy as np

# ----------------------------------------------------------------------------------------------- metrics


def check_binary(y, name: str = "label") -> np.ndarray:
    """Return ``y`` as a 0/1 int array; raise if it has other values or a single class."""
    arr = np.asarray(y)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isin(arr, (0, 1)).all():
        bad = np.unique(arr[~np.isin(arr, (0, 1))])[:5]
        raise ValueError(f"{name} must be 0/1, found {bad.tolist()}")
    arr = arr.astype(np.int64)
    if arr.min() == arr.max():
        raise ValueError(f"{name} has a single class ({int(arr[0])} everywhere): need both 0 and 1")
    return arr


def roc_auc(y, score) -> float:
    """Area under the ROC curve (Mann–Whitney U, ties counted as ½)."""
    from scipy.stats import rankdata

    y = check_binary(y)
    s = np.asarray(score, dtype=float)
    if s.shape != y.shape:
        raise ValueError(f"score shape {s.shape} differs from label shape {y.shape}")
    ranks = rankdata(s)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rate, true-positive rate and the score thresholds, from (0, 0) to (1, 1)."""
    from sklearn.metrics import roc_curve as _roc

    fpr, tpr, thr = _roc(check_binary(y), np.asarray(score, dtype=float), drop_intermediate=True)
    return fpr, tpr, thr


def threshold_nearest_corner(y, score) -> float:
    """The score threshold whose ROC point lies closest to (FPR, TPR) = (0, 1) (Youssef et al. 2023)."""
    fpr, tpr, thr = roc_curve(y, score)
    finite = np.isfinite(thr)
    dist = np.hypot(fpr[finite], 1.0 - tpr[finite])
    return float(thr[finite][np.argmin(dist)])


@dataclass(frozen=True)
class Metrics:
    """Binary-classification scores at one threshold; ``tp``… are counts."""

    auc: float
    balanced_accuracy: float
    f1: float
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def classification_metrics(y, score, threshold: float) -> Metrics:
    """AUROC, balanced accuracy and F1 of ``score ≥ threshold`` against ``y``."""
    y = check_binary(y)
    s = np.asarray(score, dtype=float)
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    tpr = tp / (tp + fn)
    tnr = tn / (tn + fp)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return Metrics(roc_auc(y, s), 0.5 * (tpr + tnr), f1, float(threshold), tp, fp, fn, tn)


def confusion_labels(y, pred) -> np.ndarray:
    """Per-row 'TP', 'FP', 'FN' or 'TN'."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(pred).astype(bool)
    out = np.empty(y.shape, dtype=object)
    out[y & p], out[~y & p], out[y & ~p], out[~y & ~p] = "TP", "FP", "FN", "TN"
    return out


# ----------------------------------------------------------------------------------------------- splits

VALIDATION_SCHEMES = ("holdout", "random_kfold", "spatial_kfold")
"""Validation schemes in the order Processing enums list them."""


@dataclass(frozen=True)
class Split:
    """Row indices of one train / validation / test partition."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _stratified_permutation_chunks(y: np.ndarray, fractions, rng) -> list:
    """Split rows into len(fractions) parts of the given shares, each class split separately."""
    parts: list = [[] for _ in fractions]
    cum = np.cumsum(fractions)[:-1] / np.sum(fractions)
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        cuts = np.round(cum * idx.size).astype(int)
        for part, chunk in zip(parts, np.split(idx, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def holdout_split(y, fractions=(0.70, 0.15, 0.15), seed: int = 0) -> Split:
    """Stratified random train/validation/test split (default 70/15/15)."""
    y = check_binary(y)
    train, val, test = _stratified_permutation_chunks(y, fractions, np.random.default_rng(seed))
    return Split(train, val, test)


def random_folds(y, k: int, seed: int = 0) -> np.ndarray:
    """Fold id (0..k−1) per row, stratified by class."""
    y = check_binary(y)
    _check_k(k, y.size)
    rng = np.random.default_rng(seed)
    fold = np.empty(y.size, dtype=np.int64)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = np.arange(idx.size) % k
    return fold


def spatial_folds(xy: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold id per row from k-means clusters of coordinates (map units): whole regions are held out together."""
    from sklearn.cluster import KMeans

    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coordinates must be an n × 2 array, got shape {xy.shape}")
    _check_k(k, xy.shape[0])
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xy)
    # Number folds by cluster centre position (west to east, then south to north) for stable ids.
    centres = np.array([xy[labels == c].mean(axis=0) for c in range(k)])
    order = np.lexsort((centres[:, 1], centres[:, 0]))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    return remap[labels]


def group_folds(groups, k: Optional[int] = None) -> np.ndarray:
    """Fold id per row from a user's group field: each distinct group value is one fold, or groups are
    dealt into ``k`` folds by size when ``k`` is smaller than the number of groups."""
    values, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    if values.size < 2:
        raise ValueError("the group field has a single value: need at least 2 groups for cross-validation")
    if k is None or k >= values.size:
        return inverse.astype(np.int64)
    _check_k(k, values.size)
    load = np.zeros(k)
    assign = np.empty(values.size, dtype=np.int64)
    for g in np.argsort(-counts, kind="stable"):  # largest groups first onto the lightest fold
        assign[g] = int(np.argmin(load))
        load[assign[g]] += counts[g]
    return assign[inverse]


def fold_splits(y, fold: np.ndarray, val_fraction: float = 0.15, seed: int = 0) -> Iterator[tuple[int, Split]]:
    """For each fold: test = that fold; a stratified ``val_fraction`` of the rest is held out for model
    selection, so that no model is ever chosen on its test rows."""
    y = check_binary(y)
    fold = np.asarray(fold)
    for f in np.unique(fold):
        test = np.flatnonzero(fold == f)
        rest = np.flatnonzero(fold != f)
        if np.unique(y[rest]).size < 2:
            raise ValueError(f"fold {int(f)}: the training rows hold a single class; use fewer folds")
        rng = np.random.default_rng(seed + int(f))
        train, val = _stratified_permutation_chunks(y[rest], (1 - val_fraction, val_fraction), rng)
        yield int(f), Split(rest[train], rest[val], test)


def _check_k(k: int, n: int) -> None:
    if k < 2:
        raise ValueError(f"FOLDS must be at least 2, got {k}")
    if k > n:
        raise ValueError(f"FOLDS ({k}) exceeds the number of rows ({n})")
