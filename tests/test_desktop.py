"""The plugin in the real QGIS desktop, under Xvfb: every algorithm dialog opens without a Python error and a styled
output loads styled. Screenshots are kept in test-artifacts/desktop/ for a reviewer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import QGIS_PROCESS, ROOT

pytestmark = pytest.mark.qgis
ARTIFACTS = ROOT / "test-artifacts" / "desktop"


@pytest.fixture(scope="module")
def styled_layer(qgis_run, tmp_path_factory):
    """A demo region's slope units run through landslide:newmark: a layer whose stored style is graduated."""
    tmp = tmp_path_factory.mktemp("desktop")
    region = qgis_run("landslide:createdemoregion", {"SEED": 2, "SIZE": 96, "OUTPUT_FOLDER": tmp / "region"})
    assert region.returncode == 0, region.log
    units = gpd.read_file(region.results["SLOPE_UNITS"]).merge(pd.read_csv(region.results["TRUTH"]), on="su_id")
    units.to_file(tmp / "units.gpkg", driver="GPKG")
    run = qgis_run(
        "landslide:newmark",
        {"INPUT": tmp / "units.gpkg", "SLOPE_FIELD": "slope_deg", "PGA_FIELD": "pga_g", "PGA_UNITS": 0,
         "CT_FIELD": "ct_kpa_m", "PHI_FIELD": "phi_deg", "OUTPUT": tmp / "newmark.gpkg"},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    return run.results["OUTPUT"]


def test_dialogs_open_and_styled_layer_renders(styled_layer):
    if shutil.which("xvfb-run") is None or shutil.which("qgis") is None:
        pytest.fail("xvfb-run and qgis are needed: run 'make setup'")
    subprocess.run([str(QGIS_PROCESS), "list"], capture_output=True, check=True)  # profile + plugin enabled
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    profile = ROOT / ".qgis-profile"
    site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = {
        **os.environ,
        "QGIS_CUSTOM_CONFIG_PATH": str(profile / "config"),
        "QGIS_PLUGINPATH": str(profile / "plugins"),
        "PYTHONPATH": str(site),
        "XDG_RUNTIME_DIR": str(profile / "runtime"),
        "LANDSLIDE_SMOKE_OUT": str(ARTIFACTS),
        "LANDSLIDE_SMOKE_LAYER": str(styled_layer),
    }
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "qgis", "--nologo", "--noversioncheck",
         "--code", str(ROOT / "tests" / "desktop" / "smoke.py")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    summary_path = ARTIFACTS / "summary.json"
    assert summary_path.exists(), proc.stdout + proc.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["provider"]
    assert summary["errors"] == []
    listed = subprocess.run([str(QGIS_PROCESS), "--json", "list"], capture_output=True, text=True, check=True)
    expected = set(json.loads(listed.stdout[listed.stdout.find("{") :])["providers"]["landslide"]["algorithms"])
    assert set(summary["dialogs"]) == expected
    assert all(v == "ok" for v in summary["dialogs"].values()), summary["dialogs"]
    assert summary["layer"] == {"valid": True, "renderer": "graduatedSymbol"}
    from matplotlib.image import imread

    shot = imread(ARTIFACTS / "qgis_desktop.png")[..., :3]
    red = (shot[..., 0] > 0.75) & (shot[..., 1] < 0.35) & (shot[..., 2] < 0.3)  # the ramp's high classes
    green = (shot[..., 1] > 0.5) & (shot[..., 0] < 0.45) & (shot[..., 2] < 0.45)  # its low classes
    assert red.mean() > 0.001 and green.mean() > 0.001, "the map shows no styled susceptibility classes"
    assert np.unique(shot.reshape(-1, 3), axis=0).shape[0] > 50
