"""landslide:trainpinn and landslide:predict through the real qgis_process, on a demo region."""

from __future__ import annotations

import html
import pickle
import re

import geopandas as gpd
import numpy as np
import pytest

from landslide_susceptibility.core import model_io
from landslide_susceptibility.core.synthetic import CONTINUOUS_LAYERS

pytestmark = pytest.mark.qgis
FEATURES = [f"{n}_mean" for n in CONTINUOUS_LAYERS]


@pytest.fixture(scope="module")
def table(qgis_run, tmp_path_factory):
    """Demo region → slope-unit table, through qgis_process."""
    tmp = tmp_path_factory.mktemp("pinn")
    region = qgis_run("landslide:createdemoregion", {"SEED": 3, "SIZE": 128, "OUTPUT_FOLDER": tmp / "region"})
    assert region.returncode == 0, region.log
    res = region.results
    agg = qgis_run(
        "landslide:aggregateslopeunits",
        {"INPUT": res["SLOPE_UNITS"], "RASTERS": res["RASTERS"], "CATEGORICAL_RASTERS": res["GEOLOGY"],
         "INVENTORY": res["LANDSLIDES"], "STATISTICS": "0", "OUTPUT": tmp / "table.gpkg"},
    )  # fmt: skip
    assert agg.returncode == 0, agg.log
    return {"path": agg.results["OUTPUT"], "tmp": tmp, "region": res}


def _train_params(path, out, **extra):
    return {
        "INPUT": path, "FEATURES": FEATURES, "CATEGORICAL_FEATURES": "geology_maj", "LABEL_FIELD": "ls_count",
        "SLOPE_FIELD": "slope_mean", "PGA_FIELD": "pga_mean", "PGA_UNITS": 0, "EPOCHS": 4, "SEED": 1,
        "OUTPUT": out / "pinn.gpkg", "MODEL": out / "pinn.lsm", "REPORT": out / "pinn.html", **extra,
    }  # fmt: skip


@pytest.fixture(scope="module")
def trained(qgis_run, table):
    out = table["tmp"] / "trained"
    out.mkdir()
    params = _train_params(table["path"], out, VALIDATION=2, FOLDS=3, BOOTSTRAPS=2, DEPTH=2,
                           SELECTION_WARMUP=0.5)
    run = qgis_run("landslide:trainpinn", params)
    assert run.returncode == 0, run.log
    return run


def test_training_outputs(trained, table, qgis_app):
    from qgis.core import QgsVectorLayer

    res = trained.results
    for key in ("AUC", "BALANCED_ACCURACY", "F1", "AUC_CV_MEAN", "AUC_CV_MIN", "AUC_CV_MAX", "AUC_LOGISTIC",
                "AUC_CV_LOGISTIC"):
        assert 0.0 <= res[key] <= 1.0, key
    assert res["AUC_CV_MIN"] <= res["AUC_CV_MEAN"] <= res["AUC_CV_MAX"]
    layer = gpd.read_file(res["OUTPUT"])
    source = gpd.read_file(table["path"])
    assert len(layer) == len(source) and layer.crs == source.crs
    expected = {
        "susceptibility",
        "ct_kpa_m",
        "phi_deg",
        "fs",
        "ac_g",
        "disp_cm",
        "pred",
        "confusion",
        "susc_oof",
        "fold",
    } | {f"{q}_p{p:02d}" for q in ("ct", "phi", "ac", "susc") for p in (5, 50, 95)}
    assert expected <= set(layer.columns)
    assert set(source.columns) - {"geometry"} <= set(layer.columns)  # input fields kept
    assert set(layer["confusion"]) <= {"TP", "FP", "FN", "TN"}
    assert layer["susceptibility"].between(0, 1).all() and layer["ct_kpa_m"].gt(0).all()
    assert set(layer["fold"]) == {1, 2, 3}
    assert (layer["ct_p05"] <= layer["ct_p95"] + 1e-9).all()
    assert QgsVectorLayer(res["OUTPUT"], "p", "ogr").renderer().type() == "graduatedSymbol"
    model = model_io.load_model(res["MODEL"], expected_kind="pinn")
    assert model.meta["fields"]["slope"] == "slope_mean" and "pga_mean" not in model.meta["encoding"]["numeric"]
    assert res["AUC_CV_LOGISTIC"] == model.meta["metrics"]["baseline"]["spatial_kfold"]["auc_mean"]
    config = model.meta["config"]
    assert (config["depth"], config["linear_path"], config["loss"], config["epochs"]) == (2, True, "scatter", 4)
    assert config["selection_warmup"] == 0.5
    page = open(res["REPORT"], encoding="utf-8").read()
    assert page.count("data:image/png;base64") >= 8 and "logistic regression" in page
    text = html.unescape(page)
    assert "Network: 2 hidden block(s) of 64, a linear path from the inputs" in text and "Jibson's scatter" in text
    assert re.search(r"kept at epoch [34], where its validation AUC was highest from epoch 3 on", text)


