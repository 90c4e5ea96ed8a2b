"""landslide:aggregateslopeunits — one table per slope unit from rasters and a landslide inventory."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from .base import LandslideAlgorithm, core_progress, read_vector, require_polygons, save_default_style
from .compat import NUMBER_DOUBLE, TYPE_RASTER, TYPE_VECTOR_ANY, TYPE_VECTOR_POLYGON

STATISTIC_OPTIONS = ("mean", "std", "min", "max", "median", "count", "sum", "range")
PIXEL_RULE_OPTIONS = ("centre", "exact")


class AggregateSlopeUnits(LandslideAlgorithm):
    NAME = "aggregateslopeunits"
    DISPLAY_NAME = "Aggregate rasters and inventory onto slope units"
    GROUP = "Data preparation"
    GROUP_ID = "preparation"
    REQUIRES = ("numpy", "rasterio", "geopandas")
    HELP = (
        "Turns rasters and a landslide inventory into one table per slope unit, the input of the PINN and SNN "
        "models.\n\nFor every continuous raster it adds <name>_mean, <name>_std, … (the name comes from the layer "
        "name, reduced to lower-case letters, digits and _; clashes get a numeric suffix). For every class raster "
        "(e.g. geology) it adds <name>_maj, the majority class (ties → smallest class), and with CLASS_FRACTIONS "
        "one <name>_f<class> column per class. valid_frac is the share of the unit covered by valid pixels of the "
        "first raster. From the inventory (points or polygons, any CRS) it adds landslide (0/1), ls_count "
        "(points inside the unit; a polygon counts once, in the unit that holds most of its area) and "
        "ls_area_frac (share of the unit's area covered by landslide polygons).\n\n"
        "Which pixels count: with PIXEL_RULE 'centre' (default) a pixel belongs to a unit when its centre lies "
        "inside the polygon, as in QGIS's own Zonal statistics, whose results it reproduces; 'exact' weights every "
        "pixel by the share of it the polygon covers. Rasters may differ in CRS, resolution and extent: the "
        "polygons are transformed to each raster's CRS and rasters are never resampled. Nodata pixels are "
        "ignored; a unit without a valid pixel gets NULL and is counted in a warning. Rasters are read in windows "
        "so that memory stays below MAX_MEMORY."
    )

    INPUT = "INPUT"
    RASTERS = "RASTERS"
    CATEGORICAL_RASTERS = "CATEGORICAL_RASTERS"
    INVENTORY = "INVENTORY"
    STATISTICS = "STATISTICS"
    PERCENTILES = "PERCENTILES"
    CLASS_FRACTIONS = "CLASS_FRACTIONS"
    PIXEL_RULE = "PIXEL_RULE"
    MAX_MEMORY = "MAX_MEMORY"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterFeatureSource(self.INPUT, "Slope units", [TYPE_VECTOR_POLYGON]),
            "Slope-unit polygons; their fields are kept.",
        )
        self.add(
            QgsProcessingParameterMultipleLayers(self.RASTERS, "Continuous rasters", TYPE_RASTER, optional=True),
            "Rasters to summarise per unit (terrain variables, precipitation, NDVI, soil, PGA, …).",
        )
        self.add(
            QgsProcessingParameterMultipleLayers(self.CATEGORICAL_RASTERS, "Class rasters", TYPE_RASTER, optional=True),
            "Rasters of integer classes (geology, land cover): majority class per unit.",
        )
        self.add(
            QgsProcessingParameterFeatureSource(
                self.INVENTORY, "Landslide inventory", [TYPE_VECTOR_ANY], optional=True
            ),
            "Landslide points or polygons, in any CRS.",
        )
        self.add(
            QgsProcessingParameterEnum(
                self.STATISTICS, "Statistics", list(STATISTIC_OPTIONS), allowMultiple=True, defaultValue=[0, 1]
            ),
            "Statistics of the continuous rasters (population standard deviation, as QGIS's Zonal statistics).",
        )
        self.add(
            QgsProcessingParameterString(self.PERCENTILES, "Percentiles", optional=True),
            "Comma-separated percentiles to add, e.g. '10, 90' gives <name>_p10 and <name>_p90.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterBoolean(self.CLASS_FRACTIONS, "Class fractions", False),
            "Add the share of each class of the class rasters.",
        )
        self.add(
            QgsProcessingParameterEnum(
                self.PIXEL_RULE, "Pixels that count", ["pixel centre inside", "exact coverage"], defaultValue=0
            ),
            "'pixel centre inside' matches QGIS's Zonal statistics; 'exact coverage' weights pixels by covered area.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterNumber(self.MAX_MEMORY, "Memory bound (MB)", NUMBER_DOUBLE, 512, minValue=16),
            "Peak memory for raster windows; larger rasters are read piece by piece.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterVectorDestination(self.OUTPUT, "Slope-unit table", TYPE_VECTOR_POLYGON),
            "The units with the new fields (GeoPackage).",
        )
        for key, label in (
            ("N_UNITS", "Number of slope units"),
            ("N_LANDSLIDE_UNITS", "Slope units with a landslide"),
            ("LANDSLIDE_SHARE", "Share of slope units with a landslide"),
            ("N_EMPTY_UNITS", "Units without a valid pixel"),
        ):
            self.addOutput(QgsProcessingOutputNumber(key, label))

    def process(self, parameters, context, feedback):
        from ..core.aggregate import RasterSource, aggregate_slope_units
        from ..core.io import write_vector

        require_polygons(self, parameters, self.INPUT, context)
        units = read_vector(self, parameters, self.INPUT, context, feedback)
        inventory = None
        if parameters.get(self.INVENTORY):
            inventory = read_vector(self, parameters, self.INVENTORY, context, feedback)

        def sources(name):
            return [
                RasterSource(layer.source(), layer.name())
                for layer in self.parameterAsLayerList(parameters, name, context)
            ]

        statistics = [STATISTIC_OPTIONS[i] for i in self.parameterAsEnums(parameters, self.STATISTICS, context)]
        text = self.parameterAsString(parameters, self.PERCENTILES, context).strip()
        for item in filter(None, (p.strip() for p in text.split(","))):
            try:
                value = float(item)
            except ValueError:
                raise ValueError(f"PERCENTILES: {item!r} is not a number; give e.g. '10, 90'") from None
            statistics.append(f"p{value:g}")
        result = aggregate_slope_units(
            units,
            sources(self.RASTERS),
            sources(self.CATEGORICAL_RASTERS),
            inventory=inventory,
            statistics=statistics,
            class_fractions=self.parameterAsBool(parameters, self.CLASS_FRACTIONS, context),
            pixel_rule=PIXEL_RULE_OPTIONS[self.parameterAsEnum(parameters, self.PIXEL_RULE, context)],
            max_memory_mb=self.parameterAsDouble(parameters, self.MAX_MEMORY, context),
            progress=core_progress(feedback),
        )
        for warning in result.warnings:
            feedback.pushWarning(warning)
        output = self.layer_destination(parameters, self.OUTPUT, context)
        write_vector(result.frame, output)
        save_default_style(output, "slope_units", feedback)
        frame = result.frame
        n_slide = int(frame["landslide"].sum()) if "landslide" in frame else 0
        first = next(iter(result.columns.values()), [])
        empty = int(frame[first[0]].isna().sum()) if first else 0
        if inventory is not None:
            feedback.pushInfo(f"{n_slide} of {len(frame)} units hold a landslide ({100 * n_slide / len(frame):.1f}%)")
        return {
            self.OUTPUT: output,
            "N_UNITS": len(frame),
            "N_LANDSLIDE_UNITS": n_slide,
            "LANDSLIDE_SHARE": n_slide / len(frame),
            "N_EMPTY_UNITS": empty,
        }
