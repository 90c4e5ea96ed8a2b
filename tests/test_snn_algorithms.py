"""landslide:trainsnn (and predict with an SNN model) through the real qgis_process, on real slope units."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pytest

from landslide_susceptibility.core import model_io

pytestmark = pytest.mark.qgis
FEATURES = ["Elev_mean", "RnSum_mean", "Slope_mean", "NDVI_mean"]
QUICK = {"TOURNAMENT_MODELS": 40, "FKD_ITERATIONS": 4, "SEED": 1}  # a short schedule: the method, not its accuracy


def stored_styles(gpkg) -> dict:
    """Style name → QML of the styles stored inside a GeoPackage."""
    with sqlite3.connect(gpkg) as db:
        return dict(db.execute("SELECT stylename, styleQML FROM layer_styles").fetchall())


@pytest.fixture(scope="module")
def trained(qgis_run, shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snn")
    units = shared_data / "sz_northeast_india" / "input_variables.shp"
    run = qgis_run(
        "landslide:trainsnn",
        {"INPUT": units, "FEATURES": FEATURES, "LABEL_FIELD": "y", "LEVEL": 2, "SPLIT": 0, **QUICK, "THREADS": 1,
         "OUTPUT": tmp / "snn.gpkg", "MODEL": tmp / "snn.lsm", "REPORT": tmp / "snn.html"},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    return {"run": run, "units": units, "tmp": tmp}


def test_outputs_are_additive_and_complete(trained):
    res = trained["run"].results
    assert "torch CPU threads: 1" in trained["run"].json["log"]["info"]
    for key in ("AUC", "AUC_TEACHER", "AUC_LOGISTIC", "AUC_LIKELIHOOD_RATIO"):
        assert 0.0 <= res[key] <= 1.0, key
    layer = gpd.read_file(res["OUTPUT"])
    assert len(layer) == 832 and layer.crs.to_epsg() == 3857
    parts = [c for c in layer.columns if c.startswith("s_")]
    assert parts, "no contribution fields"
    np.testing.assert_allclose(layer[parts].sum(axis=1), layer["snn_st"], rtol=1e-9, atol=1e-12)  # Eq. 1 exactly
    assert ((layer["snn_st"] > res["THRESHOLD"]).astype(int) == layer["snn_class"]).all()
    model = model_io.load_model(res["MODEL"], expected_kind="snn")
    assert set(layer["primary_control"]) <= set(model.meta["names"])
    style = stored_styles(res["OUTPUT"])["primary_control"]
    assert 'type="categorizedSymbol"' in style
    assert all(f'value="{name}"' in style for name in set(layer["primary_control"]))
    assert {"a", "b", "w", "c"} <= set(model.arrays)
    html = open(res["REPORT"], encoding="utf-8").read()
    assert "SNN, Level 1" in html and "likelihood" in html and html.count("data:image/png") >= 4


def test_predict_with_snn_model_gives_training_values(qgis_run, trained):
    run = qgis_run(
        "landslide:predict",
        {"INPUT": trained["units"], "MODEL": trained["run"].results["MODEL"], "OUTPUT": trained["tmp"] / "p.gpkg"},
    )
    assert run.returncode == 0, run.log
    a = gpd.read_file(trained["run"].results["OUTPUT"])
    b = gpd.read_file(run.results["OUTPUT"])
    np.testing.assert_allclose(b["snn_st"], a["snn_st"], rtol=1e-12)
    assert (a["primary_control"] == b["primary_control"]).all()
    assert 'type="categorizedSymbol"' in stored_styles(run.results["OUTPUT"])["primary_control"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"FEATURES": ["Elev_mean"]}, "at least 2 features"),
        ({"LABEL_FIELD": "area"}, None),
    ],
)
def test_bad_input(qgis_run, shared_data, tmp_path, params, message):
    units = shared_data / "sz_northeast_india" / "input_variables.shp"
    base = {"INPUT": units, "FEATURES": FEATURES, "LABEL_FIELD": "y", **QUICK,
            "OUTPUT": tmp_path / "o.gpkg", "MODEL": tmp_path / "m.lsm"}  # fmt: skip
    run = qgis_run("landslide:trainsnn", {**base, **params})
    if message is None:  # every unit has an area > 0: one class
        message = "single class"
    assert run.returncode == 1
    assert message in run.log
    assert not (tmp_path / "o.gpkg").exists() and not (tmp_path / "m.lsm").exists()
