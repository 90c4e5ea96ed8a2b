"""landslide:predict — apply a trained PINN or SNN model to slope units (optionally for a new earthquake), or a
pixel-mode SNN model to a raster stack."""

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from .base import (
    PGA_UNIT_LABELS,
    LandslideAlgorithm,
    core_progress,
    read_vector,
    save_category_style,
    save_default_style,
    style_raster,
)
from .compat import FIELD_NUMERIC, NUMBER_DOUBLE, TYPE_RASTER, TYPE_VECTOR_ANY


class Predict(LandslideAlgorithm):
    NAME = "predict"
    DISPLAY_NAME = "Predict with a trained model (scenarios)"
    GROUP = "Models"
    GROUP_ID = "models"
    REQUIRES = ("numpy", "scipy", "geopandas", "rasterio", "torch")
    HELP = (
        "Applies a model file written by 'Train PINN' or 'Train SNN' to a slope-unit layer. The layer must hold "
        "every field the model was trained on (same names, numeric where numeric, no categorical level the model "
        "never saw); anything else is refused with a message that names the field.\n\n"
        "Earthquake scenario (PINN models): give the new PGA as a field of the units, a raster, or a USGS "
        "ShakeMap grid.xml (PGA in %g); rasters and ShakeMaps are averaged over each unit (pixel centres inside, "
        "any CRS). The network's C/t and φ do not depend on PGA, so the new map needs no retraining: this is the "
        "near-real-time use of the PINN after an earthquake. A ShakeMap that does not cover every unit is refused.\n\n"
        "Outputs: the units with the model's fields (PINN: susceptibility, ct_kpa_m, phi_deg, fs, ac_g, disp_cm, "
        "pred and, for a scenario, pga_scenario_g; SNN: snn_st, snn_class, s_<feature>, primary_control), styled; "
        "optionally a GeoTIFF of one output field at a chosen cell size, a CSV and an HTML report.\n\n"
        "Raster stack (SNN models from 'Train SNN on rasters'): instead of units, give RASTERS. Each of the "
        "model's features is found by layer name (a multi-band raster offers one feature per band, named as in "
        "training); a missing one is refused with its name. S_t is written as a GeoTIFF (OUTPUT_RASTER, styled) "
        "on the grid of the first raster; the others are resampled onto it bilinearly (any CRS, cell size and "
        "extent). Pixels without a value in every feature raster are nodata."
    )

    INPUT = "INPUT"
    RASTERS = "RASTERS"
    MODEL = "MODEL"
    SCENARIO_PGA_FIELD = "SCENARIO_PGA_FIELD"
    SCENARIO_PGA_RASTER = "SCENARIO_PGA_RASTER"
    SHAKEMAP = "SHAKEMAP"
    PGA_UNITS = "PGA_UNITS"
    OUTPUT = "OUTPUT"
    RASTER_FIELD = "RASTER_FIELD"
    CELL_SIZE = "CELL_SIZE"
    OUTPUT_RASTER = "OUTPUT_RASTER"
    OUTPUT_CSV = "OUTPUT_CSV"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFeatureSource(self.INPUT, "Slope units", [TYPE_VECTOR_ANY], optional=True),
                 "Units holding the fields the model was trained on (or give RASTERS for a pixel model).")  # fmt: skip
        self.add(QgsProcessingParameterMultipleLayers(self.RASTERS, "Feature rasters (pixel models)", TYPE_RASTER,
                                                      optional=True),
                 "For a model from 'Train SNN on rasters': the feature rasters, found by layer name; S_t is "
                 "written on the first one's grid (OUTPUT_RASTER).")  # fmt: skip
        self.add(QgsProcessingParameterFile(self.MODEL, "Model file", extension="lsm"),
                 "A .lsm file written by 'Train PINN' or 'Train SNN'.")  # fmt: skip
        self.add(QgsProcessingParameterField(self.SCENARIO_PGA_FIELD, "Scenario PGA field", None, self.INPUT,
                                             FIELD_NUMERIC, optional=True),
                 "PGA of a new earthquake per unit (PINN only).")  # fmt: skip
        self.add(QgsProcessingParameterRasterLayer(self.SCENARIO_PGA_RASTER, "Scenario PGA raster", optional=True),
                 "PGA raster of a new earthquake, averaged per unit (PINN only).")  # fmt: skip
        self.add(QgsProcessingParameterFile(self.SHAKEMAP, "Scenario ShakeMap grid.xml", extension="xml",
                                            optional=True),
                 "USGS ShakeMap grid.xml of a new earthquake (PGA in %g), averaged per unit (PINN only).")  # fmt: skip
        self.add(QgsProcessingParameterEnum(self.PGA_UNITS, "Scenario PGA unit", PGA_UNIT_LABELS, defaultValue=0),
                 "Unit of the scenario PGA field or raster.")  # fmt: skip
        self.add(QgsProcessingParameterVectorDestination(self.OUTPUT, "Prediction", optional=True),
                 "The units with the model's outputs (GeoPackage), styled; not written for RASTERS.")  # fmt: skip
        self.add(QgsProcessingParameterString(self.RASTER_FIELD, "Field to rasterise", optional=True),
                 "An output field (e.g. susceptibility) to write as a GeoTIFF.", advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterNumber(self.CELL_SIZE, "Raster cell size (map units)", NUMBER_DOUBLE, 30.0),
                 "Cell size of the GeoTIFF.", advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_RASTER, "Raster of the field", optional=True,
                                                         createByDefault=False),
                 "GeoTIFF of RASTER_FIELD; with RASTERS, the S_t of the pixel model.")  # fmt: skip
        self.add(QgsProcessingParameterFileDestination(self.OUTPUT_CSV, "Table (CSV)", "CSV files (*.csv)",
                                                       optional=True, createByDefault=False),
                 "The output table without geometry.")  # fmt: skip
        self.add(QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html)", optional=True,
                                                       createByDefault=False),
                 "An HTML page with the map and the distribution of the outputs.")  # fmt: skip
        self.addOutput(QgsProcessingOutputNumber("N_UNITS", "Number of units"))
        self.addOutput(QgsProcessingOutputNumber("N_PIXELS", "Pixels with S_t (raster stack)"))
        self.addOutput(QgsProcessingOutputNumber("MEAN_SUSCEPTIBILITY", "Mean susceptibility"))
        self.addOutput(QgsProcessingOutputNumber("N_PREDICTED", "Units (or pixels) predicted as landslide"))

    def checkParameterValues(self, parameters, context):
        given = [p for p in (self.SCENARIO_PGA_FIELD, self.SCENARIO_PGA_RASTER, self.SHAKEMAP) if parameters.get(p)]
        if len(given) > 1:
            return False, self.tr(f"give the scenario PGA one way only, not {' and '.join(given)}")
        if parameters.get(self.INPUT) and parameters.get(self.RASTERS):
            return False, self.tr("give either slope units (INPUT) or a raster stack (RASTERS), not both")
        if not parameters.get(self.INPUT) and not parameters.get(self.RASTERS):
            try:
                return False, self._nothing_to_predict(self.parameterAsFile(parameters, self.MODEL, context))
            except ValueError as err:
                return False, str(err)
        rasters = bool(parameters.get(self.RASTERS))
        if parameters.get(self.OUTPUT_RASTER) and not parameters.get(self.RASTER_FIELD) and not rasters:
            return False, self.tr("OUTPUT_RASTER needs RASTER_FIELD: the output field to rasterise")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        from ..core.io import atomic_path, rasterize_field, write_vector
        from ..core.predict import Scenario, predict_units

        model_path = self.parameterAsFile(parameters, self.MODEL, context)
        if parameters.get(self.RASTERS):
            return self._predict_rasters(model_path, parameters, context, feedback)
        units = read_vector(self, parameters, self.INPUT, context, feedback)
        raster = self.parameterAsRasterLayer(parameters, self.SCENARIO_PGA_RASTER, context)
        scenario = Scenario(
            pga_field=self.parameterAsString(parameters, self.SCENARIO_PGA_FIELD, context) or None,
            pga_raster=raster.source() if raster is not None else None,
            shakemap=self.parameterAsFile(parameters, self.SHAKEMAP, context) or None,
            unit=self.parameterAsEnum(parameters, self.PGA_UNITS, context),
        )
        result = predict_units(model_path, units, scenario, core_progress(feedback))
        for warning in result.warnings:
            feedback.pushWarning(warning)
        frame = result.frame
        output = self.layer_destination(parameters, self.OUTPUT, context)
        write_vector(frame, output)
        if result.kind == "pinn":
            column = "susceptibility"
            save_default_style(output, "susceptibility", feedback, extra_styles=("ct", "phi", "ac", "displacement"))
        else:
            column = "snn_st"
            save_default_style(output, "snn_susceptibility", feedback)
            save_category_style(output, "primary_control", "primary_control", feedback)
        results = {
            self.OUTPUT: output,
            "N_UNITS": len(frame),
            "MEAN_SUSCEPTIBILITY": float(frame[column].mean()),
            "N_PREDICTED": int(frame["pred" if result.kind == "pinn" else "snn_class"].sum()),
        }
        raster_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_RASTER, context)
        field = self.parameterAsString(parameters, self.RASTER_FIELD, context)
        if raster_path and field:
            cell = self.parameterAsDouble(parameters, self.CELL_SIZE, context)
            results[self.OUTPUT_RASTER] = str(rasterize_field(frame, field, cell, raster_path))
        csv_path = self.parameterAsFileOutput(parameters, self.OUTPUT_CSV, context)
        if csv_path:
            with atomic_path(csv_path) as tmp:
                frame.drop(columns=frame.geometry.name).to_csv(tmp, index=False)
            results[self.OUTPUT_CSV] = csv_path
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        if report_path:
            from ..core.report import prediction_report
            from .rendering import render_png

            style = "susceptibility" if result.kind == "pinn" else "snn_susceptibility"
            maps = {"Susceptibility": render_png(output, style)}
            prediction_report(frame, result.kind, maps, source=str(output)).write(report_path)
            results[self.REPORT] = report_path
        return results

    def _predict_rasters(self, model_path: str, parameters, context, feedback) -> dict:
        """S_t of a pixel-mode SNN on the raster stack RASTERS, as a styled GeoTIFF."""
        from ..core.predict import predict_raster

        for name in (self.SCENARIO_PGA_FIELD, self.SCENARIO_PGA_RASTER, self.SHAKEMAP):
            if parameters.get(name):
                raise QgsProcessingException(
                    f"{name}: earthquake scenarios apply to PINN models on slope units, not to a raster stack"
                )
        for name in (self.RASTER_FIELD, self.OUTPUT_CSV, self.REPORT):
            if parameters.get(name):
                feedback.pushWarning(f"{name} applies to slope units; with RASTERS only OUTPUT_RASTER is written")
        layers = self.parameterAsLayerList(parameters, self.RASTERS, context)
        path = self.layer_destination(parameters, self.OUTPUT_RASTER, context, "tif")
        sources = [(layer.source(), layer.name()) for layer in layers]
        result = predict_raster(model_path, sources, path, core_progress(feedback))
        for warning in result.warnings:
            feedback.pushWarning(warning)
        style_raster(path, "raster_susceptibility", context)
        feedback.pushInfo(f"S_t of {result.pixels} pixels, {result.above} above the model's threshold")
        return {
            self.OUTPUT_RASTER: path,
            "N_PIXELS": result.pixels,
            "MEAN_SUSCEPTIBILITY": result.mean,
            "N_PREDICTED": result.above,
        }

    def _nothing_to_predict(self, model_path: str) -> str:
        """The message for a run with neither units nor rasters: what the model in ``model_path`` needs."""
        from ..core.model_io import load_model
        from ..core.snn_raster import is_pixel_model

        model_file = load_model(model_path)
        names = ", ".join(map(repr, model_file.meta.get("input_names", [])))
        if is_pixel_model(model_file):
            return f"nothing to predict: the pixel-mode SNN in {model_path} needs the rasters (RASTERS) {names}"
        return f"nothing to predict: the {model_file.kind.upper()} model in {model_path} needs slope units (INPUT)"
