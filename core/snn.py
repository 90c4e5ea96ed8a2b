"""Superposable neural network (SNN) for landslide susceptibility (Youssef et al. 2023, Commun. Earth
Environ. 4:215), trained as in the authors' MATLAB code, with thousands of tiny networks batched.

The final model is additive (paper Eq. 1): S_t(χ) = Σ_j S_j(χ_j), S_j(x) = Σ_k w_jk·exp(−(a_jk·x + b_jk)²) + c_j,
with χ_j composite features (products of raw features, :mod:`.composites`) in raw units.

Pipeline (each stage as in the authors' code unless noted):

1. Composites of the raw features (Level 1–4, gcd rule); outlier clip to mean ± 6σ of the training rows
   (``clip="both"``; the code's upper clip is lost to a bug, ``clip="lower"``);
   scaling fitted on training rows: min–max to [0, 1] (the code's choice, default) or z-score (the
   paper's text, ``scaling="standard"``).
2. Tournament ranking step 1: ``tournament_models`` nets (3 random features → 5 tanh → 5 tanh → 1,
   50 LM epochs on a balanced bootstrap) scored by the permutation AUROC drop of each input on a
   validation bootstrap; a feature survives if its mean drop exceeds 0.005 (code). ``ranking="points"``
   is the paper's variant: the feature with the largest drop in its group gets a point, features are
   ranked by points and step 2 adds them in rank order.
3. Tournament ranking step 2: greedy forward selection (code): at each step every remaining candidate
   is added to the selected set and a [S, c] → 8 tanh → 8 tanh → 1 net trained on 3 bootstraps (same
   initial weights for all candidates of a bootstrap); the best validation AUROC (max over the 3) wins;
   stop when the best score is 5 steps old; keep the prefix with the best score (≥ 2 features). The
   AUROC is taken on all validation rows (``selection_val="all"``; the code's balanced validation
   bootstrap, noisier, is ``"bootstrap"``).
4. Multistage teacher (MST): 30 chains of 3 boosting sub-stages (3 radbas neurons; the residual targets
   low-passed by a DCT along the scan order), then 4 stages of 90 nets on random subsets of the
   previous stage's 90 outputs; the stage among 3–5 with the best validation AUROC (penalised by 0.025
   when val/train AUROC < 0.98) is the teacher. The code's validation-offset bug in stages 2–5 (its
   early-stopping rows were training rows) is not reproduced: every net early-stops on validation rows.
   A stage-2–5 net reads at most one input per 10·neurons training rows (never binding on the code's
   pixel samples; on a table of a few hundred rows it keeps 300-weight nets from fitting noise).
5. Fractional knowledge distillation (FKD), as in the code (the paper describes a cyclic variant):
   soft target τ = (teacher − min)^¼; each iteration trains one 1 → nn radbas → nn radbas → relu net per
   (feature, smoothed residual target) — 9 DCT low-pass variants (keep 4 … 16 %) — scores S + net by
   AUROC against the labels on training + validation rows, and adds the single best net to its feature;
   nn and epochs adapt in [2, 15] and [1, 15]; the iteration with the best validation AUROC is kept.
   Training rows come from the training partition only (``fkd_pool="train"``; the code also drew
   validation rows, ``fkd_pool="train+val"``).
6. Greedy AUROC pruning and ranking of the distilled contributions; shift each to min 0 and divide by
   the maximum of their sum on training + validation rows, so that S_t ∈ [0, 1] there.
7. Parallel distillation: each kept S_j is refit by a 1 → v radbas → linear net, v = 5, 10, …, 30, the
   smallest v whose mean |error| over training + validation rows is < 1e-4 (else the most accurate);
   the weights are folded back into raw composite units.

The ROC threshold is the point nearest (0, 1) on training + validation rows (the paper does not say
which partition). Predictions clamp each composite to its training range (the code extrapolates the
Gaussians, whose tails fall back to c_j). Randomness comes from ``seed``; on CPU a seed gives identical
results.

Implementation choices that keep the method but not the MATLAB data layout:

* Training samples: the code's balanced bootstrap (s rows per class drawn without replacement, then
  resampled with replacement), s = round(min(#neg/300, #pos)), while that cap is at least
  ``bootstrap_min`` (1000) or there are that many positives (then s = min(#pos, max(cap, 1000))). The
  code's rule was designed for millions of pixels; it gives 2 rows for the 832 NE-India slope units.
  With fewer positives, a sample is every positive drawn with replacement plus negatives up to
  2·bootstrap_min rows in all, the two classes weighted equally (the paper's positive weighting), so
  that a small table keeps all its rows. Validation samples follow the same rule (without
  replacement where positives are few, so that a small validation partition is used whole).
* Per-feature functions of FKD are held as values on a ``grid_points`` grid spanning every row and read
  by linear interpolation (error ~1e-8 of the curve range), and FKD learners train on the bootstrap
  rows merged into ``fkd_bins`` groups of consecutive values of their single input (weighted means,
  weights = counts) when there are more rows than twice that: the same least-squares problem up to a
  quantisation of the input finer than its sampling.
* AUROC of up to ``exact_auc_rows`` rows is exact (ties ½); above, it is computed on 65 536 score bins.
* The final fit uses ``fit_points`` (400) grid points over the training range instead of 10 000.
* The DCT low-pass acts along the rows' scan order: pixels in raster order, or slope units in the
  Hilbert-curve order of their centroids (:func:`spatial_order`); pass it as ``order``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from .composites import build_composites, composite_name, composite_terms
from .lm import Affine, LMOptions, MLPSpec, fit_mlps, nguyen_widrow
from .model_io import ModelFile
from .progress import Progress, report, scaled
from .scaling import Scaler, fit_scaler
from .validation import Split, check_binary, roc_auc, threshold_nearest_corner

FKD_KEEP = tuple(0.10 + 0.015 * (m - 5) for m in range(1, 10))
"""DCT keep fractions of the 9 smoothed FKD targets (0.04 … 0.16)."""


@dataclass(frozen=True)
class SNNConfig:
    """Schedule and options; defaults are the authors' code (see the module docstring).

    Groups: composites and scaling (``level``, ``scaling``, ``clip``, ``clip_sigma``); samples
    (``bootstrap_ratio``, ``bootstrap_min``); tournament step 1 (``tournament_*``, ``ranking``) and step 2
    (``selection_*``); teacher (``teacher_*``); distillation (``fkd_*``, ``smooth_targets``); final fit
    (``final_*``, ``fit_points``, ``grid_points``); computation (``exact_auc_rows``, ``seed``, ``device``
    "cpu" / "cuda" / "auto", ``jacobian_dtype`` "float64" / "float32" — the LM solve is float64 either
    way —, ``max_jacobian_mb`` per batch of networks, ``threads`` for torch on the CPU, 0 = unchanged).
    """

    level: int = 2
    scaling: str = "minmax"
    clip: str = "both"
    clip_sigma: float = 6.0
    bootstrap_ratio: float = 300.0
    bootstrap_min: int = 1000
    ranking: str = "threshold"
    tournament_models: int = 4000
    tournament_group: int = 3
    tournament_hidden: tuple = (5, 5)
    tournament_epochs: int = 50
    tournament_threshold: float = 0.005
    selection_hidden: tuple = (8, 8)
    selection_epochs: int = 50
    selection_reps: int = 3
    selection_patience: int = 5
    selection_min: int = 2
    selection_val: str = "all"
    teacher_chains: int = 30
    teacher_nets: int = 90
    teacher_stage2_inputs: int = 50
    teacher_stage_inputs: int = 60
    teacher_keep: float = 0.10
    fkd_iterations: int = 50
    fkd_keep: tuple = FKD_KEEP
    fkd_pool: str = "train"
    fkd_neurons: tuple = (2, 15)
    fkd_epochs: tuple = (1, 15)
    fkd_gain: float = 0.005
    fkd_max_fail: int = 2
    fkd_bins: int = 256
    final_neurons: tuple = (5, 10, 15, 20, 25, 30)
    final_tolerance: float = 1e-4
    final_epochs: int = 1000
    final_max_fail: int = 6
    fit_points: int = 400
    grid_points: int = 4097
    smooth_targets: bool = True
    exact_auc_rows: int = 50_000
    seed: int = 0
    device: str = "cpu"
    jacobian_dtype: str = "float64"
    max_jacobian_mb: int = 256
    threads: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.scaling in ("minmax", "standard"), f"scaling {self.scaling!r}: use 'minmax' or 'standard'"),
            (self.clip in ("both", "lower", "none"), f"clip {self.clip!r}: use 'both', 'lower' or 'none'"),
            (self.ranking in ("threshold", "points"), f"ranking {self.ranking!r}: use 'threshold' or 'points'"),
            (self.fkd_pool in ("train", "train+val"), f"fkd_pool {self.fkd_pool!r}: use 'train' or 'train+val'"),
            (self.selection_val in ("all", "bootstrap"), f"selection_val {self.selection_val!r}: 'all' or 'bootstrap'"),
            (self.device in ("cpu", "cuda", "auto"), f"device {self.device!r}: use 'cpu', 'cuda' or 'auto'"),
            (self.jacobian_dtype in ("float64", "float32"), "jacobian_dtype must be 'float64' or 'float32'"),
            (self.tournament_models >= 1, f"tournament_models must be ≥ 1, got {self.tournament_models}"),
            (self.tournament_group >= 1, f"tournament_group must be ≥ 1, got {self.tournament_group}"),
            (self.fkd_iterations >= 1, f"fkd_iterations must be ≥ 1, got {self.fkd_iterations}"),
            (self.selection_reps >= 1, f"selection_reps must be ≥ 1, got {self.selection_reps}"),
            (self.teacher_chains >= 1 and self.teacher_nets >= 1, "teacher_chains and teacher_nets must be ≥ 1"),
            (len(self.fkd_keep) >= 1 and all(0 < q <= 1 for q in self.fkd_keep), "fkd_keep values must be in (0, 1]"),
            (0 < self.teacher_keep <= 1, f"teacher_keep must be in (0, 1], got {self.teacher_keep}"),
            (self.bootstrap_ratio > 0, f"bootstrap_ratio must be > 0, got {self.bootstrap_ratio}"),
            (self.threads >= 0, f"threads must be ≥ 0 (0 keeps torch's setting), got {self.threads}"),
            (self.grid_points >= 16 and self.fit_points >= 16, "grid_points and fit_points must be ≥ 16"),
            (len(self.final_neurons) >= 1 and min(self.final_neurons) >= 1, "final_neurons must be ≥ 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if not 1 <= self.level <= 4:
            raise ValueError(f"level must be 1…4, got {self.level}")


# ----------------------------------------------------------------------------------------------- helpers


def batched_auc(scores: torch.Tensor, labels: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Exact AUROC [R] of each row of ``scores`` [R, n] (Mann–Whitney, ties ½) against 0/1 ``labels``
    ([n] or [R, n]) with optional row weights (a weighted row counts as that many copies)."""
    r, n = scores.shape
    lab = labels.to(scores.dtype).expand(r, n)
    w = torch.ones_like(scores) if weights is None else weights.to(scores.dtype).expand(r, n)
    order = torch.argsort(scores, dim=1)
    s = torch.gather(scores, 1, order)
    l_sorted = torch.gather(lab, 1, order)
    w_sorted = torch.gather(w, 1, order)
    wp, wn = w_sorted * l_sorted, w_sorted * (1.0 - l_sorted)
    start = torch.ones_like(s, dtype=torch.bool)
    start[:, 1:] = s[:, 1:] != s[:, :-1]
    group = torch.cumsum(start.long(), dim=1) - 1
    neg_in = torch.zeros_like(s).scatter_add_(1, group, wn)
    below = torch.cumsum(neg_in, dim=1) - neg_in
    credit = torch.gather(below, 1, group) + 0.5 * torch.gather(neg_in, 1, group)
    denom = wp.sum(1) * wn.sum(1)
    return (wp * credit).sum(1) / denom


