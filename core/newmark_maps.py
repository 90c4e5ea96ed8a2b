"""Newmark/Jibson physics on attribute tables and on rasters: user data in, :mod:`core.physics` out.

Units everywhere: slope and friction angle in degrees, cohesion in kPa, slab thickness in m, C/t in kPa/m, unit
weight in kN/m³, PGA in g (converted from g, %g or m/s²), critical acceleration in g, displacement in cm.

* :func:`newmark_units` adds ``fs``, ``ac_g``, ``disp_cm`` and ``susceptibility`` to a table of units (slope
  units, points). Static failure (a_c ≤ 0, FS ≤ 1, D = +∞ in paper mode) is written as ``disp_cm`` = NaN (NULL in
  a GeoPackage) with ``susceptibility`` = 1.
* :func:`newmark_maps` brings slope, strength and ground-motion rasters (or a ShakeMap ``grid.xml``) onto the
  slope grid and runs either the Newmark chain of :func:`core.physics.newmark` or, with 7 slope-quantile rasters,
  the Godt et al. (2008) probability of :func:`core.physics.godt2008_probability`;
  :func:`write_newmark_maps` writes the results as GeoTIFFs, atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import pandas as pd

from . import physics
from .io import Grid, raster_bounds
from .progress import Progress, report
from .units import check_pga_g, pga_to_g, pga_unit

PathLike = Union[str, "os.PathLike[str]"]

UNIT_FIELDS = ("fs", "ac_g", "disp_cm", "susceptibility")
"""Fields that :func:`newmark_units` adds to the table."""

MAP_OUTPUTS = ("fs", "ac", "displacement", "probability")
"""Names of the rasters :func:`write_newmark_maps` can write."""

_MAP_LABELS = {
    "fs": "factor of safety",
    "ac": "critical acceleration (g)",
    "displacement": "Newmark displacement (cm)",
    "probability": "probability of landsliding",
}
_CELL_SIZE_RTOL = 0.01  # a CRS-less raster with about the grid's cell size is taken to share its CRS


# ------------------------------------------------------------------------------------------------ units (tables)


@dataclass(frozen=True, eq=False)
class UnitResult:
    """Outcome of :func:`newmark_units`: the table with the added fields, counts and notes for the log."""

    table: pd.DataFrame
    n_units: int
    n_static_failures: int
    mean_susceptibility: float
    warnings: tuple


def _column(table: pd.DataFrame, name: str, label: str) -> np.ndarray:
    """The numeric column ``name`` as float64; ``ValueError`` naming ``label`` if missing, non-numeric or NULL."""
    if name not in table.columns:
        fields = ", ".join(str(c) for c in table.columns if c != "geometry")
        raise ValueError(f"{label} {name!r} is not a field of the layer; its fields are: {fields}")
    column = table[name]
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise ValueError(f"{label} {name!r} is not numeric (its type is {column.dtype}); choose a numeric field")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    missing = int((~np.isfinite(values)).sum())
    if missing:
        raise ValueError(
            f"{label} {name!r} is NULL, NaN or infinite in {missing} of {values.size} features; "
            "fill or remove those features first"
        )
    return values


def _require(values: np.ndarray, ok: np.ndarray, label: str, name: str, rule: str) -> None:
    bad = ~ok
    if bad.any():
        raise ValueError(
            f"{label} {name!r} must be {rule}; {int(bad.sum())} of {values.size} features are not "
            f"(e.g. {values[bad][0]:g})"
        )


def newmark_units(
    table: pd.DataFrame,
    slope_field: str,
    pga_field: str,
    phi_field: str,
    pga_units: Union[str, int] = "g",
    ct_field: Optional[str] = None,
    cohesion_field: Optional[str] = None,
    thickness_field: Optional[str] = None,
    mode: str = "paper",
) -> UnitResult:
    """Factor of safety, a_c (g), Newmark displacement (cm) and susceptibility for every row of ``table``.

    Slope in degrees (0, 90], PGA in ``pga_units`` (g, %g or m/s², or their index), friction in degrees (0, 90),
    and either C/t in kPa/m (``ct_field``) or cohesion in kPa (``cohesion_field``) with thickness in m
    (``thickness_field``). Returns a copy of ``table`` (a GeoDataFrame stays one) with :data:`UNIT_FIELDS` added;
    ``susceptibility`` is the paper's Eq. 4 probability, 1 on static failure, where ``disp_cm`` is NaN.
    """
    unit = pga_unit(pga_units)
    if (ct_field is None) == (cohesion_field is None):
        raise ValueError("give either a C/t field (kPa/m) or a cohesion field (kPa) with a thickness field (m)")
    if cohesion_field is not None and thickness_field is None:
        raise ValueError("a cohesion field (kPa) needs a thickness field (m) to form C/t")
    if ct_field is not None and thickness_field is not None:
        raise ValueError("a thickness field goes with a cohesion field, not with a C/t field")
    if len(table) == 0:
        raise ValueError("the layer has no features")

    slope = _column(table, slope_field, "slope field")
    _require(slope, (slope > 0) & (slope <= 90), "slope field", slope_field, "in (0, 90] degrees")
    phi = _column(table, phi_field, "friction-angle field")
    _require(phi, (phi > 0) & (phi < 90), "friction-angle field", phi_field, "in (0, 90) degrees")
    if ct_field is not None:
        ct = _column(table, ct_field, "C/t field")
        _require(ct, ct >= 0, "C/t field", ct_field, "≥ 0 kPa/m")
    else:
        cohesion = _column(table, cohesion_field, "cohesion field")
        _require(cohesion, cohesion >= 0, "cohesion field", cohesion_field, "≥ 0 kPa")
        thickness = _column(table, thickness_field, "thickness field")
        _require(thickness, thickness > 0, "thickness field", thickness_field, "> 0 m")
        ct = cohesion / thickness
    pga_g = pga_to_g(_column(table, pga_field, "PGA field"), unit)
    check_pga_g(pga_g, unit, name=f"PGA field {pga_field!r}")

    result = physics.newmark(ct, phi, slope, pga_g, mode)
    static = np.isinf(result.disp_cm)
    warnings = tuple(
        f"the input field {name!r} is replaced by the computed one" for name in UNIT_FIELDS if name in table.columns
    )
    out = table.copy()
    out["fs"] = result.fs
    out["ac_g"] = result.ac_g
    out["disp_cm"] = np.where(static, np.nan, result.disp_cm)
    out["susceptibility"] = result.probability
    return UnitResult(
        table=out,
        n_units=len(out),
        n_static_failures=int(static.sum()),
        mean_susceptibility=float(result.probability.mean()),
        warnings=warnings,
    )


# ------------------------------------------------------------------------------------------------ rasters


@dataclass(frozen=True)
class RasterInputs:
    """Inputs of :func:`newmark_maps`: raster paths (band 1 is read) and the model settings.

    Exactly one of ``slope`` / ``slope_quantiles`` (7 rasters: min, 10, 30, 50, 70, 90th percentile, max),
    one of ``cohesion`` (kPa, with ``thickness_m``) / ``ct`` (kPa/m) and one of ``pga`` (raster in ``pga_unit``) /
    ``shakemap`` (grid.xml, PGA in %g). ``*_scale`` multiply the raster values (0.01 for degrees × 100,
    0.1 for kPa × 10). ``fs_floor`` and ``ac_floor_g`` of 0 mean no floor. ``nodata_cohesion`` (kPa, or kPa/m
    with a C/t raster) and ``nodata_friction_deg`` fill missing cells when given; otherwise such cells stay nodata.
    """

    friction: PathLike
    slope: Optional[PathLike] = None
    slope_quantiles: tuple = ()
    slope_scale: float = 1.0
    cohesion: Optional[PathLike] = None
    cohesion_scale: float = 1.0
    thickness_m: float = 2.4
    ct: Optional[PathLike] = None
    unit_weight_kn_m3: float = physics.RHO_G_KN_M3
    pga: Optional[PathLike] = None
    pga_unit: str = "g"
    shakemap: Optional[PathLike] = None
    fs_floor: float = 0.0
    ac_floor_g: float = 0.0
    nodata_cohesion: Optional[float] = None
    nodata_friction_deg: Optional[float] = None
    mode: str = "paper"

    @property
    def quantile_mode(self) -> bool:
        return bool(self.slope_quantiles)

    def check(self) -> None:
        """Raise ``ValueError`` for an inconsistent combination or an out-of-range setting."""
        if self.mode not in physics.PHYSICS_MODES:
            raise ValueError(f"unknown physics mode {self.mode!r}: use one of {', '.join(physics.PHYSICS_MODES)}")
        pga_unit(self.pga_unit)
        n_quantiles = len(physics.GODT2008_PROBABILITIES) - 1
        if (self.slope is None) == (not self.slope_quantiles):
            raise ValueError("give either a slope raster or the 7 slope-quantile rasters, not both or neither")
        if self.slope_quantiles and len(self.slope_quantiles) != n_quantiles:
            raise ValueError(
                f"slope quantiles: give {n_quantiles} rasters (min, 10, 30, 50, 70, 90th percentile, max), "
                f"got {len(self.slope_quantiles)}"
            )
        if self.quantile_mode and self.mode != "paper":
            raise ValueError(
                f"physics mode {self.mode!r} is not available with slope quantiles: the Godt et al. (2008) "
                "probability uses Jibson (2007) as published; use mode 'paper'"
            )
        if (self.cohesion is None) == (self.ct is None):
            raise ValueError("give either a cohesion raster (kPa, with a thickness) or a C/t raster (kPa/m)")
        if (self.pga is None) == (self.shakemap is None):
            raise ValueError("give either a PGA raster or a ShakeMap grid.xml, not both or neither")
        for name, value in (
            ("slope scale", self.slope_scale),
            ("cohesion scale", self.cohesion_scale),
            ("thickness (m)", self.thickness_m),
            ("unit weight (kN/m³)", self.unit_weight_kn_m3),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name, value in (("FS floor", self.fs_floor), ("a_c floor (g)", self.ac_floor_g)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be ≥ 0 (0 = no floor), got {value!r}")
        if self.nodata_cohesion is not None and not (math.isfinite(self.nodata_cohesion) and self.nodata_cohesion >= 0):
            raise ValueError(f"the fill for missing cohesion must be ≥ 0, got {self.nodata_cohesion!r}")
        if self.nodata_friction_deg is not None and not 0 < self.nodata_friction_deg < 90:
            raise ValueError(
                f"the fill for missing friction must lie in (0, 90) degrees, got {self.nodata_friction_deg!r}"
            )


@dataclass(frozen=True, eq=False)
class NewmarkMaps:
    """Outcome of :func:`newmark_maps` on the slope grid (row 0 = first row of the slope raster).

    ``fs``, ``ac_g`` and ``disp_cm`` are None in slope-quantile mode. NaN marks cells without data; ``fs`` is
    +inf on flat cells and ``disp_cm`` +inf on static failure (paper mode). ``warnings`` are notes for the log.
    """

    transform: object
    crs: object
    probability: np.ndarray
    fs: Optional[np.ndarray]
    ac_g: Optional[np.ndarray]
    disp_cm: Optional[np.ndarray]
    warnings: tuple

    def arrays(self) -> dict:
        """The maps by :data:`MAP_OUTPUTS` name (only those computed)."""
        maps = {"fs": self.fs, "ac": self.ac_g, "displacement": self.disp_cm, "probability": self.probability}
        return {name: values for name, values in maps.items() if values is not None}


@dataclass(frozen=True, eq=False)
class _Band:
    values: np.ndarray
    transform: object
    crs: object
    path: str


def _read_band(path: PathLike, label: str) -> _Band:
    """Band 1 of ``path`` as float64 with NaN where the raster has nodata."""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as src:
            values = src.read(1, masked=True).astype(float).filled(np.nan)
            return _Band(values=values, transform=src.transform, crs=src.crs, path=str(path))
    except RasterioIOError as exc:
        raise ValueError(f"{label}: cannot read {path} as a raster ({exc})") from exc


def _same_grid(band: _Band, grid: Grid) -> bool:
    return band.values.shape == grid.shape and band.transform.almost_equals(grid.transform, precision=1e-9)


def _same_cell_size(transform, other) -> bool:
    return all(
        math.isclose(a, b, rel_tol=_CELL_SIZE_RTOL, abs_tol=0.0)
        for a, b in ((transform.a, other.a), (transform.e, other.e), (transform.b, other.b), (transform.d, other.d))
    )


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _onto_grid(path: PathLike, label: str, grid: Grid, grid_label: str, method: str, warnings: list) -> np.ndarray:
    """Raster ``path`` resampled onto ``grid`` by ``"nearest"`` cell or ``"bilinear"`` interpolation (NaN outside).

    A raster without a CRS is taken to be in the grid's CRS when it lies on the grid itself or has the grid's
    cell size (within 1%) and overlaps it (a note goes to ``warnings``); otherwise a missing CRS is an error.
    """
    from rasterio.warp import Resampling, reproject

    band = _read_band(path, label)
    src_crs = band.crs
    if src_crs is None:
        if _same_grid(band, grid):
            warnings.append(
                f"{label} ({band.path}) has no CRS; its size and transform match those of {grid_label}, "
                "so it is taken as aligned with it"
            )
            return band.values
        box = raster_bounds(band.transform, *band.values.shape)
        if not (_same_cell_size(band.transform, grid.transform) and _overlaps(box, grid.bounds())):
            raise ValueError(
                f"{label} ({band.path}) has no CRS and does not fit the grid of {grid_label} (neither its size and "
                "transform nor its cell size and extent): assign its CRS first (e.g. with gdal:assignprojection)"
            )
        warnings.append(
            f"{label} ({band.path}) has no CRS; it has the cell size of {grid_label} (within 1%) and overlaps "
            f"it, so it is taken to be in the same CRS ({grid.crs.to_string()})"
        )
        src_crs = grid.crs
    if src_crs == grid.crs and _same_grid(band, grid):
        return band.values
    out = np.full(grid.shape, np.nan)
    reproject(
        band.values,
        out,
        src_transform=band.transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest if method == "nearest" else Resampling.bilinear,
    )
    return out


def _check_range(values: np.ndarray, label: str, low: float, high: float, hint: str = "") -> None:
    """``ValueError`` when finite ``values`` leave [low, high]; NaN (nodata) passes."""
    with np.errstate(invalid="ignore"):
        bad = (values < low) | (values > high)
    if bad.any():
        sample = values[bad]
        raise ValueError(
            f"{label} must lie in [{low:g}, {high:g}]; {int(bad.sum())} cells do not "
            f"(from {np.nanmin(sample):g} to {np.nanmax(sample):g}){hint}"
        )


def _cell_centres_lonlat(grid: Grid, rows: np.ndarray, cols: np.ndarray) -> tuple:
    xs, ys = grid.transform * (cols + 0.5, rows + 0.5)
    if grid.crs.to_epsg() == 4326:
        return xs, ys
    from rasterio.warp import transform

    lon, lat = transform(grid.crs, "EPSG:4326", xs, ys)
    return np.asarray(lon), np.asarray(lat)


def _shakemap_onto_grid(path: PathLike, grid: Grid, needed: np.ndarray) -> np.ndarray:
    """ShakeMap PGA in g, bilinear at the centre of every ``needed`` cell; ``ValueError`` if it does not cover them."""
    from .shakemap import read_shakemap_grid

    shakemap = read_shakemap_grid(path)
    rows, cols = np.nonzero(needed)
    lon, lat = _cell_centres_lonlat(grid, rows.astype(float), cols.astype(float))
    tol = 1e-9 * max(shakemap.dlon, shakemap.dlat)
    inside = (
        (lon >= shakemap.lon_min - tol)
        & (lon <= shakemap.lon_max + tol)
        & (lat >= shakemap.lat_min - tol)
        & (lat <= shakemap.lat_max + tol)
    )
    if not inside.all():
        west, south, east, north = grid.bounds()
        raise ValueError(
            f"the ShakeMap {path} ({shakemap.extent}) does not cover the raster grid: {int((~inside).sum())} of "
            f"{inside.size} cells with data lie outside it. Clip the rasters to the ShakeMap's extent first "
            f"(e.g. with gdal:cliprasterbyextent); the grid spans x {west:g}…{east:g}, y {south:g}…{north:g}"
        )
    pga = np.full(grid.shape, np.nan)
    pga[rows, cols] = shakemap.sample("PGA", lon, lat, method="bilinear", unit="g")
    return pga


def _fill(values: np.ndarray, fill: Optional[float]) -> np.ndarray:
    return values if fill is None else np.where(np.isnan(values), fill, values)


def _read_slopes(inputs: RasterInputs) -> tuple:
    """(slopes stacked as (k, rows, cols) in degrees, the grid, the name of the raster that defines it)."""
    paths = list(inputs.slope_quantiles) if inputs.quantile_mode else [inputs.slope]
    label = "slope-quantile raster 1" if inputs.quantile_mode else "slope raster"
    first = _read_band(paths[0], label)
    if first.crs is None:
        raise ValueError(f"the {label} ({first.path}) has no CRS: assign one first (e.g. with gdal:assignprojection)")
    grid = Grid(first.crs, first.transform, *first.values.shape)
    slopes = [first.values]
    for k, path in enumerate(paths[1:], start=2):
        band = _read_band(path, f"slope-quantile raster {k}")
        if not _same_grid(band, grid) or (band.crs is not None and band.crs != grid.crs):
            raise ValueError(
                f"slope-quantile raster {k} ({band.path}) is not on the grid of slope-quantile raster 1 "
                f"({first.path}): the 7 quantile rasters must share size, transform and CRS"
            )
        slopes.append(band.values)
    stack = np.stack(slopes) * inputs.slope_scale
    hint = (
        f" after scaling by {inputs.slope_scale:g}; for a degrees × 100 raster set the slope scale to 0.01"
        if np.nanmax(stack, initial=0) > 90
        else ""
    )
    what = "slope quantiles (degrees)" if inputs.quantile_mode else "slope (degrees)"
    _check_range(stack, what, 0.0, 90.0, hint)
    return stack, grid, f"the {label}"


def newmark_maps(inputs: RasterInputs, progress: Optional[Progress] = None) -> NewmarkMaps:
    """Run the Newmark chain (or, with slope quantiles, the Godt et al. 2008 probability) on the slope grid.

    Cohesion, C/t and friction are taken from the nearest cell, a PGA raster is interpolated bilinearly
    (rasterio.warp.reproject), a ShakeMap bilinearly at each cell centre (in lon/lat). Static failure gives
    probability 1. Raises ``ValueError`` for bad settings, rasters without a CRS that cannot be placed, values
    outside their physical range or a ShakeMap that does not cover the cells with slope data.
    """
    inputs.check()
    warnings: list = []
    report(progress, 0.0, "reading the slope rasters")
    slopes, grid, grid_label = _read_slopes(inputs)
    needed = ~np.isnan(slopes).all(axis=0)

    def onto(path: PathLike, label: str, method: str) -> np.ndarray:
        return _onto_grid(path, label, grid, grid_label, method, warnings)

    report(progress, 0.3, "bringing the strength rasters onto the slope grid")
    if inputs.cohesion is not None:
        strength = onto(inputs.cohesion, "cohesion raster", "nearest") * inputs.cohesion_scale
        _check_range(strength, "cohesion (kPa)", 0.0, math.inf, f" after scaling by {inputs.cohesion_scale:g}")
        strength = _fill(strength, inputs.nodata_cohesion)
        thickness = inputs.thickness_m
    else:
        strength = _fill(onto(inputs.ct, "C/t raster", "nearest"), inputs.nodata_cohesion)
        _check_range(strength, "C/t (kPa/m)", 0.0, math.inf)
        thickness = 1.0
    friction = _fill(onto(inputs.friction, "friction raster", "nearest"), inputs.nodata_friction_deg)
    with np.errstate(invalid="ignore"):
        bad_friction = (friction <= 0) | (friction >= 90)
    if bad_friction.any():
        raise ValueError(
            f"friction angle must lie in (0, 90) degrees; {int(bad_friction.sum())} cells do not (e.g. "
            f"{friction[bad_friction][0]:g}): set the raster's nodata value or fill them"
        )

    report(progress, 0.5, "bringing the ground motion onto the slope grid")
    if inputs.shakemap is not None:
        pga_g = _shakemap_onto_grid(inputs.shakemap, grid, needed)
    else:
        unit = pga_unit(inputs.pga_unit)
        pga_g = pga_to_g(onto(inputs.pga, "PGA raster", "bilinear"), unit)
        if np.isnan(pga_g[needed]).all():
            raise ValueError(f"the PGA raster {inputs.pga} has no values over the cells with slope data")
        check_pga_g(pga_g, unit, name="PGA raster")

    report(progress, 0.7, "computing the Newmark displacement")
    missing_strength = np.isnan(strength) | np.isnan(friction)
    if inputs.quantile_mode:
        probability = physics.godt2008_probability(
            slopes,
            strength,
            friction,
            pga_g,
            thickness_m=thickness,
            unit_weight_kn_m3=inputs.unit_weight_kn_m3,
            fs_floor=inputs.fs_floor,
            ac_floor_g=inputs.ac_floor_g,
            nodata_cohesion_kpa=np.nan,  # filled above only when asked
            nodata_friction_deg=np.nan,
        )
        probability = np.where(missing_strength, np.nan, probability)
        fs = ac = disp = None
    else:
        fs, ac, disp = _newmark_chain(slopes[0], strength / thickness, friction, pga_g, inputs)
        probability = physics.exceedance_probability(disp)
    n_nodata = int((needed & np.isnan(probability)).sum())
    if n_nodata:
        warnings.append(
            f"{n_nodata} cell(s) with slope data have no result: cohesion, friction or PGA is missing there"
        )
    report(progress, 1.0, "maps computed")
    return NewmarkMaps(grid.transform, grid.crs, probability, fs, ac, disp, tuple(warnings))


def _newmark_chain(slope, ct, friction, pga_g, inputs: RasterInputs) -> tuple:
    """FS, a_c (g) and D (cm) with the unit weight and the optional FS and a_c floors of ``inputs``."""
    gamma = inputs.unit_weight_kn_m3
    fs = physics.factor_of_safety(ct, friction, slope, inputs.mode, gamma)
    ac = physics.critical_acceleration(ct, friction, slope, inputs.mode, gamma)
    if inputs.fs_floor > 0:
        # a_c = (FS − 1)·sin α, so flooring FS floors a_c at (floor − 1)·sin α (finite on flat cells too)
        ac = np.maximum(ac, (inputs.fs_floor - 1.0) * np.sin(np.deg2rad(slope)))
        fs = np.maximum(fs, inputs.fs_floor)
    if inputs.ac_floor_g > 0:
        ac = np.maximum(ac, inputs.ac_floor_g)
    return fs, ac, physics.newmark_displacement(ac, pga_g, inputs.mode)


def write_newmark_maps(maps: NewmarkMaps, targets: Mapping[str, PathLike]) -> dict:
    """Write the maps named in ``targets`` (keys from :data:`MAP_OUTPUTS`) as float32 GeoTIFFs, atomically.

    Nodata is NaN; non-finite values (FS on flat cells, D on static failure) are written as nodata.
    Returns {name: Path}. Asking for a map that was not computed (FS, a_c, D in quantile mode) is an error.
    """
    from .io import write_geotiff

    available = maps.arrays()
    for name in targets:
        if name not in MAP_OUTPUTS:
            raise ValueError(f"unknown map {name!r}: use one of {', '.join(MAP_OUTPUTS)}")
        if name not in available:
            raise ValueError(f"the {_MAP_LABELS[name]} map is not computed in slope-quantile mode")
    written = {}
    for name, path in targets.items():
        values = available[name]
        data = np.where(np.isfinite(values), values, np.nan).astype(np.float32)
        written[name] = write_geotiff(
            path, data, maps.transform, maps.crs, nodata=np.nan, band_names=[_MAP_LABELS[name]]
        )
    return written
