"""A synthetic but realistic study area with a known ground truth: the demo region.

Everything follows from one seed:

1. a fractal DEM (spectral synthesis, power-law spectrum) rescaled so that slopes are mostly 5°–60°;
2. terrain variables from it (:mod:`.terrain`) and fields that co-vary with it: orographic precipitation, NDVI
   falling with altitude and slope, soil texture (sand/silt/clay fractions) and bulk density, and a categorical
   geology of belts striking across the area;
3. PGA (g) from an earthquake rupture (a fault segment), decaying with distance, and a second, stronger scenario;
4. true geotechnical fields, C/t (kPa/m) and φ (degrees), set by geology and modulated by soil texture within the
   ranges of Dahal & Lombardo's study (physics.md §3);
5. half-basin slope units from :mod:`.slopeunits` (the same delineation users run);
6. per slope unit, the Newmark/Jibson (2007) physics (:mod:`.physics`, paper mode) of the unit's mean slope, PGA,
   C/t and φ gives a_c and the displacement D; the regression scatter of Jibson (2007), σ(log10 D) = 0.51, is the
   noise: a unit fails with probability P(σ(10^(log10 D + ε) − 5)) averaged over ε ~ N(0, 0.51²), and a global
   cohesion factor is set so that the expected share of failed units is ``landslide_share``;
7. landslide polygons (downslope ellipses on the steeper cells of each failed unit, clipped to the unit).

The truth table holds, per unit, the true C/t, φ, a_c, D and that probability.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .progress import Progress, report, scaled

CONTINUOUS_LAYERS = (
    "slope",
    "eastness",
    "northness",
    "plan_curvature",
    "profile_curvature",
    "precipitation",
    "ndvi",
    "sand",
    "silt",
    "clay",
    "bulk_density",
    "pga",
)
"""Continuous rasters of the demo region that models use as features, in a fixed order."""


@dataclass(frozen=True)
class DemoRegionConfig:
    """Parameters of :func:`create_demo_region`. Lengths in metres."""

    seed: int = 1
    size: int = 300  # cells per side
    cell_size: float = 30.0
    crs: str = "EPSG:32645"  # UTM 45N, central Nepal
    origin: tuple = (300_000.0, 3_100_000.0)  # upper-left corner, map units
    n_geology: int = 6
    median_slope_deg: float = 27.0
    min_unit_area_m2: Optional[float] = None  # None: 25,000 m², at least 40 cells
    landslide_share: float = 0.18  # expected share of slope units with a landslide
    magnitude: float = 7.3
    scenario_magnitude: float = 7.8

    def validate(self) -> None:
        if int(self.size) != self.size or self.size < 32:
            raise ValueError(f"SIZE must be a whole number of cells, at least 32 (got {self.size})")
        if self.size > 20_000:
            raise ValueError(f"SIZE {self.size} is too large: at most 20000 cells per side")
        if not self.cell_size > 0:
            raise ValueError(f"CELL_SIZE must be a positive length in metres (got {self.cell_size})")
        if not 4 <= self.n_geology <= 9:
            raise ValueError(f"the number of geology classes must be 4–9 (got {self.n_geology})")
        if not 0.02 <= self.landslide_share <= 0.6:
            raise ValueError(f"landslide_share must lie in [0.02, 0.6] (got {self.landslide_share})")
        if not 5.0 <= self.median_slope_deg <= 45.0:
            raise ValueError(f"median_slope_deg must lie in [5, 45] (got {self.median_slope_deg})")


@dataclass
class DemoRegion:
    """Paths of the files written and a few figures about the region."""

    folder: Path
    rasters: dict = field(default_factory=dict)  # name → GeoTIFF path
    slope_units: Path = Path()
    landslides: Path = Path()
    truth: Path = Path()
    n_units: int = 0
    n_landslide_units: int = 0
    n_landslides: int = 0

    @property
    def landslide_share(self) -> float:
        return self.n_landslide_units / max(self.n_units, 1)


# ------------------------------------------------------------------------------------------- random fields


def gaussian_field(shape: tuple, rng: np.random.Generator, beta: float = 3.0, cutoff_cells: float = 0.0):
    """Zero-mean, unit-variance random field with power spectrum ∝ k^−beta (optionally without wavelengths
    shorter than ``cutoff_cells``)."""
    ny, nx = shape
    noise = rng.standard_normal(shape)
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.rfftfreq(nx)[None, :]
    k = np.hypot(kx, ky)
    k[0, 0] = 1.0
    amplitude = k ** (-beta / 2.0)
    amplitude[0, 0] = 0.0
    if cutoff_cells > 0:
        amplitude *= np.exp(-((k * cutoff_cells) ** 2))
    out = np.fft.irfft2(np.fft.rfft2(noise) * amplitude, s=shape)
    out -= out.mean()
    return out / out.std()


def fractal_dem(shape: tuple, cell_size: float, rng: np.random.Generator, median_slope_deg: float) -> np.ndarray:
    """Fractal relief (m) with ridges and valleys, scaled so the median slope is ``median_slope_deg``."""
    base = gaussian_field(shape, rng, beta=3.2)
    # Folding the field about a smooth level turns its zero crossings into sharp valley floors, as rivers carve
    # them; the remaining fractal detail keeps the relief rough.
    level = 0.3 * gaussian_field(shape, rng, beta=4.0)
    relief = np.abs(base - level) + 0.15 * gaussian_field(shape, rng, beta=2.4)
    gy, gx = np.gradient(relief, cell_size)
    tan_slope = np.median(np.hypot(gx, gy))
    scale = np.tan(np.radians(median_slope_deg)) / tan_slope
    dem = relief * scale
    return (dem - dem.min() + 800.0).astype(np.float64)


# ------------------------------------------------------------------------------------------- ground motion


def rupture_pga(x: np.ndarray, y: np.ndarray, trace: tuple, magnitude: float, depth_km: float = 10.0) -> np.ndarray:
    """PGA (g) at map points (metres) from a rupture along the segment ``trace`` = ((x0, y0), (x1, y1)).

    A generic attenuation in the spirit of active-crust ground-motion models: ln PGA = a + b·(M − 6.5)
    − c·ln √(R² + h²) with the Joyner–Boore-like distance R (km) to the surface trace; a = 1.2, b = 0.9,
    c = 1.15 with h = 10 km give about 0.5 g on an M 7.3 rupture and 0.07 g at 50 km.
    """
    (x0, y0), (x1, y1) = trace
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    r_km = np.hypot(x - (x0 + t * dx), y - (y0 + t * dy)) / 1000.0
    ln_pga = 1.2 + 0.9 * (magnitude - 6.5) - 1.15 * np.log(np.sqrt(r_km**2 + depth_km**2))
    return np.exp(ln_pga)


# ------------------------------------------------------------------------------------------- truth per unit


def unit_means(labels: np.ndarray, n_units: int, *fields: np.ndarray) -> list:
    """Mean of each field over the cells of each unit (labels 1..n; 0 ignored)."""
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=n_units + 1)[1:].astype(float)
    return [np.bincount(flat, weights=f.ravel(), minlength=n_units + 1)[1:] / counts for f in fields]


def failure_probability(disp_cm: np.ndarray, sigma_log10: float = 0.51, nodes: int = 32) -> np.ndarray:
    """P(landslide) = E[σ(D·10^ε − 5)] with ε ~ N(0, sigma_log10²): the Jibson (2007) scatter around D (cm).

    D = +inf (static failure) gives 1; D = 0 gives σ(−5).
    """
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    d = np.asarray(disp_cm, dtype=float)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        d_noisy = np.where(np.isinf(d), np.inf, d * 10.0 ** (sigma_log10 * z))
        p = 1.0 / (1.0 + np.exp(np.clip(5.0 - d_noisy, -700, 700)))
    return (p * w).sum(axis=-1)


def calibrate_cohesion_factor(
    ct: np.ndarray, phi: np.ndarray, slope: np.ndarray, pga: np.ndarray, target_share: float
) -> float:
    """Global factor on C/t such that the mean failure probability of the units equals ``target_share``."""
    from .physics import newmark

    def share(log_factor: float) -> float:
        result = newmark(ct * np.exp(log_factor), phi, slope, pga, mode="paper")
        return float(failure_probability(result.disp_cm).mean())

    lo, hi = np.log(1e-3), np.log(50.0)
    if share(hi) > target_share or share(lo) < target_share:
        raise ValueError(
            f"cannot reach a landslide share of {target_share:.2f} with this relief and shaking; "
            "change the seed, the slope or the share"
        )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if share(mid) > target_share:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


# ------------------------------------------------------------------------------------------- the region


def create_demo_region(
    folder: str | Path, config: DemoRegionConfig = DemoRegionConfig(), progress: Optional[Progress] = None
) -> DemoRegion:
    """Write the demo region into ``folder`` (GeoTIFFs, two GeoPackages, a CSV truth table and a JSON summary).

    Same ``config`` → byte-identical files.
    """
    import geopandas as gpd
    import pandas as pd
    from affine import Affine

    from .io import atomic_path, write_geotiff, write_vector
    from .physics import newmark
    from .slopeunits import delineate_slope_units, slope_units_to_polygons
    from .terrain import terrain_variables

    config.validate()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    n = int(config.size)
    shape = (n, n)
    cs = float(config.cell_size)
    transform = Affine(cs, 0.0, config.origin[0], 0.0, -cs, config.origin[1])
    rows, cols = np.mgrid[0:n, 0:n]
    x = config.origin[0] + (cols + 0.5) * cs
    y = config.origin[1] - (rows + 0.5) * cs
    extent = n * cs

    report(progress, 0.02, "Relief")
    dem = fractal_dem(shape, cs, rng, config.median_slope_deg)
    terrain = terrain_variables(dem, transform, crs=config.crs)
    slope = np.asarray(terrain.slope_deg, dtype=float)
    rel_elev = (dem - dem.min()) / max(np.ptp(dem), 1.0)

    report(progress, 0.15, "Climate, vegetation and soil")
    wind = np.cos(np.radians(rng.uniform(0, 360)))
    precipitation = (
        1400.0 + 1200.0 * rel_elev + 250.0 * wind * (y - y.mean()) / extent + 120.0 * gaussian_field(shape, rng, 3.5)
    )
    ndvi = np.clip(0.78 - 0.35 * rel_elev - 0.004 * slope + 0.06 * gaussian_field(shape, rng, 3.0), -0.05, 0.92)
    steep = (slope - slope.mean()) / slope.std()
    concave = -np.asarray(terrain.plan_curvature, dtype=float)
    concave = np.nan_to_num((concave - np.nanmean(concave)) / np.nanstd(concave))
    logits = np.stack(
        [
            0.6 * gaussian_field(shape, rng, 3.2) + 0.5 * steep,  # sand: coarse on steep slopes
            0.6 * gaussian_field(shape, rng, 3.2) + 0.2,  # silt
            0.6 * gaussian_field(shape, rng, 3.2) - 0.4 * steep + 0.3 * concave,  # clay: in hollows and flats
        ]
    )
    texture = np.exp(logits) / np.exp(logits).sum(axis=0)
    sand, silt, clay = texture
    bulk_density = 1.15 + 0.45 * sand - 0.25 * np.clip(ndvi, 0, None) + 0.04 * gaussian_field(shape, rng, 3.0)

    report(progress, 0.25, "Geology")
    strike = rng.uniform(0, np.pi)
    along = ((x - x.mean()) * np.cos(strike) + (y - y.mean()) * np.sin(strike)) / extent
    along = along + 0.12 * gaussian_field(shape, rng, 3.8)
    edges = np.quantile(along, np.linspace(0, 1, config.n_geology + 1)[1:-1])
    belt = np.digitize(along, edges)
    class_order = rng.permutation(config.n_geology)
    geology = (class_order[belt] + 1).astype(np.int16)

    report(progress, 0.3, "Ground motion")
    angle = rng.uniform(0, np.pi)
    half = 0.6 * extent
    cx, cy = x.mean() + rng.uniform(-0.25, 0.25) * extent, y.mean() + rng.uniform(-0.25, 0.25) * extent
    trace = (
        (cx - half * np.cos(angle), cy - half * np.sin(angle)),
        (cx + half * np.cos(angle), cy + half * np.sin(angle)),
    )
    site = np.exp(0.08 * gaussian_field(shape, rng, 3.0) + 0.1 * rel_elev)  # ridge-top amplification
    pga = rupture_pga(x, y, trace, config.magnitude) * site
    angle2 = rng.uniform(0, np.pi)
    c2x, c2y = x.mean() + rng.uniform(-0.25, 0.25) * extent, y.mean() + rng.uniform(-0.25, 0.25) * extent
    trace2 = (
        (c2x - half * np.cos(angle2), c2y - half * np.sin(angle2)),
        (c2x + half * np.cos(angle2), c2y + half * np.sin(angle2)),
    )
    pga_scenario = rupture_pga(x, y, trace2, config.scenario_magnitude) * site

    report(progress, 0.35, "Geotechnical ground truth")
    ct_class = np.exp(rng.uniform(np.log(3.0), np.log(20.0), config.n_geology + 1))
    phi_class = rng.uniform(27.0, 40.0, config.n_geology + 1)
    clay_z = (clay - clay.mean()) / clay.std()
    sand_z = (sand - sand.mean()) / sand.std()
    ct_field = ct_class[geology] * np.exp(0.35 * clay_z - 0.15 * sand_z + 0.1 * gaussian_field(shape, rng, 3.0))
    phi_field = np.clip(phi_class[geology] + 2.5 * sand_z - 1.5 * clay_z, 18.0, 50.0)

    report(progress, 0.4, "Slope units")
    min_area = config.min_unit_area_m2 or max(25_000.0, 40 * cs * cs)
    labels = delineate_slope_units(dem, transform, min_area, crs=config.crs, progress=scaled(progress, 0.4, 0.7))
    units = slope_units_to_polygons(labels, transform, config.crs)
    n_units = int(labels.max())

    report(progress, 0.72, "Physics per slope unit")
    su_slope, su_pga, su_ct, su_phi = unit_means(labels, n_units, slope, pga, ct_field, phi_field)
    factor = calibrate_cohesion_factor(su_ct, su_phi, su_slope, su_pga, config.landslide_share)
    ct_field = ct_field * factor
    su_ct = su_ct * factor
    truth = newmark(su_ct, su_phi, su_slope, su_pga, mode="paper")
    probability = failure_probability(truth.disp_cm)
    failed = rng.random(n_units) < probability

    report(progress, 0.8, "Landslide inventory")
    slides = _landslide_polygons(labels, units, failed, slope, terrain, transform, cs, rng)

    report(progress, 0.88, "Writing files")
    rasters = {
        "dem": dem,
        "slope": slope,
        "eastness": terrain.eastness,
        "northness": terrain.northness,
        "plan_curvature": terrain.plan_curvature,
        "profile_curvature": terrain.profile_curvature,
        "precipitation": precipitation,
        "ndvi": ndvi,
        "sand": sand,
        "silt": silt,
        "clay": clay,
        "bulk_density": bulk_density,
        "pga": pga,
        "pga_scenario": pga_scenario,
        "ct_true": ct_field,
        "phi_true": phi_field,
    }
    region = DemoRegion(folder=out)
    for name, arr in rasters.items():
        region.rasters[name] = write_geotiff(
            out / f"{name}.tif", np.asarray(arr, dtype=np.float32), transform, config.crs, nodata=np.nan
        )
    region.rasters["geology"] = write_geotiff(out / "geology.tif", geology, transform, config.crs, nodata=0)

    unit_ids = units["su_id"].to_numpy()
    region.slope_units = write_vector(
        units[["su_id", "area_m2", "geometry"]], out / "slope_units.gpkg", reproducible=True
    )
    region.landslides = write_vector(
        gpd.GeoDataFrame(slides, geometry="geometry", crs=config.crs), out / "landslides.gpkg", reproducible=True
    )
    idx = unit_ids - 1
    table = pd.DataFrame(
        {
            "su_id": unit_ids,
            "slope_deg": su_slope[idx],
            "pga_g": su_pga[idx],
            "ct_kpa_m": su_ct[idx],
            "phi_deg": su_phi[idx],
            "fs": truth.fs[idx],
            "ac_g": truth.ac_g[idx],
            "disp_cm": truth.disp_cm[idx],
            "probability": probability[idx],
            "landslide": failed[idx].astype(int),
        }
    )
    region.truth = out / "truth.csv"
    with atomic_path(region.truth) as tmp:
        table.to_csv(tmp, index=False, float_format="%.8g")
    region.n_units = n_units
    region.n_landslide_units = int(failed.sum())
    region.n_landslides = len(slides["geometry"])
    summary = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
        "n_units": region.n_units,
        "n_landslide_units": region.n_landslide_units,
        "n_landslides": region.n_landslides,
        "cohesion_factor": factor,
        "rupture_trace": [list(p) for p in trace],
        "scenario_rupture_trace": [list(p) for p in trace2],
        "geology_ct_kpa_m": (ct_class[1:] * factor).round(4).tolist(),
        "geology_phi_deg": phi_class[1:].round(3).tolist(),
    }
    with atomic_path(out / "region.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    report(progress, 1.0, "Done")
    return region


def region_unit_table(region: DemoRegion) -> tuple:
    """The demo region as a slope-unit table and its truth, in the same row order.

    The table (a GeoDataFrame) holds the mean of each of :data:`CONTINUOUS_LAYERS` (``<name>_mean``; slope in
    degrees, PGA in g), the majority geology (``geology_maj``), the landslide label and count
    (:func:`.aggregate.aggregate_slope_units`) and ``x``, ``y``: a point inside each unit (map units). The truth
    (a DataFrame indexed by ``su_id``) holds the true C/t, φ, a_c, D and failure probability.
    """
    import geopandas as gpd
    import pandas as pd

    from .aggregate import RasterSource, aggregate_slope_units

    table = aggregate_slope_units(
        gpd.read_file(region.slope_units),
        [RasterSource(str(region.rasters[name]), name) for name in CONTINUOUS_LAYERS],
        [RasterSource(str(region.rasters["geology"]), "geology")],
        inventory=gpd.read_file(region.landslides),
        statistics=["mean"],
    ).frame
    point = table.geometry.representative_point()
    table["x"], table["y"] = point.x, point.y
    truth = pd.read_csv(region.truth).set_index("su_id").loc[table["su_id"]]
    return table, truth


def _landslide_polygons(labels, units, failed, slope, terrain, transform, cs, rng) -> dict:
    """One to three downslope ellipses per failed unit, centred on steep cells of the unit, clipped to it."""
    from shapely import affinity
    from shapely.geometry import Point, box

    geoms, su_ids, areas = [], [], []
    flat_labels = labels.ravel()
    order = np.argsort(flat_labels, kind="stable")
    starts = np.searchsorted(flat_labels[order], np.arange(labels.max() + 2))
    east = np.asarray(terrain.eastness, dtype=float).ravel()
    north = np.asarray(terrain.northness, dtype=float).ravel()
    slope_flat = slope.ravel()
    unit_geom = dict(zip(units["su_id"].to_numpy(), units.geometry))
    for su in np.flatnonzero(failed) + 1:
        cells = order[starts[su] : starts[su + 1]]
        steep_cells = cells[slope_flat[cells] >= np.quantile(slope_flat[cells], 0.6)]
        wanted = 1 + int(rng.integers(0, 3))
        added = 0
        for attempt in range(4 * wanted):
            if added == wanted:
                break
            cell = int(rng.choice(steep_cells))
            r, c = divmod(cell, labels.shape[1])
            cx, cy = transform * (c + 0.5, r + 0.5)
            if attempt == 4 * wanted - 1 and added == 0:  # last resort: the cell itself lies in the unit
                geoms.append(box(cx - cs / 2, cy - cs / 2, cx + cs / 2, cy + cs / 2))
                su_ids.append(int(su))
                areas.append(cs * cs)
                break
            length = float(np.clip(rng.lognormal(np.log(4.0 * cs), 0.4), 1.5 * cs, 15 * cs))
            # Aspect is the downslope direction: eastness = sin(aspect), northness = cos(aspect).
            angle = np.degrees(np.arctan2(north[cell], east[cell]))
            ellipse = affinity.rotate(
                affinity.scale(Point(cx, cy).buffer(1.0, 16), length / 2, length / 6), angle, origin=(cx, cy)
            )
            shape = _polygonal(ellipse.intersection(unit_geom[su]))
            if shape.is_empty or shape.area < 0.05 * cs * cs:
                continue
            geoms.append(shape)
            su_ids.append(int(su))
            areas.append(shape.area)
            added += 1
    return {"su_id": np.asarray(su_ids, dtype=np.int64), "area_m2": np.asarray(areas), "geometry": geoms}


def _polygonal(geom):
    """The polygonal part of an intersection result (drops points and lines of a GeometryCollection)."""
    from shapely.geometry import MultiPolygon

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return MultiPolygon(parts) if parts else MultiPolygon()
