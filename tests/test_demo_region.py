"""The demo region: realistic, reproducible, and the algorithm behaves under qgis_process."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import rasterio

from landslide_susceptibility.core.physics import RHO_G_KN_M3
from landslide_susceptibility.core.synthetic import (
    CONTINUOUS_LAYERS,
    DemoRegionConfig,
    create_demo_region,
    failure_probability,
    rupture_pga,
)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return create_demo_region(tmp_path_factory.mktemp("region"), DemoRegionConfig(seed=7, size=160))


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1, masked=True), src.crs


def test_rasters_are_realistic(region):
    dem, crs = _read(region.rasters["dem"])
    assert crs.to_epsg() == 32645
    assert np.ptp(dem) > 300  # real relief
    slope, _ = _read(region.rasters["slope"])
    share = np.mean((slope >= 5) & (slope <= 60))
    assert share > 0.85, f"only {share:.0%} of slopes in 5°–60°"
    geology, _ = _read(region.rasters["geology"])
    assert set(np.unique(geology.compressed())) == set(range(1, 7))
    sand, silt, clay = (_read(region.rasters[n])[0] for n in ("sand", "silt", "clay"))
    np.testing.assert_allclose(sand + silt + clay, 1.0, atol=1e-5)
    pga, _ = _read(region.rasters["pga"])
    scenario, _ = _read(region.rasters["pga_scenario"])
    assert 0.02 < pga.min() and pga.max() < 1.5
    assert scenario.mean() > pga.mean() * 0.8  # the scenario is the stronger event (magnitude 7.8 vs 7.3)
    ndvi, _ = _read(region.rasters["ndvi"])
    assert np.corrcoef(dem.ravel(), ndvi.ravel())[0, 1] < -0.3  # vegetation thins with altitude
    for name in CONTINUOUS_LAYERS:
        arr, _ = _read(region.rasters[name])
        assert np.isfinite(arr.compressed()).mean() > 0.99, name


def test_truth_is_physical(region):
    import geopandas as gpd

    truth = pd.read_csv(region.truth)
    units = gpd.read_file(region.slope_units)
    slides = gpd.read_file(region.landslides)
    assert len(truth) == len(units) == region.n_units
    assert 30 <= region.n_units <= 3000
    assert units.crs.to_epsg() == 32645
    assert set(units.geom_type) <= {"Polygon", "MultiPolygon"}
    # physics.md §3 plausible ranges for the true parameters
    assert truth.ct_kpa_m.between(0.1, 50).mean() >= 0.95
    assert truth.phi_deg.between(15, 55).all()
    # a_c closed form: 1000·c_t/(ρg) + cos α·tan φ − sin α
    a = np.radians(truth.slope_deg)
    ac = truth.ct_kpa_m / RHO_G_KN_M3 + np.cos(a) * np.tan(np.radians(truth.phi_deg)) - np.sin(a)
    np.testing.assert_allclose(truth.ac_g, ac, rtol=1e-6, atol=1e-7)  # CSV keeps 8 digits
    np.testing.assert_allclose(truth.probability, failure_probability(truth.disp_cm), rtol=1e-6)
    # roughly 10–30% of units hold a landslide, and each of them holds at least one polygon in the unit
    assert 0.08 <= truth.landslide.mean() <= 0.32
    assert set(slides.su_id) == set(truth.su_id[truth.landslide == 1])
    joined = gpd.sjoin(slides.set_geometry(slides.representative_point()), units, predicate="within")
    assert (joined.su_id_left == joined.su_id_right).all()
    # failed units are the weaker ones
    assert truth.ac_g[truth.landslide == 1].median() < truth.ac_g[truth.landslide == 0].median()


def test_same_seed_same_files(tmp_path, region):
    again = create_demo_region(tmp_path, DemoRegionConfig(seed=7, size=160))
    for name, path in region.rasters.items():
        assert _digest(path) == _digest(again.rasters[name]), name
    for attr in ("truth", "slope_units", "landslides"):
        assert _digest(getattr(region, attr)) == _digest(getattr(again, attr)), attr
    other = create_demo_region(tmp_path / "other", DemoRegionConfig(seed=8, size=160))
    assert _digest(other.rasters["dem"]) != _digest(region.rasters["dem"])


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_attenuation_and_probability_anchor_values():
    # PGA decays with distance from the rupture and grows with magnitude
    x = np.array([0.0, 10_000.0, 50_000.0])
    near, mid, far = rupture_pga(x, np.zeros(3), ((0, -1e4), (0, 1e4)), 7.3)
    assert near > mid > far
    assert 0.3 < near < 1.0 and 0.05 < far < 0.2
    # the probability averages σ(D − 5) over the Jibson scatter: σ(−5) at D = 0, 1 for static failure, rising
    p = failure_probability(np.array([0.0, 1.0, 5.0, 20.0, np.inf]))
    assert p[0] == pytest.approx(1 / (1 + np.exp(5)), rel=1e-9)
    assert p[-1] == 1.0
    assert np.all(np.diff(p) > 0)


def test_bad_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="SIZE"):
        create_demo_region(tmp_path, DemoRegionConfig(size=-5))
    with pytest.raises(ValueError, match="geology"):
        create_demo_region(tmp_path, DemoRegionConfig(n_geology=12))
    assert not any(tmp_path.iterdir())


@pytest.mark.qgis
def test_algorithm_through_qgis_process(qgis_run, qgis_app, tmp_path):
    from qgis.core import QgsRasterLayer, QgsVectorLayer, QgsWkbTypes

    out = tmp_path / "demo"
    run = qgis_run("landslide:createdemoregion", {"SEED": 1, "SIZE": 96, "OUTPUT_FOLDER": out})
    assert run.returncode == 0, run.log
    res = run.results
    assert res["N_UNITS"] > 10
    assert 0.0 < res["LANDSLIDE_UNIT_SHARE"] < 0.5
    assert len(res["RASTERS"]) == len(CONTINUOUS_LAYERS)
    for key in ("DEM", "GEOLOGY", "PGA", "PGA_SCENARIO", *res["RASTERS"]):
        layer = QgsRasterLayer(res.get(key, key), "r")
        assert layer.isValid(), key
        assert layer.crs().authid() == "EPSG:32645"
        assert layer.width() == 96
    for key in ("SLOPE_UNITS", "LANDSLIDES"):
        layer = QgsVectorLayer(res[key], key, "ogr")
        assert layer.isValid(), key
        assert layer.crs().authid() == "EPSG:32645"
        assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PolygonGeometry
        assert layer.featureCount() > 0
    assert "su_id" in QgsVectorLayer(res["SLOPE_UNITS"], "su", "ogr").fields().names()
    # the layers carry their style inside the GeoPackage, so they open styled even when written headless
    slides = QgsVectorLayer(res["LANDSLIDES"], "ls", "ogr")
    assert slides.renderer().symbol().color().name() == "#b2182b"
    assert len(pd.read_csv(res["TRUTH"])) == res["N_UNITS"]


@pytest.mark.qgis
def test_algorithm_rejects_bad_size(qgis_run, tmp_path):
    run = qgis_run("landslide:createdemoregion", {"SIZE": -5, "OUTPUT_FOLDER": tmp_path / "x"})
    assert run.returncode == 1
    assert "SIZE must be a whole number" in run.log
    assert not (tmp_path / "x").exists()
