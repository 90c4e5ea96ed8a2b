"""The physics-informed neural network (PINN) of Dahal & Lombardo: a deep network that maps slope-unit
attributes to geotechnical parameters, followed by the Newmark physics of :mod:`.physics`.

Model (paper §3): standardised numeric features (z-scores fitted on the training rows only) and one-hot
categorical ones (levels stored) pass through blocks of Dense(width) → batch norm → dropout → ReLU (weights
drawn from N(0, 0.05²), Keras' ``RandomNormal`` default) and a final Dense(2) block. Its two outputs z₁, z₂
become the parameters through smooth bounded links, so that no output can die or be clipped:

    ln C/t = ln 0.05 + (ln 100 − ln 0.05)·σ(z₁)      C/t ∈ (0.05, 100) kPa/m
    φ      = 10° + 50°·σ(z₂)                          φ ∈ (10°, 60°)

(docs/physics.md §3–4: the authors' ReLU heads give dead units with C/t = 0 and φ ≥ 28.6°). The physics
layer (:func:`.physics.torch_newmark`) turns C/t, φ, the unit's raw slope (degrees) and PGA (g) into the factor
of safety, the critical acceleration a_c (g), the Newmark displacement D (cm) and the susceptibility, the
probability that D exceeds 5 cm (below: Jibson's scatter by default, Eq. 4's σ(D − 5) as an option).

PGA enters only through the physics, never as a network input: the geotechnical parameters are properties of
the ground, so a scenario with another PGA (:meth:`PINNModel.predict`) needs no retraining, and the predicted
probability can only rise with PGA.

Training: binary cross-entropy with an optional weight on landslide units, Adam from 1e-3 (1e-2 without hidden
blocks, see below), ×0.1 every 10,000 steps (staircase), batches of 1024 (smaller on tables under ~10,000
training units, so that an epoch keeps at least 10 steps), a stratified 70/15/15 train/validation/test split, and
the network kept at its best validation AUC after a warm-up of 10 % of the epochs (never chosen on test rows).
Six choices depart from the paper's text, where its settings did not train in 100 epochs, overfitted or chose
the network by chance (measured on :mod:`.synthetic_table`, 16,533 units, hold-out AUC of the true probability
0.987, of a logistic regression 0.944; and on demo regions of ~2,000 units, 5-fold spatial CV, true probability
0.894, logistic regression 0.865):

* the reported probability and the loss (``loss="scatter"``) are those of Jibson's regression scatter: D is
  log-normal around Eq. 3's value with σ = 0.51 in log10 D, so P(D > 5 cm) = Φ((log10 D − log10 5)/0.51),
  taken in its logistic form σ(1.702·(log10 D − log10 5)/0.51) (docs/physics.md §1.3 and §4). Eq. 4's
  σ(D − 5) jumps from 0.02 to 0.99 between 1 and 10 cm, gives units far above 5 cm gradients in proportion to D
  (up to 10⁵) and units at r ≥ 1 none (pitfalls 1 and 4): with it the network collapses to "everything
  stable" (AUC 0.75 instead of 0.97). ``loss="tempered"`` reports Eq. 4 and trains on its logit D − 5 between 1
  and 10 cm, continued as D_k·ln(D/D_k) outside (:func:`_training_logit`); ``loss="eq4"`` is the paper's as
  printed. On the demo regions "scatter" gives 0.855 where "tempered" gives 0.844 (depth 0);
* a linear path from the inputs to the output block, beside the hidden blocks (``linear_path``; zero at the
  start): C/t and φ are then a log-linear and linear trend of the features plus what the deep part adds;
* the depth depends on the table (``depth=None``, :func:`resolve_config`): the paper's 15 hidden blocks from
  :data:`DEEP_MIN_UNITS` units on, none below, where the deep network fits the label noise (demo region: train
  AUC 0.997, spatial CV 0.77; with depth 0 the CV AUC is 0.86 and a_c ranks like the truth, Spearman 0.87–0.97).
  Without hidden blocks the network is a linear retrieval of ln C/t and φ, which at the paper's 1e-3 is still
  improving after its ~1,000 steps; it starts from 1e-2 (``learning_rate=None``). Over ten demo regions this
  raised the rank correlation of the retrieved C/t with the true one from 0.29 to 0.45, of φ from 0.62 to 0.69,
  and the spatial-CV AUC by 0.002;
* a prior ``prior_weight``·(z₁² + z₂²) keeps C/t and φ away from the link bounds where the data do not
  constrain them (docs/physics.md §4, pitfall 5: C/t and φ trade off along a line within a unit): weak (0.05)
  with hidden blocks, stronger (0.2) for the linear retrieval (``prior_weight=None``, :func:`resolve_config`).
  On ten demo regions not used to choose it (seeds 11–20), 0.2 rather than 0.05 took the spatial-CV AUC from
  0.0064 ± 0.0035 below the logistic regression's to level with it (+0.0001 ± 0.0017), and the rank
  correlation of the retrieved C/t and φ with the true ones from 0.24 to 0.32 and 0.62 to 0.73. On the
  16,533-unit table with 15 blocks it lowered that of a_c from 0.87 to 0.79, hence the weak prior there;
* no dropout by default (the authors' code has none; the paper states 0.3): with dropout in each of 15 blocks
  the network learns little in 1,200 steps (AUC 0.79–0.88). ``dropout=0.3`` gives the paper's network;
* the network is chosen only from the epochs after the first 10 % (``selection_warmup``; the paper chooses over
  all of them). In its first epochs C/t and φ are still near their starting values, so the physics ranks units
  by slope and PGA alone; on a validation split of a few dozen landslides (AUC noise ~0.03) that ranking can win
  by chance. On the default demo region (1,072 units, 31 landslides in validation) the network was kept at
  epoch 1, its retrieved C/t and a_c ranking like the true ones with Spearman 0.05 and 0.78 and its test AUC
  0.800; with the warm-up it is kept at epoch 71, with 0.55, 0.92 and 0.847 (logistic regression 0.839). The
  spatial-CV AUC minus the logistic regression's went from −0.0003 to +0.0004 over demo regions 1–10 and, on
  regions 11–20 not used to choose it, from +0.0001 ± 0.0017 to +0.0020 ± 0.0011. On the 16,533-unit table,
  whose best epochs come late, nothing changed.

With dropout, running batch-norm averages would include dropout's extra variance, which is missing at inference
and compounds block after block; the inference statistics are therefore re-estimated without dropout on
training rows after every epoch (:meth:`_StackedNet.refresh_statistics`).

Cross-validation folds and bootstrap members are trained together as vectorised ensembles: weights stacked as
[members, in, out] tensors (batched matrix products), batch norm per member, each member drawing its own
minibatches from its own training rows with its own random streams and keeping its own best-validation
snapshot, so a member's result does not depend on the group it was trained in. Batch norm makes the hidden Dense
biases redundant (the batch mean removes them), so hidden layers have none; the hidden blocks' forward and
backward passes are written out by hand (about half the memory traffic of autograd on a CPU); the small head
and the physics use autograd. Groups can run in parallel threads (``workers``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
import pandas as pd

from .model_io import ModelFile
from .physics import PHYSICS_MODES, torch_newmark, torch_scatter_logit
from .progress import Progress, report
from .scaling import Scaler, fit_scaler
from .units import check_pga_g, pga_to_g
from .units import pga_unit as _pga_unit_name
from .validation import (
    VALIDATION_SCHEMES,
    Split,
    check_binary,
    classification_metrics,
    confusion_labels,
    fold_splits,
    group_folds,
    holdout_split,
    random_folds,
    roc_auc,
    spatial_folds,
    threshold_nearest_corner,
)

if TYPE_CHECKING:
    import torch

MODEL_KIND = "pinn"
CT_RANGE_KPA_M = (0.05, 100.0)
"""Bounds of the C/t link (kPa/m), reached only asymptotically."""
PHI_RANGE_DEG = (10.0, 60.0)
"""Bounds of the φ link (degrees), reached only asymptotically."""
PAPER_DEPTH = 15
"""Hidden blocks of the paper's network (16 blocks with the output block)."""
DEEP_MIN_UNITS = 10_000
"""Fewest units for which ``depth=None`` means the paper's depth; smaller tables get depth 0 (see
:func:`resolve_config`)."""
PAPER_LEARNING_RATE = 1e-3
"""Adam's initial step of the paper, used with hidden blocks."""
LINEAR_LEARNING_RATE = 1e-2
"""Adam's initial step without hidden blocks (depth 0), where the network is a linear retrieval."""
DEEP_PRIOR_WEIGHT = 0.05
"""Weight of the prior on the head outputs with hidden blocks."""
LINEAR_PRIOR_WEIGHT = 0.2
"""Weight of the prior on the head outputs without hidden blocks."""
MIN_UNITS = 20
"""Fewest slope units a training table may have."""
MIN_CLASS_UNITS = 10
"""Fewest landslide (and landslide-free) units a training table may have."""
DEVICES = ("auto", "cpu", "cuda")
LOSSES = ("scatter", "tempered", "eq4")
OUTPUTS = ("susceptibility", "ct_kpa_m", "phi_deg", "fs", "ac_g", "disp_cm")
"""Per-unit model outputs: probability, C/t (kPa/m), φ (°), factor of safety, a_c (g), displacement (cm)."""
BOOTSTRAP_QUANTITIES = ("ct_kpa_m", "phi_deg", "ac_g", "susceptibility")
BOOTSTRAP_PERCENTILES = (5, 50, 95)
CV_PREFIX = {"random_kfold": "random_cv", "spatial_kfold": "spatial_cv"}
"""Column prefix of each cross-validation scheme in :attr:`PINNResult.outputs`."""