def test_predict_reproduces_training_and_scenario_raises_shaking(qgis_run, trained, table):
    tmp = table["tmp"]
    same = qgis_run("landslide:predict", {"INPUT": table["path"], "MODEL": trained.results["MODEL"],
                                          "OUTPUT": tmp / "same.gpkg"})  # fmt: skip
    assert same.returncode == 0, same.log
    a, b = gpd.read_file(trained.results["OUTPUT"]), gpd.read_file(same.results["OUTPUT"])
    for column in ("susceptibility", "ct_kpa_m", "phi_deg", "ac_g", "fs", "pred"):
        np.testing.assert_array_equal(a[column], b[column])
    scenario = qgis_run(
        "landslide:predict",
        {"INPUT": table["path"], "MODEL": trained.results["MODEL"],
         "SCENARIO_PGA_RASTER": table["region"]["PGA_SCENARIO"], "OUTPUT": tmp / "scenario.gpkg",
         "RASTER_FIELD": "susceptibility", "CELL_SIZE": 60,
         "OUTPUT_RASTER": tmp / "scenario.tif", "OUTPUT_CSV": tmp / "scenario.csv"},
    )  # fmt: skip
    assert scenario.returncode == 0, scenario.log
    c = gpd.read_file(scenario.results["OUTPUT"])
    np.testing.assert_array_equal(c["ct_kpa_m"], a["ct_kpa_m"])  # the ground does not change
    stronger = c["pga_scenario_g"].to_numpy() >= a["pga_mean"].to_numpy()
    assert np.all(c["susceptibility"][stronger] >= a["susceptibility"][stronger] - 1e-12)
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(scenario.results["OUTPUT_RASTER"]) as src:
        assert src.crs.to_epsg() == 32645 and np.nanmax(src.read(1)) <= 1.0
    # the same scenario raster in another CRS (lon/lat) is handled: units are transformed, not refused
    with rasterio.open(table["region"]["PGA_SCENARIO"]) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        profile = {**src.profile, "crs": "EPSG:4326", "transform": transform, "width": width, "height": height}
        with rasterio.open(tmp / "pga_4326.tif", "w", **profile) as dst:
            reproject(rasterio.band(src, 1), rasterio.band(dst, 1), resampling=Resampling.bilinear)
    lonlat = qgis_run(
        "landslide:predict",
        {
            "INPUT": table["path"],
            "MODEL": trained.results["MODEL"],
            "SCENARIO_PGA_RASTER": tmp / "pga_4326.tif",
            "OUTPUT": tmp / "ll.gpkg",
        },
    )
    assert lonlat.returncode == 0, lonlat.log
    d = gpd.read_file(lonlat.results["OUTPUT"])
    assert np.abs(d["pga_scenario_g"] - c["pga_scenario_g"]).max() < 0.02  # resampling differences only


def test_predict_refuses_bad_models_and_inputs(qgis_run, trained, table, shared_data):
    tmp = table["tmp"]
    model = trained.results["MODEL"]

    def predict(**params):
        return qgis_run(
            "landslide:predict", {"INPUT": table["path"], "MODEL": model, "OUTPUT": tmp / "x.gpkg", **params}
        )

    evil = tmp / "evil.lsm"
    evil.write_bytes(pickle.dumps({"payload": "anything"}))
    run = predict(MODEL=evil)
    assert run.returncode == 1 and "pickle" in run.log
    run = predict(SHAKEMAP=shared_data / "loma_prieta_1989" / "grid.xml")
    assert run.returncode == 1 and "does not cover" in run.log
    units = gpd.read_file(table["path"])
    units.drop(columns=["ndvi_mean"]).to_file(tmp / "no_ndvi.gpkg", driver="GPKG")
    run = predict(INPUT=tmp / "no_ndvi.gpkg")
    assert run.returncode == 1 and "ndvi_mean" in run.log
    units.assign(geology_maj=99).to_file(tmp / "new_level.gpkg", driver="GPKG")
    run = predict(INPUT=tmp / "new_level.gpkg")
    assert run.returncode == 1 and "never saw" in run.log
    newer = model_io.load_model(model)
    import json
    import zipfile

    with zipfile.ZipFile(model) as z, zipfile.ZipFile(tmp / "newer.lsm", "w") as out:
        for item in z.namelist():
            data = z.read(item)
            if item == "__meta__.npy":
                header = {"format": model_io.FORMAT, "format_version": 99, "kind": "pinn", "meta": newer.meta}
                import io

                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
                data = buf.getvalue()
            out.writestr(item, data)
    run = predict(MODEL=tmp / "newer.lsm")
    assert run.returncode == 1 and "newer version" in run.log
    assert not (tmp / "x.gpkg").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(ls_count=0), "single class"),
        (lambda f: f.assign(ndvi_mean=np.where(np.arange(len(f)) < 3, np.nan, f.ndvi_mean)), "missing (NaN)"),
        (lambda f: f.assign(slope_mean=np.where(np.arange(len(f)) < 2, 0.0, f.slope_mean)), "(0, 90) degrees"),
        (lambda f: f.assign(pga_mean=f.pga_mean * 100), "are they in %g"),
        (lambda f: f.iloc[:3], "at least 20"),
        (lambda f: f.assign(ndvi_mean="green"), "ndvi_mean"),
    ],
)
def test_training_bad_input(qgis_run, table, tmp_path, change, message):
    frame = change(gpd.read_file(table["path"]))
    frame.to_file(tmp_path / "bad.gpkg", driver="GPKG")
    run = qgis_run("landslide:trainpinn", _train_params(tmp_path / "bad.gpkg", tmp_path))
    assert run.returncode == 1
    assert message in run.log
    for name in ("pinn.gpkg", "pinn.lsm", "pinn.html"):
        assert not (tmp_path / name).exists()
