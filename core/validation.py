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


# ----------------------------------------------------------------------------------------------- Pythagorean tiling

TILING_TRAIN, TILING_TEST, TILING_VAL = 2, 1, 3
"""Codes of :func:`pythagorean_tiling_mask` (those of the SNN authors' code)."""


def _tiling_train(row: np.ndarray, col: np.ndarray, pitch: float, overlap: float) -> np.ndarray:
    """True where (row, col) ≥ 0 (in pixels or map units from the top-left corner) lies in a training square.

    Cells of side ``pitch`` form a checkerboard; cell (J, K) (0-based) is a training cell when J + K is odd,
    and it paints a square of side pitch + overlap from its top-left corner, so each training square
    reaches ``overlap`` into its right, lower and diagonal neighbours and every test cell keeps only its
    lower-right (pitch − overlap)² block: the two-square "Pythagorean" tiling (16 px and 10 px squares on
    a 13 px lattice in Youssef et al. 2023, 70.4 % / 29.6 % of the interior).
    """
    cell_r, cell_c = np.floor(row / pitch).astype(np.int64), np.floor(col / pitch).astype(np.int64)
    near_r = (row - cell_r * pitch) < overlap
    near_c = (col - cell_c * pitch) < overlap
    train = np.zeros(row.shape, dtype=bool)
    for dr in (0, 1):
        for dc in (0, 1):
            jr, kc = cell_r - dr, cell_c - dc
            reach = (jr >= 0) & (kc >= 0)
            if dr:
                reach &= near_r
            if dc:
                reach &= near_c
            train |= reach & ((jr + kc) % 2 == 1)
    return train


def _check_tiling(pitch: float, overlap: float, val_fraction: float) -> None:
    if not pitch > 0:
        raise ValueError(f"tile size (pitch) must be > 0, got {pitch}")
    if not 0 <= overlap < pitch / 2:
        raise ValueError(f"overlap must be in [0, pitch/2), got {overlap} for pitch {pitch}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {val_fraction}")


def pythagorean_tiling_mask(
    shape: tuple, pitch: int = 13, overlap: int = 3, val_fraction: float = 0.35, seed: int = 0
) -> np.ndarray:
    """Partition codes (int8) of a raster of ``shape``: 2 = training, 1 = test, 3 = validation.

    Training squares of (pitch + overlap) px and test squares of (pitch − overlap) px on a ``pitch``-px
    lattice starting at the top-left pixel (see :func:`_tiling_train`); then a random ``val_fraction`` of
    all pixels is drawn and those that fall in test squares become validation (≈ 70 / 10 / 20 %).
    """
    _check_tiling(pitch, overlap, val_fraction)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (rows, cols) ≥ 1, got {shape}")
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    mask = np.where(_tiling_train(rows, cols, pitch, overlap), TILING_TRAIN, TILING_TEST).astype(np.int8)
    flat = mask.reshape(-1)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(flat.size, size=round(val_fraction * flat.size), replace=False)
    drawn = drawn[flat[drawn] == TILING_TEST]
    flat[drawn] = TILING_VAL
    return mask


def mask_split(mask: np.ndarray, valid: Optional[np.ndarray] = None, order: str = "C") -> Split:
    """A :class:`Split` of the valid pixels of a tiling ``mask``, numbered in ``order`` ('C' row-major,
    'F' column-major as in the authors' code): the indices address ``array[valid].ravel(order)`` rows,
    i.e. the valid pixels taken in that scan order."""
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    codes = np.asarray(mask).ravel(order=order)
    if valid is not None:
        keep = np.asarray(valid, dtype=bool)
        if keep.shape != np.shape(mask):
            raise ValueError(f"valid mask shape {keep.shape} differs from the tiling mask {np.shape(mask)}")
        codes = codes[keep.ravel(order=order)]
    return Split(
        np.flatnonzero(codes == TILING_TRAIN),
        np.flatnonzero(codes == TILING_VAL),
        np.flatnonzero(codes == TILING_TEST),
    )


def pythagorean_tiling_split(
    xy: np.ndarray,
    tile_size: float,
    val_fraction: float = 0.35,
    seed: int = 0,
    origin: Optional[tuple] = None,
    overlap_ratio: float = 3.0 / 13.0,
) -> Split:
    """Split rows (e.g. slope units by their centroids ``xy``, n × 2 in map units) by the Pythagorean
    tiling with lattice pitch ``tile_size`` (map units) and squares of tile_size·(1 ± overlap_ratio).

    The lattice starts at ``origin`` = (x_left, y_top) (default: the points' minimum x and maximum y).
    A row whose point lies in a training square is training; a random ``val_fraction`` of all rows is
    drawn and those in test squares become validation; the other test-square rows are test.
    """
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
        raise ValueError(f"coordinates must be an n × 2 array, got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError("coordinates contain NaN or infinite values")
    overlap = tile_size * overlap_ratio
    _check_tiling(tile_size, overlap, val_fraction)
    x0, y0 = (xy[:, 0].min(), xy[:, 1].max()) if origin is None else origin
    col, row = xy[:, 0] - x0, y0 - xy[:, 1]
    if (col < 0).any() or (row < 0).any():
        raise ValueError("the origin must lie at or left of and above every point")
    train = _tiling_train(row, col, tile_size, overlap)
    rng = np.random.default_rng(seed)
    drawn = np.zeros(xy.shape[0], dtype=bool)
    drawn[rng.choice(xy.shape[0], size=round(val_fraction * xy.shape[0]), replace=False)] = True
    return Split(np.flatnonzero(train), np.flatnonzero(~train & drawn), np.flatnonzero(~train & ~drawn))
