"""Zonal statistics onto slope units: QGIS parity, exact coverage, windows, overlaps, names, inventory, errors."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from affine import Affine

from landslide_susceptibility.core import aggregate
from landslide_susceptibility.core.aggregate import RasterSource, aggregate_slope_units, sanitise_name
from landslide_susceptibility.core.io import write_geotiff, write_vector
from landslide_susceptibility.core.progress import Cancelled

gpd = pytest.importorskip("geopandas")
rasterio = pytest.importorskip("rasterio")
shapely_geometry = pytest.importorskip("shapely.geometry")
Point, Polygon, MultiPolygon, MultiPoint, box = (
    shapely_geometry.Point,
    shapely_geometry.Polygon,
    shapely_geometry.MultiPolygon,
    shapely_geometry.MultiPoint,
    shapely_geometry.box,
)

CRS = "EPSG:32633"
ORIGIN = (500003.7, 4200011.3)
CELL = 10.0
QGIS_STATS = {"count": 0, "sum": 1, "mean": 2, "median": 3, "std": 4, "min": 5, "max": 6}
QGIS_NAMES = {"count": "count", "sum": "sum", "mean": "mean", "median": "median", "std": "stdev", "min": "min",
              "max": "max"}  # fmt: skip


# ----------------------------------------------------------------------------------------------- helpers


def _star(rng, cx: float, cy: float, r_min: float, r_max: float, n: int):
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(r_min, r_max, n)
    poly = Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
    return poly if poly.is_valid else poly.buffer(0)


def _transform(origin=ORIGIN, cell=CELL) -> Affine:
    return Affine(cell, 0.0, origin[0], 0.0, -cell, origin[1])


def _contains_xy(geom, x, y):
    import shapely

    if hasattr(shapely, "contains_xy"):
        return shapely.contains_xy(geom, x, y)
    from shapely import vectorized

    return vectorized.contains(geom, x, y)


def _pixel_box(transform: Affine, row: int, col: int):
    x0, y0 = transform * (col, row)
    x1, y1 = transform * (col + 1, row + 1)
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _cells(transform: Affine, geom, shape):
    """(row, col) of the pixels under the bounding box of ``geom``."""
    inv = ~transform
    c0, r0 = inv * (geom.bounds[0], geom.bounds[3])
    c1, r1 = inv * (geom.bounds[2], geom.bounds[1])
    for r in range(max(math.floor(r0), 0), min(math.ceil(r1), shape[0])):
        for c in range(max(math.floor(c0), 0), min(math.ceil(c1), shape[1])):
            yield r, c


def _valid(array: np.ndarray, nodata) -> np.ndarray:
    ok = ~np.isnan(array) if array.dtype.kind == "f" else np.ones(array.shape, bool)
    return ok if nodata is None else ok & (array != nodata)


def _reference_centre(geoms, array, transform, nodata) -> dict[str, np.ndarray]:
    """Brute-force QGIS rule: centres inside (GEOS contains); at most one centre → coverage-weighted pixels."""
    height, width = array.shape
    rows, cols = np.mgrid[0:height, 0:width]
    xs, ys = transform * (cols + 0.5, rows + 0.5)
    ok = _valid(array, nodata)
    out = {k: np.full(len(geoms), np.nan) for k in ("count", "sum", "mean", "median", "std", "min", "max", "p90")}
    for i, g in enumerate(geoms):
        inside = _contains_xy(g, xs.ravel(), ys.ravel()).reshape(array.shape) & ok
        vals = array[inside].astype(np.float64)
        if vals.size > 1:
            out["count"][i] = vals.size
            out["sum"][i] = vals.sum()
            out["mean"][i] = vals.mean()
            out["std"][i] = vals.std()
            out["min"][i], out["max"][i] = vals.min(), vals.max()
            out["median"][i] = np.median(vals)
            out["p90"][i] = np.percentile(vals, 90)
            continue
        vals, weights = [], []
        for r, c in _cells(transform, g, array.shape):
            if ok[r, c]:
                a = _pixel_box(transform, r, c).intersection(g).area / CELL**2
                if a > 0:
                    vals.append(float(array[r, c]))
                    weights.append(min(a, 1.0))
        out["count"][i] = sum(weights)
        if vals:
            v, w = np.array(vals), np.array(weights)
            mean = (v * w).sum() / w.sum()
            out["sum"][i] = (v * w).sum()
            out["mean"][i] = mean
            out["std"][i] = math.sqrt(((v - mean) ** 2).mean())
            out["min"][i], out["max"][i] = v.min(), v.max()
            out["median"][i] = np.median(v)
            out["p90"][i] = np.percentile(v, 90)
    return out


def _weighted_percentile(values, weights, q: float) -> float:
    """Wikipedia's weighted percentile: p_k = S_k / S_n, S_k = (k - 1) w_k + (n - 1) Σ_{i<k} w_i."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    n = v.size
    if n == 1:
        return float(v[0])
    s = np.array([k * w[k] + (n - 1) * w[:k].sum() for k in range(n)])
    p = s / s[-1]
    k = int(np.searchsorted(p, q, side="right") - 1)
    k = min(max(k, 0), n - 1)
    if k == n - 1:
        return float(v[-1])
    return float(v[k] + (q - p[k]) / (p[k + 1] - p[k]) * (v[k + 1] - v[k]))