def binned_auc(scores: torch.Tensor, labels: torch.Tensor, bins: int = 65536) -> torch.Tensor:
    """AUROC [R] of ``scores`` [R, n] on ``bins`` equal-width score bins (pairs in one bin count ½)."""
    r, _ = scores.shape
    lab = labels.to(scores.dtype).expand_as(scores)
    lo = scores.amin(1, keepdim=True)
    span = scores.amax(1, keepdim=True) - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    idx = ((scores - lo) / span * (bins - 1)).round_().long()
    pos = torch.zeros(r, bins, dtype=scores.dtype, device=scores.device).scatter_add_(1, idx, lab)
    neg = torch.zeros(r, bins, dtype=scores.dtype, device=scores.device).scatter_add_(1, idx, 1.0 - lab)
    below = torch.cumsum(neg, dim=1) - neg
    return (pos * (below + 0.5 * neg)).sum(1) / (pos.sum(1) * neg.sum(1))


def dct_lowpass(values: np.ndarray, keep: float) -> np.ndarray:
    """Orthonormal DCT-II low-pass along the last axis: coefficients from 1-based index round(keep·n)
    on are zeroed (MATLAB rounding), so round(keep·n) − 1 survive (at least the mean)."""
    from scipy.fft import dct, idct

    v = np.asarray(values, dtype=float)
    n = v.shape[-1]
    kept = max(math.floor(keep * n + 0.5) - 1, 1)
    coef = dct(v, type=2, norm="ortho", axis=-1)
    coef[..., kept:] = 0.0
    return idct(coef, type=2, norm="ortho", axis=-1)


def bootstrap_size(n_pos: int, n_neg: int, ratio: float = 300.0, minimum: int = 1000) -> int:
    """Rows per class of a balanced bootstrap: min(#pos, #neg, max(round(#neg/ratio), minimum))."""
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"a balanced sample needs both classes, got {n_pos} positive and {n_neg} negative rows")
    return int(min(n_pos, n_neg, max(math.floor(n_neg / ratio + 0.5), minimum)))


