"""Regenerates the .model3 files in resources/models with QGIS's own model API
(run: scripts/qgis-process is not needed; .venv/bin/python scripts/make_models.py).

Building the models through QGIS guarantees files that QGIS 3.22 and later open in the graphical modeler.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QPointF

MODELS = Path(__file__).resolve().parents[1] / "resources" / "models"
TERRAIN = ("SLOPE", "EASTNESS", "NORTHNESS", "PLAN_CURVATURE", "PROFILE_CURVATURE")
DEMO_LAYERS = ("PRECIPITATION", "NDVI", "SAND", "SILT", "CLAY", "BULK_DENSITY", "PGA")
FEATURES = [f"{n.lower()}_mean" for n in TERRAIN + DEMO_LAYERS]


def static(value):
    return [QgsProcessingModelChildParameterSource.fromStaticValue(value)]


def child_output(child: str, output: str):
    return QgsProcessingModelChildParameterSource.fromChildOutput(child, output)


def model_input(name: str):
    return [QgsProcessingModelChildParameterSource.fromModelParameter(name)]


def add_child(model, child_id: str, algorithm: str, sources: dict, outputs: dict, x: float):
    child = QgsProcessingModelChildAlgorithm(algorithm)
    child.setChildId(child_id)
    child.setDescription(child_id.replace("_", " ").capitalize())
    child.setPosition(QPointF(x, 200))
    for name, value in sources.items():
        child.addParameterSources(name, value)
    model_outputs = {}
    for output, label in outputs.items():
        out = QgsProcessingModelOutput(label)
        out.setChildId(child_id)
        out.setChildOutputName(output)
        model_outputs[label] = out
    child.setModelOutputs(model_outputs)
    model.addChildAlgorithm(child)


def add_input(model, parameter, x: float):
    model.addModelParameter(parameter, QgsProcessingModelParameter(parameter.name()))
    model.parameterComponent(parameter.name()).setPosition(QPointF(x, 60))


def pinn_scenario_model() -> QgsProcessingModelAlgorithm:
    model = QgsProcessingModelAlgorithm(
        "Demo region to PINN earthquake scenario", "Workflows", "Landslide susceptibility workflows"
    )
    model.setName("demo_pinn_scenario")
    model.setHelpContent({
        "ALG_DESC": "Demo region → terrain variables → aggregation onto slope units → PINN training with spatial "
        "cross-validation → prediction of the region's second, stronger earthquake without retraining."
    })  # fmt: skip
    add_input(model, QgsProcessingParameterNumber("SEED", "Seed", QgsProcessingParameterNumber.Integer, 1), 0)
    add_input(
        model, QgsProcessingParameterNumber("SIZE", "Size (cells)", QgsProcessingParameterNumber.Integer, 200), 150
    )
    add_input(model, QgsProcessingParameterNumber("EPOCHS", "Epochs", QgsProcessingParameterNumber.Integer, 100), 300)
    add_child(
        model, "demo_region", "landslide:createdemoregion",
        {"SEED": model_input("SEED"), "SIZE": model_input("SIZE"), "CELL_SIZE": static(30.0)},
        {}, 0,
    )  # fmt: skip
    add_child(
        model, "terrain", "landslide:terrainvariables",
        {"INPUT": [child_output("demo_region", "DEM")], "METHOD": static(0)},
        {}, 200,
    )  # fmt: skip
    rasters = [child_output("terrain", k) for k in TERRAIN] + [child_output("demo_region", k) for k in DEMO_LAYERS]
    add_child(
        model, "aggregate", "landslide:aggregateslopeunits",
        {"INPUT": [child_output("demo_region", "SLOPE_UNITS")], "RASTERS": rasters,
         "CATEGORICAL_RASTERS": [child_output("demo_region", "GEOLOGY")],
         "INVENTORY": [child_output("demo_region", "LANDSLIDES")], "STATISTICS": static([0])},
        {"OUTPUT": "Slope-unit table"}, 400,
    )  # fmt: skip
    add_child(
        model, "train_pinn", "landslide:trainpinn",
        {"INPUT": [child_output("aggregate", "OUTPUT")], "FEATURES": static(FEATURES),
         "CATEGORICAL_FEATURES": static(["geology_maj"]), "LABEL_FIELD": static("landslide"),
         "SLOPE_FIELD": static("slope_mean"), "PGA_FIELD": static("pga_mean"), "PGA_UNITS": static(0),
         "VALIDATION": static(2), "FOLDS": static(5), "EPOCHS": model_input("EPOCHS")},
        {"OUTPUT": "PINN susceptibility", "MODEL": "PINN model", "REPORT": "PINN report"}, 600,
    )  # fmt: skip
    add_child(
        model, "scenario", "landslide:predict",
        {"INPUT": [child_output("aggregate", "OUTPUT")], "MODEL": [child_output("train_pinn", "MODEL")],
         "SCENARIO_PGA_RASTER": [child_output("demo_region", "PGA_SCENARIO")], "PGA_UNITS": static(0)},
        {"OUTPUT": "Scenario susceptibility"}, 800,
    )  # fmt: skip
    return model


def snn_model() -> QgsProcessingModelAlgorithm:
    model = QgsProcessingModelAlgorithm("Aggregate and train SNN", "Workflows", "Landslide susceptibility workflows")
    model.setName("aggregate_train_snn")
    model.setHelpContent({
        "ALG_DESC": "Slope units + rasters + landslide inventory → aggregation (means) → superposable neural network "
        "on every aggregated raster mean (Level 2 composites, Pythagorean tiling split)."
    })  # fmt: skip
    add_input(model, QgsProcessingParameterFeatureSource("UNITS", "Slope units", [2]), 0)
    add_input(model, QgsProcessingParameterMultipleLayers("RASTERS", "Continuous rasters", 3), 200)
    add_input(model, QgsProcessingParameterFeatureSource("INVENTORY", "Landslide inventory", [-1]), 400)
    add_input(model, QgsProcessingParameterNumber("TILE_SIZE", "Tile size (map units)",
                                                  QgsProcessingParameterNumber.Double, 2000.0), 600)  # fmt: skip
    integer = QgsProcessingParameterNumber.Integer
    add_input(model, QgsProcessingParameterNumber("TOURNAMENT_MODELS", "Tournament networks", integer, 4000), 800)
    add_input(model, QgsProcessingParameterNumber("FKD_ITERATIONS", "Distillation iterations", integer, 50), 1000)
    add_child(
        model, "aggregate", "landslide:aggregateslopeunits",
        {"INPUT": model_input("UNITS"), "RASTERS": model_input("RASTERS"), "INVENTORY": model_input("INVENTORY"),
         "STATISTICS": static([0])},
        {"OUTPUT": "Slope-unit table"}, 200,
    )  # fmt: skip
    add_child(
        model, "train_snn", "landslide:trainsnn",
        {"INPUT": [child_output("aggregate", "OUTPUT")], "FEATURES": static([]), "LABEL_FIELD": static("landslide"),
         "LEVEL": static(2), "SPLIT": static(0), "TILE_SIZE": model_input("TILE_SIZE"),
         "TOURNAMENT_MODELS": model_input("TOURNAMENT_MODELS"), "FKD_ITERATIONS": model_input("FKD_ITERATIONS")},
        {"OUTPUT": "SNN susceptibility", "MODEL": "SNN model", "REPORT": "SNN report"}, 500,
    )  # fmt: skip
    return model


def main() -> int:
    app = QgsApplication([], False)
    app.initQgis()
    MODELS.mkdir(parents=True, exist_ok=True)
    for model in (pinn_scenario_model(), snn_model()):
        path = MODELS / f"{model.name()}.model3"
        if not model.toFile(str(path)):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(f"wrote {path}")
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
