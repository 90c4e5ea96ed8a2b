"""Zonal statistics of rasters and a landslide inventory onto slope units: one table row per unit.

``aggregate_slope_units`` keeps the units' fields and adds, per continuous raster, ``<name>_<statistic>``; per
class raster ``<name>_maj`` and optionally ``<name>_f<class>``; ``valid_frac``; and, from an inventory,
``landslide``, ``ls_count`` and ``ls_area_frac``.

Which pixels count (``pixel_rule``)
    ``"centre"`` (default, QGIS's rule): a pixel counts for a unit when its centre lies inside the unit. A unit
    holding at most one valid pixel centre of a raster (a sliver, or a unit smaller than a pixel) is measured
    instead from every valid pixel it overlaps, each weighted by the fraction w of the pixel it covers, exactly as
    ``native:zonalstatisticsfb`` does: count = Σw, sum = Σw·v, mean = sum / count; min, max, median and
    percentiles over the overlapped pixels unweighted; std = √(Σ(v − mean)² / number of overlapped pixels).
    A centre lying exactly on a unit's boundary counts for neither side, as in QGIS, except on an east–west edge,
    where it counts for the unit south of the edge (only grids and units built to line up can do this).
    ``"exact"``: every pixel the unit overlaps counts with weight w = covered fraction (computed exactly from the
    polygon's edges): count = Σw (in pixels), sum = Σw·v, mean = Σw·v / Σw, std = √(Σw·(v − mean)² / Σw);
    min and max over pixels with w > 0; median and percentiles weighted (the weighted percentile of Wikipedia's
    "Percentile" article, which is numpy's ``linear`` method when all weights are equal).
    std is always the population standard deviation (divided by the count, not count − 1), as in QGIS.
    Percentiles ``p<q>`` (``p10``, ``p2.5`` → column ``_p2_5``) interpolate linearly (numpy's default method).

Nodata and NaN pixels are ignored. A unit without any valid pixel gets NULL (NaN) statistics, count and sum 0,
and is counted in a warning. Units are transformed to each raster's CRS; rasters are never resampled. Overlapping
units each get all their pixels (a pixel may count for several units).

Class rasters (integer values): ``<name>_maj`` is the class with the largest weight (pixel count under the centre
rule), ties going to the smallest class; ``<name>_f<class>`` (``_fm1`` for class −1) is the class's share of
the unit's valid weight.

``valid_frac`` is the share of the unit's area covered by valid pixels of the first continuous raster (of the
first class raster when there is no continuous one). Under the centre rule it is (valid pixel centres / all
pixel centres of that raster's grid in the unit) × (share of the unit's area inside the raster's extent); for a
unit measured by coverage (the exact rule, or a unit with at most one pixel centre) it is Σw over valid pixels ×
pixel area / unit area. It is 0 for a unit without valid pixels.

Inventory (points or polygons, any CRS, reprojected to the units' CRS): every landslide feature is counted once.
A point belongs to the unit that covers it; a point on a boundary shared by several units goes to the first of
them in table order, so no point is counted twice. A multipoint counts once, in the unit holding most of its
points. A polygon counts once, in the unit holding most of its area (ties: the first unit). ``ls_count`` is the
number of landslides so assigned, ``landslide`` is 1 where ``ls_count`` > 0, and ``ls_area_frac`` is the share of
the unit's area covered by the union of the landslide polygons, measured in the units' CRS (0 for point
inventories). Landslides outside every unit are not counted and are reported in a warning.

Output names: a raster's name is ``RasterSource.name`` or, when that is None, its file name (plus ``_b<band>``
for a multi-band file), lower-cased with every run of characters outside [a-z0-9] replaced by ``_`` (and ``r_``
before a leading digit). A derived name that clashes (case-insensitively, as in a GeoPackage) with an input
field, a fixed output field or another raster's columns gets the first free suffix ``_2``, ``_3``… in input
order; explicit names are sanitised but never renamed, so a clash of an explicit name is a ``ValueError``. The
fixed fields ``valid_frac``, ``landslide``, ``ls_count`` and ``ls_area_frac`` replace input fields of the same
name, with a warning.

Memory: rasters are read in windows of whole rows (over the units' column span), sized so that the working
arrays stay below ``max_memory_mb``; only per-unit results (a few numbers per unit, raster and statistic) and,
for medians and percentiles, the pixels of units straddling a window boundary come on top.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from .progress import Progress, report, scaled

if TYPE_CHECKING:
    import geopandas as gpd

STATISTICS = ("count", "sum", "mean", "std", "min", "max", "range", "median")
"""Statistic names accepted besides percentiles ``p<q>`` with 0 ≤ q ≤ 100."""

DEFAULT_STATISTICS = ("mean", "std")

PIXEL_RULES = ("centre", "exact")

VALID_FIELD = "valid_frac"
INVENTORY_FIELDS = ("landslide", "ls_count", "ls_area_frac")
FIXED_FIELDS = (VALID_FIELD, *INVENTORY_FIELDS)

MAX_CLASSES = 1024
"""Most distinct values a class raster may have inside the units."""

_BYTES_PER_PIXEL = 64  # working arrays per window pixel: labels, values, shifts, deviations, masks
_BYTES_PER_PIXEL_SORT = 48  # extra per pixel when medians or percentiles are requested
_MAX_WINDOW_PIXELS = 1 << 21  # larger windows only cost cache misses
_MIN_COVERAGE = 1e-10  # pixel fractions below this are rounding noise of pixels merely touched


@dataclass(frozen=True)
class RasterSource:
    """One raster band to aggregate; ``name`` (None: from the file name) prefixes its output columns."""

    path: Union[str, os.PathLike]
    name: Optional[str] = None
    band: int = 1


@dataclass
class AggregationResult:
    """The units with their new columns, warnings for the user, and the columns added per raster name."""

    frame: gpd.GeoDataFrame
    warnings: list[str]
    columns: dict[str, list[str]]


@dataclass(frozen=True)
class _Stat:
    suffix: str
    kind: str
    q: float = math.nan  # quantile in [0, 1] for kind "quantile"


@dataclass
class _Layer:
    source: RasterSource
    categorical: bool
    path: str
    band: int
    crs: object
    transform: object
    width: int
    height: int
    nodata: Optional[float]
    multiband: bool
    name: str = ""
    grid: Optional[_Grid] = None


@dataclass
class _Rings:
    """Unit boundaries in a grid's pixel coordinates (u: column, v: row), rings closed and concatenated.

    Exterior rings run so that ∮u dv < 0 and holes the other way, which makes the coverage sums positive.
    """

    u: np.ndarray
    v: np.ndarray
    edge_ok: np.ndarray  # vertex k starts an edge to vertex k + 1
    unit: np.ndarray  # unit position of each vertex
    row0: np.ndarray  # per unit: first and last+1 pixel row and column touched (may lie outside the grid)
    row1: np.ndarray
    col0: np.ndarray
    col1: np.ndarray


@dataclass
class _Grid:
    transform: object
    width: int
    height: int
    geoms: list  # units in this grid's CRS
    rings: _Rings
    present: np.ndarray  # unit has a non-empty geometry
    windows: list[tuple[int, int]] = field(default_factory=list)  # row ranges
    col0: int = 0
    col1: int = 0


@dataclass
class _Sparse:
    """Weighted (unit, pixel) pairs of one window: pixels not described by the label image."""

    unit: np.ndarray
    flat: np.ndarray
    weight: np.ndarray

    @staticmethod
    def empty() -> _Sparse:
        return _Sparse(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


@dataclass
class _Window:
    row1: int  # first row after the window
    labels: np.ndarray  # flat, unit position + 1, 0 for none
    sparse: _Sparse
    run_start: np.ndarray
    all_centres: np.ndarray  # per unit: pixel centres of the grid in this window (valid or not)


# ----------------------------------------------------------------------------------------------- inputs


def _check_units(units) -> tuple[np.ndarray, list[str]]:
    """Which units have a geometry, and warnings; raises on anything that is not a polygon layer."""
    import geopandas as gpd

    if not isinstance(units, gpd.GeoDataFrame):
        raise ValueError(f"units must be a GeoDataFrame of polygons, got {type(units).__name__}")
    if len(units) == 0:
        raise ValueError("units: the layer has no features")
    if units.crs is None:
        raise ValueError("units: the layer has no CRS; set one (e.g. units.set_crs('EPSG:32633'))")
    types = set(units.geom_type.dropna())
    bad = sorted(types - {"Polygon", "MultiPolygon"})
    if bad:
        raise ValueError(f"units must be polygons or multipolygons, found {bad}")
    warnings = []
    present = ~np.asarray(units.geometry.isna() | units.geometry.is_empty, bool)
    if not present.all():
        warnings.append(f"{int((~present).sum())} slope unit(s) have no geometry: their values are NULL")
    return present, warnings


def _parse_statistics(statistics: Sequence[str]) -> list[_Stat]:
    if isinstance(statistics, str):
        statistics = [statistics]
    out: list[_Stat] = []
    for raw in statistics:
        name = str(raw).strip().lower()
        match = re.fullmatch(r"p(\d+(?:\.\d+)?)", name)
        if name in STATISTICS:
            stat = _Stat(name, name)
        elif match and 0.0 <= float(match.group(1)) <= 100.0:
            q = float(match.group(1))
            text = f"{q:g}".replace(".", "_")
            stat = _Stat(f"p{text}", "quantile", q / 100.0)
        else:
            raise ValueError(
                f"unknown statistic {raw!r}: use {', '.join(STATISTICS)} or a percentile p0…p100 such as p90"
            )
        if stat.suffix not in {s.suffix for s in out}:
            out.append(stat)
    return out


def _open_layers(sources: Sequence, categorical: bool, units_crs, warnings: list[str]) -> list[_Layer]:
    import rasterio
    from rasterio.crs import CRS

    layers = []
    for src in sources:
        if isinstance(src, (str, os.PathLike)):
            src = RasterSource(src)
        if not isinstance(src, RasterSource):
            raise ValueError(f"rasters must be RasterSource or paths, got {type(src).__name__}")
        what = "class raster" if categorical else "raster"
        try:
            ds = rasterio.open(src.path)
        except Exception as exc:  # rasterio raises its own IO errors
            raise ValueError(f"{what} {str(src.path)!r} cannot be opened: {exc}") from exc
        with ds:
            if not 1 <= int(src.band) <= ds.count:
                raise ValueError(f"{what} {str(src.path)!r}: band {src.band} does not exist (it has {ds.count})")
            t = ds.transform
            if t.b != 0 or t.d != 0:
                raise ValueError(f"{what} {str(src.path)!r} is rotated or sheared: warp it north-up first")
            crs = ds.crs
            if crs is None:
                crs = CRS.from_user_input(units_crs)
                warnings.append(f"{what} {str(src.path)!r} has no CRS: taken to be the units' CRS")
            nodata = ds.nodatavals[int(src.band) - 1]
            if categorical and np.dtype(ds.dtypes[int(src.band) - 1]).kind == "c":
                raise ValueError(f"class raster {str(src.path)!r} is complex-valued")
            layers.append(
                _Layer(
                    src, categorical, str(src.path), int(src.band), crs, t, ds.width, ds.height,
                    nodata, ds.count > 1,
                )
            )  # fmt: skip
    return layers


def sanitise_name(text: str) -> str:
    """``text`` lower-cased with runs of characters outside [a-z0-9] turned into ``_``; never empty."""
    name = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    if not name:
        return "raster"
    return f"r_{name}" if name[0].isdigit() else name


def _layer_columns(name: str, layer: _Layer, stats: list[_Stat]) -> list[str]:
    if layer.categorical:
        return [f"{name}_maj"]
    return [f"{name}_{s.suffix}" for s in stats]


def _name_taken(name: str, layer: _Layer, stats, taken: set, used_names: set) -> bool:
    if name in used_names:
        return True
    if any(c in taken for c in _layer_columns(name, layer, stats)):
        return True
    # class-fraction columns are only known later: no input field may look like one
    pattern = re.compile(rf"{re.escape(name)}_fm?\d+")
    return layer.categorical and any(pattern.fullmatch(c) for c in taken)


def _assign_names(layers: list[_Layer], existing: Sequence[str], stats: list[_Stat]) -> None:
    taken = {str(c).lower() for c in existing} | set(FIXED_FIELDS)
    used: set[str] = set()
    for layer in layers:
        if layer.source.name is None:
            continue
        name = sanitise_name(layer.source.name)
        if name in used:
            raise ValueError(f"two rasters are both named {name!r}: give each raster a distinct name")
        if _name_taken(name, layer, stats, taken, used):
            raise ValueError(
                f"raster name {name!r} gives columns that already exist in the units or the output "
                f"({', '.join(_layer_columns(name, layer, stats))}): choose another name"
            )
        layer.name = name
        used.add(name)
    for layer in layers:
        if layer.name:
            continue
        base = sanitise_name(Path(layer.path).stem) + (f"_b{layer.band}" if layer.multiband else "")
        base = sanitise_name(base)
        name, k = base, 1
        while _name_taken(name, layer, stats, taken, used):
            k += 1
            name = f"{base}_{k}"
        layer.name = name
        used.add(name)


# ----------------------------------------------------------------------------------------------- geometry


def _wkb_rings(data: bytes) -> list[tuple[np.ndarray, bool]]:
    """(xy array, is_hole) for every ring of a (multi)polygon WKB, 2-D coordinates only."""
    rings: list[tuple[np.ndarray, bool]] = []

    def polygon(off: int) -> int:
        order = "<" if data[off] == 1 else ">"
        kind = struct.unpack_from(order + "I", data, off + 1)[0]
        dims = _wkb_dims(kind)
        off += 5 + (4 if kind & 0x20000000 else 0)
        (n_rings,) = struct.unpack_from(order + "I", data, off)
        off += 4
        for i in range(n_rings):
            (n,) = struct.unpack_from(order + "I", data, off)
            off += 4
            xy = np.frombuffer(data, order + "f8", n * dims, off).reshape(n, dims)[:, :2]
            rings.append((xy, i > 0))
            off += 8 * n * dims
        return off

    order = "<" if data[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", data, 1)[0]
    base = (kind & 0xFFFF) % 1000
    if base == 3:
        polygon(0)
    else:  # multipolygon
        off = 5 + (4 if kind & 0x20000000 else 0)
        (n_parts,) = struct.unpack_from(order + "I", data, off)
        off += 4
        for _ in range(n_parts):
            off = polygon(off)
    return rings


def _wkb_all(geoms: list) -> list[bytes]:
    """WKB of every geometry (one writer for all: shapely 1.8 makes a new one per ``.wkb``)."""
    import shapely

    if hasattr(shapely, "to_wkb"):  # shapely >= 2
        return list(shapely.to_wkb(np.asarray(geoms, dtype=object)))
    from shapely.geos import WKBWriter, lgeos

    writer = WKBWriter(lgeos)
    return [writer.write(g) for g in geoms]


def _wkb_dims(kind: int) -> int:
    iso = (kind & 0xFFFF) // 1000  # 1: Z, 2: M, 3: ZM
    dims = 2 + (iso in (1, 2)) + 2 * (iso == 3)
    dims += bool(kind & 0x80000000) + bool(kind & 0x40000000)  # EWKB Z and M flags
    return dims


def _pixel_rings(geoms: list, present: np.ndarray, transform) -> _Rings:
    """Unit rings in pixel coordinates of ``transform``, oriented for :func:`_coverage`."""
    xs, ys, starts, holes, ring_units = [], [], [0], [], []
    blobs = _wkb_all([geoms[pos] for pos in np.flatnonzero(present)])
    for pos, blob in zip(np.flatnonzero(present), blobs):
        for xy, hole in _wkb_rings(blob):
            if len(xy) < 4:
                continue
            xs.append(xy[:, 0])
            ys.append(xy[:, 1])
            starts.append(starts[-1] + len(xy))
            holes.append(hole)
            ring_units.append(pos)
    n_units = len(geoms)
    if not xs:
        empty = np.zeros(0)
        bounds = np.zeros(n_units, np.int64)
        return _Rings(empty, empty, np.zeros(0, bool), np.zeros(0, np.int64), bounds, bounds, bounds, bounds)
    start = np.asarray(starts, np.int64)
    ring_unit = np.asarray(ring_units, np.int64)
    ring_hole = np.asarray(holes, bool)
    u = (np.concatenate(xs) - transform.c) / transform.a
    v = (np.concatenate(ys) - transform.f) / transform.e
    lengths = np.diff(start)
    ring_of = np.repeat(np.arange(lengths.size), lengths)
    # orientation: the shoelace sum ∮u dv per ring; exteriors must be negative, holes positive
    nxt = np.arange(u.size) + 1
    last = start[1:] - 1
    nxt[last] = start[:-1]
    cross = u * v[nxt] - u[nxt] * v
    area = np.bincount(ring_of, weights=cross, minlength=lengths.size)
    flip = np.where(ring_hole, area < 0, area > 0)
    if flip.any():
        idx = np.arange(u.size)
        f = flip[ring_of]
        # reversed position inside the ring: start + (end - 1 - (k - start))
        idx[f] = (start[:-1][ring_of] + start[1:][ring_of] - 1 - idx)[f]
        u, v = u[idx], v[idx]
    edge_ok = np.ones(u.size, bool)
    edge_ok[last] = False
    unit = ring_unit[ring_of]
    big = np.iinfo(np.int64).max // 4
    row0 = np.full(n_units, big, np.int64)
    col0 = np.full(n_units, big, np.int64)
    row1 = np.full(n_units, -big, np.int64)
    col1 = np.full(n_units, -big, np.int64)
    first = start[:-1]
    np.minimum.at(row0, ring_unit, np.floor(np.minimum.reduceat(v, first)).astype(np.int64))
    np.minimum.at(col0, ring_unit, np.floor(np.minimum.reduceat(u, first)).astype(np.int64))
    np.maximum.at(row1, ring_unit, np.floor(np.maximum.reduceat(v, first)).astype(np.int64) + 1)
    np.maximum.at(col1, ring_unit, np.floor(np.maximum.reduceat(u, first)).astype(np.int64) + 1)
    return _Rings(u, v, edge_ok, unit, row0, row1, col0, col1)


def _coverage(
    rings: _Rings, selected: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], interior: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact fractions of pixels covered by the selected units inside a block of the grid.

    Returns (unit, row, col, weight) for every pixel crossed by a selected unit's boundary, and with
    ``interior`` also every pixel lying wholly inside (weight 1). Pixels are cells of side 1 in pixel space.

    Each edge is cut at the grid lines; a piece inside cell (r, q) adds ∫(q + 1 − u) dv to that cell and dv to
    every cell right of it in row r (the area between the piece and the cell's right side, by Green's
    theorem). Summing the per-cell parts and the running sum of the right-hand parts along each row gives the
    covered area of each cell, exact up to rounding.
    """
    r0, r1 = rows
    c0, c1 = cols
    width, height = c1 - c0, r1 - r0
    k = np.flatnonzero(rings.edge_ok & selected[rings.unit])
    ua, ub, va, vb = rings.u[k], rings.u[k + 1], rings.v[k], rings.v[k + 1]
    unit = rings.unit[k]
    du, dv = ub - ua, vb - va
    n_edges = k.size
    ts = [np.zeros(n_edges), np.ones(n_edges)]
    es = [np.arange(n_edges), np.arange(n_edges)]
    for a, d, lo_lim, hi_lim in ((ua, du, c0, c1), (va, dv, r0, r1)):
        # grid lines strictly inside the edge, limited to the block (pieces beyond it are clamped below)
        lo = np.maximum(np.floor(np.minimum(a, a + d)) + 1, lo_lim)
        hi = np.minimum(np.ceil(np.maximum(a, a + d)) - 1, hi_lim)
        count = np.maximum(hi - lo + 1, 0).astype(np.int64)
        total = int(count.sum())
        if total:
            e = np.repeat(np.arange(n_edges), count)
            line = lo[e] + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
            ts.append((line - a[e]) / d[e])
            es.append(e)
    t = np.concatenate(ts)
    e = np.concatenate(es)
    order = np.lexsort((t, e))
    t, e = t[order], e[order]
    same = e[1:] == e[:-1]
    t0, t1, pe = t[:-1][same], t[1:][same], e[:-1][same]
    tm = 0.5 * (t0 + t1)
    um = np.clip(ua[pe] + tm * du[pe], c0, c1) - c0  # pieces left of the block act on its first column
    vm = va[pe] + tm * dv[pe] - r0
    q = np.floor(um).astype(np.int64)
    r = np.floor(vm).astype(np.int64)
    ok = (q < width) & (r >= 0) & (r < height)
    q, r, um, pe = q[ok], r[ok], um[ok], pe[ok]
    dvp = (t1[ok] - t0[ok]) * dv[pe]
    group = unit[pe] * height + r
    stride = width + 1
    n = q.size
    key = np.concatenate((group * stride + q, group * stride + q + 1))
    part = np.concatenate(((q + 1 - um) * dvp, np.zeros(n)))
    step = np.concatenate((np.zeros(n), dvp))
    is_piece = np.concatenate((np.ones(n, bool), np.zeros(n, bool)))
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size else np.zeros(0, np.int64)
    if first.size == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0)
    ukey = key[first]
    part_sum = np.add.reduceat(part[order], first)
    step_sum = np.add.reduceat(step[order], first)
    piece = np.logical_or.reduceat(is_piece[order], first)
    g = ukey // stride
    col = ukey - g * stride
    csum = np.cumsum(step_sum)
    gstart = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))
    glen = np.diff(np.append(gstart, g.size))
    cum = csum - np.repeat(csum[gstart] - step_sum[gstart], glen)
    cover = part_sum + cum
    bi = np.flatnonzero(piece)
    out_unit = g[bi] // height
    out_row = g[bi] % height + r0
    out_col = col[bi] + c0
    out_w = np.clip(cover[bi], 0.0, 1.0)
    if interior and bi.size:
        # cells between two boundary cells of a row take the running sum after the first: 0 or 1
        nxt = np.append(bi[1:], g.size)
        nxt_c = np.minimum(nxt, g.size - 1)
        next_col = np.where((nxt < g.size) & (g[nxt_c] == g[bi]), col[nxt_c], width)
        after = np.minimum(bi + 1, g.size - 1)
        step_after = (bi + 1 < g.size) & (g[after] == g[bi]) & (col[after] == col[bi] + 1) & ~piece[after]
        gap_cover = np.where(step_after, cum[after], cum[bi])
        start = col[bi] + 1
        fill = (np.rint(gap_cover) >= 1) & (next_col > start)
        lengths = (next_col - start)[fill]
        src = np.repeat(np.flatnonzero(fill), lengths)
        offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out_unit = np.concatenate((out_unit, out_unit[src]))
        out_row = np.concatenate((out_row, out_row[src]))
        out_col = np.concatenate((out_col, start[src] + offset + c0))
        out_w = np.concatenate((out_w, np.ones(src.size)))
    keep = out_w > _MIN_COVERAGE
    return out_unit[keep], out_row[keep], out_col[keep], out_w[keep]


