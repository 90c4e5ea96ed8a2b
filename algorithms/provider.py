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
        for algorithm in (
            CreateDemoRegion(),
            TerrainVariables(),
            DelineateSlopeUnits(),
            AggregateSlopeUnits(),
            Newmark(),
            NewmarkRaster(),
            TrainPINN(),
            Predict(),
        ):
            self.addAlgorithm(algorithm)
