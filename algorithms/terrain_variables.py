"""landslide:terrainvariables — slope, eastness, northness and curvatures from a DEM."""

from qgis.core import (
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import LandslideAlgorithm, core_progress, crs_for_core

# Output parameter → core variable name.
OUTPUTS = {
    "SLOPE": ("slope_deg", "Slope (degrees)"),
    "EASTNESS": ("eastness", "Eastness (sin aspect)"),
    "NORTHNESS": ("northness", "Northness (cos aspect)"),
    "PLAN_CURVATURE": ("plan_curvature", "Plan curvature (1/m)"),
    "PROFILE_CURVATURE": ("profile_curvature", "Profile curvature (1/m)"),
}


class TerrainVariables(LandslideAlgorithm):
    NAME = "terrainvariables"
    DISPLAY_NAME = "Terrain variables from a DEM"
    GROUP = "Data preparation"
    GROUP_ID = "preparation"
    REQUIRES = ("numpy", "rasterio")
    HELP = (
        "Computes slope (degrees), eastness (sin of aspect), northness (cos of aspect), plan and profile curvature "
        "(1/m; positive on convex spurs, negative in hollows) from a DEM in metres, each as a GeoTIFF on the DEM's "
        "grid.\n\nMETHOD: Zevenbergen–Thorne (default; as SAGA and ArcGIS curvature) or Horn (as gdaldem and "
        "QGIS's slope tool) for the gradient; curvatures always use the Zevenbergen–Thorne second derivatives.\n\n"
        "A DEM in geographic coordinates (degrees) is handled: each row's cell sizes are computed in metres on the "
        "CRS's ellipsoid. At the edges and next to nodata the derivatives become one-sided; nodata cells stay "
        "nodata. The DEM is read in row blocks, so rasters larger than memory work."
    )

    INPUT = "INPUT"
    BAND = "BAND"
    METHOD = "METHOD"

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, "DEM"), "Elevation raster, in metres.")
        self.add(
            QgsProcessingParameterBand(self.BAND, "Band", 1, self.INPUT, optional=True), "DEM band holding elevation."
        )
        self.add(
            QgsProcessingParameterEnum(self.METHOD, "Gradient method", ["Zevenbergen–Thorne", "Horn"], False, 0),
            "How the gradient is estimated from the 3 × 3 window.",
        )
        for key, (_, label) in OUTPUTS.items():
            self.add(
                QgsProcessingParameterRasterDestination(key, label, optional=True, createByDefault=True),
                f"{label}, a float32 GeoTIFF; skip it to not compute it.",
            )

    def process(self, parameters, context, feedback):
        from ..core.terrain import TERRAIN_METHODS, write_terrain_variables

        dem = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        crs = crs_for_core(dem.crs())
        targets = {}
        for key, (variable, _) in OUTPUTS.items():
            path = self.parameterAsOutputLayer(parameters, key, context)
            if path:
                targets[variable] = path
        if not targets:  # e.g. a model step whose outputs feed other steps: compute them all
            targets = {
                variable: self.layer_destination(parameters, key, context, "tif")
                for key, (variable, _) in OUTPUTS.items()
            }
        written = write_terrain_variables(
            dem.source(),
            targets,
            method=TERRAIN_METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
            crs=crs,
            band=self.parameterAsInt(parameters, self.BAND, context) or 1,
            progress=core_progress(feedback),
        )
        return {key: str(written[variable]) for key, (variable, _) in OUTPUTS.items() if variable in written}