_BN_EPS = 1e-3  # Keras' BatchNormalization default
_STATS_ROWS = 1024  # training rows per member on which inference batch-norm statistics are estimated
_ADAM_EPS = 1e-7  # Keras' Adam default
_MIN_STEPS_PER_EPOCH = 10  # fewest minibatch steps per epoch, unless batches would fall below _MIN_BATCH rows
_MIN_BATCH = 32
_PREDICT_ROWS = 4096  # rows per forward pass when predicting
_PROGRESS_SECONDS = 0.25  # most time between two progress calls inside a training loop
_TEMPER_CM = (1.0, 10.0)  # displacements (cm) between which the tempered logit is Eq. 4's D − 5
_STAGE_LABELS = {"holdout": "hold-out model", "bootstrap": "bootstrap"}
_KIND_CODES = {"holdout": 0, "random_kfold": 1, "spatial_kfold": 2, "bootstrap": 3}


# ------------------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class PINNConfig:
    """Training settings; the defaults are the paper's except ``loss``, ``linear_path``, ``depth``,
    ``learning_rate``, ``dropout``, ``prior_weight`` and ``selection_warmup`` (see the module's docstring).

    ``depth`` hidden blocks of ``width`` units plus the 2-unit output block (the paper's 16 blocks; None: by table
    size, see :func:`resolve_config`), with ``linear_path`` a linear map of the inputs added to the output block;
    ``learning_rate`` (None: by depth, see :func:`resolve_config`) decays ×``decay_rate`` every ``decay_steps``
    minibatch steps; ``prior_weight`` weighs the prior on the head outputs (None: by depth); the network is kept
    at its best validation AUC after the first ``selection_warmup`` share of the epochs (0: over all epochs, the
    paper's rule); ``class_weight`` multiplies the loss of landslide units (the authors' code uses 5);
    ``physics_mode`` is one of :data:`.physics.PHYSICS_MODES`; ``split`` is the hold-out train/validation/test
    share; ``val_fraction`` is the share of each fold's (or bootstrap sample's) training rows kept for model
    selection.
    Computation: ``device`` is "auto" (a CUDA GPU when present), "cpu" or "cuda"; ``max_members`` networks are
    trained together in one vectorised group; ``workers`` groups are trained at once in parallel threads on a
    CPU, each with one torch thread unless ``threads`` says otherwise; ``threads`` > 0 sets torch's CPU threads
    while training or predicting (0 leaves torch's setting; 1 is fastest on a busy machine). Results do not
    depend on ``workers``.
    """

    epochs: int = 100
    batch_size: int = 1024
    learning_rate: Optional[float] = None
    decay_steps: int = 10_000
    decay_rate: float = 0.1
    depth: Optional[int] = None
    width: int = 64
    linear_path: bool = True
    dropout: float = 0.0
    init_std: float = 0.05
    class_weight: float = 1.0
    physics_mode: str = "paper"
    loss: str = "scatter"
    prior_weight: Optional[float] = None
    selection_warmup: float = 0.1
    split: tuple = (0.70, 0.15, 0.15)
    val_fraction: float = 0.15
    seed: int = 0
    device: str = "auto"
    max_members: int = 10
    workers: int = 1
    threads: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.threads, bool) or int(self.threads) != self.threads or self.threads < 0:
            raise ValueError(f"threads must be a whole number ≥ 0 (0: torch's default), got {self.threads!r}")
        weight = self.prior_weight
        if weight is not None and (isinstance(weight, bool) or not (math.isfinite(weight) and weight >= 0)):
            raise ValueError(f"prior_weight must be ≥ 0 (0: no prior), or None to choose it by depth, got {weight!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} is unknown: use one of {', '.join(LOSSES)}")
        for name in ("epochs", "batch_size", "decay_steps", "width", "max_members", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
        depth = self.depth
        if depth is not None and (isinstance(depth, bool) or int(depth) != depth or depth < 0):
            raise ValueError(f"depth must be a whole number ≥ 0, or None to choose it, got {depth!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (batch norm needs 2 rows), got {self.batch_size}")
        rate = self.learning_rate
        if rate is not None and (isinstance(rate, bool) or not (math.isfinite(rate) and rate > 0)):
            raise ValueError(f"learning_rate must be > 0, or None to choose it by depth, got {rate!r}")
        warmup = self.selection_warmup
        if isinstance(warmup, bool) or not 0 <= warmup < 1:
            raise ValueError(f"selection_warmup must lie in [0, 1) (a share of the epochs), got {warmup!r}")
        if not 0 < self.decay_rate <= 1:
            raise ValueError(f"decay_rate must lie in (0, 1], got {self.decay_rate!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if not self.init_std > 0:
            raise ValueError(f"init_std must be > 0, got {self.init_std!r}")
        if not (math.isfinite(self.class_weight) and self.class_weight > 0):
            raise ValueError(f"class_weight must be > 0 (1 = plain cross-entropy), got {self.class_weight!r}")
        if self.physics_mode not in PHYSICS_MODES:
            raise ValueError(f"physics_mode {self.physics_mode!r} is unknown: use one of {', '.join(PHYSICS_MODES)}")
        split = tuple(float(s) for s in self.split)
        if len(split) != 3 or min(split) <= 0:
            raise ValueError(f"split must be three positive shares (train, validation, test), got {self.split!r}")
        object.__setattr__(self, "split", split)
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must lie in (0, 0.5), got {self.val_fraction!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device {self.device!r} is unknown: use one of {', '.join(DEVICES)}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["split"] = list(self.split)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> PINNConfig:
        names = {f.name for f in fields(cls)}
        # files written before the linear path or the warm-up existed have none
        data = {"linear_path": False, "selection_warmup": 0.0, **data}
        return cls(**{k: (tuple(v) if k == "split" else v) for k, v in data.items() if k in names})


# ------------------------------------------------------------------------------------------------ data


@dataclass(frozen=True, eq=False)
class PINNData:
    """A slope-unit table ready for the PINN: one row per unit, fields validated, PGA converted to g.

    ``numeric`` (n × p, float) and ``categorical`` (n × q, str) are the network's features; ``slope_deg`` (°) and
    ``pga_g`` (g) feed the physics; ``label`` is 0/1 (None for a table that is only predicted); ``xy`` (n × 2,
    map units) and ``group`` serve spatial cross-validation.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    numeric_names: tuple
    categorical_names: tuple
    slope_deg: np.ndarray
    pga_g: np.ndarray
    label: Optional[np.ndarray] = None
    xy: Optional[np.ndarray] = None
    group: Optional[np.ndarray] = None
    field_names: dict = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.slope_deg.shape[0])

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str] = (),
        label: Optional[str] = None,
        slope: str = "slope",
        pga: str = "pga",
        pga_unit: Union[str, int] = "g",
        x: Optional[str] = None,
        y: Optional[str] = None,
        group: Optional[str] = None,
    ) -> PINNData:
        """Validate and convert the fields of ``frame``; a label count > 0 means a landslide.

        Raises ``ValueError`` naming the field for: missing fields, non-numeric numeric fields, missing (NaN) or
        infinite values, a feature that is also the label or the PGA, a label with one class or negative counts,
        slopes outside (0°, 90°), PGA implausible in ``pga_unit`` (g, %g or m/s2), and (with a label) fewer than
        :data:`MIN_UNITS` units.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"expected a pandas DataFrame of slope units, got {type(frame).__name__}")
        numeric, categorical = list(numeric), list(categorical)
        if not numeric and not categorical:
            raise ValueError("no features: choose at least one numeric or categorical field")
        wanted = numeric + categorical + [slope, pga] + [f for f in (label, x, y, group) if f is not None]
        missing = [f for f in dict.fromkeys(wanted) if f not in frame.columns]
        if missing:
            raise ValueError(
                f"field(s) {', '.join(map(repr, missing))} not found in the table; it has {_columns_hint(frame)}"
            )
        twice = sorted(set(numeric) & set(categorical))
        if twice or len(set(numeric)) < len(numeric) or len(set(categorical)) < len(categorical):
            raise ValueError(f"a feature is listed twice (numeric and categorical, or repeated): {twice or wanted}")
        if label is not None and label in numeric + categorical:
            raise ValueError(f"the label field {label!r} is also a feature: remove it from the features")
        if pga in numeric + categorical:
            raise ValueError(
                f"the PGA field {pga!r} is also a network feature: PGA enters through the physics only (the "
                "geotechnical parameters must not depend on the shaking); remove it from the features"
            )
        n = len(frame)
        if label is not None and n < MIN_UNITS:
            raise ValueError(
                f"the table has {n} slope unit(s); training the PINN needs at least {MIN_UNITS} "
                f"(and at least {MIN_CLASS_UNITS} with and {MIN_CLASS_UNITS} without landslides)"
            )
        if n == 0:
            raise ValueError("the table has no slope units")

        num = np.column_stack([_numeric_field(frame, f) for f in numeric]) if numeric else np.empty((n, 0))
        cat = np.column_stack([_categorical_field(frame, f) for f in categorical]) if categorical else None
        if cat is None:
            cat = np.empty((n, 0), dtype=object)
        slope_deg = _numeric_field(frame, slope)
        bad = (slope_deg <= 0) | (slope_deg >= 90)
        if bad.any():
            raise ValueError(
                f"slope field {slope!r} must lie in (0, 90) degrees; {int(bad.sum())} unit(s) do not "
                f"(e.g. {slope_deg[bad][0]:g}): is it in degrees, and are flat units removed?"
            )
        unit = _pga_unit_name(pga_unit)
        pga_g = pga_to_g(_numeric_field(frame, pga), unit)
        check_pga_g(pga_g, unit, name=f"PGA field {pga!r}")
        y_arr = None
        if label is not None:
            counts = _numeric_field(frame, label)
            if (counts < 0).any():
                raise ValueError(f"label field {label!r} has negative values; use 0/1 or landslide counts ≥ 0")
            y_arr = (counts > 0).astype(np.int64)
            if y_arr.min() == y_arr.max():
                state = "a landslide" if y_arr[0] else "no landslide"
                raise ValueError(f"label field {label!r} has a single class (every unit has {state}): need both")
        xy = None
        if (x is None) != (y is None):
            raise ValueError("give both centroid coordinate fields (x and y) or neither")
        if x is not None:
            xy = np.column_stack([_numeric_field(frame, x), _numeric_field(frame, y)])
        grp = None
        if group is not None:
            values = frame[group]
            if values.isna().any():
                raise ValueError(f"group field {group!r} has {int(values.isna().sum())} missing value(s)")
            grp = values.to_numpy()
        names = {"label": label, "slope": slope, "pga": pga, "pga_unit": unit, "x": x, "y": y, "group": group}
        return cls(num, cat, tuple(numeric), tuple(categorical), slope_deg, pga_g, y_arr, xy, grp, names)

    def training_label(self) -> np.ndarray:
        """The 0/1 label, checked for training (enough units of both classes)."""
        if self.label is None:
            raise ValueError("the table has no label field: a label is needed to train the PINN")
        y = check_binary(self.label, "label")
        n_pos = int(y.sum())
        n_neg = y.size - n_pos
        if y.size < MIN_UNITS or min(n_pos, n_neg) < MIN_CLASS_UNITS:
            raise ValueError(
                f"the table has {y.size} units, {n_pos} with and {n_neg} without landslides; training needs at "
                f"least {MIN_UNITS} units and {MIN_CLASS_UNITS} of each class"
            )
        return y


def _columns_hint(frame: pd.DataFrame, limit: int = 12) -> str:
    cols = [str(c) for c in frame.columns]
    more = f" and {len(cols) - limit} more" if len(cols) > limit else ""
    return ", ".join(cols[:limit]) + more if cols else "no columns"


def _numeric_field(frame: pd.DataFrame, name: str) -> np.ndarray:
    column = frame[name]
    if column.dtype == bool:
        column = column.astype(float)
    if not pd.api.types.is_numeric_dtype(column):
        raise ValueError(f"field {name!r} is not numeric (type {column.dtype}); use it as a categorical feature")
    values = column.to_numpy(dtype=float)
    nan = np.isnan(values)
    if nan.any():
        raise ValueError(
            f"field {name!r} has {int(nan.sum())} missing (NaN) value(s) out of {values.size}; "
            "fill them or remove those units"
        )
    if not np.isfinite(values).all():
        raise ValueError(f"field {name!r} has {int((~np.isfinite(values)).sum())} infinite value(s)")
    return values


def _categorical_field(frame: pd.DataFrame, name: str) -> np.ndarray:
    column = frame[name]
    if column.isna().any():
        raise ValueError(
            f"categorical field {name!r} has {int(column.isna().sum())} missing value(s); "
            "give them a class of their own or remove those units"
        )
    return column.astype(str).to_numpy(dtype=object)


@dataclass(frozen=True)
class FeatureEncoding:
    """Names and order of the network's inputs: numeric features, then one column per categorical level
    (a level unseen in training encodes as all zeros)."""

    numeric: tuple
    categorical: tuple
    levels: tuple  # per categorical feature, its sorted levels

    @classmethod
    def fit(cls, table: PINNData) -> FeatureEncoding:
        levels = tuple(tuple(sorted(set(table.categorical[:, j].tolist()))) for j in range(table.categorical.shape[1]))
        return cls(table.numeric_names, table.categorical_names, levels)

    @property
    def input_names(self) -> list:
        onehot = [f"{name}={level}" for name, lv in zip(self.categorical, self.levels) for level in lv]
        return list(self.numeric) + onehot

    def columns(self, table: PINNData) -> tuple[np.ndarray, np.ndarray]:
        """Raw numeric (n × p) and one-hot (n × Σ levels) inputs of ``table``, matched by field name."""
        missing = [f for f in self.numeric if f not in table.numeric_names]
        missing += [f for f in self.categorical if f not in table.categorical_names]
        if missing:
            raise ValueError(
                f"the table lacks the model's feature(s) {', '.join(map(repr, missing))}; the model was trained "
                f"on numeric {list(self.numeric)} and categorical {list(self.categorical)}"
            )
        num = table.numeric[:, [table.numeric_names.index(f) for f in self.numeric]]
        blocks = []
        for name, lv in zip(self.categorical, self.levels):
            values = table.categorical[:, table.categorical_names.index(name)]
            blocks.append((values[:, None] == np.asarray(lv, dtype=object)[None, :]).astype(float))
        onehot = np.concatenate(blocks, axis=1) if blocks else np.empty((table.n_units, 0))
        return num, onehot

    def to_dict(self) -> dict:
        levels = [list(v) for v in self.levels]
        return {"numeric": list(self.numeric), "categorical": list(self.categorical), "levels": levels}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureEncoding:
        return cls(tuple(data["numeric"]), tuple(data["categorical"]), tuple(tuple(v) for v in data["levels"]))


def _inputs(encoding: FeatureEncoding, scaler: Optional[Scaler], table: PINNData) -> np.ndarray:
    """Network inputs (n × inputs, float32): standardised numeric features and one-hot levels."""
    num, onehot = encoding.columns(table)
    if num.shape[1]:
        num = scaler.transform(num)
    return np.concatenate([num, onehot], axis=1).astype(np.float32)


# ------------------------------------------------------------------------------------------------ network


def _torch():
    import torch

    return torch


@contextmanager
def _threads(count: int):
    """Use ``count`` torch CPU threads inside the block (0: leave the setting), then restore the setting."""
    torch = _torch()
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count:
            torch.set_num_threads(previous)


def _resolve_device(name: str) -> str:
    torch = _torch()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'")
    return name


def _member_seed(seed: int, kind: str, index: int) -> int:
    """A 63-bit seed for one network, independent of how networks are grouped for training."""
    state = np.random.SeedSequence([int(seed), _KIND_CODES[kind], int(index)]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def _parameters_from_head(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """C/t (kPa/m) and φ (°) from the two head outputs (last axis), through the bounded links."""
    torch = _torch()
    lo, hi = math.log(CT_RANGE_KPA_M[0]), math.log(CT_RANGE_KPA_M[1])
    ct = torch.exp(lo + (hi - lo) * torch.sigmoid(z[..., 0]))
    phi = PHI_RANGE_DEG[0] + (PHI_RANGE_DEG[1] - PHI_RANGE_DEG[0]) * torch.sigmoid(z[..., 1])
    return ct, phi


def _normalise(z: torch.Tensor) -> tuple:
    """Batch-norm standardisation over rows (axis 1): (z − mean)·rstd, the mean, the (biased) variance and
    rstd = 1/√(var + ε). Computed in place in ``z``, with sums and products, because ``torch.var_mean`` over the
    middle axis is many times slower on a CPU."""
    torch = _torch()
    mean = z.mean(dim=1, keepdim=True)
    centred = z.sub_(mean)
    var = (centred * centred).mean(dim=1, keepdim=True)
    rstd = torch.rsqrt(var + _BN_EPS)
    return centred.mul_(rstd), mean, var, rstd


class _StackedNet:
    """``E`` independent networks of the same shape, their weights stacked on a leading member axis.

    Hidden block l: z = a·W_l (no bias: batch norm removes it), batch norm with per-member statistics,
    dropout, ReLU. Head: Dense(2) with bias. Hidden gradients are computed by :meth:`backward`; the head's
    (``w_out``, ``b_out``) by autograd.
    """

    def __init__(self, params: dict, dropout: float):
        self.params = params  # name -> tensor [E, ...]
        self.depth = sum(1 for k in params if k.startswith("w") and k[1:].isdigit())
        self.dropout = dropout
        self.params["w_out"].requires_grad_(True)
        self.params["b_out"].requires_grad_(True)
        if "w_lin" in self.params:
            self.params["w_lin"].requires_grad_(True)

    @staticmethod
    def initial(n_inputs: int, config: PINNConfig, seeds: Sequence[int]) -> dict:
        """Freshly initialised parameters (float32, CPU) for one network per seed: weights ~ N(0, init_std²)."""
        torch = _torch()
        members = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            p = {}
            fan_in = n_inputs
            for layer in range(config.depth):
                p[f"w{layer}"] = torch.randn(fan_in, config.width, generator=gen) * config.init_std
                p[f"gamma{layer}"] = torch.ones(1, config.width)
                p[f"beta{layer}"] = torch.zeros(1, config.width)
                p[f"mean{layer}"] = torch.zeros(1, config.width)
                p[f"var{layer}"] = torch.ones(1, config.width)
                fan_in = config.width
            p["w_out"] = torch.randn(fan_in, 2, generator=gen) * config.init_std
            p["b_out"] = torch.randn(1, 2, generator=gen) * config.init_std
            if config.linear_path and config.depth:
                p["w_lin"] = torch.zeros(n_inputs, 2)
            members.append(p)
        return {k: torch.stack([m[k] for m in members]) for k in members[0]}

    def trainable(self) -> list:
        names = [f"{kind}{layer}" for layer in range(self.depth) for kind in ("w", "gamma", "beta")]
        head = [self.params[n] for n in ("w_out", "b_out", "w_lin") if n in self.params]
        return [self.params[n] for n in names] + head

    def forward_train(self, x: torch.Tensor, generators: list) -> tuple[torch.Tensor, list]:
        """Last hidden activations [E, B, width] in training mode (batch statistics, dropout), and a cache."""
        torch = _torch()
        p, keep = self.params, 1.0 - self.dropout
        cache = []
        a = x
        for layer in range(self.depth):
            xhat, _, _, rstd = _normalise(torch.bmm(a, p[f"w{layer}"]))
            out = torch.addcmul(p[f"beta{layer}"], xhat, p[f"gamma{layer}"]).clamp_min_(0.0)
            if self.dropout > 0:
                noise = torch.empty_like(out)
                for e, gen in enumerate(generators):
                    noise[e].uniform_(generator=gen)
                out.mul_(noise.ge_(self.dropout)).mul_(1.0 / keep)
            cache.append((a, xhat, rstd))
            a = out
        cache.append(a)
        return a, cache

    def backward(self, grad: torch.Tensor, cache: list) -> None:
        """Set ``.grad`` of the hidden parameters from the gradient of the last hidden activations."""
        torch = _torch()
        p = self.params
        scale = 1.0 / (1.0 - self.dropout)
        n_rows = grad.shape[1]
        out = cache[-1]
        for layer in range(self.depth - 1, -1, -1):
            a, xhat, rstd = cache[layer]
            # ReLU and dropout: the gradient passes where the output is positive, times 1/keep.
            gy = torch.ops.aten.threshold_backward(grad, out, 0.0)
            s1 = gy.sum(dim=1, keepdim=True)
            s2 = (gy * xhat).sum(dim=1, keepdim=True)
            p[f"beta{layer}"].grad = s1 * scale
            p[f"gamma{layer}"].grad = s2 * scale
            k = p[f"gamma{layer}"] * rstd * scale
            gz = torch.addcmul(-(k * s1) / n_rows, gy, k).addcmul_(xhat, -(k * s2) / n_rows)
            p[f"w{layer}"].grad = torch.bmm(a.transpose(1, 2), gz)
            if layer:
                grad = torch.bmm(gz, p[f"w{layer}"].transpose(1, 2))
                out = a

    def refresh_statistics(self, x: torch.Tensor) -> None:
        """Set each block's inference statistics to the batch-norm mean and variance of the rows ``x``
        [E, R, F] passed without dropout.

        Running averages taken during training would include dropout's extra variance; in inference mode that
        variance is missing, and the mismatch compounds block after block until a deep network's outputs are
        nearly constant. Statistics re-estimated without dropout remove the mismatch.
        """
        torch = _torch()
        p = self.params
        with torch.no_grad():
            a = x
            for layer in range(self.depth):
                xhat, mean, var, _ = _normalise(torch.bmm(a, p[f"w{layer}"]))
                p[f"mean{layer}"].copy_(mean)
                p[f"var{layer}"].copy_(var)
                a = torch.addcmul(p[f"beta{layer}"], xhat, p[f"gamma{layer}"]).clamp_min_(0.0)

    def hidden_eval(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden activations in inference mode (stored batch-norm statistics, no dropout)."""
        torch = _torch()
        p = self.params
        a = x
        for layer in range(self.depth):
            scale = p[f"gamma{layer}"] * torch.rsqrt(p[f"var{layer}"] + _BN_EPS)
            shift = p[f"beta{layer}"] - p[f"mean{layer}"] * scale
            a = torch.addcmul(shift, torch.bmm(a, p[f"w{layer}"]), scale).clamp_min_(0.0)
        return a

    def head(self, hidden: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Head outputs z [E, B, 2] from the last hidden activations and (linear path) the inputs ``x``."""
        torch = _torch()
        z = torch.baddbmm(self.params["b_out"], hidden, self.params["w_out"])
        if "w_lin" in self.params:
            z = torch.baddbmm(z, x, self.params["w_lin"])
        return z


def _physics(net: _StackedNet, hidden, x, slope, pga, mode: str):
    """C/t, φ, the physics outputs and the head outputs z (all float64) of the head on ``hidden`` and inputs
    ``x``."""
    z = net.head(hidden, x).double()
    ct, phi = _parameters_from_head(z)
    return ct, phi, torch_newmark(ct, phi, slope, pga, mode=mode), z


def _training_logit(out, loss: str) -> torch.Tensor:
    """The logit the loss is taken on: that of Jibson's scatter (``"scatter"``, :func:`.physics.scatter_probability`),
    Eq. 4's D − 5 (``"eq4"``), or the tempered logit: D − 5 for D in
    [1, 10] cm, continued below 1 cm and above 10 cm by D_k − 5 + D_k·ln(D/D_k) (D_k = 1 or 10 cm). It is
    increasing in D, continuous with a continuous slope, and has the gradients of ln D in its tails."""
    if loss == "eq4":
        return out.logit
    if loss == "scatter":
        return torch_scatter_logit(out.disp_cm)
    torch = _torch()
    disp = out.disp_cm
    log_disp = torch.log(disp.clamp_min(torch.finfo(disp.dtype).tiny))  # D > 0 in both modes; guards log(0)
    logit = out.logit
    for knee, side in ((_TEMPER_CM[0], disp < _TEMPER_CM[0]), (_TEMPER_CM[1], disp > _TEMPER_CM[1])):
        logit = torch.where(side, (knee - 5.0) + knee * (log_disp - math.log(knee)), logit)
    return logit


def _susceptibility(out, loss: str) -> torch.Tensor:
    """The reported probability: Eq. 4's σ(D − 5), or with ``loss="scatter"`` the probability that D exceeds
    5 cm given Jibson's scatter of log10 D (σ = 0.51), in the logistic approximation of the normal."""
    if loss == "scatter":
        return _torch().sigmoid(torch_scatter_logit(out.disp_cm))
    return out.probability


def _predict_stacked(net: _StackedNet, x: torch.Tensor, slope, pga, mode: str, loss: str) -> dict:
    """Per-member outputs (numpy [E, N]) for inputs ``x`` [E, N, F] in inference mode, in row chunks."""
    torch = _torch()
    parts: dict = {k: [] for k in OUTPUTS}
    with torch.no_grad():
        for start in range(0, x.shape[1], _PREDICT_ROWS):
            rows = slice(start, start + _PREDICT_ROWS)
            ct, phi, out, _ = _physics(net, net.hidden_eval(x[:, rows]), x[:, rows], slope[rows], pga[rows], mode)
            for key, value in zip(OUTPUTS, (_susceptibility(out, loss), ct, phi, out.fs, out.ac_g, out.disp_cm)):
                parts[key].append(value.cpu().numpy())
    return {k: np.concatenate(v, axis=1) for k, v in parts.items()}


# ------------------------------------------------------------------------------------------------ training


@dataclass
class _Member:
    """One network to train: its rows, its scaler and its seed."""

    kind: str
    index: int
    split: Split
    scaler: Optional[Scaler]
    seed: int


@dataclass
class _GroupResult:
    params: dict  # name -> numpy [E, ...] at each member's best validation epoch
    loss: np.ndarray  # [E, epochs] mean training loss per epoch
    val_auc: np.ndarray  # [E, epochs]
    best_epoch: np.ndarray  # [E], 1-based
    outputs: Optional[dict]  # output -> numpy [E, N] for all units, or None
    seconds: float  # wall time of the group's training


class _Stopped(Exception):
    """Raised inside a worker whose training was stopped by another worker's error or a cancellation."""


class _Clock:
    """Progress over all training tasks, and the stop signal between parallel workers.

    With one worker (``relay``), :meth:`advance` calls the progress callback itself, at most every
    ``_PROGRESS_SECONDS``; with several, the calling thread polls :meth:`emit` while workers only count.
    """

    def __init__(self, progress: Optional[Progress], total_work: float, end: float, relay: bool):
        self.progress, self.total, self.end, self.relay = progress, max(total_work, 1.0), end, relay
        self.done = 0.0
        self.message = ""
        self.last = -math.inf
        self.stopped = False
        self.error: Optional[BaseException] = None
        self._lock = threading.Lock()

    def fail(self, error: BaseException) -> None:
        """Record the first error of any worker and make every worker stop at its next step."""
        with self._lock:
            if self.error is None:
                self.error = error
            self.stopped = True

    def advance(self, work: float, message: str, force: bool = False) -> None:
        if self.stopped:
            raise _Stopped()
        with self._lock:
            self.done += work
            self.message = message
        now = time.monotonic()
        if self.relay and (force or now - self.last >= _PROGRESS_SECONDS):
            self.last = now
            self.emit()

    def emit(self) -> None:
        report(self.progress, self.end * self.done / self.total, self.message)


def _epoch_indices(rows: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``n_draws`` row indices: successive random permutations of ``rows``, so each row is drawn once per pass."""
    passes = -(-n_draws // rows.size)
    return np.concatenate([rng.permutation(rows) for _ in range(passes)])[:n_draws]


@dataclass
class _Task:
    """One vectorised group of networks of one stage ("holdout", a CV scheme or "bootstrap"), with the batch
    size, steps per epoch and batch-norm statistics rows of its whole stage (so that grouping never changes
    a network's training)."""

    stage: str
    members: list
    label: str
    batch: int
    steps: int
    stats_rows: int

    def work(self, config: PINNConfig) -> float:
        """Member-steps of training (for progress and scheduling)."""
        return len(self.members) * config.epochs * self.steps


def _train_group(
    task: _Task,
    inputs: np.ndarray,
    y: np.ndarray,
    slope: np.ndarray,
    pga: np.ndarray,
    config: PINNConfig,
    device: str,
    clock: _Clock,
) -> _GroupResult:
    """Train the networks of ``task`` together; ``inputs`` is [E, N, F] (each member's own scaling)."""
    torch = _torch()
    started = time.perf_counter()
    members, label, batch, steps = task.members, task.label, task.batch, task.steps
    n_members = len(members)
    dev = torch.device(device)
    x = torch.as_tensor(inputs, device=dev)
    y_t = torch.as_tensor(y, dtype=torch.float64, device=dev)
    slope_t = torch.as_tensor(slope, dtype=torch.float64, device=dev)
    pga_t = torch.as_tensor(pga, dtype=torch.float64, device=dev)
    weight_t = torch.where(y_t > 0, float(config.class_weight), 1.0)

    init = _StackedNet.initial(x.shape[2], config, [m.seed for m in members])
    net = _StackedNet({k: v.to(dev) for k, v in init.items()}, config.dropout)
    generators = [torch.Generator(device=dev).manual_seed(m.seed) for m in members]
    rngs = [np.random.default_rng(m.seed) for m in members]
    try:
        optimiser = torch.optim.Adam(net.trainable(), lr=config.learning_rate, eps=_ADAM_EPS, fused=True)
    except (RuntimeError, TypeError):
        optimiser = torch.optim.Adam(net.trainable(), lr=config.learning_rate, eps=_ADAM_EPS)

    val_sizes = [m.split.val.size for m in members]
    val_idx = np.stack([np.resize(m.split.val, max(val_sizes)) for m in members])
    member_axis = torch.arange(n_members, device=dev)[:, None]
    val_t = torch.as_tensor(val_idx, device=dev)
    stats = [np.random.default_rng((m.seed, 1)).choice(m.split.train, task.stats_rows, replace=False) for m in members]
    stats_t = torch.as_tensor(np.stack(stats), device=dev)
    best = {k: v.detach().clone() for k, v in net.params.items()}
    best_auc = np.full(n_members, -np.inf)
    best_epoch = np.zeros(n_members, dtype=np.int64)
    loss_hist = np.zeros((n_members, config.epochs))
    auc_hist = np.full((n_members, config.epochs), np.nan)
    step = 0
    first_kept = selection_start(config)
    for epoch in range(config.epochs):
        order = np.stack([_epoch_indices(m.split.train, steps * batch, r) for m, r in zip(members, rngs)])
        order_t = torch.as_tensor(order, device=dev)
        epoch_loss = torch.zeros(n_members, dtype=torch.float64, device=dev)
        for s in range(steps):
            idx = order_t[:, s * batch : (s + 1) * batch]
            lr = config.learning_rate * config.decay_rate ** (step // config.decay_steps)
            for group in optimiser.param_groups:
                group["lr"] = lr
            x_batch = x[member_axis, idx]
            hidden, cache = net.forward_train(x_batch, generators)
            hidden = hidden.detach().requires_grad_(True)
            _, _, out, z = _physics(net, hidden, x_batch, slope_t[idx], pga_t[idx], config.physics_mode)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(
                _training_logit(out, config.loss), y_t[idx], weight=weight_t[idx], reduction="none"
            ).mean(dim=1)
            prior = config.prior_weight * z.square().sum(dim=2).mean(dim=1)
            (bce + prior).sum().backward()
            net.backward(hidden.grad, cache)
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            epoch_loss += bce.detach()
            step += 1
            clock.advance(n_members, f"{label}: epoch {epoch + 1}/{config.epochs}")
        loss_hist[:, epoch] = (epoch_loss / steps).cpu().numpy()
        net.refresh_statistics(x[member_axis, stats_t])
        with torch.no_grad():
            x_val = x[member_axis, val_t]
            out = _physics(net, net.hidden_eval(x_val), x_val, slope_t[val_t], pga_t[val_t], config.physics_mode)[2]
            prob = _susceptibility(out, config.loss)
        prob = prob.cpu().numpy()
        for e, m in enumerate(members):
            scores = prob[e, : val_sizes[e]]
            auc = roc_auc(y[m.split.val], scores) if np.isfinite(scores).all() else np.nan
            auc_hist[e, epoch] = auc
            if auc > best_auc[e] and epoch + 1 >= first_kept:
                best_auc[e], best_epoch[e] = auc, epoch + 1
                with torch.no_grad():
                    for k, v in net.params.items():
                        best[k][e] = v[e]
        clock.advance(0.0, f"{label}: epoch {epoch + 1}/{config.epochs}", force=True)

    net_best = _StackedNet(best, config.dropout)
    predict_all = task.stage != "holdout"  # the hold-out model's outputs come from PINNModel.predict
    outputs = _predict_stacked(net_best, x, slope_t, pga_t, config.physics_mode, config.loss) if predict_all else None
    params = {k: v.detach().cpu().numpy() for k, v in best.items()}
    return _GroupResult(params, loss_hist, auc_hist, best_epoch, outputs, time.perf_counter() - started)


def _tasks(plan: dict, config: PINNConfig) -> list:
    """Split each stage's networks into even groups of at most ``max_members`` (whatever the number of workers,
    so that results do not depend on it)."""
    tasks = []
    for stage, members in plan.items():
        sizes = [m.split.train.size for m in members]
        # Small tables get smaller batches, so that an epoch has about as many steps as the paper's (11).
        batch = min(config.batch_size, *sizes, max(_MIN_BATCH, -(-max(sizes) // _MIN_STEPS_PER_EPOCH)))
        steps = -(-max(sizes) // batch)
        stats_rows = min(_STATS_ROWS, *sizes)
        n_groups = -(-len(members) // config.max_members)
        for chunk in np.array_split(np.arange(len(members)), n_groups):
            group = [members[i] for i in chunk]
            label = _STAGE_LABELS.get(stage, stage)
            if len(members) > 1:
                label += f" {group[0].index + 1}–{group[-1].index + 1}"
            tasks.append(_Task(stage, group, label, batch, steps, stats_rows))
    return tasks


def _run_tasks(
    tasks: list,
    table: PINNData,
    encoding: FeatureEncoding,
    y: np.ndarray,
    config: PINNConfig,
    device: str,
    workers: int,
    progress: Optional[Progress],
    end: float,
) -> list:
    """Train every task (in parallel threads when ``workers`` > 1); one :class:`_GroupResult` per task."""
    clock = _Clock(progress, sum(t.work(config) for t in tasks), end, relay=workers == 1)

    def run(task: _Task) -> _GroupResult:
        try:
            inputs = np.stack([_inputs(encoding, m.scaler, table) for m in task.members])
            return _train_group(task, inputs, y, table.slope_deg, table.pga_g, config, device, clock)
        except _Stopped:
            raise
        except BaseException as error:
            clock.fail(error)
            raise

    if workers == 1:
        return [run(t) for t in tasks]
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    order = sorted(range(len(tasks)), key=lambda i: -tasks[i].work(config))  # longest first balances workers
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(run, tasks[i]) for i in order}
        try:
            pending = set(futures.values())
            while pending:
                _, pending = wait(pending, timeout=_PROGRESS_SECONDS, return_when=FIRST_EXCEPTION)
                if clock.stopped:
                    for f in futures.values():
                        f.cancel()
                    break
                clock.emit()
        except BaseException:
            clock.stopped = True
            for f in futures.values():
                f.cancel()
            raise
    if clock.error is not None:
        raise clock.error
    return [futures[i].result() for i in range(len(tasks))]


def _fit_scaler(table: PINNData, rows: np.ndarray) -> Optional[Scaler]:
    if not table.numeric.shape[1]:
        return None
    return fit_scaler(table.numeric[rows], "standard", list(table.numeric_names))


def _check_split(y: np.ndarray, split: Split, what: str) -> None:
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        if rows.size == 0 or np.unique(y[rows]).size < 2:
            name = {"train": "training", "val": "validation", "test": "test"}[part]
            raise ValueError(
                f"{what}: the {name} part ({rows.size} units) does not hold both landslide and landslide-free "
                f"units ({int(y.sum())} landslide units in all); use fewer folds or a larger table"
            )


# ------------------------------------------------------------------------------------------------ model


@dataclass(frozen=True, eq=False)
class PINNPrediction:
    """Per-unit outputs of a PINN: arrays of length n (see :data:`OUTPUTS` for units); ``pred`` = p ≥ threshold."""

    susceptibility: np.ndarray
    ct_kpa_m: np.ndarray
    phi_deg: np.ndarray
    fs: np.ndarray
    ac_g: np.ndarray
    disp_cm: np.ndarray
    pred: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: getattr(self, k) for k in (*OUTPUTS, "pred")})


@dataclass(eq=False)
class PINNModel:
    """A trained PINN: its inputs' encoding and scaling, one network's weights and the decision threshold."""

    encoding: FeatureEncoding
    scaler: Optional[Scaler]
    params: dict  # name -> float32 array, without the member axis
    config: PINNConfig
    threshold: float
    metrics: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)  # field names used in training (label, slope, pga, …)

    def predict(self, table: PINNData, pga_g=None) -> PINNPrediction:
        """Outputs for the units of ``table``; ``pga_g`` (g, one value or one per unit) replaces its PGA for a
        scenario: C/t and φ do not change, only the physics is re-run. Computed on the CPU."""
        torch = _torch()
        if pga_g is None:
            pga = table.pga_g
        else:
            pga = np.broadcast_to(np.asarray(pga_g, dtype=float), (table.n_units,)).copy()
            check_pga_g(pga, "g", name="scenario PGA")
        x = torch.as_tensor(_inputs(self.encoding, self.scaler, table))[None]
        net = _StackedNet({k: torch.as_tensor(v)[None].clone() for k, v in self.params.items()}, 0.0)
        with _threads(self.config.threads):
            slope_t, pga_t = torch.as_tensor(table.slope_deg), torch.as_tensor(pga)
            out = _predict_stacked(net, x, slope_t, pga_t, self.config.physics_mode, self.config.loss)
        values = {k: v[0] for k, v in out.items()}
        return PINNPrediction(**values, pred=(values["susceptibility"] >= self.threshold).astype(np.int64))

    def to_model_file(self) -> ModelFile:
        meta = {
            "encoding": self.encoding.to_dict(),
            "scaler": self.scaler.to_dict() if self.scaler is not None else None,
            "config": self.config.to_dict(),
            "physics_mode": self.config.physics_mode,
            "threshold": float(self.threshold),
            "metrics": self.metrics,
            "fields": self.fields,
            "links": {"ct_range_kpa_m": list(CT_RANGE_KPA_M), "phi_range_deg": list(PHI_RANGE_DEG)},
            "units": {"slope": "degrees", "pga": "g", "ct": "kPa/m", "phi": "degrees", "ac": "g", "disp": "cm"},
        }
        return ModelFile(MODEL_KIND, meta, {k: np.asarray(v, dtype=np.float32) for k, v in self.params.items()})

    @classmethod
    def from_model_file(cls, model_file: ModelFile) -> PINNModel:
        if model_file.kind != MODEL_KIND:
            raise ValueError(f"the model file holds a {model_file.kind!r} model, not a PINN")
        meta = model_file.meta
        try:
            encoding = FeatureEncoding.from_dict(meta["encoding"])
            scaler = Scaler.from_dict(meta["scaler"]) if meta["scaler"] is not None else None
            config = PINNConfig.from_dict(meta["config"])
            threshold = float(meta["threshold"])
        except (KeyError, TypeError) as err:
            raise ValueError(f"the PINN model file is incomplete or damaged (missing {err})") from None
        links = meta.get("links", {})
        ranges = (tuple(links.get("ct_range_kpa_m", ())), tuple(links.get("phi_range_deg", ())))
        if ranges != (CT_RANGE_KPA_M, PHI_RANGE_DEG):
            raise ValueError("the PINN model file uses other output links than this version of the plugin")
        params = {k: np.asarray(v, dtype=np.float32) for k, v in model_file.arrays.items()}
        expected = _expected_shapes(len(encoding.input_names), config)
        wrong = [k for k, shape in expected.items() if k not in params or params[k].shape != shape]
        if wrong:
            raise ValueError(f"the PINN model file's weights do not match its description ({', '.join(wrong[:4])})")
        return cls(encoding, scaler, params, config, threshold, meta.get("metrics", {}), meta.get("fields", {}))


def _expected_shapes(n_inputs: int, config: PINNConfig) -> dict:
    shapes = {}
    fan_in = n_inputs
    for layer in range(config.depth):
        shapes[f"w{layer}"] = (fan_in, config.width)
        for kind in ("gamma", "beta", "mean", "var"):
            shapes[f"{kind}{layer}"] = (1, config.width)
        fan_in = config.width
    shapes["w_out"] = (fan_in, 2)
    shapes["b_out"] = (1, 2)
    if config.linear_path and config.depth:
        shapes["w_lin"] = (n_inputs, 2)
    return shapes


# ------------------------------------------------------------------------------------------------ baseline


def _baseline_inputs(encoding: FeatureEncoding, scaler: Optional[Scaler], table: PINNData, rows: np.ndarray):
    """The PINN's inputs plus standardised slope and PGA (what the PINN sees through its physics)."""
    extra = np.column_stack([table.slope_deg, table.pga_g])
    mean, std = extra[rows].mean(axis=0), extra[rows].std(axis=0)
    std[std == 0] = 1.0
    return np.concatenate([_inputs(encoding, scaler, table), (extra - mean) / std], axis=1)


def _baseline_scores(encoding, scaler, table: PINNData, y: np.ndarray, split: Split) -> np.ndarray:
    """Logistic-regression probabilities of all units, fitted on the training rows of ``split``."""
    from sklearn.linear_model import LogisticRegression

    x = _baseline_inputs(encoding, scaler, table, split.train)
    model = LogisticRegression(max_iter=2000)
    model.fit(x[split.train], y[split.train])
    return model.predict_proba(x)[:, 1]


# ------------------------------------------------------------------------------------------------ results


@dataclass(eq=False)
class PINNResult:
    """Everything :func:`train_pinn` produced.

    ``outputs``: one row per unit, in table order: :data:`OUTPUTS`, ``pred`` and ``confusion`` of the hold-out
    model (threshold chosen on validation rows), ``split``; per CV scheme ``<prefix>_fold``, ``<prefix>_oof``
    (out-of-fold susceptibility), ``<prefix>_pred`` and ``<prefix>_confusion`` (prefixes in :data:`CV_PREFIX`);
    with bootstraps ``<quantity>_p05/_p50/_p95`` for :data:`BOOTSTRAP_QUANTITIES`.
    ``metrics``: JSON-ready dict: ``test`` (hold-out AUC, balanced accuracy, F1, threshold, counts),
    ``best_epoch``, ``cv`` (per scheme: per-fold metrics, ``auc`` list,
    ``auc_mean/min/max``), ``bootstrap`` (``test_auc`` per member on its out-of-sample units, summary) and
    ``baseline`` (the logistic regression's hold-out metrics and per-fold AUCs). ``history``: per stage
    (``holdout``, each CV scheme, ``bootstrap``) ``loss`` (mean training loss) and ``val_auc`` per member and
    epoch, ``best_epoch`` per member and ``group_seconds`` (wall time of each vectorised group).
    """

    model: PINNModel
    outputs: pd.DataFrame
    metrics: dict
    history: dict


def _validation_schemes(validation) -> list:
    schemes = [validation] if isinstance(validation, str) else list(validation)
    unknown = [s for s in schemes if s not in VALIDATION_SCHEMES]
    if unknown:
        raise ValueError(f"unknown validation scheme(s) {unknown}: use {', '.join(VALIDATION_SCHEMES)}")
    return [s for s in dict.fromkeys(schemes) if s != "holdout"]


def _fold_ids(table: PINNData, y: np.ndarray, scheme: str, folds: int, seed: int) -> np.ndarray:
    if scheme == "random_kfold":
        n_pos = int(y.sum())
        if min(n_pos, y.size - n_pos) < folds:
            raise ValueError(
                f"{folds} folds need at least {folds} landslide and {folds} landslide-free units; the table has "
                f"{n_pos} and {y.size - n_pos}: use fewer folds"
            )
        return random_folds(y, folds, seed)
    if table.group is not None:
        return group_folds(table.group, folds)
    if table.xy is None:
        raise ValueError("spatial cross-validation needs unit centroids (x, y fields) or a group field")
    return spatial_folds(table.xy, folds, seed)


def _history(group_results: list) -> dict:
    return {
        "loss": np.concatenate([g.loss for g in group_results]).tolist(),
        "val_auc": np.concatenate([g.val_auc for g in group_results]).tolist(),
        "best_epoch": np.concatenate([g.best_epoch for g in group_results]).tolist(),
        "group_seconds": [g.seconds for g in group_results],
    }


def _summary(values: Sequence[float]) -> dict:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "min": float(arr.min()), "max": float(arr.max())}


def train_pinn(
    table: PINNData,
    config: PINNConfig = PINNConfig(),
    validation: Union[str, Sequence[str]] = "holdout",
    folds: int = 10,
    bootstraps: int = 0,
    bootstrap_fraction: float = 0.5,
    progress: Optional[Progress] = None,
) -> PINNResult:
    """Train the PINN on a hold-out split and, as asked, cross-validate it and bootstrap it.

    ``validation``: "holdout" or one or more of "random_kfold", "spatial_kfold" (k-means clusters of the
    centroids, or the table's group field when it has one), each with ``folds`` folds; every fold keeps
    ``config.val_fraction`` of its training rows for model selection. ``bootstraps`` members are each trained on
    a stratified random ``bootstrap_fraction`` of the units (without replacement, as in the paper) and tested on
    the rest; their per-unit 5th/50th/95th percentiles of C/t, φ, a_c and susceptibility are returned. A
    logistic regression on the same inputs plus slope and PGA, with the same splits, is the baseline.
    """
    y = table.training_label()
    schemes = _validation_schemes(validation)
    if schemes and (isinstance(folds, bool) or int(folds) != folds or folds < 2):
        raise ValueError(f"folds must be a whole number ≥ 2, got {folds!r}")
    if isinstance(bootstraps, bool) or int(bootstraps) != bootstraps or bootstraps < 0:
        raise ValueError(f"bootstraps must be a whole number ≥ 0, got {bootstraps!r}")
    if bootstraps and not 0.1 <= bootstrap_fraction <= 0.9:
        raise ValueError(f"bootstrap_fraction must lie in [0.1, 0.9], got {bootstrap_fraction!r}")
    if bootstraps == 1:
        raise ValueError("bootstraps must be 0 (none) or at least 2 to give percentiles")
    # Parallel workers each use one CPU thread unless told otherwise: intra-op threads would compete.
    with _threads(config.threads or (1 if config.workers > 1 else 0)):
        return _train(table, y, schemes, config, int(folds), int(bootstraps), bootstrap_fraction, progress)


def selection_start(config: PINNConfig) -> int:
    """The first epoch (1-based) whose network may be kept: the one after the ``selection_warmup`` share."""
    return math.floor(config.selection_warmup * config.epochs + 1e-9) + 1  # 1e-9: 0.29 × 100 is 28.999…


def resolve_config(config: PINNConfig, n_units: int) -> PINNConfig:
    """``config`` with a definite depth, learning rate and prior weight.

    ``depth=None`` becomes :data:`PAPER_DEPTH` for tables of at least :data:`DEEP_MIN_UNITS` units (the paper's
    16,533) and 0 for smaller ones, where the deep network overfits landslide labels (measured on the demo
    region, ~2,000 units: spatial-CV AUC 0.77 with 15 blocks, 0.86 with none) while the physics with a linear
    retrieval of ln C/t and φ does not. ``learning_rate=None`` becomes :data:`PAPER_LEARNING_RATE` with hidden
    blocks and :data:`LINEAR_LEARNING_RATE` without; ``prior_weight=None`` :data:`DEEP_PRIOR_WEIGHT` and
    :data:`LINEAR_PRIOR_WEIGHT`."""
    if config.depth is None:
        config = replace(config, depth=PAPER_DEPTH if n_units >= DEEP_MIN_UNITS else 0)
    if config.learning_rate is None:
        config = replace(config, learning_rate=PAPER_LEARNING_RATE if config.depth else LINEAR_LEARNING_RATE)
    if config.prior_weight is None:
        config = replace(config, prior_weight=DEEP_PRIOR_WEIGHT if config.depth else LINEAR_PRIOR_WEIGHT)
    return config


def _train(
    table: PINNData,
    y: np.ndarray,
    schemes: list,
    config: PINNConfig,
    folds: int,
    bootstraps: int,
    bootstrap_fraction: float,
    progress: Optional[Progress],
) -> PINNResult:
    config = resolve_config(config, table.n_units)
    device = _resolve_device(config.device)
    workers = config.workers if device == "cpu" else 1
    encoding = FeatureEncoding.fit(table)

    # Splits first, so that every bad fold is reported before any training.
    holdout = holdout_split(y, config.split, config.seed)
    _check_split(y, holdout, "hold-out split")
    plan: dict = {"holdout": [_Member("holdout", 0, holdout, _fit_scaler(table, holdout.train), 0)]}
    fold_ids = {}
    for scheme in schemes:
        fold_ids[scheme] = _fold_ids(table, y, scheme, folds, config.seed)
        members = []
        for f, split in fold_splits(y, fold_ids[scheme], config.val_fraction, config.seed):
            _check_split(y, split, f"{scheme} fold {f + 1}")
            members.append(_Member(scheme, f, split, _fit_scaler(table, split.train), 0))
        plan[scheme] = members
    if bootstraps:
        share = (bootstrap_fraction * (1 - config.val_fraction), bootstrap_fraction * config.val_fraction)
        members = []
        for b in range(bootstraps):
            split = holdout_split(y, (*share, 1.0 - bootstrap_fraction), config.seed + 1000 + b)
            _check_split(y, split, f"bootstrap {b + 1}")
            members.append(_Member("bootstrap", b, split, _fit_scaler(table, split.train), 0))
        plan["bootstrap"] = members
    for members in plan.values():
        for m in members:
            m.seed = _member_seed(config.seed, m.kind, m.index)

    tasks = _tasks(plan, config)
    results = _run_tasks(tasks, table, encoding, y, config, device, workers, progress, 0.95)
    by_stage = {stage: [r for t, r in zip(tasks, results) if t.stage == stage] for stage in plan}
    history = {stage: _history(groups) for stage, groups in by_stage.items()}

    (group,) = by_stage["holdout"]
    member = plan["holdout"][0]
    params = {k: v[0] for k, v in group.params.items()}
    model = PINNModel(encoding, member.scaler, params, config, 0.5, fields=dict(table.field_names))
    prediction = model.predict(table)
    p = prediction.susceptibility
    model.threshold = threshold_nearest_corner(y[holdout.val], p[holdout.val])
    test = classification_metrics(y[holdout.test], p[holdout.test], model.threshold)
    pred = (p >= model.threshold).astype(np.int64)
    outputs = pd.DataFrame({k: getattr(prediction, k) for k in OUTPUTS})
    outputs["pred"] = pred
    outputs["confusion"] = confusion_labels(y, pred)
    split_name = np.empty(y.size, dtype=object)
    for part, rows in (("train", holdout.train), ("val", holdout.val), ("test", holdout.test)):
        split_name[rows] = part
    outputs["split"] = split_name

    base_p = _baseline_scores(encoding, member.scaler, table, y, holdout)
    base_thr = threshold_nearest_corner(y[holdout.val], base_p[holdout.val])
    best_epoch = int(group.best_epoch[0])
    metrics: dict = {
        "test": test.to_dict(),
        "best_epoch": best_epoch,
        "depth": int(config.depth),
        "cv": {},
        "baseline": {"test": classification_metrics(y[holdout.test], base_p[holdout.test], base_thr).to_dict()},
    }

    for scheme in schemes:
        probability = np.concatenate([g.outputs["susceptibility"] for g in by_stage[scheme]])
        oof = np.full(y.size, np.nan)
        oof_pred = np.zeros(y.size, dtype=np.int64)
        per_fold, base_auc = [], []
        for m, p_m in zip(plan[scheme], probability):
            thr = threshold_nearest_corner(y[m.split.val], p_m[m.split.val])
            rows = m.split.test
            oof[rows] = p_m[rows]
            oof_pred[rows] = p_m[rows] >= thr
            per_fold.append(classification_metrics(y[rows], p_m[rows], thr).to_dict())
            base_auc.append(roc_auc(y[rows], _baseline_scores(encoding, m.scaler, table, y, m.split)[rows]))
        prefix = CV_PREFIX[scheme]
        outputs[f"{prefix}_fold"] = fold_ids[scheme] + 1
        outputs[f"{prefix}_oof"] = oof
        outputs[f"{prefix}_pred"] = oof_pred
        outputs[f"{prefix}_confusion"] = confusion_labels(y, oof_pred)
        aucs = [f["auc"] for f in per_fold]
        metrics["cv"][scheme] = {"folds": per_fold, "auc": aucs, **{f"auc_{k}": v for k, v in _summary(aucs).items()}}
        metrics["baseline"][scheme] = {"auc": base_auc, **{f"auc_{k}": v for k, v in _summary(base_auc).items()}}

    if bootstraps:
        stacked = {k: np.concatenate([g.outputs[k] for g in by_stage["bootstrap"]]) for k in OUTPUTS}
        for quantity in BOOTSTRAP_QUANTITIES:
            values = np.percentile(stacked[quantity], BOOTSTRAP_PERCENTILES, axis=0)
            for q, v in zip(BOOTSTRAP_PERCENTILES, values):
                outputs[f"{quantity}_p{q:02d}"] = v
        aucs = [
            roc_auc(y[m.split.test], p_m[m.split.test]) for m, p_m in zip(plan["bootstrap"], stacked["susceptibility"])
        ]
        metrics["bootstrap"] = {"test_auc": aucs, **{f"auc_{k}": v for k, v in _summary(aucs).items()}}

    model.metrics = metrics
    report(progress, 1.0, "PINN trained")
    return PINNResult(model, outputs, metrics, history)
