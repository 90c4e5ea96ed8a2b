"""A synthetic slope-unit attribute table with a known physical ground truth, for tests and benchmarks.

Each row is one slope unit of a Gorkha-like study area (a 150 km × 100 km rectangle in UTM 45N metres):

* terrain and soil attributes that vary smoothly in space (random Fourier fields with wavelengths of
  15–80 km, so that neighbouring units look alike and spatial cross-validation holds out real regions):
  elevation rising northwards, slope 10°–60° steeper at altitude, aspect (eastness, northness), curvatures,
  precipitation, NDVI, soil texture (sand/silt/clay %, summing to 100) and bulk density;
* a geology class (9 belts striking east–west with wavy boundaries, as in the Himalaya);
* PGA in g from a rupture (:func:`.synthetic.rupture_pga`), clipped to 0.05–0.8 g;
* true C/t (kPa/m) and φ (degrees) from geology, soil texture, bulk density and a slab thickness that thins on
  steep slopes and thickens in hollows (:func:`_true_parameters`), within the ranges of docs/physics.md §3
  (C/t clipped to 0.2–40 kPa/m, φ 18°–50°); these non-linear effects are what a linear model cannot follow;
* the physics of :mod:`.physics` (paper mode) gives the true a_c, D and p = σ(D − 5); one global factor on
  C/t is set by bisection so that the expected share of landslides is ``landslide_share``; the label is
  Bernoulli(p).

The column names are in the frame's ``attrs`` (``numeric``, ``categorical``, ``label``, ``slope``, ``pga``,
``x``, ``y``) and in the module constants below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .physics import newmark
from .synthetic import rupture_pga

FEATURES = (
    "slope_deg",
    "eastness",
    "northness",
    "plan_curvature",
    "profile_curvature",
    "precipitation_mm",
    "ndvi",
    "sand_pct",
    "silt_pct",
    "clay_pct",
    "bulk_density_g_cm3",
    "elevation_m",
)
"""The realistic numeric features, in order; ``n_numeric`` takes the first ones (more adds noise columns)."""

GEOLOGY = "geology"
LABEL = "landslide"
SLOPE = "slope_deg"
PGA = "pga_g"
X, Y = "x", "y"
TRUTH = ("true_ct_kpa_m", "true_phi_deg", "true_ac_g", "true_disp_cm", "true_probability")
"""Ground-truth columns (never features); the displacement is +inf where the slope fails statically."""

_WIDTH_M, _HEIGHT_M = 150_000.0, 100_000.0
_ORIGIN = (300_000.0, 3_050_000.0)
# Per geology belt, south to north: cohesion scale (C = 3 × value, kPa) and φ (degrees), before soil modulation.
_BELT_CT = np.array([1.5, 2.5, 3.5, 5.0, 6.5, 8.0, 11.0, 15.0, 20.0])
_BELT_PHI = np.array([27.0, 30.0, 33.0, 29.0, 35.0, 32.0, 37.0, 34.0, 39.0])


def _field(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_waves: int = 24) -> np.ndarray:
    """A smooth zero-mean, unit-variance random field at points (m): random Fourier waves of 15–80 km."""
    wavelength = rng.uniform(15_000.0, 80_000.0, n_waves)
    angle = rng.uniform(0.0, np.pi, n_waves)
    phase = rng.uniform(0.0, 2.0 * np.pi, n_waves)
    k = 2.0 * np.pi / wavelength
    arg = np.outer(x, k * np.cos(angle)) + np.outer(y, k * np.sin(angle)) + phase
    out = np.cos(arg).sum(axis=1)
    return (out - out.mean()) / out.std()


def _zscore(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


def _share(ct: np.ndarray, phi: np.ndarray, slope: np.ndarray, pga: np.ndarray, log_factor: float) -> float:
    return float(newmark(ct * np.exp(log_factor), phi, slope, pga, mode="paper").probability.mean())


def _cohesion_factor(ct: np.ndarray, phi: np.ndarray, slope: np.ndarray, pga: np.ndarray, share: float) -> float:
    """Global factor on C/t giving a mean failure probability of ``share`` (bisection in log space)."""
    lo, hi = np.log(0.05), np.log(20.0)
    if _share(ct, phi, slope, pga, hi) > share or _share(ct, phi, slope, pga, lo) < share:
        raise ValueError(f"landslide_share {share} cannot be reached with this terrain; choose 0.05–0.5")
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if _share(ct, phi, slope, pga, mid) > share:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def _true_parameters(
    belt_row: np.ndarray, slope: np.ndarray, plan: np.ndarray, sand: np.ndarray, clay: np.ndarray, bulk: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """True C/t (kPa/m, before the global calibration factor) and φ (degrees) of each unit.

    Cohesion C (kPa) is set by the geology belt and rises with clay and bulk density; the slab thickness t (m)
    thins on steep slopes (3 m at 10°, 0.25 m at 60°) and thickens in hollows (negative plan curvature), so
    C/t grows with slope as soils thin. φ is set by the belt, peaks for well-graded soils (mid sand content)
    and falls with clay; a logistic keeps it in 18°–50°.
    """
    sand_z, clay_z, bulk_z = _zscore(sand), _zscore(clay), _zscore(bulk)
    cohesion = 3.0 * _BELT_CT[belt_row] * np.exp(0.35 * clay_z - 0.25 * sand_z + 0.15 * bulk_z)
    thickness = 3.0 * np.exp(-(slope - 10.0) / 20.0) * np.exp(-0.4 * _zscore(plan))
    phi = _BELT_PHI[belt_row] + 3.0 * (1.0 - sand_z**2) - 2.0 * clay_z
    return cohesion / thickness, 18.0 + 32.0 / (1.0 + np.exp(-(phi - 34.0) / 8.0))


def synthetic_unit_table(
    n_units: int, n_numeric: int = 12, n_geology: int = 9, seed: int = 0, landslide_share: float = 0.2
) -> pd.DataFrame:
    """A slope-unit table of ``n_units`` rows with features, PGA (g), a 0/1 label and the true physics.

    ``n_numeric`` numeric features (the first of :data:`FEATURES`; beyond 12, pure-noise columns
    ``noise_1``…), a geology class of ``n_geology`` belts (labels ``"G1"``…), centroid coordinates ``x``, ``y``
    (m) and the truth columns :data:`TRUTH`. The slope column is always present (it drives the physics).
    """
    if int(n_units) != n_units or n_units < 20:
        raise ValueError(f"n_units must be a whole number ≥ 20, got {n_units!r}")
    if not 1 <= n_numeric <= 40:
        raise ValueError(f"n_numeric must lie in 1..40, got {n_numeric!r}")
    if not 1 <= n_geology <= len(_BELT_CT):
        raise ValueError(f"n_geology must lie in 1..{len(_BELT_CT)}, got {n_geology!r}")
    if not 0.05 <= landslide_share <= 0.5:
        raise ValueError(f"landslide_share must lie in [0.05, 0.5], got {landslide_share!r}")
    n = int(n_units)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, _WIDTH_M, n)
    y = rng.uniform(0.0, _HEIGHT_M, n)

    def field() -> np.ndarray:
        return _field(x, y, rng)

    north = y / _HEIGHT_M
    elevation = np.maximum(300.0 + 4500.0 * north**1.3 + 350.0 * field() + rng.normal(0.0, 100.0, n), 100.0)
    elevation_z = _zscore(elevation)
    slope = 10.0 + 50.0 / (1.0 + np.exp(-(0.9 * elevation_z + 0.7 * field() + rng.normal(0.0, 0.6, n))))
    slope = np.clip(slope, 10.5, 59.5)
    aspect = rng.uniform(0.0, 2.0 * np.pi, n)
    plan = 0.4 * field() + rng.normal(0.0, 0.5, n)
    profile = 0.4 * field() + rng.normal(0.0, 0.5, n)
    precipitation = 1200.0 + 2000.0 / (1.0 + np.exp(-(field() - 1.2 * elevation_z + 0.5)))
    ndvi = np.clip(0.6 - 0.2 * elevation_z + 0.1 * field() + rng.normal(0.0, 0.05, n), 0.05, 0.9)
    texture = np.exp(np.stack([0.5 * field() + 0.3, 0.5 * field() + 0.2, 0.5 * field()], axis=1))
    sand, silt, clay = (100.0 * texture / texture.sum(axis=1, keepdims=True)).T
    bulk = 1.1 + 0.5 / (1.0 + np.exp(-(field() + 0.5 * elevation_z)))

    belts = north + 0.06 * field()
    geology = np.clip(np.floor(n_geology * (belts - belts.min()) / np.ptp(belts)), 0, n_geology - 1).astype(int)
    # Belts take the parameters of evenly spread rows of the 9-belt table (south: soft, north: strong rock).
    belt_row = np.round(np.linspace(0, len(_BELT_CT) - 1, n_geology)).astype(int)[geology]

    epicentre = (0.3 * _WIDTH_M, 0.45 * _HEIGHT_M)
    trace = (epicentre, (0.75 * _WIDTH_M, 0.55 * _HEIGHT_M))
    pga = rupture_pga(x, y, trace, magnitude=7.6) * np.exp(rng.normal(0.0, 0.1, n) + 0.2 * field())
    pga = np.clip(pga, 0.05, 0.8)

    ct, phi = _true_parameters(belt_row, slope, plan, sand, clay, bulk)
    ct = np.clip(ct * _cohesion_factor(ct, phi, slope, pga, landslide_share), 0.2, 40.0)
    truth = newmark(ct, phi, slope, pga, mode="paper")
    label = (rng.uniform(size=n) < truth.probability).astype(np.int64)

    columns = {
        "slope_deg": slope,
        "eastness": np.sin(aspect),
        "northness": np.cos(aspect),
        "plan_curvature": plan,
        "profile_curvature": profile,
        "precipitation_mm": precipitation,
        "ndvi": ndvi,
        "sand_pct": sand,
        "silt_pct": silt,
        "clay_pct": clay,
        "bulk_density_g_cm3": bulk,
        "elevation_m": elevation,
    }
    numeric = list(FEATURES[: min(n_numeric, len(FEATURES))])
    frame = pd.DataFrame({name: columns[name] for name in numeric})
    for i in range(n_numeric - len(FEATURES)):
        name = f"noise_{i + 1}"
        frame[name] = rng.normal(0.0, 1.0, n)
        numeric.append(name)
    frame[SLOPE] = slope
    frame[GEOLOGY] = np.array([f"G{g + 1}" for g in geology])
    frame[PGA] = pga
    frame[LABEL] = label
    frame[X] = _ORIGIN[0] + x
    frame[Y] = _ORIGIN[1] + y
    for name, values in zip(TRUTH, (ct, phi, truth.ac_g, truth.disp_cm, truth.probability)):
        frame[name] = values
    frame.attrs.update(
        numeric=numeric, categorical=[GEOLOGY], label=LABEL, slope=SLOPE, pga=PGA, x=X, y=Y, truth=list(TRUTH)
    )
    return frame
