"""landslide:newmarkraster — Newmark displacement and landslide probability on rasters (optionally Godt et al. 2008)."""

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import PGA_UNIT_LABELS, LandslideAlgorithm, core_progress
from .compat import NUMBER_DOUBLE, TYPE_RASTER

# Output parameter → (core map name, label); PROBABILITY is always written.
MAPS = {
    "FS": ("fs", "Factor of safety"),
    "AC": ("ac", "Critical acceleration (g)"),
    "DISPLACEMENT": ("displacement", "Newmark displacement (cm)"),
    "PROBABILITY": ("probability", "Probability of landsliding"),
}
OPTIONAL_MAPS = ("FS", "AC", "DISPLACEMENT")


class NewmarkRaster(LandslideAlgorithm):
    NAME = "newmarkraster"
    DISPLAY_NAME = "Newmark displacement on rasters"
    GROUP = "Physics"
    GROUP_ID = "physics"
    REQUIRES = ("numpy", "scipy", "rasterio")
    HELP = (
        "Computes the factor of safety of a dry infinite slope, the critical acceleration (g), the Newmark "
        "displacement of Jibson (2007) (cm) and a probability of landsliding on a raster grid.\n\n"
        "FS = c / (γ t sin α) + tan φ / tan α (c cohesion in kPa, t slab thickness in m, γ unit weight in kN/m³; "
        "or directly C/t in kPa/m); a_c = (FS − 1)·sin α; log10 D = 0.215 + 2.341 log10(1 − r) − 1.438 log10 r with "
        "r = a_c / PGA (D = 0 where r ≥ 1). FS_FLOOR and AC_FLOOR floor FS and a_c (0 = no floor).\n\n"
        "Two modes. With one SLOPE raster, PROBABILITY is p = 1 / (1 + exp(5 − D)) (Dahal & Lombardo, Eq. 4) and "
        "FS, AC and DISPLACEMENT can be written too. With the 7 SLOPE_QUANTILES rasters (minimum, 10, 30, 50, 70, "
        "90th percentile, maximum slope of each cell, in this order) PROBABILITY is the Godt et al. (2008) model "
        "of the USGS ground-failure system: the number of quantiles whose displacement reaches 5 cm (0–7) maps to "
        "0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99; only PROBABILITY is written then. The Godt et al. (2008) "
        "settings are THICKNESS 2.4, UNIT_WEIGHT 15.7, FS_FLOOR 1.01, AC_FLOOR 0.05, NODATA_COHESION 1, "
        "NODATA_FRICTION 26 (and COHESION_SCALE 0.1 for the USGS cohesion rasters in kPa × 10).\n\n"
        "The output grid is the slope grid (the first quantile raster). Cohesion, C/t and friction are taken "
        "from the nearest cell, a PGA raster is interpolated bilinearly, a USGS ShakeMap grid.xml (PGA in %g) "
        "bilinearly at each cell centre. A raster without a CRS is accepted, with a warning in the log, when it "
        "has the slope grid's size and transform, or its cell size (within 1%) and an overlapping extent; "
        "otherwise it must carry a CRS. The ShakeMap must cover every cell with slope data (clip the rasters to "
        "its extent first).\n\n"
        "Outputs are float32 GeoTIFFs with NaN as nodata. Cells without data in any input are nodata; FS is nodata "
        "on flat cells (infinite), DISPLACEMENT on cells that fail without shaking (FS ≤ 1, infinite "
        "displacement), where PROBABILITY is 1."
    )

    SLOPE = "SLOPE"
    SLOPE_SCALE = "SLOPE_SCALE"
    SLOPE_QUANTILES = "SLOPE_QUANTILES"
    COHESION = "COHESION"
    COHESION_SCALE = "COHESION_SCALE"
    THICKNESS = "THICKNESS"
    CT = "CT"
    UNIT_WEIGHT = "UNIT_WEIGHT"
    FRICTION = "FRICTION"
    PGA = "PGA"
    SHAKEMAP = "SHAKEMAP"
    PGA_UNITS = "PGA_UNITS"
    FS_FLOOR = "FS_FLOOR"
    AC_FLOOR = "AC_FLOOR"
    NODATA_COHESION = "NODATA_COHESION"
    NODATA_FRICTION = "NODATA_FRICTION"
    PHYSICS_MODE = "PHYSICS_MODE"

    def initAlgorithm(self, config=None):
        from ..core.physics import PHYSICS_MODES, RHO_G_KN_M3

        def number(name, label, default, help_text, advanced=False, optional=False):
            self.add(
                QgsProcessingParameterNumber(name, label, NUMBER_DOUBLE, default, optional=optional),
                help_text,
                advanced=advanced,
            )

        self.add(
            QgsProcessingParameterRasterLayer(self.SLOPE, "Slope (degrees)", optional=True),
            "Slope angle in degrees; the output grid. Leave empty when giving the 7 slope quantiles.",
        )
        number(
            self.SLOPE_SCALE,
            "Slope scale",
            1.0,
            "Factor applied to the slope rasters: 1 for degrees, 0.01 for degrees × 100 (USGS slope rasters).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterMultipleLayers(self.SLOPE_QUANTILES, "Slope quantiles", TYPE_RASTER, optional=True),
            "The 7 slope-quantile rasters (min, 10, 30, 50, 70, 90th percentile, max), for the Godt et al. (2008) "
            "probability; the first one gives the output grid.",
        )
        self.add(
            QgsProcessingParameterRasterLayer(self.COHESION, "Cohesion (kPa)", optional=True),
            "Cohesion in kPa, used with the thickness; or give a C/t raster instead.",
        )
        number(
            self.COHESION_SCALE,
            "Cohesion scale",
            1.0,
            "Factor applied to the cohesion raster: 1 for kPa, 0.1 for kPa × 10 (USGS cohesion rasters).",
            advanced=True,
        )
        number(self.THICKNESS, "Slab thickness (m)", 2.4, "Thickness t of the sliding slab in m, used with cohesion.")
        self.add(
            QgsProcessingParameterRasterLayer(self.CT, "C/t (kPa/m)", optional=True),
            "Cohesion over slab thickness in kPa/m, instead of cohesion and thickness.",
        )
        number(
            self.UNIT_WEIGHT,
            "Unit weight (kN/m³)",
            RHO_G_KN_M3,
            "Unit weight γ of the slab in kN/m³ (default ρg = 2300 kg/m³ × 9.81 m/s²; Godt et al. 2008: 15.7).",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterRasterLayer(self.FRICTION, "Friction angle (degrees)"),
            "Friction angle φ in degrees, in (0, 90).",
        )
        self.add(
            QgsProcessingParameterRasterLayer(self.PGA, "PGA", optional=True),
            "Peak ground acceleration raster in the unit chosen below; or give a ShakeMap instead.",
        )
        self.add(
            QgsProcessingParameterFile(self.SHAKEMAP, "ShakeMap grid.xml", extension="xml", optional=True),
            "A USGS ShakeMap grid.xml; its PGA (%g) is interpolated bilinearly at each cell centre.",
        )
        self.add(
            QgsProcessingParameterEnum(self.PGA_UNITS, "PGA unit", PGA_UNIT_LABELS, False, 0),
            "Unit of the PGA raster: g, %g or m/s² (a ShakeMap is always read as %g).",
        )
        number(
            self.FS_FLOOR, "FS floor", 0.0, "Lowest factor of safety (0 = none; Godt et al. 2008: 1.01).", advanced=True
        )
        number(
            self.AC_FLOOR,
            "Critical acceleration floor (g)",
            0.0,
            "Lowest critical acceleration in g (0 = none; Godt et al. 2008: 0.05).",
            advanced=True,
        )
        number(
            self.NODATA_COHESION,
            "Cohesion where missing",
            None,
            "Fill for cells without cohesion, in kPa (kPa/m with a C/t raster); empty = leave them nodata "
            "(Godt et al. 2008: 1 kPa).",
            advanced=True,
            optional=True,
        )
        number(
            self.NODATA_FRICTION,
            "Friction angle where missing (degrees)",
            None,
            "Fill for cells without a friction angle; empty = leave them nodata (Godt et al. 2008: 26).",
            advanced=True,
            optional=True,
        )
        self.add(
            QgsProcessingParameterEnum(self.PHYSICS_MODE, "Physics mode", list(PHYSICS_MODES), False, 0),
            "'paper': Jibson (2007) as published; 'authors_code': as the authors' code computes it "
            "(single slope raster only).",
        )
        for key, (_, label) in MAPS.items():
            optional = key in OPTIONAL_MAPS
            self.add(
                QgsProcessingParameterRasterDestination(key, label, optional=optional, createByDefault=not optional),
                f"{label}, a float32 GeoTIFF on the slope grid"
                + (" (single-slope mode only; leave empty to skip it)." if optional else "."),
            )

    def checkParameterValues(self, parameters, context):
        problem = self._slope_problem(parameters, context) or self._input_problem(parameters, context)
        if problem:
            return False, self.tr(problem)
        return super().checkParameterValues(parameters, context)

    def _slope_problem(self, parameters, context) -> str:
        """Why the slope inputs cannot run ("" if they can)."""
        from ..core.physics import PHYSICS_MODES

        slope = self.parameterAsRasterLayer(parameters, self.SLOPE, context)
        quantiles = self.parameterAsLayerList(parameters, self.SLOPE_QUANTILES, context)
        if (slope is None) == (not quantiles):
            return "Give either SLOPE or the 7 SLOPE_QUANTILES rasters, not both or neither"
        if not quantiles:
            return ""
        if len(quantiles) != 7:
            return f"SLOPE_QUANTILES needs 7 rasters (min, 10, 30, 50, 70, 90, max), got {len(quantiles)}"
        if PHYSICS_MODES[self.parameterAsEnum(parameters, self.PHYSICS_MODE, context)] != "paper":
            return "PHYSICS_MODE must be 'paper' with SLOPE_QUANTILES (Godt et al. 2008)"
        requested = [key for key in OPTIONAL_MAPS if self.parameterAsOutputLayer(parameters, key, context)]
        if requested:
            return f"With SLOPE_QUANTILES only PROBABILITY is computed: leave {', '.join(requested)} empty"
        return ""

    def _input_problem(self, parameters, context) -> str:
        """Why the strength and ground-motion inputs cannot run ("" if they can)."""
        cohesion = self.parameterAsRasterLayer(parameters, self.COHESION, context)
        ct = self.parameterAsRasterLayer(parameters, self.CT, context)
        if (cohesion is None) == (ct is None):
            return "Give either COHESION (kPa, with THICKNESS) or CT (kPa/m), not both or neither"
        pga = self.parameterAsRasterLayer(parameters, self.PGA, context)
        shakemap = self.parameterAsFile(parameters, self.SHAKEMAP, context)
        if (pga is None) == (not shakemap):
            return "Give either PGA (raster) or SHAKEMAP (grid.xml), not both or neither"
        return ""

    def _optional_number(self, parameters, name, context):
        value = parameters.get(name)
        if value is None or value == "":
            return None
        return self.parameterAsDouble(parameters, name, context)

    def _source(self, parameters, name, context):
        layer = self.parameterAsRasterLayer(parameters, name, context)
        return layer.source() if layer is not None else None

    def process(self, parameters, context, feedback):
        from ..core.newmark_maps import RasterInputs, newmark_maps, write_newmark_maps
        from ..core.physics import PHYSICS_MODES
        from ..core.progress import scaled
        from ..core.units import PGA_UNITS

        quantiles = self.parameterAsLayerList(parameters, self.SLOPE_QUANTILES, context)
        inputs = RasterInputs(
            friction=self._source(parameters, self.FRICTION, context),
            slope=self._source(parameters, self.SLOPE, context),
            slope_quantiles=tuple(layer.source() for layer in quantiles),
            slope_scale=self.parameterAsDouble(parameters, self.SLOPE_SCALE, context),
            cohesion=self._source(parameters, self.COHESION, context),
            cohesion_scale=self.parameterAsDouble(parameters, self.COHESION_SCALE, context),
            thickness_m=self.parameterAsDouble(parameters, self.THICKNESS, context),
            ct=self._source(parameters, self.CT, context),
            unit_weight_kn_m3=self.parameterAsDouble(parameters, self.UNIT_WEIGHT, context),
            pga=self._source(parameters, self.PGA, context),
            pga_unit=PGA_UNITS[self.parameterAsEnum(parameters, self.PGA_UNITS, context)],
            shakemap=self.parameterAsFile(parameters, self.SHAKEMAP, context) or None,
            fs_floor=self.parameterAsDouble(parameters, self.FS_FLOOR, context),
            ac_floor_g=self.parameterAsDouble(parameters, self.AC_FLOOR, context),
            nodata_cohesion=self._optional_number(parameters, self.NODATA_COHESION, context),
            nodata_friction_deg=self._optional_number(parameters, self.NODATA_FRICTION, context),
            mode=PHYSICS_MODES[self.parameterAsEnum(parameters, self.PHYSICS_MODE, context)],
        )
        progress = core_progress(feedback)
        maps = newmark_maps(inputs, progress=scaled(progress, 0.0, 0.9))
        for warning in maps.warnings:
            feedback.pushWarning(warning)
        targets = {}
        for key, (name, _) in MAPS.items():
            path = self.parameterAsOutputLayer(parameters, key, context)
            if path:
                targets[name] = path
        progress(0.9, "writing the rasters")
        written = write_newmark_maps(maps, targets)
        return {key: str(written[name]) for key, (name, _) in MAPS.items() if name in written}