def _synthetic_units(rng, transform, width, height):
    """Irregular units: stars (some overlapping), a multipolygon, a hole, sub-pixel and one-centre units, a sliver,
    one partly and one wholly outside the raster."""
    x0, y1 = transform * (0, 0)
    x1, y0 = transform * (width, height)
    geoms = []
    for _ in range(14):
        cx, cy = rng.uniform(x0 + 60, x1 - 60), rng.uniform(y0 + 60, y1 - 60)
        geoms.append(_star(rng, cx, cy, 15, 90, int(rng.integers(5, 14))))
    geoms.append(MultiPolygon([_star(rng, x0 + 150, y0 + 150, 10, 50, 9), _star(rng, x1 - 150, y1 - 150, 10, 50, 9)]))
    ring = box(x0 + 303.1, y0 + 201.7, x0 + 497.3, y0 + 388.9)
    geoms.append(ring.difference(_star(rng, x0 + 400.2, y0 + 295.4, 25, 60, 8)))
    px, py = transform * (10.3, 12.6)
    geoms.append(box(px, py, px + 3.3, py + 2.1))  # inside one pixel
    cx, cy = transform * (20, 30)
    geoms.append(box(cx - 4.1, cy - 3.3, cx + 6.2, cy + 2.9))  # straddles a pixel corner: 4 pixels
    cx, cy = transform * (40.5, 20.5)
    geoms.append(box(cx - 7.7, cy - 6.1, cx + 8.3, cy + 7.9))  # exactly one centre
    geoms.append(Polygon([(x0 + 111.1, y0 + 101.3), (x1 - 98.7, y0 + 421.9), (x1 - 97.2, y0 + 424.6)]))  # sliver
    geoms.append(_star(rng, x1 - 10, (y0 + y1) / 2, 30, 80, 9))  # partly outside
    geoms.append(_star(rng, x1 + 400, y1 + 400, 30, 80, 9))  # wholly outside
    return geoms


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A float32 raster with a large offset (elevations near 3000 m), nodata spots and a nodata block."""
    rng = np.random.default_rng(42)
    height, width = 60, 80
    transform = _transform()
    yy, xx = np.mgrid[0:height, 0:width]
    array = (3000.0 + 40 * np.sin(xx / 9.0) + 25 * np.cos(yy / 7.0) + rng.normal(0, 0.5, (height, width)))
    array = array.astype(np.float32)
    array[rng.random((height, width)) < 0.03] = -9999.0
    array[45:55, 60:72] = -9999.0
    geoms = _synthetic_units(rng, transform, width, height)
    cx, cy = transform * (66, 50)
    geoms.append(box(cx - 22.2, cy - 21.4, cx + 23.3, cy + 20.1))  # only nodata pixels
    folder = tmp_path_factory.mktemp("synthetic")
    raster = write_geotiff(folder / "dem.tif", array, transform, CRS, nodata=-9999.0)
    units = gpd.GeoDataFrame({"uid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
    path = write_vector(units, folder / "units.gpkg")
    return {"array": array, "transform": transform, "raster": raster, "units": units, "units_path": path,
            "folder": folder}  # fmt: skip


def _qgis_zonal(qgis_run, units_path, raster, band, out) -> gpd.GeoDataFrame:
    run = qgis_run(
        "native:zonalstatisticsfb",
        {"INPUT": units_path, "INPUT_RASTER": raster, "RASTER_BAND": band, "COLUMN_PREFIX": "q_",
         "STATISTICS": ",".join(str(v) for v in QGIS_STATS.values()), "OUTPUT": out},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    return gpd.read_file(out).sort_values("uid").reset_index(drop=True)


def _assert_matches_qgis(ours, theirs, prefix: str) -> None:
    for stat, qname in QGIS_NAMES.items():
        q = theirs[f"q_{qname}"].to_numpy(dtype=float)
        o = ours[f"{prefix}_{stat}"].to_numpy(dtype=float)
        if stat in ("count", "sum"):
            q = np.nan_to_num(q)  # QGIS leaves them NULL for units outside the raster's extent, 0 elsewhere
        np.testing.assert_allclose(o, q, rtol=0, atol=1e-6, equal_nan=True, err_msg=stat)


# ----------------------------------------------------------------------------------------------- exact coverage


def test_coverage_fractions_equal_shapely_intersections():
    """The edge-integral coverage is exact: every pixel fraction equals the shapely intersection area."""
    rng = np.random.default_rng(3)
    geoms = [_star(rng, *rng.uniform(3, 27, 2), 0.2, 6, int(rng.integers(3, 12))) for _ in range(12)]
    geoms += [
        box(3.3, 4.1, 9.7, 12.2).difference(box(5, 6, 7.5, 9.1)),  # hole
        MultiPolygon([box(10.2, 10.2, 10.7, 10.4), box(12, 3, 15.5, 3.5)]),
        box(-5.5, -3, 2.5, 4.2),  # beyond the block's left and top
        box(20.1, 20.3, 20.4, 20.35),  # sub-pixel
        box(4, 4, 6, 6),  # edges on grid lines
    ]
    # pixel space is a grid with unit cells and rows growing downwards: transform = identity with e = 1
    ident = Affine(1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    present = np.ones(len(geoms), bool)
    rings = aggregate._pixel_rings(geoms, present, ident)
    for rows, cols in (((0, 30), (0, 30)), ((5, 17), (3, 25))):
        for interior in (False, True):
            unit, row, col, w = aggregate._coverage(rings, present, rows, cols, interior=interior)
            got = {(int(a), int(b), int(c)): x for a, b, c, x in zip(unit, row, col, w)}
            assert len(got) == unit.size  # no pixel twice
            for i, g in enumerate(geoms):
                for r in range(*rows):
                    for c in range(*cols):
                        area = box(c, r, c + 1, r + 1).intersection(g).area
                        if (i, r, c) in got:
                            assert got[(i, r, c)] == pytest.approx(area, abs=1e-12)
                        else:  # left out: untouched, or wholly inside when interiors are not asked for
                            assert area < 1e-10 or (not interior and area == pytest.approx(1.0, abs=1e-12))


def test_exact_rule_equals_shapely_weighted_statistics(synthetic):
    units, array, transform = synthetic["units"], synthetic["array"], synthetic["transform"]
    stats = ["count", "mean", "std", "min", "max", "median", "p25"]
    res = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], statistics=stats, pixel_rule="exact")
    ok = _valid(array, -9999.0)
    for i, g in enumerate(units.geometry):
        vals, weights = [], []
        for r, c in _cells(transform, g, array.shape):
            if ok[r, c]:
                a = _pixel_box(transform, r, c).intersection(g).area / CELL**2
                if a > 1e-10:
                    vals.append(float(array[r, c]))
                    weights.append(a)
        row = res.frame.iloc[i]
        assert row["z_count"] == pytest.approx(sum(weights), abs=1e-9)
        if not vals:
            assert all(math.isnan(row[f"z_{s}"]) for s in stats if s != "count")
            continue
        v, w = np.array(vals), np.array(weights)
        mean = (v * w).sum() / w.sum()
        assert row["z_mean"] == pytest.approx(mean, abs=1e-9)
        assert row["z_std"] == pytest.approx(math.sqrt((w * (v - mean) ** 2).sum() / w.sum()), abs=1e-9)
        assert (row["z_min"], row["z_max"]) == (v.min(), v.max())
        assert row["z_median"] == pytest.approx(_weighted_percentile(v, w, 0.5), abs=1e-9)
        assert row["z_p25"] == pytest.approx(_weighted_percentile(v, w, 0.25), abs=1e-9)


def test_weighted_percentile_reduces_to_numpy_linear():
    rng = np.random.default_rng(0)
    values = rng.normal(size=101)
    unit = np.repeat([0, 1], [40, 61])
    groups, out = aggregate._weighted_quantiles(unit, values, np.ones(101), [0.0, 0.1, 0.5, 0.9, 1.0])
    assert groups.tolist() == [0, 1]
    for g, sl in ((0, slice(0, 40)), (1, slice(40, 101))):
        np.testing.assert_allclose(out[g], np.percentile(values[sl], [0, 10, 50, 90, 100]), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------- centre rule


def test_centre_rule_equals_brute_force_reference(synthetic):
    units, array = synthetic["units"], synthetic["array"]
    stats = ["count", "sum", "mean", "median", "std", "min", "max", "p90"]
    res = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], statistics=stats)
    ref = _reference_centre(list(units.geometry), array, synthetic["transform"], -9999.0)
    for stat in stats:
        expected = np.nan_to_num(ref[stat]) if stat in ("count", "sum") else ref[stat]
        np.testing.assert_allclose(res.frame[f"z_{stat}"], expected, rtol=0, atol=1e-9, equal_nan=True, err_msg=stat)
    # the wholly-outside and the all-nodata units have no valid pixel: NULL values, count 0, one warning
    assert np.isnan(res.frame["z_mean"].iloc[-2:]).all()
    assert res.frame["z_count"].iloc[-2:].tolist() == [0.0, 0.0]
    assert any("z: 2 of" in w and "no valid pixel" in w for w in res.warnings)
    # small units are measured by coverage, as QGIS does: fractional counts
    assert res.frame["z_count"].iloc[16] == pytest.approx(3.3 * 2.1 / 100)
    assert res.columns == {"z": [f"z_{s}" for s in stats]}


@pytest.mark.qgis
def test_centre_rule_matches_qgis_on_synthetic_units(synthetic, qgis_run):
    theirs = _qgis_zonal(qgis_run, synthetic["units_path"], synthetic["raster"], 1, synthetic["folder"] / "q.gpkg")
    ours = aggregate_slope_units(synthetic["units"], [RasterSource(synthetic["raster"], "z")],
                                 statistics=list(QGIS_STATS)).frame  # fmt: skip
    assert len(theirs) == len(ours)
    _assert_matches_qgis(ours, theirs, "z")
    assert (theirs["q_count"].fillna(0) > 0).sum() >= 20  # the comparison covers real work


def _voronoi_units(rng, bounds, n, margin):
    from shapely.geometry import MultiPoint
    from shapely.ops import voronoi_diagram

    x0, y0, x1, y1 = bounds
    env = box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    pts = MultiPoint([tuple(p) for p in np.c_[rng.uniform(x0 - margin, x1 + margin, n),
                                                rng.uniform(y0 - margin, y1 + margin, n)]])  # fmt: skip
    cells = [c.intersection(env) for c in voronoi_diagram(pts, envelope=env).geoms]
    return [c for c in cells if c.area > 0]


@pytest.mark.qgis
def test_centre_rule_matches_qgis_on_real_elevation(shared_data, qgis_run, tmp_path):
    """ecuador_rbsf/ta.tif band 4 (elevation, NaN nodata) over 300 Voronoi units, some reaching beyond it."""
    raster = shared_data / "ecuador_rbsf" / "ta.tif"
    with rasterio.open(raster) as src:
        bounds, crs, transform = src.bounds, src.crs, src.transform
    rng = np.random.default_rng(7)
    geoms = _voronoi_units(rng, bounds, 300, 150.0)
    x, y = transform * (100.37, 200.81)
    geoms += [box(x, y, x + 4.2, y + 3.1), box(x + 50.2, y + 50.6, x + 61.7, y + 59.9)]  # sub-pixel, one centre
    units = gpd.GeoDataFrame({"uid": np.arange(len(geoms))}, geometry=geoms, crs=crs)
    path = write_vector(units, tmp_path / "units.gpkg")
    theirs = _qgis_zonal(qgis_run, path, raster, 4, tmp_path / "q.gpkg")
    ours = aggregate_slope_units(units, [RasterSource(raster, "elev", band=4)], statistics=list(QGIS_STATS)).frame
    _assert_matches_qgis(ours, theirs, "elev")
    assert np.nanmax(theirs["q_count"]) > 200


def test_centres_on_unit_edges_count_at_most_once(tmp_path):
    """Edges through pixel centres: a north–south edge gives its centres to neither unit (as QGIS), an east–west
    edge to the unit south of it."""
    transform = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 100.0)  # centres at x, y = 5, 15, …, 95
    raster = write_geotiff(tmp_path / "ones.tif", np.ones((10, 10), np.float32), transform, CRS)
    units = gpd.GeoDataFrame(geometry=[box(0, 45, 100, 100), box(0, 0, 55, 45), box(55, 0, 100, 45)], crs=CRS)
    res = aggregate_slope_units(units, [RasterSource(raster, "one")], statistics=["count"]).frame
    assert res["one_count"].tolist() == [50.0, 25.0, 20.0]  # rows 0–4; rows 5–9 × columns 0–4; × columns 6–9


def test_float32_with_large_offset_keeps_std_exact(tmp_path):
    """Elevations near 3000 m varying by millimetres: the std agrees with a float64 two-pass computation."""
    rng = np.random.default_rng(5)
    array = (3000.0 + rng.normal(0, 0.003, (50, 70))).astype(np.float32)
    array[:, 35:] = np.float32(3124.5)  # a constant half: std must be exactly 0
    transform = _transform()
    raster = write_geotiff(tmp_path / "z.tif", array, transform, CRS)
    x0, y1 = transform * (0, 0)
    x1, y0 = transform * (70, 50)
    xm = (x0 + x1) / 2
    units = gpd.GeoDataFrame(geometry=[box(x0 + 1, y0 + 1, xm - 1, y1 - 1), box(xm + 1, y0 + 1, x1 - 1, y1 - 1)],
                             crs=CRS)  # fmt: skip
    res = aggregate_slope_units(units, [RasterSource(raster, "z")], max_memory_mb=0.02).frame
    left = array[:, :35].astype(np.float64)
    assert res["z_mean"][0] == pytest.approx(left.mean(), abs=1e-10)
    assert res["z_std"][0] == pytest.approx(left.std(), rel=1e-9)
    assert res["z_std"][1] == 0.0
    assert res["z_mean"][1] == 3124.5


# ----------------------------------------------------------------------------------------------- windows, grids


@pytest.mark.parametrize("rule", ["centre", "exact"])
def test_tiny_memory_bound_gives_the_same_results(synthetic, tmp_path, rule):
    units = synthetic["units"]
    classes = np.where(synthetic["array"] > 3000, 2, 7).astype(np.int16)
    classes[:5] = -1
    cls = write_geotiff(tmp_path / "cls.tif", classes, synthetic["transform"], CRS, nodata=0)
    kw = dict(statistics=["mean", "std", "min", "max", "median", "p10"], class_fractions=True, pixel_rule=rule)
    big = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], [RasterSource(cls, "c")], **kw)
    small = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], [RasterSource(cls, "c")],
                                  max_memory_mb=0.01, **kw)  # fmt: skip
    assert list(big.frame.columns) == list(small.frame.columns)
    assert "c_fm1" in big.frame.columns and "c_f2" in big.frame.columns
    for col in big.frame.columns.drop("geometry"):
        np.testing.assert_allclose(small.frame[col], big.frame[col], rtol=1e-12, atol=1e-9, equal_nan=True,
                                   err_msg=col)  # fmt: skip
    assert big.warnings == small.warnings


def test_peak_memory_is_bounded_by_the_budget_not_the_raster(tmp_path):
    rng = np.random.default_rng(1)
    size = 1500  # 9 MB of float32, 18 MB as float64
    array = rng.normal(500, 20, (size, size)).astype(np.float32)
    transform = _transform()
    raster = write_geotiff(tmp_path / "big.tif", array, transform, CRS)
    x0, y1 = transform * (0, 0)
    units = gpd.GeoDataFrame(
        geometry=[box(x0 + i * 1500 + 3.3, y1 - (j + 1) * 1500 + 2.7, x0 + (i + 1) * 1500 - 4.1, y1 - j * 1500 - 1.9)
                  for i in range(10) for j in range(10)], crs=CRS)  # fmt: skip
    tracemalloc.start()
    try:
        res = aggregate_slope_units(units, [RasterSource(raster, "v")], max_memory_mb=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert res.frame["v_mean"].notna().all()
    block = array[0:150, 0:150].astype(np.float64)  # unit (0, 0) holds rows 0..149, columns 0..149 exactly
    assert res.frame["v_mean"][0] == pytest.approx(block.mean(), abs=1e-9)


def test_rasters_on_different_grids_and_crs(synthetic, tmp_path):
    """Each raster keeps its own grid: results equal separate runs, and a units layer in another CRS is projected."""
    units = synthetic["units"]
    coarse = synthetic["array"][::2, ::2].copy()
    coarse_path = write_geotiff(tmp_path / "coarse.tif", coarse, _transform((ORIGIN[0] + 7.0, ORIGIN[1] - 3.0), 20.0),
                                CRS, nodata=-9999.0)  # fmt: skip
    sources = [RasterSource(synthetic["raster"], "fine"), RasterSource(coarse_path, "coarse"),
               RasterSource(synthetic["raster"], "again")]  # fmt: skip
    both = aggregate_slope_units(units, sources).frame
    for src in sources:
        alone = aggregate_slope_units(units, [src]).frame
        np.testing.assert_array_equal(both[f"{src.name}_mean"], alone[f"{src.name}_mean"])
        np.testing.assert_array_equal(both[f"{src.name}_std"], alone[f"{src.name}_std"])
    assert not np.allclose(both["fine_mean"], both["coarse_mean"], equal_nan=True)
    geographic = aggregate_slope_units(units.to_crs("EPSG:4326"), sources[:2]).frame
    for col in ("fine_mean", "fine_std", "coarse_mean", "valid_frac"):
        np.testing.assert_allclose(geographic[col], both[col], rtol=0, atol=1e-6, equal_nan=True, err_msg=col)
    assert geographic.crs.to_epsg() == 4326  # the output keeps the units' own geometry and CRS


def test_overlapping_units_each_get_all_their_pixels(synthetic):
    x0, y1 = synthetic["transform"] * (0, 0)
    a = _star(np.random.default_rng(9), x0 + 300, y1 - 250, 60, 150, 11)
    geoms = [a, a.buffer(-30), a.buffer(25).difference(a.buffer(-45)), box(x0 + 250, y1 - 300, x0 + 420, y1 - 180)]
    units = gpd.GeoDataFrame({"k": range(4)}, geometry=geoms, crs=CRS)
    for rule in ("centre", "exact"):
        together = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], pixel_rule=rule,
                                         statistics=["count", "mean", "std", "max"]).frame  # fmt: skip
        for i in range(4):
            alone = aggregate_slope_units(units.iloc[[i]], [RasterSource(synthetic["raster"], "z")], pixel_rule=rule,
                                          statistics=["count", "mean", "std", "max"]).frame  # fmt: skip
            for col in ("z_count", "z_mean", "z_std", "z_max"):
                assert together[col].iloc[i] == pytest.approx(alone[col].iloc[0], abs=1e-9), (rule, i, col)
        assert together["z_count"].iloc[1] > 50


def test_valid_fraction(synthetic):
    units = synthetic["units"]
    res = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")], statistics=["count"]).frame
    transform, array = synthetic["transform"], synthetic["array"]
    height, width = array.shape
    rows, cols = np.mgrid[0:height, 0:width]
    xs, ys = transform * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    ok = _valid(array, -9999.0).ravel()
    (x0, y1), (x1, y0) = transform * (0, 0), transform * (width, height)
    extent = box(x0, y0, x1, y1)
    checked = crossing = 0
    for i, g in enumerate(units.geometry):
        inside = _contains_xy(g, xs, ys)
        if (inside & ok).sum() <= 1:
            continue  # measured by coverage
        share_in = g.intersection(extent).area / g.area
        crossing += share_in < 1
        expected = (inside & ok).sum() / inside.sum() * share_in  # valid centres / all centres × area inside
        assert res["valid_frac"].iloc[i] == pytest.approx(expected, rel=1e-12), i
        checked += 1
    assert checked >= 15 and crossing >= 2
    assert res["valid_frac"].iloc[-1] == 0.0 and res["valid_frac"].iloc[-2] == 0.0  # all nodata, outside
    tiny = units.geometry.iloc[16]  # smaller than a pixel, on a valid pixel: fully covered
    assert res["valid_frac"].iloc[16] == pytest.approx(1.0) and tiny.area < CELL**2


# ----------------------------------------------------------------------------------------------- class rasters


def test_class_raster_majority_ties_and_fractions(tmp_path):
    classes = np.array([[3, 3, 5, 5, 9, 9, 9, 9], [3, 3, 5, 5, -1, -1, 9, 0]], dtype=np.int16)
    transform = _transform()
    path = write_geotiff(tmp_path / "lc.tif", classes, transform, CRS, nodata=0)
    x0, y1 = transform * (0, 0)
    units = gpd.GeoDataFrame(geometry=[
        box(x0 + 1, y1 - 19, x0 + 39, y1 - 1),  # 4 × class 3, 4 × class 5: tie → 3
        box(x0 + 41, y1 - 19, x0 + 79, y1 - 1),  # 5 × class 9, 2 × class −1 (nodata cell left out)
    ], crs=CRS)  # fmt: skip
    res = aggregate_slope_units(units, [], [RasterSource(path, "Land Cover")], class_fractions=True)
    f = res.frame
    assert res.columns == {"land_cover": ["land_cover_maj", "land_cover_fm1", "land_cover_f3", "land_cover_f5",
                                          "land_cover_f9"]}  # fmt: skip
    assert f["land_cover_maj"].tolist() == [3, 9]
    np.testing.assert_allclose(f["land_cover_f3"], [0.5, 0.0])
    np.testing.assert_allclose(f["land_cover_f9"], [0.0, 5 / 7])
    np.testing.assert_allclose(f["land_cover_fm1"], [0.0, 2 / 7])
    np.testing.assert_allclose(f["valid_frac"], [1.0, 7 / 8])  # first class raster when no continuous one
    without = aggregate_slope_units(units, [], [RasterSource(path, "lc")]).frame
    assert [c for c in without.columns if c.startswith("lc_")] == ["lc_maj"]
    # the same classes as float32 with NaN for nodata
    floats = np.where(classes == 0, np.nan, classes).astype(np.float32)
    fpath = write_geotiff(tmp_path / "lcf.tif", floats, transform, CRS, nodata=float("nan"))
    again = aggregate_slope_units(units, [], [RasterSource(fpath, "Land Cover")], class_fractions=True).frame
    for col in res.columns["land_cover"]:
        np.testing.assert_array_equal(again[col], f[col])


def test_class_raster_must_hold_integers(tmp_path):
    path = write_geotiff(tmp_path / "f.tif", np.full((4, 4), 1.5, np.float32), _transform(), CRS)
    x0, y1 = _transform() * (0, 0)
    units = gpd.GeoDataFrame(geometry=[box(x0 + 1, y1 - 39, x0 + 39, y1 - 1)], crs=CRS)
    with pytest.raises(ValueError, match="non-integer"):
        aggregate_slope_units(units, [], [path])


# ----------------------------------------------------------------------------------------------- names


def test_names_are_sanitised_unique_and_clashes_resolved(synthetic, tmp_path):
    units = synthetic["units"].assign(**{"Dem_Mean": 1.0, "landslide": 5})
    raster = synthetic["raster"]
    multi = tmp_path / "Slope Map (2020).tif"
    with rasterio.open(multi, "w", driver="GTiff", width=80, height=60, count=2, dtype="float32", crs=CRS,
                       transform=synthetic["transform"]) as dst:  # fmt: skip
        dst.write(np.stack([synthetic["array"]] * 2))
    res = aggregate_slope_units(units, [RasterSource(raster), RasterSource(raster), RasterSource(multi, band=2),
                                        RasterSource(raster, "Ñame-1!")], statistics=["mean"])  # fmt: skip
    assert list(res.columns) == ["dem_2", "dem_3", "slope_map_2020_b2", "ame_1"]
    assert "Dem_Mean" in res.frame.columns and "dem_2_mean" in res.frame.columns
    assert sanitise_name("2020 rain") == "r_2020_rain" and sanitise_name("!!") == "raster"
    with pytest.raises(ValueError, match="both named 'z'"):
        aggregate_slope_units(units, [RasterSource(raster, "z"), RasterSource(raster, "Z")])
    with pytest.raises(ValueError, match="already exist"):
        aggregate_slope_units(units, [RasterSource(raster, "dem")], statistics=["mean"])
    with pytest.raises(ValueError, match="already exist"):
        aggregate_slope_units(units, [RasterSource(raster, "ls")], statistics=["count"])  # ls_count is fixed


def test_missing_crs_of_raster_or_inventory_means_the_units_crs(synthetic, tmp_path):
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=80, height=60, count=1, dtype="float32",
                       transform=synthetic["transform"], nodata=-9999.0) as dst:  # fmt: skip
        dst.write(synthetic["array"], 1)
    units = synthetic["units"]
    points = gpd.GeoDataFrame(geometry=[units.geometry.iloc[3].representative_point()])
    res = aggregate_slope_units(units, [RasterSource(bare, "z")], inventory=points)
    ref = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")]).frame
    np.testing.assert_array_equal(res.frame["z_mean"], ref["z_mean"])
    assert res.frame["ls_count"].iloc[3] == 1
    assert any("bare.tif' has no CRS" in w for w in res.warnings)
    assert any("inventory has no CRS" in w for w in res.warnings)


def test_fixed_fields_replace_input_fields(synthetic):
    units = synthetic["units"].assign(Valid_Frac=-1.0)
    res = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")])
    assert "Valid_Frac" not in res.frame.columns and (res.frame["valid_frac"] >= 0).all()
    assert any("'Valid_Frac' is replaced" in w for w in res.warnings)


# ----------------------------------------------------------------------------------------------- inventory


def _grid_units(crs=CRS):
    squares = [box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200), box(100, 100, 200, 200)]
    return gpd.GeoDataFrame({"name": list("abcd")}, geometry=squares, crs=crs)


def test_points_count_once_even_on_shared_boundaries():
    units = _grid_units()
    pts = gpd.GeoDataFrame(geometry=[
        Point(50, 50), Point(100, 50),  # inside a; on the a|b edge → a (first unit)
        Point(100, 100),  # the corner of all four → a
        Point(150, 150), MultiPoint([(120, 20), (130, 30), (20, 20)]),  # d; multipoint: 2 in b, 1 in a → b
        Point(500, 500),  # outside
    ], crs=CRS)  # fmt: skip
    res = aggregate_slope_units(units, [], inventory=pts.to_crs("EPSG:4326"))
    assert res.frame["ls_count"].tolist() == [3, 1, 0, 1]
    assert res.frame["landslide"].tolist() == [1, 1, 0, 1]
    assert res.frame["ls_area_frac"].tolist() == [0.0] * 4
    assert sum(res.frame["ls_count"]) == 5
    assert any("1 of 6 landslide(s) lie outside" in w for w in res.warnings)


def test_polygon_landslides_count_in_the_unit_holding_most_area():
    units = _grid_units()
    slides = gpd.GeoDataFrame(geometry=[
        box(60, 10, 130, 40),  # 40 in a, 30 in b → a
        box(110, 10, 150, 50), box(120, 20, 180, 60),  # overlapping, both in b; union counted once in the area
        box(95, 150, 110, 160),  # mostly in d
        box(300, 300, 310, 310),  # outside
    ], crs=CRS)  # fmt: skip
    res = aggregate_slope_units(units, [], inventory=slides)
    f = res.frame
    assert f["ls_count"].tolist() == [1, 2, 0, 1]
    union = slides.geometry.unary_union
    for i, g in enumerate(units.geometry):
        assert f["ls_area_frac"].iloc[i] == pytest.approx(g.intersection(union).area / g.area)
    # b holds 30 × 30 of the first slide and both others: 900 + 1600 + 2400 - 600 - 200 - 900 + 200 (overlaps)
    assert f["ls_area_frac"].iloc[1] == pytest.approx(0.34)
    assert any("1 of 5" in w for w in res.warnings)


def test_real_landslide_points_on_real_slope_units(shared_data):
    """sz_northeast_india: 163 MultiPoint landslides onto 832 slope units (EPSG:3857) against the layer's `y`."""
    folder = shared_data / "sz_northeast_india"
    units = gpd.read_file(folder / "input_variables.shp")
    points = gpd.read_file(folder / "landslide_points.shp")
    res = aggregate_slope_units(units, [], inventory=points)
    f = res.frame
    flat = [p for g in points.geometry for p in g.geoms]
    inside = sum(any(u.intersects(p) for u in units.geometry) for p in flat)
    assert len(flat) == 163 and inside == 163
    assert f["ls_count"].sum() == inside and res.warnings == []
    assert f["y"].sum() == 206  # the layer's own count comes from a larger inventory than the 163 points
    assert (f["ls_count"] <= f["y"]).all()
    assert int((f["ls_count"] != f["y"]).sum()) == 24
    assert int((f["landslide"] == 1).sum()) == 92 and int((f["y"] > 0).sum()) == 115