# ----------------------------------------------------------------------------------------------- grids


def _grid_key(layer: _Layer) -> tuple:
    return (layer.crs.to_wkt(), tuple(layer.transform)[:6], layer.width, layer.height)


def _make_grid(layer: _Layer, units, present: np.ndarray, cache: dict) -> _Grid:
    wkt = layer.crs.to_wkt()
    if wkt not in cache:
        same = units.crs.equals(wkt)
        cache[wkt] = list(units.geometry if same else units.geometry.to_crs(wkt))
    geoms = cache[wkt]
    rings = _pixel_rings(geoms, present, layer.transform)
    return _Grid(layer.transform, layer.width, layer.height, geoms, rings, present)


def _plan_windows(grid: _Grid, layers: list[_Layer], max_memory_mb: float, quantiles: bool) -> None:
    rings = grid.rings
    inside = (
        grid.present
        & (rings.row1 > 0) & (rings.row0 < grid.height) & (rings.col1 > 0) & (rings.col0 < grid.width)
    )  # fmt: skip
    if not inside.any():
        names = ", ".join(repr(layer.path) for layer in layers)
        raise ValueError(f"raster {names} does not overlap the slope units at all (compared in the raster's CRS)")
    r0 = int(max(rings.row0[inside].min(), 0))
    r1 = int(min(rings.row1[inside].max(), grid.height))
    grid.col0 = int(max(rings.col0[inside].min(), 0))
    grid.col1 = int(min(rings.col1[inside].max(), grid.width))
    width = grid.col1 - grid.col0
    per_pixel = _BYTES_PER_PIXEL + (_BYTES_PER_PIXEL_SORT if quantiles else 0)
    budget = max_memory_mb * 2**20
    pixels = int(min(budget // per_pixel, _MAX_WINDOW_PIXELS))
    step = max(1, pixels // max(width, 1))
    grid.windows = [(a, min(a + step, r1)) for a in range(r0, r1, step)]


def _centre_spans(
    rings: _Rings, selected: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of pixels whose centres lie inside a selected unit: (first, end) flat indices in the block, unit.

    A scanline fill at each row's centre line: an edge crosses the line v = r + ½ when v_lo ≤ r + ½ < v_hi (so a
    vertex on the line is counted once); between the 1st and 2nd, 3rd and 4th… crossing of a unit lie the
    centres strictly inside it (even-odd rule, holes included). An end at a row's last column is the flat index
    of the next row's first pixel.
    """
    r0, r1 = rows
    c0, c1 = cols
    height, width = r1 - r0, c1 - c0
    k = np.flatnonzero(rings.edge_ok & selected[rings.unit])
    ua, va, ub, vb = rings.u[k], rings.v[k], rings.u[k + 1], rings.v[k + 1]
    slanted = va != vb
    ua, va, ub, vb, unit = ua[slanted], va[slanted], ub[slanted], vb[slanted], rings.unit[k[slanted]]
    lo, hi = np.minimum(va, vb), np.maximum(va, vb)
    first = np.maximum(np.ceil(lo - 0.5), r0).astype(np.int64)
    last = np.minimum(np.ceil(hi - 0.5), r1).astype(np.int64)  # exclusive
    count = np.maximum(last - first, 0)
    e = np.repeat(np.arange(first.size), count)
    row = first[e] + (np.arange(e.size) - np.repeat(np.cumsum(count) - count, count))
    x = ua[e] + (row + 0.5 - va[e]) * ((ub[e] - ua[e]) / (vb[e] - va[e]))
    group = unit[e] * height + (row - r0)
    order = np.lexsort((x, group))
    x, group = x[order], group[order]
    # crossings pair up inside each (unit, row) group
    start_of = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    rank = np.arange(group.size) - np.repeat(start_of, np.diff(np.append(start_of, group.size)))
    a = np.flatnonzero(rank % 2 == 0)
    a = a[a + 1 < group.size]
    xa, xb, g = x[a], x[a + 1], group[a]
    # centres q + ½ with x_a < q + ½ < x_b
    q0 = np.clip(np.floor(xa - 0.5) + 1, c0, c1).astype(np.int64) - c0
    q1 = np.clip(np.ceil(xb - 0.5), c0, c1).astype(np.int64) - c0
    ok = q1 > q0
    base = (g[ok] % height) * width
    return base + q0[ok], base + q1[ok], g[ok] // height


def _window_labels(grid: _Grid, rows: tuple[int, int], exact: bool) -> _Window:
    """The label image of a block of rows (unit position + 1 where exactly one unit holds the pixel centre)
    and the weighted pairs for everything else: pixels shared by overlapping units, and, for the exact rule,
    the pixels crossed by unit boundaries."""
    rings = grid.rings
    r0, r1 = rows
    c0, c1 = grid.col0, grid.col1
    size = (r1 - r0) * (c1 - c0)
    n_units = len(grid.geoms)
    sel = grid.present & (rings.row1 > r0) & (rings.row0 < r1) & (rings.col1 > c0) & (rings.col0 < c1)
    first, end, unit = _centre_spans(rings, sel, rows, (c0, c1))
    # +1 (and + unit id) where a run starts, -1 where it ends; running sums give count and id per pixel
    count = np.cumsum(np.bincount(first, minlength=size + 1) - np.bincount(end, minlength=size + 1))[:-1]
    ident = (unit + 1).astype(np.float64)
    ids = np.cumsum(np.bincount(first, ident, minlength=size + 1) - np.bincount(end, ident, minlength=size + 1))
    labels = ids[:-1].astype(np.int32)  # sums of small integers: exact in float64
    del ids
    labels[count != 1] = 0
    clash = np.flatnonzero(count > 1)
    del count
    sparse = _Sparse.empty()
    if clash.size:  # overlapping units: every unit holding the centre gets the pixel
        lo, hi = np.searchsorted(clash, first), np.searchsorted(clash, end)
        n = hi - lo
        run = np.repeat(np.arange(n.size), n)
        pix = clash[lo[run] + (np.arange(run.size) - np.repeat(np.cumsum(n) - n, n))]
        sparse = _Sparse(unit[run].astype(np.int64), pix, np.ones(pix.size))
    if exact:
        sparse = _exact_pixels(grid, sel, rows, labels, sparse)
    starts = _run_starts(labels)
    run_label = labels[starts]
    run_len = np.diff(np.append(starts, labels.size))
    all_centres = np.bincount(run_label, weights=run_len, minlength=n_units + 1)[1:]
    if sparse.unit.size and not exact:
        all_centres += np.bincount(sparse.unit, minlength=n_units)
    return _Window(r1, labels, sparse, starts, all_centres)


def _run_starts(labels: np.ndarray) -> np.ndarray:
    if labels.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))


def _exact_pixels(
    grid: _Grid, selected: np.ndarray, rows: tuple[int, int], labels: np.ndarray, centre: _Sparse
) -> _Sparse:
    """Boundary pixels with their covered fractions; the label image keeps only pixels wholly inside a unit."""
    width = grid.col1 - grid.col0
    unit, row, col, weight = _coverage(grid.rings, selected, rows, (grid.col0, grid.col1))
    flat = (row - rows[0]) * width + (col - grid.col0)
    # a unit holding the centre of a pixel it does not cross covers that pixel wholly (overlapping units)
    owners = [(labels[flat].astype(np.int64) - 1, flat), (centre.unit, centre.flat)]
    key = unit * labels.size + flat
    extra_u, extra_f = [], []
    for own, fl in owners:
        ok = own >= 0
        own, fl = own[ok], fl[ok]
        new = ~np.isin(own * labels.size + fl, key)
        extra_u.append(own[new])
        extra_f.append(fl[new])
    labels[flat] = 0
    eu = np.concatenate(extra_u)
    ef = np.concatenate(extra_f)
    ek = np.unique(eu * labels.size + ef)
    eu, ef = ek // labels.size, ek % labels.size
    return _Sparse(
        np.concatenate((unit, eu)), np.concatenate((flat, ef)), np.concatenate((weight, np.ones(eu.size)))
    )


# ----------------------------------------------------------------------------------------------- accumulation


@dataclass
class _Continuous:
    """Running weighted count, mean and sum of squared deviations per unit (Chan et al.'s merge)."""

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    quantiles: list[float]
    carry: tuple = ()
    qvalues: Optional[np.ndarray] = None

    @staticmethod
    def new(n_units: int, quantiles: list[float]) -> _Continuous:
        return _Continuous(
            np.zeros(n_units), np.zeros(n_units), np.zeros(n_units), np.full(n_units, np.inf),
            np.full(n_units, -np.inf), quantiles,
            qvalues=np.full((n_units, len(quantiles)), np.nan) if quantiles else None,
        )  # fmt: skip

    def merge(self, n: np.ndarray, mean: np.ndarray, m2: np.ndarray) -> None:
        idx = np.flatnonzero(n > 0)
        na, nb = self.n[idx], n[idx]
        total = na + nb
        delta = mean[idx] - self.mean[idx]
        self.mean[idx] += delta * (nb / total)
        self.m2[idx] += m2[idx] + delta * delta * (na * nb / total)
        self.n[idx] = total


@dataclass
class _Classes:
    """Weight per unit and class, classes sorted."""

    classes: np.ndarray
    weight: np.ndarray  # units × classes

    def add(self, unit: np.ndarray, cls: np.ndarray, w: np.ndarray) -> None:
        new = np.setdiff1d(np.unique(cls), self.classes)
        if new.size:
            merged = np.union1d(self.classes, new)
            if merged.size > MAX_CLASSES:
                raise ValueError(
                    f"more than {MAX_CLASSES} distinct values inside the units: is this a continuous raster?"
                )
            grown = np.zeros((self.weight.shape[0], merged.size))
            grown[:, np.searchsorted(merged, self.classes)] = self.weight
            self.classes, self.weight = merged, grown
        ci = np.searchsorted(self.classes, cls)
        nc = self.classes.size
        flat = np.bincount(unit * nc + ci, weights=w, minlength=self.weight.size)
        self.weight += flat.reshape(self.weight.shape)


def _read_window(ds, layer: _Layer, grid: _Grid, rows: tuple[int, int]) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Flat values of a window and its validity mask (None: every pixel valid)."""
    from rasterio.windows import Window

    win = Window(grid.col0, rows[0], grid.col1 - grid.col0, rows[1] - rows[0])
    values = ds.read(layer.band, window=win).ravel()
    return values, _valid_mask(values, layer.nodata)


def _valid_mask(values: np.ndarray, nodata: Optional[float]) -> Optional[np.ndarray]:
    """Which values are neither nodata nor NaN; None when all are valid."""
    nd = _typed_nodata(values.dtype, nodata)
    invalid = None
    if nd is not None:
        invalid = values == nd
    if values.dtype.kind == "f":
        invalid = np.isnan(values) if invalid is None else np.logical_or(invalid, np.isnan(values), out=invalid)
    if invalid is None or not invalid.any():
        return None
    return np.logical_not(invalid, out=invalid)


def _typed_nodata(dtype: np.dtype, nodata: Optional[float]):
    """``nodata`` in the raster's type, or None when there is none or it cannot occur in that type."""
    if nodata is None or math.isnan(nodata):
        return None
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not float(nodata).is_integer() or not info.min <= nodata <= info.max:
            return None
        return dtype.type(int(nodata))
    return dtype.type(nodata)


def _runs_for(win: _Window, valid: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run starts, unit + 1 and lengths of the label image restricted to valid pixels."""
    if valid is None:
        starts = win.run_start
        labels = win.labels
    else:
        labels = win.labels * valid
        starts = _run_starts(labels)
    run_label = labels[starts]
    run_len = np.diff(np.append(starts, labels.size))
    return starts, run_label, run_len


def _accumulate_continuous(acc: _Continuous, values, valid, win: _Window, n_units: int, want_minmax: bool,
                           want_quant: bool, unit_row1: np.ndarray) -> None:  # fmt: skip
    """Add one window of one raster: per run of equal labels, then per unit, then into the running totals."""
    starts, run_label, run_len = _runs_for(win, valid)
    # per run: deviations from its first value (exact in float64 for float32 and integer data), then their sums
    shift = values[starts].astype(np.float64)
    dev = values - np.repeat(shift, run_len)
    s1 = np.add.reduceat(dev, starts)
    np.multiply(dev, dev, out=dev)
    s2 = np.add.reduceat(dev, starts)
    del dev
    keep = run_label > 0
    r_unit = run_label[keep].astype(np.int64) - 1
    r_n = run_len[keep].astype(np.float64)
    r_mean = shift[keep] + s1[keep] / r_n
    r_m2 = np.maximum(s2[keep] - s1[keep] * s1[keep] / r_n, 0.0)
    sp = win.sparse
    ok = slice(None) if valid is None else valid[sp.flat]
    s_unit, s_w, s_val = sp.unit[ok], sp.weight[ok], values[sp.flat][ok].astype(np.float64)
    # weighted merge of runs and single weighted pixels into per-unit count, mean and squared deviations
    n = np.bincount(r_unit, r_n, n_units) + np.bincount(s_unit, s_w, n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.bincount(r_unit, r_n * r_mean, n_units) + np.bincount(s_unit, s_w * s_val, n_units)) / n
    mean = np.nan_to_num(mean)
    d_run = r_mean - mean[r_unit]
    d_pix = s_val - mean[s_unit]
    m2 = np.bincount(r_unit, r_m2 + r_n * d_run * d_run, n_units) + np.bincount(s_unit, s_w * d_pix * d_pix, n_units)
    acc.merge(n, mean, m2)
    if want_minmax:
        lo = np.minimum.reduceat(values, starts)[keep]
        hi = np.maximum.reduceat(values, starts)[keep]
        np.minimum.at(acc.vmin, r_unit, lo)
        np.maximum.at(acc.vmax, r_unit, hi)
        np.minimum.at(acc.vmin, s_unit, s_val)
        np.maximum.at(acc.vmax, s_unit, s_val)
    if want_quant:
        lab = win.labels if valid is None else win.labels * valid
        pix = np.flatnonzero(lab)
        q_unit = np.concatenate((lab[pix].astype(np.int64) - 1, s_unit))
        q_val = np.concatenate((values[pix].astype(np.float64), s_val))
        q_w = np.concatenate((np.ones(pix.size), s_w))
        _quantile_step(acc, q_unit, q_val, q_w, unit_row1, win.row1)


def _quantile_step(acc: _Continuous, unit, value, weight, unit_row1: np.ndarray, row_end: Optional[int]) -> None:
    """Finish the quantiles of units whose rows have all been read; carry the others to the next window."""
    if acc.carry:
        cu, cv, cw = acc.carry
        unit, value, weight = np.concatenate((cu, unit)), np.concatenate((cv, value)), np.concatenate((cw, weight))
    done = np.ones(unit.size, bool) if row_end is None else unit_row1[unit] <= row_end
    acc.carry = (unit[~done], value[~done], weight[~done]) if not done.all() else ()
    if done.any():
        groups, result = _weighted_quantiles(unit[done], value[done], weight[done], acc.quantiles)
        acc.qvalues[groups] = result


def _weighted_quantiles(unit, value, weight, qs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles per unit: values sorted, p_k = S_k / S_n with S_k = (k − 1) w_k + (n − 1) Σ_{i<k} w_i."""
    rank = np.empty(value.size, np.int64)  # sort by (unit, value) through one integer key: faster than lexsort
    rank[np.argsort(value)] = np.arange(value.size)
    order = np.argsort(unit.astype(np.int64) * value.size + rank)
    unit, value, weight = unit[order], value[order], weight[order]
    first = np.flatnonzero(np.concatenate(([True], unit[1:] != unit[:-1])))
    sizes = np.diff(np.append(first, unit.size))
    group = np.repeat(np.arange(first.size), sizes)
    k = np.arange(unit.size) - first[group]  # 0-based rank inside the unit
    cw = np.cumsum(weight)
    before = cw - weight - np.repeat(cw[first] - weight[first], sizes)  # Σ_{i<k} w_i inside the unit
    s = k * weight + (sizes[group] - 1) * before
    s_n = s[first + sizes - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(s_n[group] > 0, s / s_n[group], 0.0)
    key = group + p
    out = np.empty((first.size, len(qs)))
    last = first + sizes - 1
    for j, q in enumerate(qs):
        pos = np.searchsorted(key, np.arange(first.size) + q, side="right") - 1
        pos = np.clip(pos, first, last)
        nxt = np.minimum(pos + 1, last)
        span = p[nxt] - p[pos]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(span > 0, (q - p[pos]) / span, 0.0)
        frac = np.clip(frac, 0.0, 1.0)
        out[:, j] = (1.0 - frac) * value[pos] + frac * value[nxt]
    return unit[first], out


def _accumulate_classes(acc: _Classes, values, valid, win: _Window, name: str) -> None:
    """Add one window of a class raster: weight per unit and class, from runs of equal label and class."""
    labels = win.labels if valid is None else win.labels * valid
    sp = win.sparse
    ok = slice(None) if valid is None else valid[sp.flat]
    s_unit, s_w, s_flat = sp.unit[ok], sp.weight[ok], sp.flat[ok]
    if values.dtype.kind == "f":
        used = np.concatenate((values[labels > 0], values[s_flat]))
        if not np.array_equal(used, np.floor(used)):
            raise ValueError(f"class raster {name!r} has non-integer values inside the units: classes must be integers")
        values = (values if valid is None else np.where(valid, values, 0)).astype(np.int64)
    change = np.concatenate(([True], (labels[1:] != labels[:-1]) | (values[1:] != values[:-1])))
    starts = np.flatnonzero(change)
    run_label = labels[starts]
    run_len = np.diff(np.append(starts, labels.size))
    keep = run_label > 0
    unit = np.concatenate((run_label[keep].astype(np.int64) - 1, s_unit))
    cls = np.concatenate((values[starts][keep].astype(np.int64), values[s_flat].astype(np.int64)))
    weight = np.concatenate((run_len[keep].astype(np.float64), s_w))
    if unit.size:
        acc.add(unit, cls, weight)


# ----------------------------------------------------------------------------------------------- small units


def _fallback(ds, layer: _Layer, grid: _Grid, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid pixels overlapped by ``units``: (unit, value, covered fraction), read window by window."""
    from rasterio.windows import Window

    selected = np.zeros(len(grid.geoms), bool)
    selected[units] = True
    unit, row, col, weight = _coverage(grid.rings, selected, (0, grid.height), (0, grid.width), interior=True)
    values = np.empty(unit.size)
    valid = np.zeros(unit.size, bool)
    order = np.argsort(row, kind="stable")
    rows_sorted = row[order]
    for r0, r1 in grid.windows:
        a, b = np.searchsorted(rows_sorted, [r0, r1])
        if b == a:
            continue
        idx = order[a:b]
        top, bottom = int(rows_sorted[a]), int(rows_sorted[b - 1]) + 1
        left, right = int(col[idx].min()), int(col[idx].max()) + 1
        block = ds.read(layer.band, window=Window(left, top, right - left, bottom - top))
        v = block[row[idx] - top, col[idx] - left]
        mask = _valid_mask(v, layer.nodata)
        values[idx] = v
        valid[idx] = True if mask is None else mask
    return unit[valid], values[valid], weight[valid]


def _qgis_small_unit_stats(unit, value, weight, n_units: int, quantiles: list[float]) -> dict[str, np.ndarray]:
    """QGIS's statistics from overlapped pixels: weighted count, sum and mean; the rest unweighted."""
    w = np.minimum(weight, 1.0)
    count = np.bincount(unit, weights=w, minlength=n_units)
    total = np.bincount(unit, weights=w * value, minlength=n_units)
    pixels = np.bincount(unit, minlength=n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        d = value - mean[unit]
        std = np.sqrt(np.bincount(unit, weights=d * d, minlength=n_units) / pixels)
    vmin = np.full(n_units, np.inf)
    vmax = np.full(n_units, -np.inf)
    np.minimum.at(vmin, unit, value)
    np.maximum.at(vmax, unit, value)
    out = {"count": count, "sum": total, "mean": mean, "std": std, "min": vmin, "max": vmax,
           "quantiles": np.full((n_units, len(quantiles)), np.nan)}  # fmt: skip
    if quantiles and unit.size:
        groups, q = _weighted_quantiles(unit, value, np.ones(unit.size), quantiles)
        out["quantiles"][groups] = q
    return out


# ----------------------------------------------------------------------------------------------- main


def aggregate_slope_units(
    units: gpd.GeoDataFrame,
    rasters: Sequence[Union[RasterSource, str, os.PathLike]],
    categorical: Sequence[Union[RasterSource, str, os.PathLike]] = (),
    inventory: Optional[gpd.GeoDataFrame] = None,
    statistics: Sequence[str] = DEFAULT_STATISTICS,
    class_fractions: bool = False,
    pixel_rule: str = "centre",
    max_memory_mb: float = 512,
    progress: Optional[Progress] = None,
) -> AggregationResult:
    """Statistics of ``rasters`` (continuous), majority classes of ``categorical`` rasters and landslide counts
    from ``inventory`` for every slope unit; see the module documentation for the exact rules.

    ``units``: GeoDataFrame of (multi)polygons with a CRS. ``statistics``: names from :data:`STATISTICS` or
    percentiles ``p<q>``. ``class_fractions`` adds ``<name>_f<class>`` columns. ``pixel_rule``: ``"centre"``
    (QGIS-compatible) or ``"exact"`` (coverage-weighted). ``max_memory_mb`` bounds the raster windows.
    """
    present, warnings = _check_units(units)
    rule = {"center": "centre"}.get(str(pixel_rule).lower(), str(pixel_rule).lower())
    if rule not in PIXEL_RULES:
        raise ValueError(f"unknown pixel_rule {pixel_rule!r}: use one of {PIXEL_RULES}")
    if not (isinstance(max_memory_mb, (int, float)) and max_memory_mb > 0):
        raise ValueError(f"max_memory_mb must be a positive number of megabytes, got {max_memory_mb!r}")
    stats = _parse_statistics(statistics)
    if not rasters and not categorical and inventory is None:
        raise ValueError("nothing to aggregate: give rasters, class rasters or an inventory")
    if rasters and not stats:
        raise ValueError("statistics is empty: ask for at least one of mean, std, … for the continuous rasters")
    if inventory is not None:
        inventory = _check_inventory(inventory, units.crs, warnings)
    layers = _open_layers(rasters, False, units.crs, warnings) + _open_layers(categorical, True, units.crs, warnings)
    _assign_names(layers, list(units.columns), stats)
    options = _Options(stats, rule == "exact", class_fractions, max_memory_mb)

    raster_part = 0.9 if inventory is not None else 1.0
    per_layer = _aggregate_layers(units, present, layers, options, warnings, scaled(progress, 0.0, raster_part))
    new_cols: dict[str, np.ndarray] = {}
    columns: dict[str, list[str]] = {}
    for layer in layers:
        cols = per_layer[id(layer)][0]
        columns[layer.name] = list(cols)
        new_cols.update(cols)
    if layers:
        new_cols[VALID_FIELD] = per_layer[id(_valid_layer(layers))][1]
    if inventory is not None:
        report(progress, raster_part, "landslide inventory")
        new_cols.update(_inventory_columns(units, inventory, warnings, scaled(progress, raster_part, 1.0)))
    frame = units.copy()
    replaced = [c for c in frame.columns if str(c).lower() in FIXED_FIELDS and str(c).lower() in new_cols]
    for name in replaced:
        warnings.append(f"input field {name!r} is replaced by the computed {str(name).lower()!r}")
    frame = frame.drop(columns=replaced)
    for name, col in new_cols.items():
        frame[name] = col
    report(progress, 1.0, "done")
    return AggregationResult(frame, warnings, columns)


@dataclass(frozen=True)
class _Options:
    stats: list[_Stat]
    exact: bool
    class_fractions: bool
    max_memory_mb: float

    @property
    def quantiles(self) -> list[float]:
        """Quantiles to compute: the requested percentiles, then the median's 0.5 if asked for."""
        qs = [s.q for s in self.stats if s.kind == "quantile"]
        return [*qs, 0.5] if any(s.kind == "median" for s in self.stats) else qs

    @property
    def minmax(self) -> bool:
        return any(s.kind in ("min", "max", "range") for s in self.stats)


def _valid_layer(layers: list[_Layer]) -> _Layer:
    """The raster behind ``valid_frac``: the first continuous one, else the first class raster."""
    return next((lay for lay in layers if not lay.categorical), layers[0])


_LayerOutput = tuple[dict[str, np.ndarray], Optional[np.ndarray]]  # columns, valid fraction


def _aggregate_layers(units, present: np.ndarray, layers: list[_Layer], options: _Options, warnings: list[str],
                      progress: Optional[Progress]) -> dict[int, _LayerOutput]:  # fmt: skip
    """Output columns (and the valid fraction) of every layer, keyed by ``id(layer)``; one pass per grid."""
    import rasterio

    n_units = len(units)
    quantiles = options.quantiles
    grids: dict[tuple, _Grid] = {}
    geom_cache: dict[str, list] = {}
    for layer in layers:
        key = _grid_key(layer)
        if key not in grids:
            grids[key] = _make_grid(layer, units, present, geom_cache)
        layer.grid = grids[key]
    for grid in grids.values():
        _plan_windows(grid, [lay for lay in layers if lay.grid is grid], options.max_memory_mb, bool(quantiles))
    valid_layer = _valid_layer(layers) if layers else None
    total = sum(len(g.windows) * (1 + sum(lay.grid is g for lay in layers)) for g in grids.values())
    done = 0
    out: dict[int, _LayerOutput] = {}
    for grid in grids.values():
        members = [lay for lay in layers if lay.grid is grid]
        datasets = [rasterio.open(lay.path) for lay in members]
        try:
            accs = [
                _Classes(np.zeros(0, np.int64), np.zeros((n_units, 0))) if lay.categorical
                else _Continuous.new(n_units, quantiles)
                for lay in members
            ]  # fmt: skip
            all_centres = np.zeros(n_units)
            for rows in grid.windows:
                win = _window_labels(grid, rows, options.exact)
                all_centres += win.all_centres
                done += 1
                report(progress, done / total, f"rows {rows[0]}–{rows[1]} of {grid.height}")
                for lay, acc, ds in zip(members, accs, datasets):
                    values, valid = _read_window(ds, lay, grid, rows)
                    if lay.categorical:
                        _accumulate_classes(acc, values, valid, win, lay.name)
                    else:
                        _accumulate_continuous(acc, values, valid, win, n_units, options.minmax, bool(quantiles),
                                               grid.rings.row1)  # fmt: skip
                    done += 1
                    report(progress, done / total, f"{lay.name}: rows {rows[0]}–{rows[1]}")
            for lay, acc, ds in zip(members, accs, datasets):
                cols, valid_w, coverage_based = _finish_layer(lay, acc, ds, grid, options, warnings)
                frac = _valid_fraction(grid, valid_w, all_centres, coverage_based) if lay is valid_layer else None
                out[id(lay)] = (cols, frac)
        finally:
            for ds in datasets:
                ds.close()
    return out


def _finish_layer(layer: _Layer, acc, ds, grid: _Grid, options: _Options, warnings: list[str]):
    """Output columns of one layer, the valid weight per unit, and which units were measured by coverage.

    Under the centre rule, units holding at most one valid pixel centre are measured again from the pixels they
    overlap (see the module documentation).
    """
    n_units = len(grid.geoms)
    n = acc.n.copy() if isinstance(acc, _Continuous) else acc.weight.sum(axis=1)
    small = np.flatnonzero(grid.present & (n <= 1)) if not options.exact else np.zeros(0, np.int64)
    coverage_based = np.full(n_units, options.exact)
    coverage_based[small] = True
    pixels = _fallback(ds, layer, grid, small) if small.size else None
    if isinstance(acc, _Continuous):
        out, n = _continuous_columns(layer.name, acc, n, small, pixels, options)
    else:
        out, n = _class_columns(layer.name, acc, small, pixels, options.class_fractions)
    missing = int(((n <= 0) & grid.present).sum())
    if missing:
        warnings.append(f"{layer.name}: {missing} of {n_units} slope unit(s) have no valid pixel: values are NULL")
    return out, n, coverage_based


def _continuous_columns(name: str, acc: _Continuous, n: np.ndarray, small: np.ndarray, pixels, options: _Options):
    quantiles = options.quantiles
    if acc.carry:
        _quantile_step(acc, np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), None)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = {"count": n, "mean": acc.mean.copy(), "sum": acc.mean * n, "min": acc.vmin, "max": acc.vmax,
               "std": np.sqrt(acc.m2 / n)}  # fmt: skip
    qv = acc.qvalues
    if small.size:
        alt = _qgis_small_unit_stats(*pixels, n.size, quantiles)
        for key, column in res.items():
            column[small] = alt[key][small]
        if qv is not None:
            qv[small] = alt["quantiles"][small]
    empty = n <= 0
    out: dict[str, np.ndarray] = {}
    for s in options.stats:
        if s.kind in ("quantile", "median"):
            col = qv[:, quantiles.index(0.5 if s.kind == "median" else s.q)].copy()
        elif s.kind == "range":
            col = res["max"] - res["min"]
        else:
            col = res[s.kind].astype(np.float64).copy()
        col[empty] = 0.0 if s.kind in ("count", "sum") else np.nan
        out[f"{name}_{s.suffix}"] = col
    return out, n


def _class_columns(name: str, acc: _Classes, small: np.ndarray, pixels, fractions: bool):
    if small.size:
        unit, value, weight = pixels
        acc.weight[small] = 0.0
        acc.add(unit, value.astype(np.int64), np.minimum(weight, 1.0))
    n = acc.weight.sum(axis=1)
    empty = n <= 0
    maj = np.full(n.size, np.nan)
    if acc.classes.size:  # argmax takes the first maximum: the smallest class on ties
        maj = acc.classes[np.argmax(acc.weight, axis=1)].astype(np.float64)
    maj[empty] = np.nan
    out = {f"{name}_maj": maj}
    if fractions:
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = acc.weight / n[:, None]
        for j, c in enumerate(acc.classes):
            col = frac[:, j].copy()
            col[empty] = np.nan
            out[f"{name}_f{f'm{-c}' if c < 0 else c}"] = col
    return out, n


def _valid_fraction(grid: _Grid, valid_w: np.ndarray, all_centres: np.ndarray, coverage_based: np.ndarray):
    """Share of each unit's area covered by valid pixels (see the module documentation)."""
    import geopandas as gpd
    from shapely.geometry import box

    t = grid.transform
    x0, y1 = t.c, t.f
    x1, y0 = t.c + t.a * grid.width, t.f + t.e * grid.height
    extent = box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    area = gpd.GeoSeries(grid.geoms).area.fillna(0.0).to_numpy()
    rings = grid.rings
    outside = (rings.row0 < 0) | (rings.row1 > grid.height) | (rings.col0 < 0) | (rings.col1 > grid.width)
    crossing = grid.present & outside
    inside = np.ones(len(grid.geoms))
    for pos in np.flatnonzero(crossing & (area > 0)):
        inside[pos] = grid.geoms[pos].intersection(extent).area / area[pos]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(coverage_based, valid_w * abs(t.a * t.e) / area, valid_w / all_centres * inside)
    frac = np.where(np.isfinite(frac), frac, 0.0)
    frac[~grid.present] = np.nan
    return np.clip(frac, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------- inventory


def _check_inventory(inventory, units_crs, warnings: list[str]):
    """The inventory's features with a geometry, in the units' CRS, and its kind ("points" or "polygons")."""
    import geopandas as gpd

    if not isinstance(inventory, gpd.GeoDataFrame):
        raise ValueError(f"inventory must be a GeoDataFrame of points or polygons, got {type(inventory).__name__}")
    if len(inventory) == 0:
        raise ValueError("inventory: the layer has no features (pass None for no inventory)")
    types = set(inventory.geom_type.dropna())
    if types and types <= {"Point", "MultiPoint"}:
        kind = "points"
    elif types and types <= {"Polygon", "MultiPolygon"}:
        kind = "polygons"
    else:
        raise ValueError(f"inventory must be all points or all polygons, found {sorted(types)}")
    if inventory.crs is None:
        warnings.append("inventory has no CRS: taken to be the units' CRS")
        inventory = inventory.set_crs(units_crs)
    elif not inventory.crs.equals(units_crs):
        inventory = inventory.to_crs(units_crs)
    keep = ~np.asarray(inventory.geometry.isna() | inventory.geometry.is_empty, bool)
    if not keep.all():
        warnings.append(f"inventory: {int((~keep).sum())} feature(s) without geometry are ignored")
    return inventory.geometry[keep], kind


def _inventory_columns(units, inventory, warnings: list[str], progress: Optional[Progress]) -> dict[str, np.ndarray]:
    geoms, kind = inventory
    n_units = len(units)
    if kind == "points":
        owner = _point_owners(units.geometry, geoms, progress)
        area_frac = np.zeros(n_units)
    else:
        owner, area_frac = _polygon_owners(units.geometry, geoms, progress)
    outside = int((owner < 0).sum())
    if outside:
        warnings.append(f"inventory: {outside} of {len(geoms)} landslide(s) lie outside every slope unit: not counted")
    count = np.bincount(owner[owner >= 0], minlength=n_units).astype(np.int64)
    return {"landslide": (count > 0).astype(np.int64), "ls_count": count, "ls_area_frac": area_frac}


def _unit_index(ugeoms):
    """An R-tree of the units' bounds (geopandas' own index works on every supported version)."""
    import geopandas as gpd

    return gpd.GeoSeries(ugeoms.values, crs=ugeoms.crs).sindex


def _point_owners(ugeoms, pgeoms, progress: Optional[Progress]) -> np.ndarray:
    """Per feature: the unit holding most of its points (first unit on ties and shared boundaries), or −1."""
    from shapely.geometry import Point

    feat, xs, ys = [], [], []
    for i, g in enumerate(pgeoms):
        pts = g.geoms if g.geom_type == "MultiPoint" else [g]
        for p in pts:
            feat.append(i)
            xs.append(p.x)
            ys.append(p.y)
    feat_a = np.asarray(feat, np.int64)
    index = _unit_index(ugeoms)
    unit_of_point = np.full(feat_a.size, -1, np.int64)
    valid_units = ugeoms.values
    for k, (x, y) in enumerate(zip(xs, ys)):
        if k % 1000 == 0:
            report(progress, k / len(xs), "landslide points")
        pt = Point(x, y)
        for cand in sorted(index.intersection((x, y, x, y))):
            g = valid_units[cand]
            if g is not None and not g.is_empty and g.intersects(pt):
                unit_of_point[k] = cand
                break
    owner = np.full(len(pgeoms), -1, np.int64)
    hit = unit_of_point >= 0
    if hit.any():
        pairs, counts = np.unique(np.column_stack((feat_a[hit], unit_of_point[hit])), axis=0, return_counts=True)
        # most points first, then the lowest unit position
        order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
        pairs = pairs[order]
        first = np.concatenate(([True], pairs[1:, 0] != pairs[:-1, 0]))
        owner[pairs[first, 0]] = pairs[first, 1]
    return owner


def _polygon_owners(ugeoms, lgeoms, progress: Optional[Progress]) -> tuple[np.ndarray, np.ndarray]:
    """Per landslide polygon: the unit holding most of its area (or −1); per unit: share covered by landslides."""
    from shapely.ops import unary_union
    from shapely.validation import make_valid

    index = _unit_index(ugeoms)
    units = [None if g is None or g.is_empty else (g if g.is_valid else make_valid(g)) for g in ugeoms.values]
    slides = [g if g.is_valid else make_valid(g) for g in lgeoms.values]
    owner = np.full(len(slides), -1, np.int64)
    for i, s in enumerate(slides):
        if i % 500 == 0:
            report(progress, 0.5 * i / len(slides), "landslide polygons")
        best, best_area = -1, 0.0
        for cand in sorted(index.intersection(s.bounds)):
            u = units[cand]
            if u is None:
                continue
            a = u.intersection(s).area
            if a > best_area:
                best, best_area = cand, a
        owner[i] = best
    covered = unary_union(slides)
    parts = list(covered.geoms) if hasattr(covered, "geoms") else [covered]
    area = np.zeros(len(units))
    for i, part in enumerate(parts):
        if i % 500 == 0:
            report(progress, 0.5 + 0.5 * i / len(parts), "landslide area")
        if part.area <= 0:
            continue
        for cand in index.intersection(part.bounds):
            u = units[cand]
            if u is not None:
                area[cand] += u.intersection(part).area
    unit_area = np.array([0.0 if u is None else u.area for u in units])
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(unit_area > 0, area / unit_area, np.nan)
    return owner, np.clip(frac, 0.0, 1.0)
