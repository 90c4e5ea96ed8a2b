"""Terrain variables from a DEM: slope, aspect (as eastness/northness) and plan/profile curvature.

Derivatives come from a 3 × 3 window. Two estimators of the gradient are offered (:data:`TERRAIN_METHODS`):

* ``zevenbergen_thorne`` (default): central differences of the four edge neighbours, the gradient of the
  Zevenbergen & Thorne (1987) partial quartic. It is what SAGA, RSAGA and ArcGIS's curvature tools use, and it
  reproduces the slope and curvature bands of the reference raster ``ecuador_rbsf/ta.tif`` exactly.
* ``horn``: the 3 × 3 Sobel-weighted gradient of Horn (1981), as in ``gdaldem slope`` and QGIS's slope tool. It is
  smoother; on the Ecuador raster it differs from the Zevenbergen–Thorne slope by about 1° on average.

Second derivatives are always the Zevenbergen–Thorne ones (Horn defines none): with x east, y north, p = ∂z/∂x,
q = ∂z/∂y, r = ∂²z/∂x², t = ∂²z/∂y², s = ∂²z/∂x∂y and P = p² + q² (Florinsky 2016, Shary 1995):

* profile curvature (vertical/normal curvature along the slope line)
  ``-(r p² + 2 s p q + t q²) / (P (1 + P)^1.5)``,
* plan curvature (curvature of the contour line)
  ``-(t p² - 2 s p q + r q²) / P^1.5``,

both in 1/m, positive where the surface is convex (a dome or a spur: flow accelerates along the profile and
diverges across it), negative where concave (a valley floor or a hollow). Where P = 0 (a perfectly flat window)
both are 0, as are eastness and northness. Plan curvature grows without bound as the slope tends to zero, as the
contour-curvature definition implies. These are the definitions of SAGA's "Slope, Aspect, Curvature" tool.

Aspect is the compass direction a slope faces (downslope, clockwise from north); eastness = sin(aspect) and
northness = cos(aspect), so a slope facing east has eastness 1.

Edges and nodata: a neighbour outside the raster or on nodata is replaced by linear extrapolation through the centre
cell (2 z₀ − z of the opposite neighbour), i.e. the derivative becomes one-sided (SAGA's rule, which reproduces the
Ecuador reference on its edges). If the opposite neighbour is missing too, an edge neighbour takes the centre value
(zero derivative along that line) and a corner neighbour the plane through the centre and its two (filled) edge
neighbours, so a planar DEM gives exact values even at the raster's corners. Every valid cell gets a value and
only nodata cells are NaN.

Cell sizes are in metres: for a projected CRS the cell size times the CRS unit (feet are converted); for a
geographic CRS (lon/lat) each row gets its own sizes from the CRS ellipsoid at the row's latitude,
dx = N(φ)·cos φ·Δλ and dy = M(φ)·Δφ (N: prime-vertical radius, M: meridional radius of curvature). Elevations
are taken as metres.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .io import atomic_path
from .progress import Progress, report

TERRAIN_METHODS = ("zevenbergen_thorne", "horn")
"""Gradient estimators, in the order Processing enums list them; the first is the default."""

DEFAULT_METHOD = TERRAIN_METHODS[0]

TERRAIN_VARIABLE_NAMES = ("slope_deg", "eastness", "northness", "plan_curvature", "profile_curvature")
"""The variables :func:`terrain_variables` computes, in output order."""

# WGS 84, used when a geographic CRS carries no ellipsoid.
_WGS84_A = 6378137.0
_WGS84_INV_F = 298.257223563

# Rows processed together: bounds the float64 temporaries (~40 arrays of this many rows) for very wide rasters.
_CHUNK_CELLS = 1 << 21


@dataclass(frozen=True)
class TerrainVariables:
    """Terrain variables on the DEM grid (float32, NaN on nodata).

    ``slope_deg`` in degrees; ``eastness``/``northness`` dimensionless in [-1, 1]; curvatures in 1/m.
    """

    slope_deg: np.ndarray
    eastness: np.ndarray
    northness: np.ndarray
    plan_curvature: np.ndarray
    profile_curvature: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The variables by name, in :data:`TERRAIN_VARIABLE_NAMES` order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class GridMetrics:
    """Signed cell sizes in metres, one value per raster row.

    ``dx[i]`` is the metric length of one column step in row ``i`` (negative if columns run west), ``dy[i]`` of one
    row step (negative for the usual north-up raster, whose rows run south).
    """

    dx: np.ndarray
    dy: np.ndarray

    @property
    def cell_area(self) -> np.ndarray:
        """Area of one cell in each row, m²."""
        return np.abs(self.dx * self.dy)


def method_name(method: Union[str, int]) -> str:
    """Normalise a method name (or its index in :data:`TERRAIN_METHODS`)."""
    if isinstance(method, (int, np.integer)) and not isinstance(method, bool):
        if not 0 <= int(method) < len(TERRAIN_METHODS):
            raise ValueError(f"terrain method index {method} is out of range: use 0..{len(TERRAIN_METHODS) - 1}")
        return TERRAIN_METHODS[int(method)]
    name = str(method).strip().lower().replace("-", "_").replace(" ", "_")
    if name in ("zt", "zevenbergen", "zevenbergen_thorne"):
        return "zevenbergen_thorne"
    if name == "horn":
        return "horn"
    raise ValueError(f"terrain method {method!r} is unknown: use one of {TERRAIN_METHODS}")


def _crs_info(crs) -> tuple[bool, float, float, float]:
    """(is_geographic, metres per linear unit, semi-major axis m, inverse flattening) of ``crs``."""
    from pyproj import CRS

    try:
        pcrs = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError; report it as bad input
        raise ValueError(f"crs {crs!r} is not a coordinate reference system pyproj understands: {exc}") from exc
    ellipsoid = pcrs.ellipsoid
    a = ellipsoid.semi_major_metre if ellipsoid is not None else _WGS84_A
    inv_f = ellipsoid.inverse_flattening if ellipsoid is not None else _WGS84_INV_F
    if pcrs.is_geographic:
        return True, 1.0, a, inv_f
    factor = 1.0
    if pcrs.axis_info and pcrs.axis_info[0].unit_conversion_factor:
        factor = float(pcrs.axis_info[0].unit_conversion_factor)
    return False, factor, a, inv_f


def grid_metrics(transform, height: int, crs=None, row_offset: int = 0) -> GridMetrics:
    """Cell sizes in metres for rows ``row_offset .. row_offset + height - 1`` of a raster.

    ``crs=None`` means the transform is already in metres; a transform whose cells are smaller than 1 cm and that
    lies within lon/lat bounds is then rejected as probably geographic (pass the CRS).
    """
    a, b, c, d, e, f = (transform.a, transform.b, transform.c, transform.d, transform.e, transform.f)
    if b != 0 or d != 0:
        raise ValueError(f"transform is rotated (b={b}, d={d}): terrain derivatives need a north-up grid")
    if a == 0 or e == 0:
        raise ValueError(f"transform has a zero cell size (a={a}, e={e})")
    rows = np.arange(row_offset, row_offset + height, dtype=np.float64)
    if crs is None:
        if max(abs(a), abs(e)) < 0.01 and abs(c) <= 360 and abs(f) <= 90:
            raise ValueError(
                f"cell size {abs(a):g} × {abs(e):g} looks like degrees but no crs was given: pass the DEM's CRS "
                "(e.g. crs='EPSG:4326' for lon/lat)"
            )
        return GridMetrics(np.full(height, float(a)), np.full(height, float(e)))
    geographic, factor, semi_major, inv_f = _crs_info(crs)
    if not geographic:
        return GridMetrics(np.full(height, a * factor), np.full(height, e * factor))
    lat = np.radians(f + e * (rows + 0.5))
    if np.any(np.abs(lat) > math.pi / 2 + 1e-9):
        raise ValueError(f"rows reach latitude {np.degrees(np.abs(lat).max()):.3f}°, beyond ±90°: check the transform")
    flattening = 1.0 / inv_f if inv_f else 0.0
    e2 = flattening * (2.0 - flattening)
    w = np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    prime_vertical = semi_major / w
    meridional = semi_major * (1.0 - e2) / w**3
    dx = prime_vertical * np.cos(lat) * math.radians(a)
    dy = meridional * math.radians(e)
    return GridMetrics(dx, dy)


def _as_float_dem(dem, nodata: Optional[float]) -> np.ndarray:
    """DEM as a float64 2-D array with NaN for nodata, masked and non-finite cells."""
    if isinstance(dem, np.ma.MaskedArray):
        arr = np.ma.filled(dem.astype(np.float64), np.nan)
    else:
        arr = np.asarray(dem)
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"dem must be a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"dem must be a 2-D array (rows, cols), got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"dem is empty (shape {arr.shape})")
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        arr[arr == nodata] = np.nan
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _fill_missing(nb: np.ndarray, opposite: np.ndarray, centre: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """A neighbour, or 2·centre − opposite where it is missing, or ``fallback`` where both are missing."""
    out = np.where(np.isnan(nb), 2.0 * centre - opposite, nb)
    return np.where(np.isnan(out), fallback, out)


def _window_variables(padded: np.ndarray, metrics: GridMetrics, method: str) -> dict[str, np.ndarray]:
    """Variables of the interior of ``padded`` (rows and columns with a one-cell NaN-or-data halo)."""
    height, width = padded.shape[0] - 2, padded.shape[1] - 2

    def nb(dr: int, dc: int) -> np.ndarray:
        return padded[1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]

    z = nb(0, 0)
    # r-1 is "up" (the previous row), c+1 "right"; signs of dx, dy map them to compass directions.
    up, down, left, right = nb(-1, 0), nb(1, 0), nb(0, -1), nb(0, 1)
    ul, ur, dl, dr = nb(-1, -1), nb(-1, 1), nb(1, -1), nb(1, 1)
    up, down = _fill_missing(up, down, z, z), _fill_missing(down, up, z, z)
    left, right = _fill_missing(left, right, z, z), _fill_missing(right, left, z, z)
    ul, dr = _fill_missing(ul, dr, z, up + left - z), _fill_missing(dr, ul, z, down + right - z)
    ur, dl = _fill_missing(ur, dl, z, up + right - z), _fill_missing(dl, ur, z, down + left - z)

    dx = metrics.dx[:, np.newaxis]
    dy = metrics.dy[:, np.newaxis]
    if method == "horn":
        p = ((ur + 2.0 * right + dr) - (ul + 2.0 * left + dl)) / (8.0 * dx)
        q = ((dl + 2.0 * down + dr) - (ul + 2.0 * up + ur)) / (8.0 * dy)
    else:
        p = (right - left) / (2.0 * dx)
        q = (down - up) / (2.0 * dy)
    r = (left + right - 2.0 * z) / (dx * dx)
    t = (up + down - 2.0 * z) / (dy * dy)
    s = (dr - dl - ur + ul) / (4.0 * dx * dy)

    grad2 = p * p + q * q
    grad = np.sqrt(grad2)
    flat = grad2 == 0.0
    safe2 = np.where(flat, 1.0, grad2)
    safe = np.where(flat, 1.0, grad)
    profile = -(r * p * p + 2.0 * s * p * q + t * q * q) / (safe2 * (1.0 + grad2) ** 1.5)
    plan = -(t * p * p - 2.0 * s * p * q + r * q * q) / (safe2 * safe)
    invalid = np.isnan(z)
    out = {
        "slope_deg": np.degrees(np.arctan(grad)),
        "eastness": np.where(flat, 0.0, -p / safe),
        "northness": np.where(flat, 0.0, -q / safe),
        "plan_curvature": np.where(flat, 0.0, plan),
        "profile_curvature": np.where(flat, 0.0, profile),
    }
    for key, value in out.items():
        value = value.astype(np.float32)
        value[invalid] = np.nan
        out[key] = value
    return out


def _chunk_rows(width: int) -> int:
    return max(16, _CHUNK_CELLS // max(width, 1))


def terrain_variables(
    dem: np.ndarray,
    transform,
    crs=None,
    method: Union[str, int] = DEFAULT_METHOD,
    nodata: Optional[float] = None,
) -> TerrainVariables:
    """Slope (°), eastness, northness and plan/profile curvature (1/m) of ``dem`` (metres).

    ``transform`` is the DEM's ``affine.Affine``; ``crs`` its CRS (``None``: cell sizes already in metres; a
    geographic CRS gives per-row metric cell sizes). ``nodata`` cells, NaN and masked cells become NaN.
    """
    method = method_name(method)
    z = _as_float_dem(dem, nodata)
    if np.isnan(z).all():
        raise ValueError(f"dem has no valid cell: all {z.size} cells are nodata ({nodata}) or non-finite")
    height, width = z.shape
    metrics = grid_metrics(transform, height, crs)
    padded = np.pad(z, 1, constant_values=np.nan)
    results: dict[str, list[np.ndarray]] = {name: [] for name in TERRAIN_VARIABLE_NAMES}
    step = _chunk_rows(width)
    for r0 in range(0, height, step):
        r1 = min(r0 + step, height)
        part = _window_variables(
            padded[r0 : r1 + 2], GridMetrics(metrics.dx[r0:r1], metrics.dy[r0:r1]), method
        )
        for name, value in part.items():
            results[name].append(value)
    return TerrainVariables(**{name: np.concatenate(parts) for name, parts in results.items()})


def _output_paths(
    outputs: Union[str, os.PathLike, Mapping[str, Union[str, os.PathLike]]],
    variables: Optional[Sequence[str]],
) -> dict[str, Path]:
    if isinstance(outputs, Mapping):
        if variables is not None:
            raise ValueError("give either a mapping of outputs or variables with an output folder, not both")
        paths = {str(k): Path(v) for k, v in outputs.items()}
    else:
        names = tuple(TERRAIN_VARIABLE_NAMES if variables is None else variables)
        paths = {name: Path(outputs) / f"{name}.tif" for name in names}
    if not paths:
        raise ValueError("no output requested: name at least one of " + ", ".join(TERRAIN_VARIABLE_NAMES))
    unknown = sorted(set(paths) - set(TERRAIN_VARIABLE_NAMES))
    if unknown:
        raise ValueError(f"unknown terrain variable(s) {unknown}: use {TERRAIN_VARIABLE_NAMES}")
    return paths


def write_terrain_variables(
    dem_path: Union[str, os.PathLike],
    outputs: Union[str, os.PathLike, Mapping[str, Union[str, os.PathLike]]],
    method: Union[str, int] = DEFAULT_METHOD,
    variables: Optional[Sequence[str]] = None,
    crs=None,
    band: int = 1,
    block_rows: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> dict[str, Path]:
    """Compute terrain variables of a DEM file block by block and write each as a float32 GeoTIFF.

    ``outputs`` is a folder (files ``<variable>.tif`` for ``variables``, default all) or a mapping
    ``{variable: path}``. ``crs`` overrides the file's CRS (needed for files without one, e.g. an ESRI ASCII grid
    in lon/lat). Rows are read in blocks of ``block_rows`` with a one-row halo, so memory stays bounded; the result
    equals :func:`terrain_variables` on the whole array. Files appear atomically when complete.
    """
    import rasterio
    from rasterio.crs import CRS
    from rasterio.windows import Window

    method = method_name(method)
    paths = _output_paths(outputs, variables)
    with rasterio.open(dem_path) as src:
        if not 1 <= band <= src.count:
            raise ValueError(f"band {band} does not exist in {dem_path}: it has bands 1..{src.count}")
        height, width = src.height, src.width
        transform = src.transform
        out_crs = crs if crs is not None else src.crs
        metrics = grid_metrics(transform, height, out_crs)
        rows = _chunk_rows(width) if block_rows is None else int(block_rows)
        if rows < 1:
            raise ValueError(f"block_rows must be at least 1, got {block_rows}")
        profile = {
            "driver": "GTiff",
            "height": height,
            "width": width,
            "count": 1,
            "dtype": "float32",
            "transform": transform,
            "nodata": float("nan"),
            "compress": "deflate",
        }
        if out_crs is not None:
            profile["crs"] = CRS.from_user_input(out_crs)
        if height >= 256 and width >= 256:
            profile.update(tiled=True, blockxsize=256, blockysize=256)

        any_valid = False
        with contextlib.ExitStack() as stack:
            sinks = {}
            for name, path in paths.items():
                tmp = stack.enter_context(atomic_path(path))
                sinks[name] = stack.enter_context(rasterio.open(tmp, "w", **profile))
                sinks[name].set_band_description(1, name)
            for r0 in range(0, height, rows):
                r1 = min(r0 + rows, height)
                lo, hi = max(r0 - 1, 0), min(r1 + 1, height)
                block = src.read(band, window=Window(0, lo, width, hi - lo), masked=True)
                z = _as_float_dem(block, src.nodata)
                any_valid = any_valid or bool(np.isfinite(z[r0 - lo : r1 - lo]).any())
                padded = np.full((r1 - r0 + 2, width + 2), np.nan)
                padded[1 - (r0 - lo) : 1 - (r0 - lo) + z.shape[0], 1:-1] = z
                part = _window_variables(padded, GridMetrics(metrics.dx[r0:r1], metrics.dy[r0:r1]), method)
                for name, sink in sinks.items():
                    sink.write(part[name], 1, window=Window(0, r0, width, r1 - r0))
                report(progress, r1 / height, f"terrain variables: row {r1} of {height}")
            if not any_valid:
                raise ValueError(f"{dem_path} band {band} has no valid cell: every cell is nodata")
    return paths