# ----------------------------------------------------------------------------------------------- errors, progress


def test_bad_input_raises_value_errors_naming_the_problem(synthetic, tmp_path):
    units, raster = synthetic["units"], synthetic["raster"]
    lines = gpd.GeoDataFrame(geometry=[shapely_geometry.LineString([(0, 0), (1, 1)])], crs=CRS)
    far = units.assign(geometry=units.geometry.translate(1e6, 0))
    cases = [
        (lambda: aggregate_slope_units(lines, [raster]), "polygons"),
        (lambda: aggregate_slope_units(units.iloc[:0], [raster]), "no features"),
        (lambda: aggregate_slope_units(far, [raster]), "does not overlap"),
        (lambda: aggregate_slope_units(units, [raster], statistics=["mean", "mode"]), "unknown statistic 'mode'"),
        (lambda: aggregate_slope_units(units, [raster], statistics=["p101"]), "unknown statistic"),
        (lambda: aggregate_slope_units(units, [raster], pixel_rule="touch"), "pixel_rule"),
        (lambda: aggregate_slope_units(units, [RasterSource(raster, band=3)]), "band 3"),
        (lambda: aggregate_slope_units(units, [tmp_path / "missing.tif"]), "cannot be opened"),
        (lambda: aggregate_slope_units(units, [raster], max_memory_mb=0), "max_memory_mb"),
        (lambda: aggregate_slope_units(units, [], inventory=lines), "points or all polygons"),
        (lambda: aggregate_slope_units(units, [], inventory=lines.iloc[:0]), "inventory: the layer has no features"),
        (lambda: aggregate_slope_units(units, []), "nothing to aggregate"),
        (lambda: aggregate_slope_units(gpd.GeoDataFrame(geometry=list(units.geometry)), [raster]), "no CRS"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_progress_is_reported_and_cancel_stops(synthetic):
    seen = []
    aggregate_slope_units(synthetic["units"], [synthetic["raster"]], max_memory_mb=0.02,
                          progress=lambda f, m: seen.append(f))  # fmt: skip
    assert len(seen) > 5 and seen == sorted(seen) and seen[-1] == 1.0

    def cancel(fraction, message):
        if fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        aggregate_slope_units(synthetic["units"], [synthetic["raster"]], max_memory_mb=0.02, progress=cancel)


def test_three_dimensional_units_are_read_in_two_dimensions(synthetic):
    from shapely.ops import transform as apply

    units = synthetic["units"].iloc[:8]
    flat = aggregate_slope_units(units, [RasterSource(synthetic["raster"], "z")]).frame
    lifted = units.assign(geometry=[apply(lambda x, y, z=None: (x, y, np.full_like(x, 7.0)), g)
                                    for g in units.geometry])  # fmt: skip
    assert lifted.geometry.iloc[0].has_z
    deep = aggregate_slope_units(lifted, [RasterSource(synthetic["raster"], "z")]).frame
    np.testing.assert_array_equal(deep["z_mean"], flat["z_mean"])
