"""The ``landslide`` Processing provider."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .aggregate_slope_units import AggregateSlopeUnits
from .base import RESOURCES
from .create_demo_region import CreateDemoRegion
from .delineate_slope_units import DelineateSlopeUnits
from .newmark import Newmark
from .newmark_raster import NewmarkRaster
from .predict import Predict
from .terrain_variables import TerrainVariables
from .train_pinn import TrainPINN
from .train_snn import TrainSNN
from .train_snn_raster import TrainSNNRaster


class LandslideProvider(QgsProcessingProvider):
    def id(self):
        return "landslide"

    def name(self):
        return "Landslide susceptibility"

    def longName(self):
        return "Landslide susceptibility (slope units, PINN, SNN)"

    def icon(self):
        return QIcon(os.path.join(RESOURCES, "icon.svg"))

    def supportsNonFileBasedOutput(self):
        # The core writes real files (GeoPackage, GeoTIFF); Processing converts memory outputs for us.
        return False

    def defaultVectorFileExtension(self, hasGeometry=True):
        return "gpkg"

    def defaultRasterFileExtension(self):
        return "tif"

    def loadAlgorithms(self):
        self._load_models()
        for algorithm in (
            CreateDemoRegion(),
            TerrainVariables(),
            DelineateSlopeUnits(),
            AggregateSlopeUnits(),
            Newmark(),
            NewmarkRaster(),
            TrainPINN(),
            TrainSNN(),
            TrainSNNRaster(),
            Predict(),
        ):
            self.addAlgorithm(algorithm)

    def _load_models(self):
        """The workflows shipped as graphical models in resources/models, listed under 'Workflows'."""
        from qgis.core import QgsProcessingModelAlgorithm

        folder = os.path.join(RESOURCES, "models")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if name.endswith(".model3"):
                model = QgsProcessingModelAlgorithm()
                if model.fromFile(os.path.join(folder, name)):
                    self.addAlgorithm(model)
