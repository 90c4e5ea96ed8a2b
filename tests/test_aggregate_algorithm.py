"""landslide:aggregateslopeunits through the real qgis_process, on the Korea chain and on bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

pytestmark = pytest.mark.qgis


@pytest.fixture(scope="module")
def korea_chain(qgis_run, shared_data, tmp_path_factory):
    """DEM → terrain variables → slope units, through qgis_process."""
    out = tmp_path_factory.mktemp("korea")
    dem = shared_data / "korea_dem_points" / "dem_10m_5186.tif"
    terrain = qgis_run(
        "landslide:terrainvariables",
        {
            "INPUT": dem,
            "SLOPE": out / "slope.tif",
            "EASTNESS": out / "eastness.tif",
            "NORTHNESS": out / "northness.tif",
        },
    )
    assert terrain.returncode == 0, terrain.log
    units = qgis_run("landslide:delineateslopeunits", {"INPUT": dem, "MIN_AREA": 50000, "OUTPUT": out / "su.gpkg"})
    assert units.returncode == 0, units.log
    return {
        "dem": dem,
        "points": shared_data / "korea_dem_points" / "landslides.shp",
        "out": out,
        "rasters": [terrain.results[k] for k in ("SLOPE", "EASTNESS", "NORTHNESS")],
        "units": units.results["OUTPUT"],
    }


def test_korea_chain_every_point_in_one_unit(qgis_run, korea_chain):
    run = qgis_run(
        "landslide:aggregateslopeunits",
        {
            "INPUT": korea_chain["units"],
            "RASTERS": [*korea_chain["rasters"], korea_chain["dem"]],
            "INVENTORY": korea_chain["points"],
            "STATISTICS": "0,1,2,3",  # qgis_process 3.22 takes a multiple enum comma-separated
            "OUTPUT": korea_chain["out"] / "table.gpkg",
        },
    )
    assert run.returncode == 0, run.log
    table = gpd.read_file(run.results["OUTPUT"])
    points = gpd.read_file(korea_chain["points"])
    assert len(points) == 842
    assert table["ls_count"].sum() == 842  # every point lands in exactly one unit
    assert run.results["N_LANDSLIDE_UNITS"] == (table["ls_count"] > 0).sum() == table["landslide"].sum()
    assert 0.1 < run.results["LANDSLIDE_SHARE"] < 0.5
    for name in ("slope", "eastness", "northness", "dem_10m_5186"):
        for stat in ("mean", "std", "min", "max"):
            assert f"{name}_{stat}" in table.columns
    assert (table["slope_min"] <= table["slope_mean"]).all() and (table["slope_mean"] <= table["slope_max"]).all()
    assert table["valid_frac"].between(0.99, 1.0 + 1e-9).all()
    assert {"su_id", "area_m2"} <= set(table.columns)  # input fields kept
    # the inventory in another CRS is reprojected, not refused: same counts
    wgs = korea_chain["out"] / "points_4326.gpkg"
    points.to_crs(4326).to_file(wgs, driver="GPKG")
    again = qgis_run(
        "landslide:aggregateslopeunits",
        {"INPUT": korea_chain["units"], "INVENTORY": wgs, "OUTPUT": korea_chain["out"] / "t2.gpkg"},
    )
    assert again.returncode == 0, again.log
    np.testing.assert_array_equal(gpd.read_file(again.results["OUTPUT"])["ls_count"], table["ls_count"])


def test_bad_inputs_get_clear_errors(qgis_run, korea_chain, shared_data, tmp_path):
    units = korea_chain["units"]
    slope = korea_chain["rasters"][0]
    points = korea_chain["points"]
    # points as slope units
    run = qgis_run("landslide:aggregateslopeunits", {"INPUT": points, "RASTERS": slope, "OUTPUT": tmp_path / "a.gpkg"})
    assert run.returncode == 1
    assert "INPUT must be a polygon layer" in run.log
    # a raster that does not overlap the units
    far = shared_data / "ecuador_rbsf" / "ta.tif"
    run = qgis_run("landslide:aggregateslopeunits", {"INPUT": units, "RASTERS": far, "OUTPUT": tmp_path / "b.gpkg"})
    assert run.returncode == 1
    assert "overlap" in run.log
    # an empty layer
    empty = tmp_path / "empty.gpkg"
    gpd.read_file(units).iloc[:0].to_file(empty, driver="GPKG")
    run = qgis_run("landslide:aggregateslopeunits", {"INPUT": empty, "RASTERS": slope, "OUTPUT": tmp_path / "c.gpkg"})
    assert run.returncode == 1
    assert "no features" in run.log
    # two rasters whose names give the same output fields
    other = tmp_path / "copy"
    other.mkdir()
    (other / "slope.tif").write_bytes(open(slope, "rb").read())
    run = qgis_run(
        "landslide:aggregateslopeunits",
        {"INPUT": units, "RASTERS": [slope, other / "slope.tif"], "OUTPUT": tmp_path / "d.gpkg"},
    )
    assert run.returncode == 1
    assert "slope" in run.log
    for name in "abcd":
        assert not (tmp_path / f"{name}.gpkg").exists()
