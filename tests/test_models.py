"""The shipped graphical models run headless through qgis_process."""

from __future__ import annotations

import geopandas as gpd
import pytest

pytestmark = pytest.mark.qgis


def test_demo_pinn_scenario_model(qgis_run, tmp_path):
    run = qgis_run(
        "landslide:demo_pinn_scenario",
        {"SEED": 2, "SIZE": 96, "EPOCHS": 5, "scenario:Scenario susceptibility": tmp_path / "scenario.gpkg",
         "train_pinn:PINN report": tmp_path / "report.html", "train_pinn:PINN susceptibility": tmp_path / "pinn.gpkg"},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    scenario = gpd.read_file(tmp_path / "scenario.gpkg")
    trained = gpd.read_file(tmp_path / "pinn.gpkg")  # temporary outputs vanish when qgis_process ends
    assert len(scenario) == len(trained) > 50
    assert {"susceptibility", "pga_scenario_g", "ct_kpa_m"} <= set(scenario.columns)
    assert "susc_oof" in trained.columns  # the model trains with spatial cross-validation
    assert (scenario["ct_kpa_m"].to_numpy() == trained["ct_kpa_m"].to_numpy()).all()
    assert "data:image/png" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_aggregate_train_snn_model(qgis_run, tmp_path):
    region = qgis_run("landslide:createdemoregion", {"SEED": 4, "SIZE": 96, "OUTPUT_FOLDER": tmp_path / "region"})
    assert region.returncode == 0, region.log
    res = region.results
    run = qgis_run(
        "landslide:aggregate_train_snn",
        {"UNITS": res["SLOPE_UNITS"], "RASTERS": res["RASTERS"], "INVENTORY": res["LANDSLIDES"], "TILE_SIZE": 600,
         "TOURNAMENT_MODELS": 40, "FKD_ITERATIONS": 4, "train_snn:SNN susceptibility": tmp_path / "snn.gpkg"},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    snn = gpd.read_file(tmp_path / "snn.gpkg")
    assert {"snn_st", "snn_class", "primary_control", "slope_mean"} <= set(snn.columns)
    assert len(snn) == res["N_UNITS"]
