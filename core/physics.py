"""Infinite-slope stability and Newmark rigid-block displacement, in numpy and in torch.

The chain is the physics layer of Dahal & Lombardo's physics-informed network (paper Eq. 1–4):

1. factor of safety of a dry infinite slope (Eq. 1, m = 0): FS = C/t / (ρ g sin α) + tan φ / tan α;
2. critical (yield) acceleration in g: a_c = (FS − 1)·sin α = 1000·C/t/(ρ g) + cos α·tan φ − sin α;
3. Newmark displacement D in cm from Jibson (2007) model (a), r = a_c / PGA:
   log10 D = 0.215 + 2.341·log10(1 − r) − 1.438·log10 r  for 0 < r < 1;
4. probability that D exceeds about 5 cm (Eq. 4): p = 1 / (1 + exp(5 − D)).

Units: C/t in kPa/m (cohesion in kPa over slab thickness in m), φ and slope α in degrees, PGA and a_c in g,
D in cm. The constants are pinned to RHO = 2300 kg/m³ and G = 9.81 m/s² (the paper's text uses g = 9.8; the
authors' code 9.81), so ρg = 22.563 kN/m³ and C/t / (ρg) is dimensionless once C/t is in kPa/m.

Two modes (:data:`PHYSICS_MODES`, in Processing enum order): ``"paper"`` is the physics above, as printed;
``"authors_code"`` reproduces the authors' TensorFlow code (items 1–7 of the discrepancy table in
docs/physics.md §1.2) so that results can be compared with theirs.

The torch functions are differentiable everywhere in the physical domain (:func:`torch_newmark`); torch is
imported only when they are called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Union

import numpy as np
from scipy.special import expit

if TYPE_CHECKING:
    import torch

RHO = 2300.0
"""Density of the sliding slab, kg/m³ (pinned, as in the paper)."""
G = 9.81
"""Gravitational acceleration, m/s² (pinned, as in the authors' code)."""
RHO_G_KN_M3 = RHO * G / 1000.0
"""Unit weight of the slab ρg = 22.563 kN/m³, the default unit weight of :func:`factor_of_safety`."""

PHYSICS_MODES = ("paper", "authors_code")
"""Physics modes, in the order of the Processing enum."""

DISP_CENTRE_CM = 5.0
"""Displacement (cm) at which Eq. 4 gives p = 0.5."""
J07_SIGMA_LOG10 = 0.51
"""Standard deviation of log10 D of Jibson's (2007) PGA-only regression."""
SCATTER_SLOPE = 1.702 / (J07_SIGMA_LOG10 * math.log(10.0))
"""Logit per unit of ln D of :func:`scatter_probability` (1.702: the logistic approximation of the normal)."""

# Jibson (2007) model (a), log10, D in cm.
_J07_CONST = 0.215
_J07_EXP_1MR = 2.341
_J07_EXP_R = 1.438

# The authors' code (GallenModel.py): natural log, constant 0.251 plus the "+0.5" scatter term, the
# Ambraseys & Menu (1988) exponent 2.53 on (1 − r), FS and r clipped, PGA multiplied by 10.
_CODE_LN_CONST = 0.251 + 0.5
_CODE_EXP_1MR = 2.53
_CODE_FS_RANGE = (1.2, 15.0)
_CODE_R_RANGE = (0.001, 0.999)
_CODE_PGA_FACTOR = 10.0

# Smoothing of the torch "paper" mode (see torch_newmark): exact above these values.
SMOOTH_AC_FLOOR_G = 1e-4
"""a_c (g) below which the torch paper mode continues log a_c smoothly instead of reaching −∞."""
SMOOTH_PGA_FLOOR_G = 1e-4
"""PGA (g) below which the torch paper mode continues log PGA smoothly (PGA = 0 is allowed)."""
SMOOTH_ONE_MINUS_R_FLOOR = 1e-3
"""Floor of 1 − r in the torch paper mode (softplus of width 1e-4; exact for 1 − r ≥ 3e-3)."""
SMOOTH_ONE_MINUS_R_WIDTH = 1e-4
SMOOTH_DISP_CAP_CM = 1e3
"""D (cm) above which the torch paper mode compresses ln D by asinh (p = 1 there; D stays below about 1e5 cm)."""

GODT2008_PROBABILITIES = (0.0, 0.01, 0.10, 0.30, 0.50, 0.70, 0.90, 0.99)
"""Godt et al. (2008) probability for 0..7 of the 7 slope quantiles reaching the displacement threshold."""

ArrayLike = Union[float, Sequence[float], np.ndarray]


@dataclass(frozen=True, eq=False)
class NewmarkResult:
    """Outputs of :func:`newmark`, arrays of the broadcast input shape.

    ``fs``: factor of safety (dimensionless; +inf on flat ground); ``ac_g``: critical acceleration in g;
    ``disp_cm``: Newmark displacement in cm (+inf for static failure in paper mode); ``probability``: Eq. 4.
    """

    fs: np.ndarray
    ac_g: np.ndarray
    disp_cm: np.ndarray
    probability: np.ndarray


# ------------------------------------------------------------------------------------------------ numpy


def _check_mode(mode: str) -> str:
    if mode not in PHYSICS_MODES:
        raise ValueError(f"unknown physics mode {mode!r}: use one of {', '.join(PHYSICS_MODES)}")
    return mode


def _float_array(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _check_bounds(
    name: str, values: np.ndarray, low: float, high: float, low_open: bool, high_open: bool, what: str
) -> None:
    """Raise ``ValueError`` naming ``name`` when a non-NaN value lies outside the interval (NaN passes through)."""
    with np.errstate(invalid="ignore"):
        below = values <= low if low_open else values < low
        above = values >= high if high_open else values > high
    bad = below | above
    if bad.any():
        if math.isinf(high):
            rule = f"be {'>' if low_open else '≥'} {low:g} {what}"
        else:
            rule = f"lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'} {what}"
        raise ValueError(f"{name} must {rule}; {int(bad.sum())} value(s) do not, e.g. {values[bad].flat[0]:g}")


def _check_soil(ct: np.ndarray, phi: np.ndarray, slope: np.ndarray) -> None:
    _check_bounds("ct_kpa_m (C/t)", ct, 0.0, math.inf, False, False, "kPa/m")
    _check_bounds("phi_deg (friction angle)", phi, 0.0, 90.0, True, True, "degrees")
    _check_bounds("slope_deg", slope, 0.0, 90.0, False, False, "degrees")


def _check_pga(pga: np.ndarray) -> None:
    _check_bounds("pga_g (PGA)", pga, 0.0, math.inf, False, False, "g")


def _check_unit_weight(unit_weight_kn_m3: float) -> None:
    if not (np.isfinite(unit_weight_kn_m3) and unit_weight_kn_m3 > 0):
        raise ValueError(f"unit_weight_kn_m3 must be a positive number of kN/m³, got {unit_weight_kn_m3!r}")


def _raw_factor_of_safety(ct: np.ndarray, phi: np.ndarray, slope: np.ndarray, unit_weight_kn_m3: float) -> np.ndarray:
    alpha = np.deg2rad(slope)
    with np.errstate(divide="ignore", invalid="ignore"):
        fs = ct / (unit_weight_kn_m3 * np.sin(alpha)) + np.tan(np.deg2rad(phi)) / np.tan(alpha)
    # Flat ground never slides: the 0/0 of a cohesionless flat cell is +inf as well.
    return np.where(slope == 0, np.inf, fs)


def factor_of_safety(
    ct_kpa_m: ArrayLike,
    phi_deg: ArrayLike,
    slope_deg: ArrayLike,
    mode: str = "paper",
    unit_weight_kn_m3: float = RHO_G_KN_M3,
) -> np.ndarray:
    """Factor of safety of a dry infinite slope (paper Eq. 1 with m = 0), dimensionless.

    FS = C/t / (γ sin α) + tan φ / tan α, with C/t in kPa/m, φ and α in degrees and the unit weight γ in
    kN/m³ (default ρg = 22.563 kN/m³; Godt et al. 2008 use 15.7). FS = +inf where α = 0.
    Mode ``"authors_code"`` clips FS to [1.2, 15] as the authors' code does, so no slope is ever statically
    unstable there. NaN inputs give NaN.
    """
    _check_mode(mode)
    _check_unit_weight(unit_weight_kn_m3)
    ct, phi, slope = (_float_array(v) for v in (ct_kpa_m, phi_deg, slope_deg))
    _check_soil(ct, phi, slope)
    fs = _raw_factor_of_safety(ct, phi, slope, unit_weight_kn_m3)
    if mode == "authors_code":
        fs = np.clip(fs, *_CODE_FS_RANGE)
    return fs


def critical_acceleration(
    ct_kpa_m: ArrayLike,
    phi_deg: ArrayLike,
    slope_deg: ArrayLike,
    mode: str = "paper",
    unit_weight_kn_m3: float = RHO_G_KN_M3,
) -> np.ndarray:
    """Critical (yield) acceleration a_c in g (Jibson's convention; the paper's Eq. 2 is the same times g).

    Paper mode uses the closed form a_c = C/t/γ + cos α·tan φ − sin α, identical to (FS − 1)·sin α and finite
    on flat ground; a_c ≤ 0 means FS ≤ 1 (static failure). Mode ``"authors_code"`` computes
    (FS − 1)·sin α from the FS clipped to [1.2, 15], so a_c ≥ 0.2·sin α.
    """
    _check_mode(mode)
    _check_unit_weight(unit_weight_kn_m3)
    ct, phi, slope = (_float_array(v) for v in (ct_kpa_m, phi_deg, slope_deg))
    _check_soil(ct, phi, slope)
    alpha = np.deg2rad(slope)
    if mode == "authors_code":
        fs = np.clip(_raw_factor_of_safety(ct, phi, slope, unit_weight_kn_m3), *_CODE_FS_RANGE)
        return (fs - 1.0) * np.sin(alpha)
    return ct / unit_weight_kn_m3 + np.cos(alpha) * np.tan(np.deg2rad(phi)) - np.sin(alpha)


def newmark_displacement(ac_g: ArrayLike, pga_g: ArrayLike, mode: str = "paper") -> np.ndarray:
    """Newmark displacement in cm from the critical acceleration and the PGA, both in g.

    Paper mode (Jibson 2007 model (a), evaluated in log space):
    log10 D = 0.215 + 2.341·log10(1 − r) − 1.438·log10 r with r = a_c/PGA for 0 < r < 1; D = 0 where r ≥ 1 or
    PGA = 0 (no sliding); D = +inf where a_c ≤ 0 (static failure, whatever the PGA).

    Mode ``"authors_code"``: r = a_c·9.81 / (10·PGA) (the code compares a_c in m/s² with PGA × 10, so r is
    0.981 × the true ratio), clipped to [0.001, 0.999] (PGA = 0 counts as r ≥ 1, as x/0 = +inf does there),
    and D = exp(0.251 + 0.5 + 2.53·ln(1 − r) − 1.438·ln r): natural log, the constant 0.251, the scatter
    term +0.5 and the Ambraseys & Menu exponent 2.53. D therefore lies in [5.5e-8, 4.4e4] cm.
    """
    _check_mode(mode)
    ac, pga = np.broadcast_arrays(_float_array(ac_g), _float_array(pga_g))
    _check_pga(pga)
    if mode == "authors_code":
        with np.errstate(divide="ignore", invalid="ignore"):
            r = ac * G / (_CODE_PGA_FACTOR * pga)
        r = np.clip(np.where(pga == 0, _CODE_R_RANGE[1], r), *_CODE_R_RANGE)
        return np.exp(_CODE_LN_CONST + _CODE_EXP_1MR * np.log1p(-r) - _J07_EXP_R * np.log(r))

    disp = np.full(ac.shape, np.nan)
    with np.errstate(invalid="ignore"):
        static = ac <= 0
        slides = (ac > 0) & (ac < pga)
        still = (ac > 0) & (ac >= pga)  # r ≥ 1, including PGA = 0
    r = ac[slides] / pga[slides]
    with np.errstate(over="ignore"):
        disp[slides] = 10.0 ** (_J07_CONST + _J07_EXP_1MR * np.log10(1.0 - r) - _J07_EXP_R * np.log10(r))
    disp[static] = np.inf
    disp[still] = 0.0
    return disp


def exceedance_probability(disp_cm: ArrayLike) -> np.ndarray:
    """Paper Eq. 4: p = 1 / (1 + exp(5 − D)) with D in cm; p = 1 for D = +inf, σ(−5) = 0.00669 for D = 0."""
    disp = _float_array(disp_cm)
    _check_bounds("disp_cm (displacement)", disp, 0.0, math.inf, False, False, "cm")
    return expit(disp - DISP_CENTRE_CM)


def scatter_probability(disp_cm: ArrayLike) -> np.ndarray:
    """P(D > 5 cm) given Jibson's (2007) scatter, σ = 0.51 in log10 D around Eq. 3's D (cm), in the logistic
    form σ(1.702·(log10 D − log10 5)/0.51) of the normal: 0 for D = 0, 1 for D = +inf, 0.5 at 5 cm."""
    disp = _float_array(disp_cm)
    _check_bounds("disp_cm (displacement)", disp, 0.0, math.inf, False, False, "cm")
    with np.errstate(divide="ignore"):
        return expit(SCATTER_SLOPE * np.log(disp / DISP_CENTRE_CM))


def torch_scatter_logit(disp_cm: torch.Tensor) -> torch.Tensor:
    """The logit of :func:`scatter_probability` for D > 0 (cm), for training with logits."""
    import torch

    log_disp = torch.log(disp_cm.clamp_min(torch.finfo(disp_cm.dtype).tiny))
    return SCATTER_SLOPE * (log_disp - math.log(DISP_CENTRE_CM))


def newmark(
    ct_kpa_m: ArrayLike, phi_deg: ArrayLike, slope_deg: ArrayLike, pga_g: ArrayLike, mode: str = "paper"
) -> NewmarkResult:
    """The whole chain FS → a_c → D → p for broadcastable arrays (C/t kPa/m, φ and slope in degrees, PGA in g).

    Raises ``ValueError`` for C/t < 0, φ outside (0, 90), slope outside [0, 90], PGA < 0 or an unknown mode;
    NaN inputs give NaN outputs.
    """
    _check_mode(mode)
    ct, phi, slope, pga = np.broadcast_arrays(*(_float_array(v) for v in (ct_kpa_m, phi_deg, slope_deg, pga_g)))
    _check_pga(pga)
    fs = factor_of_safety(ct, phi, slope, mode)
    ac = critical_acceleration(ct, phi, slope, mode)
    disp = newmark_displacement(ac, pga, mode)
    return NewmarkResult(fs=fs, ac_g=ac, disp_cm=disp, probability=exceedance_probability(disp))


def godt2008_probability(
    slope_quantiles_deg: Union[Sequence[np.ndarray], np.ndarray],
    cohesion_kpa: ArrayLike,
    friction_deg: ArrayLike,
    pga_g: ArrayLike,
    thickness_m: float = 2.4,
    unit_weight_kn_m3: float = 15.7,
    fs_floor: float = 1.01,
    ac_floor_g: float = 0.05,
    disp_threshold_cm: float = 5.0,
    slope_min_deg: float = 0.01,
    nodata_cohesion_kpa: float = 1.0,
    nodata_friction_deg: float = 26.0,
) -> np.ndarray:
    """Probability of landsliding of Godt et al. (2008), as in the USGS ground-failure model ``godt_2008``.

    For each of the 7 slope quantiles of a cell (degrees; minimum, 10, 30, 50, 70, 90th percentile, maximum):
    FS = c/(γ·t·sin α) + tan φ/tan α (c in kPa, t in m, γ in kN/m³), floored at ``fs_floor``;
    a_c = (FS − 1)·sin α in g, floored at ``ac_floor_g``; D from Jibson (2007) model (a)
    (:func:`newmark_displacement`, paper mode). Cells flatter than ``slope_min_deg`` do not slide. The
    number of quantiles with D ≥ ``disp_threshold_cm`` (0..7) maps to :data:`GODT2008_PROBABILITIES`.
    NaN cohesion or friction take the model's defaults (1 kPa, 26°); NaN slopes or PGA give NaN.
    """
    slopes = np.asarray(slope_quantiles_deg, dtype=float)
    if slopes.ndim < 1 or slopes.shape[0] != len(GODT2008_PROBABILITIES) - 1:
        raise ValueError(
            f"slope_quantiles_deg must stack {len(GODT2008_PROBABILITIES) - 1} slope-quantile grids "
            f"(min, 10, 30, 50, 70, 90, max), got shape {slopes.shape}"
        )
    if not thickness_m > 0:
        raise ValueError(f"thickness_m must be > 0 m, got {thickness_m!r}")
    cohesion = _float_array(cohesion_kpa)
    friction = _float_array(friction_deg)
    cohesion = np.where(np.isnan(cohesion), nodata_cohesion_kpa, cohesion)
    friction = np.where(np.isnan(friction), nodata_friction_deg, friction)
    pga = _float_array(pga_g)
    shape = np.broadcast_shapes(slopes.shape[1:], cohesion.shape, friction.shape, pga.shape)

    exceeded = np.zeros(shape, dtype=np.int64)
    missing = np.broadcast_to(np.isnan(pga), shape) | np.isnan(slopes).any(axis=0)
    for slope in slopes:
        steep = slope >= slope_min_deg  # False for NaN
        safe_slope = np.where(steep, slope, 45.0)  # any valid angle: flat and missing cells are masked below
        fs = factor_of_safety(cohesion / thickness_m, friction, safe_slope, unit_weight_kn_m3=unit_weight_kn_m3)
        ac = np.maximum((np.maximum(fs, fs_floor) - 1.0) * np.sin(np.deg2rad(safe_slope)), ac_floor_g)
        disp = newmark_displacement(ac, pga)
        with np.errstate(invalid="ignore"):
            exceeded += steep & (disp >= disp_threshold_cm)
    probability = np.asarray(GODT2008_PROBABILITIES)[exceeded]
    return np.where(missing, np.nan, probability)


# ------------------------------------------------------------------------------------------------ torch


class TorchNewmark(NamedTuple):
    """Outputs of :func:`torch_newmark`, tensors of the broadcast input shape.

    ``fs`` (dimensionless), ``ac_g`` (g), ``disp_cm`` (cm, finite), ``probability`` = sigmoid(``logit``) and
    ``logit`` = D − 5, to train with ``binary_cross_entropy_with_logits``.
    """

    fs: torch.Tensor
    ac_g: torch.Tensor
    disp_cm: torch.Tensor
    probability: torch.Tensor
    logit: torch.Tensor


def _torch_tensors(*values) -> list[torch.Tensor]:
    """Convert inputs to tensors of one floating dtype (float64 if any input is) on the first tensor's device."""
    import torch

    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    dtype = torch.get_default_dtype()
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    if floats:
        dtype = torch.float64 if torch.float64 in floats else torch.float32
    device = tensors[0].device if tensors else None
    return [torch.as_tensor(v, dtype=dtype, device=device) for v in values]


def _soft_log(x: torch.Tensor, floor: float) -> torch.Tensor:
    """ln x for x ≥ ``floor``; below it a smooth, increasing continuation defined for every real x.

    With w = 2 − x/floor (≥ 1 below the floor) the continuation is ln floor − ln(w² − w + 1), which matches
    ln x in value, slope and curvature at the floor and falls like −2·ln|x| (so its gradient never underflows
    to 0). ln(w² − w + 1) is written as 2 ln w + ln(1 − 1/w + 1/w²) so that w² cannot overflow.
    """
    import torch

    above = x >= floor
    log_above = torch.log(torch.where(above, x, floor))
    w = 2.0 - torch.where(above, floor, x) / floor
    inv = 1.0 / w
    log_below = math.log(floor) - 2.0 * torch.log(w) - torch.log1p(inv * (inv - 1.0))
    return torch.where(above, log_above, log_below)


def _torch_paper_displacement(ac_g: torch.Tensor, pga_g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    import torch
    import torch.nn.functional as F

    ln_r = _soft_log(ac_g, SMOOTH_AC_FLOOR_G) - _soft_log(pga_g, SMOOTH_PGA_FLOOR_G)
    one_minus_r = 1.0 - torch.exp(ln_r)
    width = SMOOTH_ONE_MINUS_R_WIDTH
    q = SMOOTH_ONE_MINUS_R_FLOOR + width * F.softplus((one_minus_r - SMOOTH_ONE_MINUS_R_FLOOR) / width)
    ln_disp = _J07_CONST * math.log(10.0) + _J07_EXP_1MR * torch.log(q) - _J07_EXP_R * ln_r
    cap = math.log(SMOOTH_DISP_CAP_CM)
    disp = torch.exp(torch.where(ln_disp > cap, cap + torch.asinh(ln_disp - cap), ln_disp))
    return disp, disp - DISP_CENTRE_CM


def _torch_code_displacement(ac_g: torch.Tensor, pga_g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    shaking = pga_g > 0
    ratio = ac_g * G / (_CODE_PGA_FACTOR * torch.where(shaking, pga_g, 1.0))
    r = torch.clamp(torch.where(shaking, ratio, _CODE_R_RANGE[1]), *_CODE_R_RANGE)
    disp = torch.exp(_CODE_LN_CONST + _CODE_EXP_1MR * torch.log1p(-r) - _J07_EXP_R * torch.log(r))
    return disp, disp - DISP_CENTRE_CM


def torch_newmark_displacement(ac_g, pga_g, mode: str = "paper") -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable Newmark displacement (cm) and Eq. 4 logit D − 5 from a_c and PGA in g.

    See :func:`torch_newmark` for the smoothing of the paper mode; ``"authors_code"`` is
    :func:`newmark_displacement`'s authors-code mode (hard clips: zero gradient outside them, as in the code).
    """
    _check_mode(mode)
    ac, pga = _torch_tensors(ac_g, pga_g)
    if mode == "authors_code":
        return _torch_code_displacement(ac, pga)
    return _torch_paper_displacement(ac, pga)


def torch_newmark(ct_kpa_m, phi_deg, slope_deg, pga_g, mode: str = "paper") -> TorchNewmark:
    """Differentiable FS, a_c, D, p and logit for tensors (or numbers) of any broadcastable shapes.

    Units as in :func:`newmark` (C/t kPa/m, φ and slope in degrees, PGA in g). float32 and float64 tensors on
    any device are supported (float64 if any input is float64, else float32); values are not validated.

    Paper mode is finite, smooth and has finite, non-zero gradients for slope in (0°, 90°), φ in (0°, 90°),
    C/t ≥ 0 and PGA ≥ 0, including static failure (FS < 1), r ≥ 1 and PGA = 0. It evaluates
    ln r = ln a_c − ln PGA and Jibson's log10 D directly, with three smooth guards (each applied through the
    double-where pattern, so the unused branch never produces NaN gradients):

    * ln a_c and ln PGA below 1e-4 g continue smoothly (see ``_soft_log``): a_c ≤ 0 then gives a tiny
      effective ratio, so D is huge and p = 1; PGA = 0 gives an effective PGA of 3.3e-5 g;
    * 1 − r is floored by a softplus at 1e-3 (width 1e-4, exact above 3e-3): for r ≥ 1,
      D ≤ 1.6e-7 cm·r^−1.438 and p = σ(−5) within 1e-9, with a gradient that decays like a power of r;
    * ln D above ln 1000 (D = 10 m, where p = 1 to machine precision) is compressed by asinh: D then grows
      like 2000·ln(D/1000) cm, stays below about 1e5 cm (the authors' code reaches 4.4e4 cm), and the logit
      and its gradient stay finite and moderate.

    Where a_c ≥ 1e-4 g, PGA ≥ 1e-4 g, r ≤ 0.997 and D ≤ 1e3 cm the paper mode is the numpy formula exactly
    (agreement to rounding, about 1e-12 relative in float64); elsewhere D differs from numpy's 0 by less than
    2e-6 cm (r ≥ 0.997), or p = 1 in both (static failure, D > 1e3 cm) unless PGA and |a_c| are both below
    about 1e-3 g, where the discontinuity of the exact model at PGA = 0 is smoothed.

    Mode ``"authors_code"`` reproduces the code's hard clips (FS to [1.2, 15], r to [0.001, 0.999]) and their
    zero gradients; ``fs`` and ``ac_g`` are then the clipped FS and (FS − 1)·sin α.
    """
    import torch

    _check_mode(mode)
    ct, phi, slope, pga = _torch_tensors(ct_kpa_m, phi_deg, slope_deg, pga_g)
    alpha = torch.deg2rad(slope)
    tan_phi = torch.tan(torch.deg2rad(phi))
    sin_alpha = torch.sin(alpha)
    fs = ct / (RHO_G_KN_M3 * sin_alpha) + tan_phi / torch.tan(alpha)
    if mode == "authors_code":
        fs = torch.clamp(fs, *_CODE_FS_RANGE)
        ac = (fs - 1.0) * sin_alpha
        disp, logit = _torch_code_displacement(ac, pga)
    else:
        ac = ct / RHO_G_KN_M3 + torch.cos(alpha) * tan_phi - sin_alpha
        disp, logit = _torch_paper_displacement(ac, pga)
    fs, ac, disp, logit = torch.broadcast_tensors(fs, ac, disp, logit)
    return TorchNewmark(fs=fs, ac_g=ac, disp_cm=disp, probability=torch.sigmoid(logit), logit=logit)
