"""landslide:delineateslopeunits — half-basin slope units from a DEM."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBand,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
)

from .base import LandslideAlgorithm, core_progress, crs_for_core
from .compat import NUMBER_DOUBLE, TYPE_VECTOR_POLYGON


class DelineateSlopeUnits(LandslideAlgorithm):
    NAME = "delineateslopeunits"
    DISPLAY_NAME = "Delineate slope units"
    GROUP = "Data preparation"
    GROUP_ID = "preparation"
    REQUIRES = ("numpy", "scipy", "rasterio", "geopandas")
    HELP = (
        "Divides a DEM into half-basin slope units that follow the terrain: depressions are filled, water is routed "
        "(D8), streams start where the upslope area reaches ACCUMULATION_THRESHOLD, each stream reach's basin is "
        "split along the stream into its left and right sides, and units smaller than MIN_AREA are merged into the "
        "neighbour with which they share the longest boundary, until none is smaller.\n\n"
        "Units come out at about 1.5–2 × MIN_AREA. The result is deterministic: the same DEM and parameters give the "
        "same units, numbered by their first cell in row order (field su_id), with their area in m² (area_m2). "
        "The whole DEM is held in memory (about 350 bytes per cell)."
    )

    INPUT = "INPUT"
    BAND = "BAND"
    MIN_AREA = "MIN_AREA"
    ACCUMULATION_THRESHOLD = "ACCUMULATION_THRESHOLD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, "DEM"), "Elevation raster, in metres.")
        self.add(
            QgsProcessingParameterBand(self.BAND, "Band", 1, self.INPUT, optional=True), "DEM band holding elevation."
        )
        self.add(
            QgsProcessingParameterNumber(self.MIN_AREA, "Minimum unit area (m²)", NUMBER_DOUBLE, 50000.0),
            "Slope units smaller than this are merged into a neighbour.",
        )
        self.add(
            QgsProcessingParameterNumber(
                self.ACCUMULATION_THRESHOLD, "Stream threshold (m² of upslope area)", NUMBER_DOUBLE, 0.0
            ),
            "Upslope area at which a stream starts; 0 derives it from the minimum unit area.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterVectorDestination(self.OUTPUT, "Slope units", TYPE_VECTOR_POLYGON),
            "Polygon layer of slope units (GeoPackage).",
        )
        self.addOutput(QgsProcessingOutputNumber("N_UNITS", "Number of slope units"))

    def checkParameterValues(self, parameters, context):
        area = self.parameterAsDouble(parameters, self.MIN_AREA, context)
        if not area > 0:
            return False, self.tr(f"MIN_AREA must be a positive area in m² (got {area:g})")
        threshold = self.parameterAsDouble(parameters, self.ACCUMULATION_THRESHOLD, context)
        if threshold < 0:
            return False, self.tr(f"ACCUMULATION_THRESHOLD must be ≥ 0 m² (got {threshold:g}); 0 means automatic")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        from ..core.io import write_vector
        from ..core.slopeunits import slope_units_from_file

        dem = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        threshold = self.parameterAsDouble(parameters, self.ACCUMULATION_THRESHOLD, context)
        units = slope_units_from_file(
            dem.source(),
            self.parameterAsDouble(parameters, self.MIN_AREA, context),
            threshold or None,
            band=self.parameterAsInt(parameters, self.BAND, context) or 1,
            crs=crs_for_core(dem.crs()),
            progress=core_progress(feedback),
        )
        output = self.layer_destination(parameters, self.OUTPUT, context)
        write_vector(units, output)
        feedback.pushInfo(f"{len(units)} slope units, median area {units['area_m2'].median():.0f} m²")
        return {self.OUTPUT: output, "N_UNITS": len(units)}
