"""landslide:createdemoregion — a synthetic study area with a known ground truth."""

import os

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingOutputFile,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
)

from .base import LandslideAlgorithm, core_progress, save_default_style
from .compat import NUMBER_DOUBLE, NUMBER_INTEGER

# Rasters of the region also offered one by one, for chaining single layers in the modeler.
LAYER_OUTPUTS = ("precipitation", "ndvi", "sand", "silt", "clay", "bulk_density", "pga")


class CreateDemoRegion(LandslideAlgorithm):
    NAME = "createdemoregion"
    DISPLAY_NAME = "Create demo region"
    GROUP = "Data preparation"
    GROUP_ID = "preparation"
    REQUIRES = ("numpy", "scipy", "rasterio", "geopandas")
    HELP = (
        "Creates a realistic synthetic study area with a known ground truth, so that every step of the plugin can "
        "be tried without data of one's own.\n\n"
        "Written to the output folder, in UTM 45N (EPSG:32645): a fractal DEM with ridges and valleys (dem.tif), "
        "slope, eastness, northness, plan and profile curvature, precipitation (mm/yr), NDVI, soil sand/silt/clay "
        "fractions and bulk density (g/cm³), a categorical geology (geology.tif), the PGA in g of an earthquake "
        "rupture (pga.tif) and of a second, stronger one (pga_scenario.tif), the true geotechnical fields C/t in "
        "kPa/m (ct_true.tif) and friction angle in degrees (phi_true.tif), half-basin slope units "
        "(slope_units.gpkg), a landslide inventory of polygons drawn from the Newmark/Jibson (2007) physics of the "
        "true parameters (landslides.gpkg) and the truth per slope unit (truth.csv: C/t, φ, FS, a_c, displacement, "
        "failure probability).\n\nThe same seed and sizes always give identical files."
    )

    SEED = "SEED"
    SIZE = "SIZE"
    CELL_SIZE = "CELL_SIZE"
    GEOLOGY_CLASSES = "GEOLOGY_CLASSES"
    LANDSLIDE_SHARE = "LANDSLIDE_SHARE"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"

    def initAlgorithm(self, config=None):
        # Bounds are checked in checkParameterValues, with messages that say what is wrong.
        self.add(
            QgsProcessingParameterNumber(self.SEED, "Random seed", NUMBER_INTEGER, 1),
            "Seed of the random generator; the same seed gives the same region.",
        )
        self.add(
            QgsProcessingParameterNumber(self.SIZE, "Size (cells per side)", NUMBER_INTEGER, 300),
            "Number of cells along each side of the square region (32–20000). 200–400 runs in seconds.",
        )
        self.add(
            QgsProcessingParameterNumber(self.CELL_SIZE, "Cell size (m)", NUMBER_DOUBLE, 30.0),
            "Edge length of a cell in metres.",
        )
        self.add(
            QgsProcessingParameterNumber(self.GEOLOGY_CLASSES, "Geology classes", NUMBER_INTEGER, 6),
            "Number of lithological classes (4–9).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterNumber(
                self.LANDSLIDE_SHARE, "Expected share of slope units with a landslide", NUMBER_DOUBLE, 0.18
            ),
            "The true cohesion is scaled so that this share of slope units is expected to fail (0.02–0.6).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, "Output folder"),
            "Folder that receives the rasters, layers and the truth table.",
        )
        self.addOutput(QgsProcessingOutputRasterLayer("DEM", "DEM"))
        for name in LAYER_OUTPUTS:
            self.addOutput(QgsProcessingOutputRasterLayer(name.upper(), name.replace("_", " ").capitalize()))
        self.addOutput(QgsProcessingOutputMultipleLayers("RASTERS", "Continuous rasters (model features)"))
        self.addOutput(QgsProcessingOutputRasterLayer("GEOLOGY", "Geology (categorical)"))
        self.addOutput(QgsProcessingOutputRasterLayer("PGA_SCENARIO", "PGA of the scenario earthquake (g)"))
        self.addOutput(QgsProcessingOutputVectorLayer("SLOPE_UNITS", "Slope units"))
        self.addOutput(QgsProcessingOutputVectorLayer("LANDSLIDES", "Landslide inventory"))
        self.addOutput(QgsProcessingOutputFile("TRUTH", "Truth per slope unit (CSV)"))
        self.addOutput(QgsProcessingOutputNumber("N_UNITS", "Number of slope units"))
        self.addOutput(QgsProcessingOutputNumber("LANDSLIDE_UNIT_SHARE", "Share of slope units with a landslide"))

    def checkParameterValues(self, parameters, context):
        size = self.parameterAsDouble(parameters, self.SIZE, context)
        if size < 32 or size > 20000 or size != int(size):
            return False, self.tr(f"SIZE must be a whole number of cells per side from 32 to 20000 (got {size:g})")
        cell = self.parameterAsDouble(parameters, self.CELL_SIZE, context)
        if not cell > 0:
            return False, self.tr(f"CELL_SIZE must be a positive length in metres (got {cell:g})")
        classes = self.parameterAsInt(parameters, self.GEOLOGY_CLASSES, context)
        if not 4 <= classes <= 9:
            return False, self.tr(f"GEOLOGY_CLASSES must be from 4 to 9 (got {classes})")
        share = self.parameterAsDouble(parameters, self.LANDSLIDE_SHARE, context)
        if not 0.02 <= share <= 0.6:
            return False, self.tr(f"LANDSLIDE_SHARE must lie between 0.02 and 0.6 (got {share:g})")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        from ..core.synthetic import CONTINUOUS_LAYERS, DemoRegionConfig, create_demo_region

        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context) or os.path.join(
            QgsProcessingUtils.tempFolder(), "demo_region"
        )
        config = DemoRegionConfig(
            seed=self.parameterAsInt(parameters, self.SEED, context),
            size=self.parameterAsInt(parameters, self.SIZE, context),
            cell_size=self.parameterAsDouble(parameters, self.CELL_SIZE, context),
            n_geology=self.parameterAsInt(parameters, self.GEOLOGY_CLASSES, context),
            landslide_share=self.parameterAsDouble(parameters, self.LANDSLIDE_SHARE, context),
        )
        region = create_demo_region(folder, config, progress=core_progress(feedback))
        feedback.pushInfo(
            f"{region.n_units} slope units, {region.n_landslide_units} with a landslide "
            f"({100 * region.landslide_share:.1f}%), {region.n_landslides} landslide polygons"
        )
        save_default_style(str(region.slope_units), "slope_units", feedback)
        save_default_style(str(region.landslides), "landslides", feedback)
        for path, name in (
            (region.rasters["dem"], "DEM"),
            (region.slope_units, "Slope units"),
            (region.landslides, "Landslides"),
        ):
            details = QgsProcessingContext.LayerDetails(name, context.project(), name)
            context.addLayerToLoadOnCompletion(str(path), details)
        return {
            self.OUTPUT_FOLDER: folder,
            "DEM": str(region.rasters["dem"]),
            "RASTERS": [str(region.rasters[name]) for name in CONTINUOUS_LAYERS],
            "GEOLOGY": str(region.rasters["geology"]),
            **{name.upper(): str(region.rasters[name]) for name in LAYER_OUTPUTS},
            "PGA_SCENARIO": str(region.rasters["pga_scenario"]),
            "SLOPE_UNITS": str(region.slope_units),
            "LANDSLIDES": str(region.landslides),
            "TRUTH": str(region.truth),
            "N_UNITS": region.n_units,
            "LANDSLIDE_UNIT_SHARE": region.landslide_share,
        }
