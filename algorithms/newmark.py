"""landslide:newmark — infinite-slope FS, critical acceleration, Newmark displacement and susceptibility per unit."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterVectorDestination,
)

from .base import PGA_UNIT_LABELS, LandslideAlgorithm, read_vector, save_default_style
from .compat import FIELD_NUMERIC, TYPE_VECTOR_ANY, TYPE_VECTOR_POINT, TYPE_VECTOR_POLYGON

STYLE = "susceptibility"


class Newmark(LandslideAlgorithm):
    NAME = "newmark"
    DISPLAY_NAME = "Newmark displacement on units"
    GROUP = "Physics"
    GROUP_ID = "physics"
    REQUIRES = ("numpy", "scipy", "geopandas")
    HELP = (
        "Computes, for every unit (slope-unit polygon or point), the factor of safety of a dry infinite slope, the "
        "critical acceleration and the Newmark displacement of Jibson (2007), and the probability that the "
        "displacement exceeds about 5 cm (Dahal & Lombardo, Eq. 4: p = 1 / (1 + exp(5 − D))).\n\n"
        "FS = C/t / (ρ g sin α) + tan φ / tan α with ρ g = 22.563 kN/m³; a_c = (FS − 1)·sin α in g; "
        "log10 D[cm] = 0.215 + 2.341 log10(1 − r) − 1.438 log10 r with r = a_c / PGA; D = 0 where r ≥ 1.\n\n"
        "Strength is given either as C/t in kPa/m (one field) or as cohesion in kPa with a slab thickness in m "
        "(two fields); exactly one of the two routes must be chosen.\n\n"
        "Output: the input layer with its fields plus fs, ac_g (g), disp_cm (cm) and susceptibility (0–1), as a "
        "GeoPackage whose default style shows susceptibility in five classes. A unit that fails without shaking "
        "(FS ≤ 1, a_c ≤ 0: static failure, infinite displacement) gets disp_cm = NULL and susceptibility = 1.\n\n"
        "Physics mode 'paper' is the physics above; 'authors_code' reproduces the authors' published code "
        "(FS clipped to [1.2, 15], natural log, constant 0.251 + 0.5, exponent 2.53, PGA × 10, ratio clipped to "
        "[0.001, 0.999]) for comparison with their results; it never reports a static failure.\n\n"
        "The run stops with a message naming the field when a field is missing or not numeric, holds NULL/NaN "
        "values, has slopes outside (0, 90] degrees, friction angles outside (0, 90) degrees, negative C/t or "
        "cohesion, thicknesses ≤ 0, or PGA values implausible for the chosen unit."
    )

    INPUT = "INPUT"
    SLOPE_FIELD = "SLOPE_FIELD"
    PGA_FIELD = "PGA_FIELD"
    PGA_UNITS = "PGA_UNITS"
    CT_FIELD = "CT_FIELD"
    COHESION_FIELD = "COHESION_FIELD"
    THICKNESS_FIELD = "THICKNESS_FIELD"
    PHI_FIELD = "PHI_FIELD"
    PHYSICS_MODE = "PHYSICS_MODE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None):
        from ..core.physics import PHYSICS_MODES

        self.add(
            QgsProcessingParameterFeatureSource(self.INPUT, "Units", [TYPE_VECTOR_POLYGON, TYPE_VECTOR_POINT]),
            "Slope units (polygons) or points holding slope, PGA and strength values.",
        )

        def field(name, label, help_text, optional=False):
            self.add(
                QgsProcessingParameterField(
                    name, label, None, self.INPUT, FIELD_NUMERIC, allowMultiple=False, optional=optional
                ),
                help_text,
            )

        field(self.SLOPE_FIELD, "Slope field (degrees)", "Slope angle α in degrees, in (0, 90].")
        field(self.PGA_FIELD, "PGA field", "Peak ground acceleration, in the unit chosen below.")
        self.add(
            QgsProcessingParameterEnum(self.PGA_UNITS, "PGA unit", PGA_UNIT_LABELS, False, 0),
            "Unit of the PGA field: g, %g (USGS ShakeMap) or m/s².",
        )
        field(
            self.CT_FIELD,
            "C/t field (kPa/m)",
            "Cohesion over slab thickness in kPa/m. Leave empty when giving cohesion and thickness.",
            optional=True,
        )
        field(
            self.COHESION_FIELD,
            "Cohesion field (kPa)",
            "Cohesion in kPa, used with the thickness field instead of a C/t field.",
            optional=True,
        )
        field(
            self.THICKNESS_FIELD,
            "Thickness field (m)",
            "Slab thickness in m (> 0), required with the cohesion field.",
            optional=True,
        )
        field(self.PHI_FIELD, "Friction angle field (degrees)", "Friction angle φ in degrees, in (0, 90).")
        self.add(
            QgsProcessingParameterEnum(self.PHYSICS_MODE, "Physics mode", list(PHYSICS_MODES), False, 0),
            "'paper': Jibson (2007) as published; 'authors_code': as the authors' code computes it.",
        )
        self.add(
            QgsProcessingParameterVectorDestination(self.OUTPUT, "Newmark units", TYPE_VECTOR_ANY),
            "GeoPackage with the input fields plus fs, ac_g, disp_cm and susceptibility, styled by susceptibility.",
        )
        self.addOutput(QgsProcessingOutputNumber("N_UNITS", "Number of units"))
        self.addOutput(QgsProcessingOutputNumber("N_STATIC_FAILURES", "Number of units failing without shaking"))
        self.addOutput(QgsProcessingOutputNumber("MEAN_SUSCEPTIBILITY", "Mean susceptibility"))

    def checkParameterValues(self, parameters, context):
        ct = self.parameterAsString(parameters, self.CT_FIELD, context)
        cohesion = self.parameterAsString(parameters, self.COHESION_FIELD, context)
        thickness = self.parameterAsString(parameters, self.THICKNESS_FIELD, context)
        if ct and (cohesion or thickness):
            return False, self.tr("Give either CT_FIELD (C/t, kPa/m) or COHESION_FIELD with THICKNESS_FIELD, not both")
        if not ct and not cohesion:
            return False, self.tr(
                "Give CT_FIELD (C/t, kPa/m) or COHESION_FIELD (kPa) with THICKNESS_FIELD (m): neither is set"
            )
        if cohesion and not thickness:
            return False, self.tr("COHESION_FIELD needs THICKNESS_FIELD (slab thickness, m) to form C/t")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        from ..core.io import write_vector
        from ..core.newmark_maps import newmark_units
        from ..core.physics import PHYSICS_MODES

        output = self.layer_destination(parameters, self.OUTPUT, context)
        if not output.lower().endswith(".gpkg"):
            raise ValueError(f"OUTPUT must be a GeoPackage (.gpkg) file, got {output}")
        units = read_vector(self, parameters, self.INPUT, context, feedback)

        def optional_field(name):
            return self.parameterAsString(parameters, name, context) or None

        feedback.setProgress(10)
        result = newmark_units(
            units,
            slope_field=self.parameterAsString(parameters, self.SLOPE_FIELD, context),
            pga_field=self.parameterAsString(parameters, self.PGA_FIELD, context),
            phi_field=self.parameterAsString(parameters, self.PHI_FIELD, context),
            pga_units=self.parameterAsEnum(parameters, self.PGA_UNITS, context),
            ct_field=optional_field(self.CT_FIELD),
            cohesion_field=optional_field(self.COHESION_FIELD),
            thickness_field=optional_field(self.THICKNESS_FIELD),
            mode=PHYSICS_MODES[self.parameterAsEnum(parameters, self.PHYSICS_MODE, context)],
        )
        for warning in result.warnings:
            feedback.pushWarning(warning)
        feedback.setProgress(60)
        write_vector(result.table, output)
        save_default_style(output, STYLE, feedback)
        feedback.pushInfo(
            f"{result.n_units} units, {result.n_static_failures} failing without shaking (FS ≤ 1), "
            f"mean susceptibility {result.mean_susceptibility:.4f}"
        )
        return {
            self.OUTPUT: output,
            "N_UNITS": result.n_units,
            "N_STATIC_FAILURES": result.n_static_failures,
            "MEAN_SUSCEPTIBILITY": result.mean_susceptibility,
        }
