"""Terrain variables: reference raster, analytic surfaces, geographic DEMs, block processing, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine

from landslide_susceptibility.core import terrain
from landslide_susceptibility.core.terrain import (
    TERRAIN_METHODS,
    TERRAIN_VARIABLE_NAMES,
    grid_metrics,
    terrain_variables,
    write_terrain_variables,
)

rasterio = pytest.importorskip("rasterio")


@pytest.fixture(scope="module")
def ecuador(shared_data):
    with rasterio.open(shared_data / "ecuador_rbsf" / "ta.tif") as src:
        bands = src.read()
        return bands, src.transform, src.crs


def test_methods_and_default():
    assert TERRAIN_METHODS == ("zevenbergen_thorne", "horn")
    assert terrain.DEFAULT_METHOD == "zevenbergen_thorne"
    assert terrain.method_name(1) == "horn"
    assert terrain.method_name("Zevenbergen-Thorne") == "zevenbergen_thorne"


def test_zevenbergen_thorne_reproduces_reference_raster(ecuador):
    """ta.tif band 1 (slope), 2 (plan curvature), 3 (profile curvature) were computed from band 4 (elevation)."""
    bands, transform, crs = ecuador
    slope_ref, plan_ref, prof_ref, elev = bands[0], bands[1], bands[2], bands[3]
    out = terrain_variables(elev, transform, crs=crs)
    valid = np.isfinite(elev)
    assert valid.sum() == elev.size - 619
    # Every valid cell, edges and cells next to nodata included, and NaN exactly on nodata.
    np.testing.assert_array_equal(np.isnan(out.slope_deg), ~valid)
    assert np.abs(out.slope_deg[valid] - slope_ref[valid]).max() < 0.01
    np.testing.assert_allclose(out.plan_curvature[valid], plan_ref[valid], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out.profile_curvature[valid], prof_ref[valid], rtol=1e-4, atol=1e-6)
    assert out.slope_deg.dtype == np.float32


def test_horn_is_the_other_method(ecuador):
    bands, transform, crs = ecuador
    valid = np.isfinite(bands[3])
    horn = terrain_variables(bands[3], transform, crs=crs, method="horn").slope_deg
    diff = np.abs(horn[valid] - bands[0][valid])
    assert 0.5 <= diff.mean() <= 2.0  # measured 1.106°
    assert diff.max() > 1.0


@pytest.mark.parametrize("method", TERRAIN_METHODS)
def test_plane_gives_exact_slope_and_aspect_everywhere(method):
    # Rectangular cells (10 m east-west, 25 m north-south); a NaN hole inside.
    transform = Affine(10.0, 0.0, 5000.0, 0.0, -25.0, 8000.0)
    rows, cols = np.mgrid[0:30, 0:40]
    x = 5000.0 + (cols + 0.5) * 10.0
    y = 8000.0 - (rows + 0.5) * 25.0
    dzdx, dzdy = 0.3, -0.4  # rising east, falling north: the slope faces north-west
    dem = 100.0 + dzdx * (x - 5000.0) + dzdy * (y - 8000.0)
    dem[12:15, 20:22] = -9999.0
    out = terrain_variables(dem, transform, method=method, nodata=-9999.0)
    valid = dem != -9999.0
    assert np.isnan(out.slope_deg[~valid]).all()
    np.testing.assert_allclose(out.slope_deg[valid], math.degrees(math.atan(0.5)), atol=1e-4)
    np.testing.assert_allclose(out.eastness[valid], -0.6, atol=1e-6)  # aspect = atan2(-0.3, 0.4) = 323.13°
    np.testing.assert_allclose(out.northness[valid], 0.8, atol=1e-6)
    np.testing.assert_allclose(out.plan_curvature[valid], 0.0, atol=1e-6)
    np.testing.assert_allclose(out.profile_curvature[valid], 0.0, atol=1e-6)


@pytest.mark.parametrize(
    ("dzdx", "dzdy", "east", "north"),
    [(-0.2, 0.0, 1.0, 0.0), (0.2, 0.0, -1.0, 0.0), (0.0, -0.2, 0.0, 1.0), (0.0, 0.2, 0.0, -1.0)],
)
def test_aspect_convention(dzdx, dzdy, east, north):
    """A surface falling towards the east faces east: eastness 1."""
    cols, rows = np.meshgrid(np.arange(9), np.arange(7))
    dem = 500.0 + dzdx * cols * 5.0 - dzdy * rows * 5.0  # rows run south
    out = terrain_variables(dem, Affine(5.0, 0, 0, 0, -5.0, 0))
    np.testing.assert_allclose(out.eastness, east, atol=1e-6)
    np.testing.assert_allclose(out.northness, north, atol=1e-6)
    np.testing.assert_allclose(out.slope_deg, math.degrees(math.atan(0.2)), atol=1e-4)


def test_flat_dem_is_zero_everywhere():
    out = terrain_variables(np.full((5, 6), 321.0), Affine(30.0, 0, 0, 0, -30.0, 0))
    for name in TERRAIN_VARIABLE_NAMES:
        np.testing.assert_array_equal(getattr(out, name), 0.0)


@pytest.mark.parametrize("method", TERRAIN_METHODS)
@pytest.mark.parametrize("k", [0.01, -0.01])
def test_paraboloid_curvature_sign_and_magnitude(method, k):
    """z = -k/2 (x² + y²): plan curvature = sign(k)/ρ (contour radius ρ), profile = k / (1 + k²ρ²)^1.5."""
    h = 4.0
    n = 41
    coords = (np.arange(n) - n // 2) * h
    x, y = np.meshgrid(coords, -coords)
    dem = 1000.0 - 0.5 * k * (x**2 + y**2)
    out = terrain_variables(dem, Affine(h, 0, -h * (n // 2 + 0.5), 0, -h, h * (n // 2 + 0.5)), method=method)
    rho = np.hypot(x, y)
    inner = (rho > 0) & (np.abs(x) < h * (n // 2 - 1)) & (np.abs(y) < h * (n // 2 - 1))
    np.testing.assert_allclose(out.plan_curvature[inner], np.sign(k) / rho[inner], rtol=1e-4)
    np.testing.assert_allclose(
        out.profile_curvature[inner], k / (1.0 + k * k * rho[inner] ** 2) ** 1.5, rtol=1e-4
    )
    expected_slope = np.degrees(np.arctan(abs(k) * rho))
    np.testing.assert_allclose(out.slope_deg[inner], expected_slope[inner], atol=1e-3)
    # The centre is flat: zero curvature and no orientation.
    centre = (n // 2, n // 2)
    assert out.slope_deg[centre] == 0.0
    assert out.plan_curvature[centre] == 0.0 and out.eastness[centre] == 0.0


def test_grid_metrics_golden_values():
    """WGS 84 lengths of a degree (Wikipedia "Latitude", table of degree lengths), per arc-second."""
    sec = 1.0 / 3600.0
    m = grid_metrics(Affine(sec, 0, 10.0, 0, -sec, sec / 2), 1, "EPSG:4326")  # a row centred on the equator
    assert m.dx[0] == pytest.approx(111_320.0 / 3600, rel=1e-4)
    assert m.dy[0] == pytest.approx(-110_574.0 / 3600, rel=1e-4)
    m60 = grid_metrics(Affine(sec, 0, 10.0, 0, -sec, 60.0 + sec / 2), 1, "EPSG:4326")
    assert m60.dx[0] == pytest.approx(55_800.0 / 3600, rel=1e-4)
    assert m60.dy[0] == pytest.approx(-111_412.0 / 3600, rel=1e-4)
    # US survey feet are converted to metres.
    ft = grid_metrics(Affine(100.0, 0, 6e6, 0, -100.0, 2e6), 2, "EPSG:2227")
    np.testing.assert_allclose(ft.dx, 30.48006, rtol=1e-6)
    assert grid_metrics(Affine(10.0, 0, 0, 0, -10.0, 0), 3, None).cell_area.tolist() == [100.0] * 3


def _slope_vs_utm(path, utm: str, crs=None) -> tuple[np.ndarray, float]:
    """Differences (UTM − geographic) of slope at the geographic cell centres, and the geographic slope mean.

    The DEM is reprojected to a 30 m UTM grid (bilinear), its slope computed there and interpolated (bilinear) to
    the centres of the geographic cells, 5 cells away from the edges.
    """
    from rasterio.warp import Resampling, calculate_default_transform, reproject
    from rasterio.warp import transform as warp_points
    from scipy import ndimage

    with rasterio.open(path) as src:
        dem = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        transform, bounds = src.transform, src.bounds
        src_crs = crs or src.crs
    geo = terrain_variables(dem, transform, crs=src_crs).slope_deg
    dst_transform, width, height = calculate_default_transform(
        src_crs, utm, dem.shape[1], dem.shape[0], *bounds, resolution=30.0
    )
    projected = np.full((height, width), np.nan)
    reproject(dem, projected, src_transform=transform, src_crs=src_crs, dst_transform=dst_transform,
              dst_crs=utm, resampling=Resampling.bilinear, dst_nodata=np.nan)
    utm_slope = terrain_variables(projected, dst_transform, crs=utm).slope_deg
    rows, cols = np.mgrid[5 : dem.shape[0] - 5, 5 : dem.shape[1] - 5]
    lon, lat = transform * (cols + 0.5, rows + 0.5)
    x, y = warp_points(src_crs, utm, lon.ravel(), lat.ravel())
    col, row = ~dst_transform * (np.asarray(x), np.asarray(y))
    sampled = ndimage.map_coordinates(np.nan_to_num(utm_slope, nan=-1.0), [row - 0.5, col - 0.5], order=1, cval=-1.0)
    sampled = sampled.reshape(rows.shape)
    ok = sampled >= 0
    assert ok.mean() > 0.99
    diff = np.where(ok, sampled - geo[rows, cols], np.nan)
    return diff, float(geo[rows, cols].mean())


@pytest.mark.parametrize(
    ("name", "utm", "crs"),
    [("zion_srtm_4326.tif", "EPSG:32612", None), ("front_range_srtm3_4326.asc", "EPSG:32613", "EPSG:4326")],
)
def test_geographic_dem_slope_matches_utm(shared_data, name, utm, crs):
    """Slopes of a lon/lat DEM agree with the same DEM reprojected to UTM.

    Cell by cell, the two grids differ by the resampling (bilinear smoothing, a rotated 30 m grid against 3″ cells),
    which on Zion's cliffs alone gives a few degrees at single cells; the metric conversion shows in the centre of
    the distribution and in local means. So: median |Δ| < 0.5°, no bias (|mean Δ| < 0.2°), and 95% of 5 × 5-cell
    mean differences within 1°. Ignoring cos(latitude) fails all three (median |Δ| 1.2°, 5 × 5 p95 3.8° at Zion).
    """
    from scipy import ndimage

    diff, mean_slope = _slope_vs_utm(shared_data / "dems" / name, utm, crs)
    assert mean_slope > 10.0  # real relief, not a trivial test
    finite = np.isfinite(diff)
    assert np.median(np.abs(diff[finite])) < 0.5  # measured 0.23° (Zion), 0.23° (Front Range)
    assert abs(diff[finite].mean()) < 0.2  # measured 0.05°
    local = ndimage.uniform_filter(np.nan_to_num(diff), 5)[2:-2, 2:-2]
    assert np.percentile(np.abs(local), 95) < 1.0  # measured 0.41° and 0.29°


def test_ascii_grid_without_crs_needs_override(shared_data, tmp_path):
    path = shared_data / "dems" / "front_range_srtm3_4326.asc"
    with pytest.raises(ValueError, match="looks like degrees"):
        write_terrain_variables(path, tmp_path)
    with rasterio.open(path) as src:
        dem, transform = src.read(1, masked=True), src.transform
    with pytest.raises(ValueError, match="crs="):
        terrain_variables(dem, transform)
    written = write_terrain_variables(path, tmp_path, crs="EPSG:4326", variables=["slope_deg"], block_rows=10)
    assert list(written) == ["slope_deg"]
    with rasterio.open(written["slope_deg"]) as out:
        assert out.crs.to_epsg() == 4326
        np.testing.assert_array_equal(out.read(1), terrain_variables(dem, transform, crs="EPSG:4326").slope_deg)


@pytest.mark.parametrize("method", TERRAIN_METHODS)
def test_block_processing_equals_in_memory(shared_data, tmp_path, method):
    path = shared_data / "korea_dem_points" / "dem_10m_5186.tif"
    with rasterio.open(path) as src:
        dem, transform, crs, nodata = src.read(1), src.transform, src.crs, src.nodata
    whole = terrain_variables(dem, transform, crs=crs, method=method, nodata=nodata).as_dict()
    assert np.isnan(whole["slope_deg"]).sum() == 54
    calls = []
    outputs = {name: tmp_path / f"{method}_{name}.tif" for name in TERRAIN_VARIABLE_NAMES}
    written = write_terrain_variables(
        path, outputs, method=method, block_rows=37, progress=lambda f, m: calls.append(f)
    )
    assert written == outputs
    assert len(calls) == math.ceil(dem.shape[0] / 37) and calls[-1] == 1.0
    for name, file in written.items():
        with rasterio.open(file) as out:
            assert out.crs == crs and out.transform == transform and out.dtypes[0] == "float32"
            np.testing.assert_array_equal(out.read(1), whole[name])
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_bad_input():
    t = Affine(10.0, 0, 0, 0, -10.0, 0)
    with pytest.raises(ValueError, match="2-D"):
        terrain_variables(np.arange(10.0), t)
    with pytest.raises(ValueError, match="no valid cell"):
        terrain_variables(np.full((4, 4), -9999.0), t, nodata=-9999.0)
    with pytest.raises(ValueError, match="no valid cell"):
        terrain_variables(np.full((4, 4), np.nan), t)
    with pytest.raises(ValueError, match="rotated"):
        terrain_variables(np.zeros((4, 4)), Affine(10.0, 1.0, 0, 0, -10.0, 0))
    with pytest.raises(ValueError, match="terrain method"):
        terrain_variables(np.zeros((4, 4)), t, method="sobel")
    with pytest.raises(ValueError, match="numeric"):
        terrain_variables(np.array([["a", "b"], ["c", "d"]]), t)
    with pytest.raises(ValueError, match="unknown terrain variable"):
        write_terrain_variables("unused.tif", {"slope": "x.tif"})


def test_all_nodata_file_is_rejected_and_leaves_nothing(tmp_path):
    from landslide_susceptibility.core.io import write_geotiff

    dem = tmp_path / "empty.tif"
    write_geotiff(dem, np.full((5, 5), -1.0, dtype=np.float32), Affine(10.0, 0, 0, 0, -10.0, 0), "EPSG:32633", -1.0)
    with pytest.raises(ValueError, match="no valid cell"):
        write_terrain_variables(dem, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