def spatial_order(xy: np.ndarray, bits: int = 16) -> np.ndarray:
    """Row permutation along a Hilbert curve through the points ``xy`` (n × 2): neighbours in the
    returned order are near in space, so a 1-D low-pass along it smooths spatially."""
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        raise ValueError(f"coordinates must be a finite n × 2 array, got shape {xy.shape}")
    side = 1 << bits
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-300)
    ij = np.minimum(((xy - lo) / span * (side - 1)).round().astype(np.int64), side - 1)
    x, y = ij[:, 0].copy(), ij[:, 1].copy()
    d = np.zeros(len(x), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x[flip], y[flip] = side - 1 - x[flip], side - 1 - y[flip]
        swap = ~ry
        x[swap], y[swap] = y[swap], x[swap]
        s //= 2
    return np.argsort(d, kind="stable")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA device is available; use 'cpu' or 'auto'")
    return torch.device(name)


# ----------------------------------------------------------------------------------------------- model


@dataclass
class SNNModel:
    """The additive Gaussian-RBF model of Eq. (1) in raw composite units.

    ``exponents`` [M, p] define each composite over ``input_names``; inputs are clipped to
    [clip_low, clip_high] before S_j(x) = Σ_k w_jk exp(−(a_jk x + b_jk)²) + c_j. ``names`` are in rank
    order; ``train_min``/``train_max`` give each composite's training range (for curves).
    """

    input_names: list
    names: list
    exponents: np.ndarray
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    c: np.ndarray
    clip_low: np.ndarray
    clip_high: np.ndarray
    train_min: np.ndarray
    train_max: np.ndarray
    threshold: float = float("nan")

    def composites(self, x_raw: np.ndarray) -> np.ndarray:
        """Clipped composite features [n, M] of raw single features ``x_raw`` [n, p] (NaN propagates)."""
        x = np.asarray(x_raw, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != len(self.input_names):
            raise ValueError(
                f"expected {len(self.input_names)} input columns ({', '.join(self.input_names)}), got shape {x.shape}"
            )
        chi = build_composites(x, [tuple(int(k) for k in e) for e in self.exponents])
        return np.clip(chi, self.clip_low, self.clip_high)

    def curve(self, j: int, grid: np.ndarray) -> np.ndarray:
        """S_j on composite values ``grid`` (raw units; clipped as in prediction)."""
        g = np.clip(np.asarray(grid, dtype=float), self.clip_low[j], self.clip_high[j])
        arg = self.a[j][None, :] * g[:, None] + self.b[j][None, :]
        return np.exp(-arg * arg) @ self.w[j] + self.c[j]

    def curves(self, points: int = 200) -> list:
        """(grid, S_j) per feature over its training range, in rank order."""
        return [
            (grid, self.curve(j, grid))
            for j, grid in enumerate(np.linspace(self.train_min, self.train_max, points).T)
        ]

    def contributions(self, x_raw: np.ndarray, rows_per_chunk: int = 65536) -> np.ndarray:
        """S_j per row and feature [n, M] for raw single features ``x_raw`` [n, p]."""
        chi = self.composites(x_raw)
        out = np.empty_like(chi)
        for start in range(0, chi.shape[0], rows_per_chunk):
            block = chi[start : start + rows_per_chunk]
            arg = self.a[None] * block[:, :, None] + self.b[None]
            out[start : start + rows_per_chunk] = np.einsum("nmk,mk->nm", np.exp(-arg * arg), self.w) + self.c
        return out

    def predict(self, x_raw: np.ndarray) -> np.ndarray:
        """Total susceptibility S_t = Σ_j S_j per row."""
        return self.contributions(x_raw).sum(axis=1)

    def to_model_file(self) -> ModelFile:
        meta = {
            "input_names": list(self.input_names),
            "names": list(self.names),
            "threshold": float(self.threshold),
            "equation": "S_t = sum_j (sum_k w_jk exp(-(a_jk x_j + b_jk)^2) + c_j), x_j clipped composites",
        }
        arrays = {
            "a": self.a, "b": self.b, "w": self.w, "c": self.c, "exponents": self.exponents.astype(np.int64),
            "clip_low": self.clip_low, "clip_high": self.clip_high,
            "train_min": self.train_min, "train_max": self.train_max,
        }  # fmt: skip
        return ModelFile("snn", meta, arrays)

    @classmethod
    def from_model_file(cls, model: ModelFile) -> SNNModel:
        if model.kind != "snn":
            raise ValueError(f"expected an 'snn' model, got {model.kind!r}")
        a = model.arrays
        missing = [k for k in ("a", "b", "w", "c", "exponents", "clip_low", "clip_high") if k not in a]
        if missing or "names" not in model.meta or "input_names" not in model.meta:
            raise ValueError(f"SNN model file is incomplete (missing {missing or 'names'})")
        m = len(model.meta["names"])
        if a["a"].shape[0] != m or a["exponents"].shape != (m, len(model.meta["input_names"])):
            raise ValueError("SNN model file arrays do not match its feature names")
        return cls(
            list(model.meta["input_names"]), list(model.meta["names"]), np.asarray(a["exponents"]),
            np.asarray(a["a"], float), np.asarray(a["b"], float), np.asarray(a["w"], float),
            np.asarray(a["c"], float), np.asarray(a["clip_low"], float), np.asarray(a["clip_high"], float),
            np.asarray(a.get("train_min", a["clip_low"]), float), np.asarray(a.get("train_max", a["clip_high"]), float),
            float(model.meta.get("threshold", float("nan"))),
        )  # fmt: skip


def delta_s(contrib: np.ndarray, st: np.ndarray, threshold: float) -> np.ndarray:
    """ΔS̄_j: mean S_j over rows with S_t > threshold (modelled landslide, "ld") minus the mean over the
    other rows ("nld"); NaN for every j when either group is empty."""
    contrib = np.asarray(contrib, dtype=float)
    st = np.asarray(st, dtype=float)
    if contrib.ndim != 2 or st.shape != (contrib.shape[0],):
        raise ValueError(f"contributions must be n × M and S_t of length n, got {contrib.shape} and {st.shape}")
    ld = st > threshold
    if ld.all() or not ld.any():
        return np.full(contrib.shape[1], np.nan)
    return contrib[ld].mean(axis=0) - contrib[~ld].mean(axis=0)


def primary_control(contrib: np.ndarray) -> np.ndarray:
    """Index of the largest S_j per row (argmax over features)."""
    contrib = np.asarray(contrib, dtype=float)
    if contrib.ndim != 2 or contrib.shape[1] < 1:
        raise ValueError(f"contributions must be an n × M array, got shape {contrib.shape}")
    return np.argmax(contrib, axis=1)


# ----------------------------------------------------------------------------------------------- diagnostics


@dataclass
class TournamentResult:
    """Step 1: mean AUROC drop, appearances and points per composite; names of the survivors."""

    names: list
    mean_drop: np.ndarray
    appearances: np.ndarray
    points: np.ndarray
    survivors: list


@dataclass
class SelectionResult:
    """Step 2: features in selection order with the validation AUROC after each; the kept prefix."""

    order: list
    auc: list
    selected: list


@dataclass
class TeacherResult:
    """Multistage teacher: chosen stage (1-based), AUROC per stage (train, val, test), output per row."""

    stage: int
    stage_auc: list
    output: np.ndarray
    auc: dict


@dataclass
class FKDLog:
    """Per FKD iteration: the feature updated, its AUROC on train+val / val / test, nn and epochs."""

    feature: list
    auc_trainval: list
    auc_val: list
    auc_test: list
    neurons: list
    epochs: list
    best_iteration: int


@dataclass
class SNNResult:
    """The trained model and what each stage decided. ``distilled`` holds, per model feature, the FKD
    function that the final RBF layer was fitted to: (composite values in raw units, S_j values)."""

    model: SNNModel
    composite_names: list
    tournament: TournamentResult
    selection: SelectionResult
    teacher: TeacherResult
    fkd: FKDLog
    ranking_auc: list
    distilled: list
    neurons: list
    fit_error: list
    auc: dict
    threshold: float
    scores: np.ndarray
    timings: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- context


@dataclass
class _Context:
    """Data and generators shared by the stages (internal)."""

    cfg: SNNConfig
    dev: torch.device
    xn: torch.Tensor  # scaled composites [N, Mc]
    y: np.ndarray
    yt: torch.Tensor
    split: Split
    rank: np.ndarray  # position of each row in the scan order
    rng: np.random.Generator
    gen: torch.Generator
    dtype: torch.dtype

    def lm(self, epochs: int, max_fail: int = 6, goal: float = 0.0) -> LMOptions:
        return LMOptions(epochs=epochs, max_fail=max_fail, goal=goal)

    @property
    def max_bytes(self) -> int:
        return int(self.cfg.max_jacobian_mb) << 20

    def size(self, rows: np.ndarray) -> int:
        pos = int(self.y[rows].sum())
        return bootstrap_size(pos, rows.size - pos, self.cfg.bootstrap_ratio, self.cfg.bootstrap_min)

    def bootstrap(self, rows: np.ndarray, s: int) -> np.ndarray:
        """One balanced bootstrap (2s row indices, repeats kept) from ``rows``."""
        pos = rows[self.y[rows] == 1]
        neg = rows[self.y[rows] == 0]
        base = np.concatenate([self.rng.choice(pos, s, replace=False), self.rng.choice(neg, s, replace=False)])
        return base[self.rng.integers(0, base.size, base.size)]

    def plan(self, rows: np.ndarray) -> tuple:
        """(positive draws, negative draws, class weights [neg, pos]) of one bootstrap of ``rows``.

        With at least ``bootstrap_min`` positives (or the code's cap #neg/ratio at least that): the code's
        1:1 undersample of :func:`bootstrap_size` rows per class. With fewer positives: every positive
        and up to 2·bootstrap_min rows in all, each class weighted to half of the total (as the paper
        weights positives in the cost function), so that a small table loses no negative row.
        """
        n_pos = int(self.y[rows].sum())
        n_neg = rows.size - n_pos
        if n_pos >= self.cfg.bootstrap_min or self.many_rows(rows):
            s = self.size(rows)
            return s, s, np.ones(2)
        draws_neg = min(n_neg, max(2 * self.cfg.bootstrap_min - n_pos, n_pos))
        total = n_pos + draws_neg
        return n_pos, draws_neg, 0.5 * total / np.array([draws_neg, n_pos])

    def bootstraps(self, rows: np.ndarray, count: int, compress: bool) -> tuple:
        """``count`` class-balanced bootstraps of ``rows`` (see :meth:`plan`) as padded index [count, n] and
        weight [count, n] tensors; with ``compress`` each holds its distinct rows weighted by their counts."""
        n_pos, n_neg, class_weight = self.plan(rows)
        pos = rows[self.y[rows] == 1]
        neg = rows[self.y[rows] == 0]
        if class_weight[0] == class_weight[1] == 1.0:
            draws = [self.bootstrap(rows, n_pos) for _ in range(count)]
        else:
            draws = [
                np.concatenate([self.rng.choice(pos, n_pos, replace=True), self.rng.choice(neg, n_neg, replace=True)])
                for _ in range(count)
            ]
        if compress:
            pairs = [np.unique(d, return_counts=True) for d in draws]
        else:
            pairs = [(d, np.ones(d.size, dtype=np.int64)) for d in draws]
        width = max(p[0].size for p in pairs)
        idx = np.zeros((count, width), dtype=np.int64)
        wts = np.zeros((count, width))
        for i, (u, c) in enumerate(pairs):
            idx[i, : u.size], idx[i, u.size :] = u, u[0]
            wts[i, : u.size] = c * class_weight[self.y[u]]
        return torch.as_tensor(idx, device=self.dev), torch.as_tensor(wts, device=self.dev)

    def many_rows(self, rows: np.ndarray) -> bool:
        """True when ``rows`` are many enough for the code's bootstrap cap #neg/ratio to bind."""
        neg = rows.size - int(self.y[rows].sum())
        return math.floor(neg / self.cfg.bootstrap_ratio + 0.5) >= self.cfg.bootstrap_min

    def validation(self, count: int) -> tuple:
        """Validation rows per network [count, n] and their weights, sampled like training rows
        (:meth:`plan`): a balanced bootstrap of at most max(2·bootstrap_min, the code's 2s) rows, or
        on a small validation partition all its positives and up to 2·bootstrap_min rows in all
        (without replacement: every validation row at most once), the classes weighted equally."""
        rows = self.split.val
        _, n_neg, class_weight = self.plan(rows)
        if class_weight[0] == class_weight[1] == 1.0:
            return self.bootstraps(rows, count, compress=False)
        pos = rows[self.y[rows] == 1]
        neg = rows[self.y[rows] == 0]
        picks = [np.concatenate([pos, self.rng.choice(neg, n_neg, replace=False)]) for _ in range(count)]
        idx = torch.as_tensor(np.stack(picks), device=self.dev)
        weights = torch.as_tensor(class_weight[self.y[np.stack(picks)]], device=self.dev)
        return idx, weights

    def auc(self, scores: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        """AUROC per row of ``scores`` [R, len(rows)] against the labels of ``rows``."""
        labels = self.yt[torch.as_tensor(rows, device=self.dev)]
        if scores.shape[1] <= self.cfg.exact_auc_rows:
            return batched_auc(scores, labels)
        return binned_auc(scores, labels)

    def smooth(self, values: np.ndarray, rows: np.ndarray, keep: float) -> np.ndarray:
        """DCT low-pass of ``values`` (one per row of ``rows``, [..., len(rows)]) along the scan order."""
        if not self.cfg.smooth_targets:
            return np.array(values, dtype=float)
        order = np.argsort(self.rank[rows], kind="stable")
        out = np.empty_like(np.asarray(values, dtype=float))
        out[..., order] = dct_lowpass(np.asarray(values, dtype=float)[..., order], keep)
        return out


# ----------------------------------------------------------------------------------------------- step 1


def _tournament(ctx: _Context, names: list, progress: Optional[Progress]) -> TournamentResult:
    cfg = ctx.cfg
    m_all = ctx.xn.shape[1]
    group = min(cfg.tournament_group, m_all)
    models = cfg.tournament_models
    groups = np.stack([ctx.rng.choice(m_all, group, replace=False) for _ in range(models)])
    g = torch.as_tensor(groups, device=ctx.dev)
    idx, wts = ctx.bootstraps(ctx.split.train, models, compress=True)
    x = ctx.xn[idx.unsqueeze(-1), g.unsqueeze(1)]
    t = ctx.yt[idx].to(torch.float64)
    spec = MLPSpec(group, tuple(cfg.tournament_hidden), ("tanh",) * len(cfg.tournament_hidden))
    net = fit_mlps(
        spec, x, t, wts, options=ctx.lm(cfg.tournament_epochs), generator=ctx.gen,
        dtype=ctx.dtype, max_bytes=ctx.max_bytes, progress=scaled(progress, 0.0, 0.95),
    )  # fmt: skip
    del x, t, idx, wts
    vidx, _ = ctx.validation(models)
    xv = ctx.xn[vidx.unsqueeze(-1), g.unsqueeze(1)]
    yv = ctx.yt[vidx]
    base = batched_auc(net.predict(xv), yv)
    drops = torch.empty(models, group, dtype=torch.float64, device=ctx.dev)
    for k in range(group):
        perm = torch.argsort(torch.rand(vidx.shape, generator=ctx.gen).to(ctx.dev), dim=1)
        shuffled = xv.clone()
        shuffled[:, :, k] = torch.gather(xv[:, :, k], 1, perm)
        drops[:, k] = base - batched_auc(net.predict(shuffled), yv)
    drops_np = drops.cpu().numpy()
    total = np.zeros(m_all)
    count = np.zeros(m_all)
    np.add.at(total, groups.ravel(), drops_np.ravel())
    np.add.at(count, groups.ravel(), 1)
    points = np.bincount(groups[np.arange(models), np.argmax(drops_np, axis=1)], minlength=m_all)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if cfg.ranking == "threshold":
        keep = np.flatnonzero(mean > cfg.tournament_threshold)
        if keep.size < 2:  # too few survivors: take the two largest mean drops
            keep = np.sort(np.argsort(-np.nan_to_num(mean, nan=-np.inf), kind="stable")[:2])
    else:
        keep = np.argsort(-points, kind="stable")
        keep = keep[points[keep] > 0] if (points > 0).sum() >= 2 else keep[:2]
    report(progress, 1.0, "tournament ranking done")
    return TournamentResult(list(names), mean, count.astype(np.int64), points, [names[i] for i in keep])


# ----------------------------------------------------------------------------------------------- step 2


def _selection_scores(ctx: _Context, sets: list, progress: Optional[Progress]) -> np.ndarray:
    """Best-of-reps validation AUROC of a [S] → 8 tanh → 8 tanh → 1 net for each feature set in ``sets``
    (all of equal size); within a rep all sets share the bootstrap rows and the initial weights."""
    cfg = ctx.cfg
    k = len(sets[0])
    spec = MLPSpec(k, tuple(cfg.selection_hidden), ("tanh",) * len(cfg.selection_hidden))
    cols = torch.as_tensor(np.asarray(sets), device=ctx.dev)  # [C, k]
    n_sets, reps = len(sets), cfg.selection_reps
    tidx, twts = ctx.bootstraps(ctx.split.train, reps, compress=True)
    rows = tidx.repeat_interleave(n_sets, 0)
    x = ctx.xn[rows.unsqueeze(-1), cols.repeat(reps, 1).unsqueeze(1)]
    t = ctx.yt[rows].to(torch.float64)
    init = nguyen_widrow(spec, reps, ctx.gen, device=ctx.dev).repeat_interleave(n_sets, 0)
    net = fit_mlps(
        spec, x, t, twts.repeat_interleave(n_sets, 0), options=ctx.lm(cfg.selection_epochs), init=init,
        dtype=ctx.dtype, max_bytes=ctx.max_bytes, progress=progress,
    )  # fmt: skip
    if cfg.selection_val == "all":
        val = ctx.split.val
        pred = net.predict_columns(ctx.xn[torch.as_tensor(val, device=ctx.dev)], cols.repeat(reps, 1))
        aucs = ctx.auc(pred, val).reshape(reps, n_sets)
    else:
        vidx, _ = ctx.validation(reps)
        vrows = vidx.repeat_interleave(n_sets, 0)
        xv = ctx.xn[vrows.unsqueeze(-1), cols.repeat(reps, 1).unsqueeze(1)]
        aucs = batched_auc(net.predict(xv), ctx.yt[vrows]).reshape(reps, n_sets)
    return aucs.max(0).values.cpu().numpy()


def _selection(ctx: _Context, candidates: list, names: list, progress: Optional[Progress]) -> SelectionResult:
    """Greedy forward selection (threshold ranking) or forward selection in rank order (points)."""
    cfg = ctx.cfg
    chosen: list = []
    history: list = []
    remaining = list(candidates)
    budget = len(candidates)
    while remaining:
        step = scaled(progress, len(chosen) / budget, (len(chosen) + 1) / budget)
        if cfg.ranking == "threshold":
            scores = _selection_scores(ctx, [[*chosen, c] for c in remaining], step)
            best = int(np.argmax(scores))
        else:
            scores = _selection_scores(ctx, [[*chosen, remaining[0]]], step)
            best = 0
        chosen.append(remaining.pop(best))
        history.append(float(scores[best]))
        top = int(np.argmax(history))
        if len(chosen) >= 2 and len(history) - 1 - top >= cfg.selection_patience:
            break
    keep = max(int(np.argmax(history)) + 1, min(cfg.selection_min, len(chosen)))
    report(progress, 1.0, "forward selection done")
    return SelectionResult([names[i] for i in chosen], history, [names[i] for i in chosen[:keep]])


# ----------------------------------------------------------------------------------------------- teacher


def _teacher_stage(
    ctx: _Context,
    table: torch.Tensor,
    columns: torch.Tensor,
    targets: torch.Tensor,
    neurons: int,
    epochs: int,
    progress: Optional[Progress],
) -> torch.Tensor:
    """Train one radbas net per row of ``columns`` [B, k] (inputs: those columns of ``table`` [N, K];
    target: ``targets`` [N] or [B, N]) with max_fail 1 and return its outputs on every row [B, N]."""
    bsz, k = columns.shape
    tidx, twts = ctx.bootstraps(ctx.split.train, bsz, compress=True)
    vidx, vwts = ctx.validation(bsz)
    per_net = targets if targets.ndim == 2 else targets.unsqueeze(0).expand(bsz, -1)
    x = table[tidx.unsqueeze(-1), columns.unsqueeze(1)]
    t = torch.gather(per_net, 1, tidx)
    xv = table[vidx.unsqueeze(-1), columns.unsqueeze(1)]
    tv = torch.gather(per_net, 1, vidx)
    spec = MLPSpec(k, (neurons,), ("radbas",))
    net = fit_mlps(
        spec, x, t, twts, val=(xv, tv, vwts), options=ctx.lm(epochs, max_fail=1), generator=ctx.gen,
        dtype=ctx.dtype, max_bytes=ctx.max_bytes, progress=progress,
    )  # fmt: skip
    return net.predict_columns(table, columns)


def _teacher(ctx: _Context, features: list, progress: Optional[Progress]) -> TeacherResult:
    cfg = ctx.cfg
    dev = ctx.dev
    xf = ctx.xn[:, torch.as_tensor(features, device=dev)]
    m = xf.shape[1]
    label = ctx.yt.to(torch.float64)
    tr, va = ctx.split.train, ctx.split.val
    chains = cfg.teacher_chains
    base_cols = torch.arange(m, device=dev).repeat(chains, 1)
    outs: list = []
    table = xf
    total = torch.zeros(chains, xf.shape[0], dtype=torch.float64, device=dev)
    stage_auc = []
    n_steps = 3 + 4
    for sub in range(3):
        step = scaled(progress, sub / n_steps, (sub + 1) / n_steps)
        if sub == 0:
            target = label
        else:
            resid = (label.unsqueeze(0) - total).cpu().numpy()
            smooth = np.zeros_like(resid)
            for rows in (tr, va):
                smooth[:, rows] = ctx.smooth(resid[:, rows], rows, cfg.teacher_keep)
            target = torch.as_tensor(smooth, device=dev)
        # Sub-stage b reads its chain's a output, c its a and b outputs (columns m + p·chains + chain).
        extra = [m + p * chains + torch.arange(chains, device=dev).unsqueeze(1) for p in range(sub)]
        cols = torch.cat([base_cols, *extra], dim=1)
        out = _teacher_stage(ctx, table, cols, target, 3, 3, step)
        outs.append(out)
        total = total + out
        table = torch.cat([table, out.T], dim=1)
    prev = torch.cat(outs, dim=0)  # stage 1: [90, N], the 30 a, 30 b and 30 c outputs
    del outs, table
    rows_per_net = sum(ctx.plan(tr)[:2])
    stage_auc.append(_stage_auc(ctx, total.mean(0)))
    means = []
    for stage in range(2, 6):
        step = scaled(progress, (stage + 1) / n_steps, (stage + 2) / n_steps)
        width = prev.shape[0]
        neurons, epochs = (3, 3) if stage == 2 else (5, 5)
        # At least 10 training rows per first-layer weight: no cap on the code's pixel samples (2s ≈ 6.6k
        # rows), but a small table (hundreds of rows) would otherwise fit 300-weight nets to noise.
        take = min(cfg.teacher_stage2_inputs if stage == 2 else cfg.teacher_stage_inputs, width)
        take = max(2, min(take, rows_per_net // (10 * neurons)))
        cols = np.stack([np.sort(ctx.rng.choice(width, take, replace=False)) for _ in range(cfg.teacher_nets)])
        inputs = prev.T.contiguous()
        del prev
        prev = _teacher_stage(ctx, inputs, torch.as_tensor(cols, device=dev), label, neurons, epochs, step)
        del inputs
        mean = prev.mean(0)
        means.append(mean)
        stage_auc.append(_stage_auc(ctx, mean))
    scores = [a[1] - 0.025 * (a[1] / a[0] < 0.98) for a in stage_auc[2:]]
    best = int(np.argmax(scores))
    output = means[1 + best].cpu().numpy()
    chosen = stage_auc[2 + best]
    report(progress, 1.0, "teacher trained")
    return TeacherResult(3 + best, stage_auc, output, {"train": chosen[0], "val": chosen[1], "test": chosen[2]})


def _stage_auc(ctx: _Context, out: torch.Tensor) -> tuple:
    res = []
    for rows in (ctx.split.train, ctx.split.val, ctx.split.test):
        if rows.size and 0 < ctx.y[rows].sum() < rows.size:
            res.append(float(ctx.auc(out[torch.as_tensor(rows, device=ctx.dev)].unsqueeze(0), rows)[0]))
        else:
            res.append(float("nan"))
    return tuple(res)


# ----------------------------------------------------------------------------------------------- FKD


@dataclass
class _Grid:
    """Per feature: grid values span [lo, hi]; every row's interpolation index and fraction."""

    lo: torch.Tensor  # [m]
    hi: torch.Tensor
    points: torch.Tensor  # [m, G]
    index: torch.Tensor  # [m, N] long
    frac: torch.Tensor  # [m, N]

    def at_rows(self, values: torch.Tensor, j: int, rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Interpolated [..., len(rows)] from grid values [..., G] of feature ``j`` (all rows by default)."""
        i0 = self.index[j] if rows is None else self.index[j, rows]
        f = self.frac[j] if rows is None else self.frac[j, rows]
        return torch.lerp(values[..., i0], values[..., i0 + 1], f)

    def subset(self, rows: torch.Tensor) -> _Grid:
        """The same grid with the interpolation data of ``rows`` only."""
        return _Grid(self.lo, self.hi, self.points, self.index[:, rows], self.frac[:, rows])


def _make_grid(u: torch.Tensor, points: int) -> _Grid:
    lo, hi = u.amin(0), u.amax(0)
    steps = torch.linspace(0.0, 1.0, points, dtype=u.dtype, device=u.device)
    grid = lo.unsqueeze(1) + (hi - lo).unsqueeze(1) * steps.unsqueeze(0)
    pos = ((u - lo) / (hi - lo)).T * (points - 1)
    index = torch.clamp(pos.floor().long(), 0, points - 2)
    return _Grid(lo, hi, grid, index, pos - index)


def _compress_1d(x: np.ndarray, w: np.ndarray, t: np.ndarray, bins: int) -> tuple:
    """Merge the rows of one input into ``bins`` groups of consecutive x (equal numbers of rows): weighted
    mean input and targets, summed weights. ``x`` [n], ``w`` [n], ``t`` [V, n] → (x [b], w [b], t [V, b])."""
    order = np.argsort(x, kind="stable")
    group = np.empty(x.size, dtype=np.int64)
    group[order] = np.arange(x.size) * bins // x.size
    ws = np.bincount(group, weights=w, minlength=bins)
    xs = np.bincount(group, weights=w * x, minlength=bins) / ws
    ts = np.stack([np.bincount(group, weights=w * tv, minlength=bins) / ws for tv in t])
    return xs, ws, ts


def _fkd(ctx: _Context, features: list, names: list, teacher: np.ndarray, progress: Optional[Progress]) -> tuple:
    cfg = ctx.cfg
    dev = ctx.dev
    tr, va, te = ctx.split.train, ctx.split.val, ctx.split.test
    tv_rows = np.concatenate([tr, va])
    tv_t = torch.as_tensor(tv_rows, device=dev)
    te_t = torch.as_tensor(te, device=dev)
    n_all = ctx.xn.shape[0]
    tv_pos = np.full(n_all, -1, dtype=np.int64)
    tv_pos[tv_rows] = np.arange(tv_rows.size)
    u = ctx.xn[:, torch.as_tensor(features, device=dev)]
    grid = _make_grid(u, cfg.grid_points)
    grid_tv, grid_te = grid.subset(tv_t), grid.subset(te_t)
    m = len(features)
    keeps = tuple(cfg.fkd_keep) if cfg.smooth_targets else (1.0,)
    variants = len(keeps)
    tau = np.power(np.maximum(teacher[tv_rows] - teacher[tv_rows].min(), 0.0), 0.25)
    f_grid = torch.zeros(m, cfg.grid_points, dtype=torch.float64, device=dev)
    s_tv = torch.zeros(tv_rows.size, dtype=torch.float64, device=dev)
    s_te = torch.zeros(te.size, dtype=torch.float64, device=dev)
    pool = tr if cfg.fkd_pool == "train" else tv_rows
    n_lo, n_hi = cfg.fkd_neurons
    e_lo, e_hi = cfg.fkd_epochs
    nn_, ne_ = n_lo, max(e_lo, min(2, e_hi))
    log = FKDLog([], [], [], [], [], [], 0)
    best_val, best_grid = -np.inf, f_grid.clone()
    u_np = u.cpu().numpy()
    n_tr = tr.size
    for it in range(cfg.fkd_iterations):
        report(progress, it / cfg.fkd_iterations, f"distillation {it + 1}/{cfg.fkd_iterations}")
        resid = tau - s_tv.cpu().numpy()
        targets = np.empty((variants, tv_rows.size))
        for v, q in enumerate(keeps):
            targets[v, :n_tr] = ctx.smooth(resid[:n_tr], tr, q)
            targets[v, n_tr:] = ctx.smooth(resid[n_tr:], va, q)
        draw_idx, draw_w = ctx.bootstraps(pool, 1, compress=True)
        rows, counts = draw_idx[0].cpu().numpy(), draw_w[0].cpu().numpy()
        rows, counts = rows[counts > 0], counts[counts > 0]
        vidx, vwts = ctx.validation(1)
        vdraw, vw = vidx[0].cpu().numpy(), vwts[0].cpu().numpy()
        t_rows = targets[:, tv_pos[rows]]
        xs, ws, ts = [], [], []
        for j in range(m):
            xj = u_np[rows, j]
            if rows.size > 2 * cfg.fkd_bins:
                xb, wb, tb = _compress_1d(xj, counts, t_rows, cfg.fkd_bins)
            else:
                xb, wb, tb = xj, counts, t_rows
            xs.append(xb)
            ws.append(wb)
            ts.append(tb)
        width = max(len(a) for a in xs)
        x_b = np.zeros((m * variants, width, 1))
        w_b = np.zeros((m * variants, width))
        t_b = np.zeros((m * variants, width))
        for j in range(m):
            k = len(xs[j])
            sl = slice(j * variants, (j + 1) * variants)
            x_b[sl, :k, 0], x_b[sl, k:, 0] = xs[j], xs[j][0]
            w_b[sl, :k] = ws[j]
            t_b[sl, :k], t_b[sl, k:] = ts[j], ts[j][:, :1]
        x_val = np.repeat(u_np[vdraw][:, :, None].transpose(1, 0, 2), variants, axis=0)  # [m·V, nv, 1]
        t_val = np.tile(targets[:, tv_pos[vdraw]], (m, 1))
        # mapminmax on the rows as drawn (before binning), as the networks would see them.
        x_raw = u_np[rows]
        in_lo = np.repeat(x_raw.min(0), variants)
        in_hi = np.repeat(x_raw.max(0), variants)
        out_lo = np.tile(t_rows.min(1), m)
        out_hi = np.tile(t_rows.max(1), m)
        maps = (_affine(in_lo, in_hi, dev, column=True), _affine(out_lo, out_hi, dev, column=False))
        spec = MLPSpec(1, (nn_, nn_), ("radbas", "radbas"), "relu")
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=dev)  # noqa: E731
        net = fit_mlps(
            spec, as_t(x_b), as_t(t_b), as_t(w_b), val=(as_t(x_val), as_t(t_val), as_t(np.tile(vw, (m * variants, 1)))),
            options=ctx.lm(ne_, max_fail=cfg.fkd_max_fail), generator=ctx.gen, maps=maps,
            dtype=ctx.dtype, max_bytes=ctx.max_bytes,
            progress=scaled(progress, it / cfg.fkd_iterations, (it + 0.8) / cfg.fkd_iterations),
        )  # fmt: skip
        on_grid = net.predict(grid.points.repeat_interleave(variants, 0).unsqueeze(-1))  # [m·V, G]
        best_score, best_j, best_v = -np.inf, 0, 0
        for j in range(m):
            cand = grid_tv.at_rows(on_grid[j * variants : (j + 1) * variants], j)
            scores = ctx.auc(s_tv.unsqueeze(0) + cand, tv_rows).cpu().numpy()
            v = int(np.argmax(scores))
            if scores[v] > best_score:
                best_score, best_j, best_v = float(scores[v]), j, v
        update = on_grid[best_j * variants + best_v]
        f_grid[best_j] += update
        s_tv += grid_tv.at_rows(update, best_j)
        s_te += grid_te.at_rows(update, best_j)
        auc_tv = float(ctx.auc(s_tv.unsqueeze(0), tv_rows)[0])
        auc_va = float(ctx.auc(s_tv[n_tr:].unsqueeze(0), va)[0])
        auc_te = float(ctx.auc(s_te.unsqueeze(0), te)[0]) if te.size and 0 < ctx.y[te].sum() < te.size else float("nan")
        log.feature.append(names[features[best_j]])
        log.auc_trainval.append(auc_tv)
        log.auc_val.append(auc_va)
        log.auc_test.append(auc_te)
        log.neurons.append(nn_)
        log.epochs.append(ne_)
        if auc_va > best_val:
            best_val, best_grid, log.best_iteration = auc_va, f_grid.clone(), it
        if it > 0:
            gain = auc_tv - log.auc_trainval[-2]
            step = 1 if gain <= cfg.fkd_gain else -1
            nn_ = int(min(max(nn_ + step, n_lo), n_hi))
            ne_ = int(min(max(ne_ + step, e_lo), e_hi))
    report(progress, 1.0, "distillation done")
    return best_grid, grid, log


def _affine(lo: np.ndarray, hi: np.ndarray, dev: torch.device, column: bool) -> Affine:
    """mapminmax of [lo, hi] onto [−1, 1] (constant → scale 1), shaped [B, 1] for inputs or [B]."""
    span = hi - lo
    scale = 2.0 / np.where(span > 0, span, 2.0)
    offset = -1.0 - lo * scale
    shape = (-1, 1) if column else (-1,)
    as_t = lambda a: torch.as_tensor(a.reshape(shape), dtype=torch.float64, device=dev)  # noqa: E731
    return Affine(as_t(scale), as_t(offset))


# ----------------------------------------------------------------------------------------------- prune, fit


def _prune(ctx: _Context, f_rows: torch.Tensor, rows: np.ndarray) -> tuple:
    """Greedy forward AUROC ranking of contributions ``f_rows`` [m, n]; keep the best prefix."""
    m = f_rows.shape[0]
    chosen: list = []
    history: list = []
    current = torch.zeros_like(f_rows[0])
    left = list(range(m))
    while left:
        scores = ctx.auc(current.unsqueeze(0) + f_rows[left], rows).cpu().numpy()
        k = int(np.argmax(scores))
        chosen.append(left.pop(k))
        history.append(float(scores[k]))
        current = current + f_rows[chosen[-1]]
    keep = int(np.argmax(history)) + 1
    return chosen[:keep], history[:keep]


def _final_fit(ctx: _Context, targets: torch.Tensor, v_rows: torch.Tensor, f_rows: torch.Tensor) -> tuple:
    """Fit S_j on v ∈ [0, 1] (each feature's training range) by 1 → cnt radbas → linear nets.

    ``targets`` [m, fit_points] are S_j on the fit grid, ``v_rows`` [m, n] the rows' v and ``f_rows``
    [m, n] S_j on the rows (for the mean-error test). Returns (a, b, w, c, neurons, error) on v.
    """
    cfg = ctx.cfg
    m, n_fit = targets.shape
    v_grid = torch.linspace(0.0, 1.0, n_fit, dtype=torch.float64, device=ctx.dev)
    best: list = [None] * m
    for cnt in cfg.final_neurons:
        spec = MLPSpec(1, (cnt,), ("radbas",))
        perm = np.stack([ctx.rng.permutation(n_fit) for _ in range(m)])
        n_tr, n_va = round(0.70 * n_fit), round(0.15 * n_fit)
        tr_i = torch.as_tensor(perm[:, :n_tr], device=ctx.dev)
        va_i = torch.as_tensor(perm[:, n_tr : n_tr + n_va], device=ctx.dev)
        x = v_grid[tr_i].unsqueeze(-1)
        xv = v_grid[va_i].unsqueeze(-1)
        init = nguyen_widrow(spec, m, ctx.gen, input_range=(0.0, 1.0), device=ctx.dev)
        net = fit_mlps(
            spec, x, torch.gather(targets, 1, tr_i), val=(xv, torch.gather(targets, 1, va_i), None),
            options=ctx.lm(cfg.final_epochs, max_fail=cfg.final_max_fail, goal=(cfg.final_tolerance / 10) ** 2),
            init=init, normalize=False, dtype=torch.float64, max_bytes=ctx.max_bytes,
        )  # fmt: skip
        err = (net.predict(v_rows.unsqueeze(-1)) - f_rows).abs().mean(1).cpu().numpy()
        p = net.params.cpu().numpy()
        for j in range(m):
            if best[j] is None or (best[j][1] >= cfg.final_tolerance and err[j] < best[j][1]):
                best[j] = (cnt, float(err[j]), p[j])
        if all(b[1] < cfg.final_tolerance for b in best):
            break
    width = max(cfg.final_neurons)
    a, b, w = np.zeros((m, width)), np.zeros((m, width)), np.zeros((m, width))
    c = np.zeros(m)
    for j, (cnt, _, p) in enumerate(best):
        a[j, :cnt], b[j, :cnt] = p[:cnt], p[cnt : 2 * cnt]
        w[j, :cnt], c[j] = p[2 * cnt : 3 * cnt], p[3 * cnt]
    return a, b, w, c, [bst[0] for bst in best], [bst[1] for bst in best]


# ----------------------------------------------------------------------------------------------- driver


def _check_inputs(x: np.ndarray, y: np.ndarray, names: list, split: Split) -> tuple:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"features must be an n × p array, got shape {x.shape}")
    if x.shape[1] < 2:
        raise ValueError(f"need at least 2 features, got {x.shape[1]}")
    if len(names) != x.shape[1]:
        raise ValueError(f"{len(names)} names for {x.shape[1]} feature columns")
    if len(set(names)) != len(names):
        raise ValueError(f"feature names must be unique, got {names}")
    bad = [names[j] for j in range(x.shape[1]) if not np.isfinite(x[:, j]).all()]
    if bad:
        raise ValueError(f"feature(s) {', '.join(bad)} contain NaN or infinite values: fill or drop those rows")
    y = check_binary(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have one value per row ({x.shape[0]}), got shape {y.shape}")
    parts = {}
    for part in ("train", "val", "test"):
        rows = np.asarray(getattr(split, part), dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= x.shape[0]):
            raise ValueError(f"split.{part} has row indices outside 0…{x.shape[0] - 1}")
        parts[part] = np.sort(rows)
    for part in ("train", "val"):
        rows = parts[part]
        if rows.size == 0 or y[rows].min() == y[rows].max():
            raise ValueError(f"the {part} rows must hold both landslide (1) and non-landslide (0) rows")
    union = np.concatenate(list(parts.values()))
    if np.unique(union).size != union.size:
        raise ValueError("split partitions overlap: train, val and test must be disjoint")
    const = [names[j] for j in range(x.shape[1]) if np.ptp(x[parts["train"], j]) == 0]
    if const:
        raise ValueError(f"feature(s) {', '.join(const)} are constant on the training rows; remove them")
    return x, y, Split(parts["train"], parts["val"], parts["test"])


def train_snn(
    x: np.ndarray,
    y: np.ndarray,
    names: list,
    split: Split,
    config: SNNConfig = SNNConfig(),
    progress: Optional[Progress] = None,
    order: Optional[np.ndarray] = None,
) -> SNNResult:
    """Train an SNN on raw single features ``x`` [n, p] (names ``names``) and 0/1 labels ``y``.

    ``split`` gives training, validation (early stopping, snapshot and stage choice) and test rows (only
    reported). ``order`` is a permutation of the rows giving the scan order for the DCT smoothing of
    targets (default: row order, e.g. raster pixels; use :func:`spatial_order` for slope units).
    ``config.threads`` > 0 sets torch's CPU threads for the run (1 is fastest on a busy machine).
    """
    if config.threads <= 0:
        return _train_snn(x, y, names, split, config, progress, order)
    before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train_snn(x, y, names, split, config, progress, order)
    finally:
        torch.set_num_threads(before)


def _train_snn(
    x: np.ndarray,
    y: np.ndarray,
    names: list,
    split: Split,
    config: SNNConfig,
    progress: Optional[Progress],
    order: Optional[np.ndarray],
) -> SNNResult:
    clock = {"start": time.perf_counter()}
    x, y, split = _check_inputs(x, y, list(names), split)
    cfg = config
    n = x.shape[0]
    rank = np.arange(n)
    if order is not None:
        order = np.asarray(order, dtype=np.int64)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of the {n} rows")
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
    dev = _device(cfg.device)
    torch_gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    report(progress, 0.0, "composite features")
    terms = composite_terms(x.shape[1], cfg.level)
    chi = build_composites(x, terms)
    if not np.isfinite(chi).all():
        raise ValueError("composite features overflow: rescale the raw features (e.g. to km or thousands)")
    comp_names = [composite_name(t, list(names)) for t in terms]
    tr = split.train
    mean, std = chi[tr].mean(0), chi[tr].std(0)
    low = mean - cfg.clip_sigma * std if cfg.clip != "none" else np.full(mean.shape, -np.inf)
    high = mean + cfg.clip_sigma * std if cfg.clip == "both" else np.full(mean.shape, np.inf)
    np.clip(chi, low, high, out=chi)
    chi_train = chi[tr]
    usable = np.flatnonzero(np.ptp(chi_train, axis=0) > 0)
    terms = [terms[i] for i in usable]
    comp_names = [comp_names[i] for i in usable]
    if usable.size < chi.shape[1]:
        chi, chi_train = chi[:, usable], chi_train[:, usable]
    train_min, train_max = chi_train.min(0), chi_train.max(0)
    scaler = fit_scaler(chi_train, cfg.scaling, comp_names)
    del chi_train
    chi -= scaler.offset  # scaled in place: a million rows × 120 composites are 1 GB per copy
    chi /= scaler.scale
    xn = torch.as_tensor(chi, device=dev)
    del chi
    dtype = torch.float64 if cfg.jacobian_dtype == "float64" else torch.float32
    ctx = _Context(cfg, dev, xn, y, torch.as_tensor(y, device=dev), split, rank, rng, torch_gen, dtype)
    clock["prepare"] = time.perf_counter()

    tour = _tournament(ctx, comp_names, scaled(progress, 0.01, 0.35))
    clock["tournament"] = time.perf_counter()
    survivors = [comp_names.index(s) for s in tour.survivors]
    if len(survivors) <= 2:
        sel = SelectionResult(tour.survivors, [], list(tour.survivors))
    else:
        sel = _selection(ctx, survivors, comp_names, scaled(progress, 0.35, 0.6))
    clock["selection"] = time.perf_counter()
    features = [comp_names.index(s) for s in sel.selected]
    teacher = _teacher(ctx, features, scaled(progress, 0.6, 0.7))
    clock["teacher"] = time.perf_counter()
    f_grid, grid, fkd_log = _fkd(ctx, features, comp_names, teacher.output, scaled(progress, 0.7, 0.95))
    clock["distillation"] = time.perf_counter()

    report(progress, 0.95, "pruning and final fit")
    tv_rows = np.concatenate([split.train, split.val])
    tv_t = torch.as_tensor(tv_rows, device=dev)
    f_rows = torch.stack([grid.at_rows(f_grid[j], j, tv_t) for j in range(len(features))])
    kept, ranking_auc = _prune(ctx, f_rows, tv_rows)
    shift = f_rows[kept].amin(1)
    total_max = float((f_rows[kept] - shift.unsqueeze(1)).sum(0).max())
    if not total_max > 0:
        raise ValueError("the distilled contributions are all constant: the SNN learned nothing from these data")
    f_norm = (f_grid[kept] - shift.unsqueeze(1)) / total_max
    rows_norm = (f_rows[kept] - shift.unsqueeze(1)) / total_max
    kept_feat = [features[k] for k in kept]
    u_tr = xn[torch.as_tensor(split.train, device=dev)][:, torch.as_tensor(kept_feat, device=dev)]
    t_lo, t_hi = u_tr.amin(0), u_tr.amax(0)
    steps = torch.linspace(0.0, 1.0, cfg.fit_points, dtype=torch.float64, device=dev)
    fit_targets = torch.stack([
        _interp_grid(grid, k, f_norm[i], t_lo[i] + (t_hi[i] - t_lo[i]) * steps) for i, k in enumerate(kept)
    ])  # fmt: skip
    v_rows = ((xn[tv_t][:, torch.as_tensor(kept_feat, device=dev)] - t_lo) / (t_hi - t_lo)).T
    a, b, w, c, neurons, fit_error = _final_fit(ctx, fit_targets, v_rows, rows_norm)
    clock["final_fit"] = time.perf_counter()

    # Fold v = (χ − A)/D back to raw composite units χ: u = (χ − offset)/scale and v = (u − t_lo)/(t_hi − t_lo).
    sc_off, sc_scale = scaler.offset[kept_feat], scaler.scale[kept_feat]
    t_lo_np, t_hi_np = t_lo.cpu().numpy(), t_hi.cpu().numpy()
    big_a = sc_off + t_lo_np * sc_scale
    big_d = (t_hi_np - t_lo_np) * sc_scale
    a_raw = a / big_d[:, None]
    b_raw = b - a * (big_a / big_d)[:, None]
    # Inputs are clamped to the training range: each S_j stays at its boundary value beyond the data it
    # was fitted on, instead of following the Gaussian tails back to c_j.
    train_lo, train_hi = train_min[kept_feat], train_max[kept_feat]
    model = SNNModel(
        list(names), [comp_names[k] for k in kept_feat], np.array([terms[k] for k in kept_feat], dtype=np.int64),
        a_raw, b_raw, w, c, train_lo, train_hi, train_lo, train_hi,
    )  # fmt: skip
    scores = model.predict(x)
    threshold = threshold_nearest_corner(y[tv_rows], scores[tv_rows])
    model.threshold = threshold
    grid_raw = model.train_min[:, None] + (model.train_max - model.train_min)[:, None] * steps.cpu().numpy()[None, :]
    distilled = list(zip(grid_raw, fit_targets.cpu().numpy()))
    auc = {part: _safe_auc(y, scores, getattr(split, part)) for part in ("train", "val", "test")}
    ranked_auc = [ranking_auc[i] for i in range(len(kept))]
    timings = {}
    prev = clock["start"]
    for key in ("prepare", "tournament", "selection", "teacher", "distillation", "final_fit"):
        timings[key] = clock[key] - prev
        prev = clock[key]
    timings["total"] = prev - clock["start"]
    report(progress, 1.0, "SNN trained")
    return SNNResult(
        model, comp_names, tour, sel, teacher, fkd_log, ranked_auc, distilled, neurons, fit_error, auc, threshold,
        scores, timings,
    )  # fmt: skip


def _interp_grid(grid: _Grid, j: int, values: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    pos = (at - grid.lo[j]) / (grid.hi[j] - grid.lo[j]) * (values.shape[0] - 1)
    i0 = torch.clamp(pos.floor().long(), 0, values.shape[0] - 2)
    f = pos - i0
    return values[i0] * (1.0 - f) + values[i0 + 1] * f


def _safe_auc(y: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> float:
    if rows.size == 0 or y[rows].min() == y[rows].max():
        return float("nan")
    return roc_auc(y[rows], scores[rows])


# ----------------------------------------------------------------------------------------------- baselines


@dataclass
class LRBins:
    """Likelihood ratio per bin of one feature: bin ``edges`` (len k+1), ``ratio`` and row ``count`` (k)."""

    edges: np.ndarray
    ratio: np.ndarray
    count: np.ndarray

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """The ratio of the bin of each value (values outside the edges fall in the end bins)."""
        pos = np.searchsorted(self.edges, np.asarray(values, dtype=float), side="right") - 1
        return self.ratio[np.clip(pos, 0, self.ratio.size - 1)]


def likelihood_ratio_bins(values: np.ndarray, y: np.ndarray, bins: int = 10, kind: str = "quantile") -> LRBins:
    """Likelihood (frequency) ratio per bin: (share of landslide rows in the bin) ÷ (share of all rows).

    ``kind`` "quantile" gives bins of equal row counts (ties merge bins), "equal" equal-width bins.
    A ratio of 1 is the study-area average.
    """
    v = np.asarray(values, dtype=float)
    y = check_binary(y)
    if v.shape != y.shape:
        raise ValueError(f"values {v.shape} and labels {y.shape} differ in shape")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite entries")
    if bins < 1:
        raise ValueError(f"bins must be ≥ 1, got {bins}")
    if kind == "quantile":
        edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, bins + 1)))
    elif kind == "equal":
        edges = np.linspace(v.min(), v.max(), bins + 1)
    else:
        raise ValueError(f"bin kind {kind!r}: use 'quantile' or 'equal'")
    if edges.size < 2:
        edges = np.array([v.min(), v.max() + 1.0])
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, edges.size - 2)
    count = np.bincount(idx, minlength=edges.size - 1)
    pos = np.bincount(idx, weights=y, minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(count > 0, (pos / y.sum()) / (count / y.size), 0.0)
    return LRBins(edges, ratio, count)


@dataclass
class Baselines:
    """Test AUROC of the comparison models on one split, and the best single feature's name and sign."""

    logistic: float
    likelihood_ratio: float
    best_feature: str
    best_feature_auc: float
    best_feature_sign: int


def baselines(x: np.ndarray, y: np.ndarray, names: list, split: Split, lr_bins: int = 10) -> Baselines:
    """Logistic regression (standardised features), the likelihood-ratio model (sum of per-feature
    ratios of training-row bins) and the best single feature (AUROC on training rows, sign-corrected),
    all fitted on training + validation rows and scored on test rows."""
    from sklearn.linear_model import LogisticRegression

    x, y, split = _check_inputs(x, y, list(names), split)
    fit = np.concatenate([split.train, split.val])
    test = split.test
    if test.size == 0 or y[test].min() == y[test].max():
        raise ValueError("the test rows must hold both classes to compare models")
    scaler: Scaler = fit_scaler(x[fit], "standard", list(names))
    logit = LogisticRegression(max_iter=5000).fit(scaler.transform(x[fit]), y[fit])
    auc_logit = roc_auc(y[test], logit.decision_function(scaler.transform(x[test])))
    lr_score = np.zeros(test.size)
    for j in range(x.shape[1]):
        lr_score += likelihood_ratio_bins(x[fit, j], y[fit], lr_bins).lookup(x[test, j])
    auc_lr = roc_auc(y[test], lr_score)
    train_auc = np.array([roc_auc(y[fit], x[fit, j]) for j in range(x.shape[1])])
    best = int(np.argmax(np.abs(train_auc - 0.5)))
    sign = 1 if train_auc[best] >= 0.5 else -1
    return Baselines(auc_logit, auc_lr, names[best], roc_auc(y[test], sign * x[test, best]), sign)


__all__ = [
    "FKD_KEEP",
    "Baselines",
    "FKDLog",
    "LRBins",
    "SNNConfig",
    "SNNModel",
    "SNNResult",
    "SelectionResult",
    "TeacherResult",
    "TournamentResult",
    "baselines",
    "batched_auc",
    "binned_auc",
    "bootstrap_size",
    "dct_lowpass",
    "delta_s",
    "likelihood_ratio_bins",
    "primary_control",
    "spatial_order",
    "train_snn",
]  # fmt: skip

