"""Real data: the USGS ShakeMap of the 1989 Loma Prieta earthquake and the Godt et al. (2008) model output.

The target grid ``godt_2008_target.nc`` is the USGS ground-failure model's probability map; the physics of
core.physics, fed with the USGS inputs, must reproduce every one of its 84 × 144 cells.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from landslide_susceptibility.core.physics import godt2008_probability
from landslide_susceptibility.core.shakemap import ShakeMapGrid, read_shakemap_grid

SLOPE_QUANTILES = ("slope_min", "slope10", "slope30", "slope50", "slope70", "slope90", "slope_max")


@pytest.fixture(scope="module")
def grid(loma) -> ShakeMapGrid:
    return read_shakemap_grid(loma / "grid.xml")


def _read_target(path):
    """(lon, lat, z) of the netCDF target; z[k] is the row at latitude lat[k]."""
    from scipy.io import netcdf_file

    with netcdf_file(path, mmap=False) as nc:
        return (np.array(nc.variables["x"][:]), np.array(nc.variables["y"][:]), np.array(nc.variables["z"][:]))


def _cell_index(transform, lon, lat):
    """Row and column of the north-up raster cell that contains each point."""
    rows = np.floor((lat - transform.f) / transform.e).astype(int)
    cols = np.floor((lon - transform.c) / transform.a).astype(int)
    return rows, cols


# ------------------------------------------------------------------------------------------- grid.xml


def test_read_grid(grid):
    assert (grid.nlat, grid.nlon) == (29, 49)
    assert (grid.lon_min, grid.lon_max, grid.lat_min, grid.lat_max) == (-122.5, -121.3, 36.5, 37.2)
    assert grid.dlon == pytest.approx(0.025) and grid.dlat == pytest.approx(0.025)
    assert list(grid.fields)[:5] == ["LON", "LAT", "PGA", "PGV", "MMI"]
    assert grid.event["magnitude"] == "6.9"
    pga = grid.field("PGA")
    # first data line: the north-west node; rows run north → south
    assert pga[0, 0] == 18.09 and pga[0, 3] == 21.41
    assert grid.field("LAT")[0, 0] == 37.2 and grid.field("LAT")[-1, 0] == 36.5
    assert grid.field("LON")[0, -1] == pytest.approx(-121.3)
    np.testing.assert_allclose(grid.field("PGA", unit="g")[0, :2], [0.1809, 0.1911])


def test_sample(grid):
    pga = grid.field("PGA")
    # at nodes both methods return the node value
    lon = np.array([-122.5, -122.425, -121.3])
    lat = np.array([37.2, 37.2, 36.5])
    expected = [pga[0, 0], pga[0, 3], pga[-1, -1]]
    np.testing.assert_allclose(grid.sample("PGA", lon, lat), expected, rtol=1e-12)
    np.testing.assert_allclose(grid.sample("PGA", lon, lat, method="nearest"), expected)
    # the centre of the first cell is the mean of its four nodes; nearest snaps to the closest node
    mid = grid.sample("PGA", -122.4875, 37.1875)
    assert float(mid) == pytest.approx(pga[:2, :2].mean(), rel=1e-12)
    assert float(grid.sample("PGA", -122.49, 37.199, method="nearest")) == pga[0, 0]
    assert float(grid.sample("PGA", -122.4875, 37.1875, unit="g")) == pytest.approx(pga[:2, :2].mean() / 100)
    # bilinear along one edge is linear interpolation
    quarter = grid.sample("PGA", -122.5 + 0.25 * 0.025, 37.2)
    assert float(quarter) == pytest.approx(0.75 * pga[0, 0] + 0.25 * pga[0, 1], rel=1e-12)


def test_sample_outside_and_bad_requests(grid):
    with pytest.raises(ValueError, match=r"2 of 3 points lie outside the ShakeMap grid \(lon -122.5…-121.3"):
        grid.sample("PGA", [-122.0, -123.0, -121.0], [37.0, 37.0, 37.0])
    with pytest.raises(ValueError, match="no field 'PGX'"):
        grid.sample("PGA".replace("A", "X"), -122.0, 37.0)
    with pytest.raises(ValueError, match="method"):
        grid.sample("PGA", -122.0, 37.0, method="cubic")
    with pytest.raises(ValueError, match="acceleration fields only"):
        grid.sample("PGV", -122.0, 37.0, unit="g")


def test_to_geotiff(grid, tmp_path):
    path = grid.to_geotiff(tmp_path / "pga.tif")
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 4326
        assert (ds.height, ds.width) == (29, 49)
        assert ds.transform.a == pytest.approx(0.025) and ds.transform.e == pytest.approx(-0.025)
        # pixel centres are the nodes
        assert ds.xy(0, 0) == pytest.approx((-122.5, 37.2))
        assert ds.xy(28, 48) == pytest.approx((-121.3, 36.5))
        data = ds.read(1)
        assert ds.descriptions[0] == "PGA (g)"
    np.testing.assert_allclose(data, grid.field("PGA") / 100, rtol=1e-6)
    with rasterio.open(grid.to_geotiff(tmp_path / "mmi.tif", "MMI")) as ds:
        np.testing.assert_allclose(ds.read(1), grid.field("MMI"), rtol=1e-6)


def test_not_a_shakemap(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><kml><Document/></kml>')
    with pytest.raises(ValueError, match="root element is <kml>"):
        read_shakemap_grid(other)
    text = tmp_path / "grid.xml"
    text.write_text("LON LAT PGA\n-122.5 37.2 18.09\n")
    with pytest.raises(ValueError, match="not XML"):
        read_shakemap_grid(text)


def test_truncated_grid(loma, tmp_path):
    xml = (loma / "grid.xml").read_text()
    cut = xml.index("</grid_data>")
    last_line = xml.rindex("\n", 0, cut - 1)
    broken = tmp_path / "grid.xml"
    broken.write_text(xml[:last_line] + "\n" + xml[cut:])
    with pytest.raises(ValueError, match="expected 49×29 nodes × 11 fields"):
        read_shakemap_grid(broken)


# ------------------------------------------------------------------------------------- Godt et al. (2008)


def test_godt2008_reproduces_usgs_target(loma, grid):
    lon, lat, target = _read_target(loma / "godt_2008_target.nc")
    assert target.shape == (84, 144) == (lat.size, lon.size)

    slopes = []
    for name in SLOPE_QUANTILES:
        with rasterio.open(loma / "slopes" / f"{name}.tif") as ds:
            rows, cols = _cell_index(ds.transform, lon, lat)  # the target cells are cells of the slope grids
            band = ds.read(1)[np.ix_(rows, cols)]
            slopes.append(np.where(band == ds.nodata, np.nan, band / 100.0))  # degrees × 100
            centre_lon, centre_lat = ds.xy(rows[0], cols[0])
    assert (centre_lon, centre_lat) == pytest.approx((lon[0], lat[0]), abs=1e-9)

    lon2, lat2 = np.meshgrid(lon, lat)
    pga_g = grid.sample("PGA", lon2, lat2, unit="g")

    def nearest(path):
        with rasterio.open(path) as ds:  # cohesion and friction: 30″ grid without a CRS tag (it is EPSG:4326)
            band = ds.read(1)[_cell_index(ds.transform, lon2, lat2)].astype(float)
            return np.where(band == ds.nodata, np.nan, band)

    cohesion_kpa = nearest(loma / "cohesion_10i_kPa.tif") / 10.0  # kPa × 10
    friction_deg = nearest(loma / "friction_deg.tif")

    prob = godt2008_probability(np.stack(slopes), cohesion_kpa, friction_deg, pga_g)
    assert prob.shape == target.shape
    assert np.isfinite(prob).all()
    matched = np.isclose(prob, target, rtol=0, atol=1e-9)
    assert matched.sum() == 12_096, f"{12_096 - matched.sum()} cells differ"
    # the map is not trivial: every probability class up to 0.9 occurs
    values, counts = np.unique(target, return_counts=True)
    np.testing.assert_allclose(values, [0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9])
    assert counts[0] < 11_000
    # nearest-node PGA instead of bilinear breaks the match: the test resolves the interpolation
    coarse = godt2008_probability(
        np.stack(slopes), cohesion_kpa, friction_deg, grid.sample("PGA", lon2, lat2, "nearest", "g")
    )
    assert np.isclose(coarse, target, atol=1e-9).mean() < 0.995
