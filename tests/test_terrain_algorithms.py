"""landslide:terrainvariables and landslide:delineateslopeunits through the real qgis_process."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

pytestmark = pytest.mark.qgis


def test_terrain_variables_reproduce_ecuador_slope_band(qgis_run, shared_data, tmp_path):
    ta = shared_data / "ecuador_rbsf" / "ta.tif"
    outputs = {k: tmp_path / f"{k.lower()}.tif" for k in ("SLOPE", "EASTNESS", "NORTHNESS", "PLAN_CURVATURE")}
    run = qgis_run("landslide:terrainvariables", {"INPUT": ta, "BAND": 4, "METHOD": 0, **outputs})
    assert run.returncode == 0, run.log
    assert set(run.results) == set(outputs)
    assert not (tmp_path / "profile_curvature.tif").exists()
    with rasterio.open(ta) as src:
        reference = src.read(1, masked=True)
        crs = src.crs
    with rasterio.open(run.results["SLOPE"]) as out:
        assert out.crs == crs
        slope = out.read(1)
    valid = ~reference.mask & np.isfinite(slope)
    assert valid.sum() > 0.9 * reference.count()
    assert np.abs(slope[valid] - reference.data[valid]).max() < 0.01
    with rasterio.open(run.results["EASTNESS"]) as e, rasterio.open(run.results["NORTHNESS"]) as n:
        unit = np.hypot(e.read(1), n.read(1))
    assert np.nanmax(np.abs(unit[valid & (slope > 0.5)] - 1)) < 1e-5

    horn = qgis_run("landslide:terrainvariables", {"INPUT": ta, "BAND": 4, "METHOD": 1, "SLOPE": tmp_path / "h.tif"})
    assert horn.returncode == 0, horn.log
    with rasterio.open(horn.results["SLOPE"]) as out:
        diff = np.abs(out.read(1)[valid] - reference.data[valid])
    assert 0.5 < diff.mean() < 2.0  # Horn is the other estimator


def test_dem_without_crs_in_degrees_is_refused(qgis_run, shared_data, tmp_path):
    run = qgis_run(
        "landslide:terrainvariables",
        {"INPUT": shared_data / "dems" / "front_range_srtm3_4326.asc", "SLOPE": tmp_path / "s.tif"},
    )
    assert run.returncode == 1
    assert "looks like degrees but no crs was given" in run.log
    assert not (tmp_path / "s.tif").exists()


def test_delineate_slope_units_on_korea_dem(qgis_run, qgis_app, shared_data, tmp_path):
    import geopandas as gpd

    dem = shared_data / "korea_dem_points" / "dem_10m_5186.tif"
    run = qgis_run("landslide:delineateslopeunits", {"INPUT": dem, "MIN_AREA": 50000, "OUTPUT": tmp_path / "su.gpkg"})
    assert run.returncode == 0, run.log
    units = gpd.read_file(run.results["OUTPUT"])
    assert len(units) == run.results["N_UNITS"] > 300
    assert units.crs.to_epsg(min_confidence=50) == 5186  # the file's CRS carries no EPSG code itself
    assert units.su_id.is_unique and units.is_valid.all()
    assert units.area_m2.min() >= 50000
    with rasterio.open(dem) as src:
        valid_area = src.read(1, masked=True).count() * abs(src.res[0] * src.res[1])
    assert units.area.sum() == pytest.approx(valid_area, rel=1e-9)
    again = qgis_run("landslide:delineateslopeunits", {"INPUT": dem, "MIN_AREA": 50000, "OUTPUT": tmp_path / "b.gpkg"})
    assert gpd.read_file(again.results["OUTPUT"]).geometry.equals(units.geometry)


def test_delineate_rejects_bad_area(qgis_run, shared_data, tmp_path):
    run = qgis_run(
        "landslide:delineateslopeunits",
        {"INPUT": shared_data / "korea_dem_points" / "dem_10m_5186.tif", "MIN_AREA": -1, "OUTPUT": tmp_path / "x.gpkg"},
    )
    assert run.returncode == 1
    assert "MIN_AREA must be a positive area" in run.log
