"""landslide:trainsnn — the superposable neural network of Youssef et al. (2023) on slope units."""

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterVectorDestination,
)

from .base import (
    LandslideAlgorithm,
    core_progress,
    read_vector,
    save_category_style,
    save_default_style,
)
from .compat import FIELD_NUMERIC, NUMBER_DOUBLE, TYPE_VECTOR_ANY
from .snn_common import (
    add_comparison_outputs,
    add_level,
    add_schedule,
    add_seed_and_device,
    comparison_results,
    snn_config,
)

SPLIT_LABELS = ["Pythagorean tiling of the centroids (paper)", "random 70/15/15", "spatial (one k-means region)"]


class TrainSNN(LandslideAlgorithm):
    NAME = "trainsnn"
    DISPLAY_NAME = "Train SNN (superposable, interpretable)"
    GROUP = "Models"
    GROUP_ID = "models"
    REQUIRES = ("numpy", "scipy", "geopandas", "torch", "sklearn")
    HELP = (
        "Trains the superposable neural network of Youssef et al. (2023): a fully additive model S_t = Σ S_j(χ_j) "
        "over single features and their products (LEVEL 2: all pairs; 3: triples by the gcd rule), each S_j a "
        "small Gaussian-RBF network in the feature's raw units, so every unit's susceptibility is explained "
        "exactly. As in the authors' code: tournament ranking (backward elimination by permutation AUROC drop) "
        "and greedy forward selection, a multistage teacher, fractional knowledge distillation into per-feature "
        "networks, pruning, and a final parallel distillation (Eq. 1). Thousands of tiny networks are trained "
        "together with a batched Levenberg–Marquardt.\n\nFEATURES: numeric fields; left empty, every numeric "
        "*_mean field of the layer (as 'Aggregate' writes them). LABEL_FIELD: 0/1 or a landslide count (> 0 is a "
        "landslide). SPLIT: the paper's Pythagorean tiling of the unit centroids with lattice pitch TILE_SIZE "
        "(map units; 0: an eighth of the area's extent), or random / spatial alternatives.\n\nOUTPUT adds snn_st "
        "(total susceptibility), snn_class (1 above the ROC threshold nearest (0,1)), one s_<feature> per "
        "selected feature and primary_control (the feature with the largest contribution). The numeric outputs "
        "compare, on the same test split, the SNN with its teacher, logistic regression and the likelihood-ratio "
        "model; REPORT adds the Level-1 SNN and the best single feature, the S_j curves with likelihood ratios, "
        "ΔS̄_j bars and ld/nld pies."
    )

    INPUT = "INPUT"
    FEATURES = "FEATURES"
    LABEL_FIELD = "LABEL_FIELD"
    LEVEL = "LEVEL"
    SPLIT = "SPLIT"
    TILE_SIZE = "TILE_SIZE"
    TOURNAMENT_MODELS = "TOURNAMENT_MODELS"
    FKD_ITERATIONS = "FKD_ITERATIONS"
    SEED = "SEED"
    DEVICE = "DEVICE"
    THREADS = "THREADS"
    OUTPUT = "OUTPUT"
    MODEL = "MODEL"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFeatureSource(self.INPUT, "Slope units", [TYPE_VECTOR_ANY]),
                 "Slope-unit polygons or points, one row per unit.")  # fmt: skip
        self.add(QgsProcessingParameterField(self.FEATURES, "Features", None, self.INPUT, FIELD_NUMERIC, True, True),
                 "Numeric features; empty: every numeric *_mean field.")  # fmt: skip
        self.add(QgsProcessingParameterField(self.LABEL_FIELD, "Landslide label", None, self.INPUT, FIELD_NUMERIC),
                 "0/1, or a landslide count (> 0 is a landslide).")  # fmt: skip
        add_level(self)
        self.add(QgsProcessingParameterEnum(self.SPLIT, "Test split", SPLIT_LABELS, defaultValue=0),
                 "How the test units are held out.")  # fmt: skip
        self.add(QgsProcessingParameterNumber(self.TILE_SIZE, "Tile size (map units)", NUMBER_DOUBLE, 0.0, minValue=0),
                 "Lattice pitch of the tiling; 0: an eighth of the area's extent.")  # fmt: skip
        add_schedule(self)
        add_seed_and_device(self)
        self.add(
            QgsProcessingParameterVectorDestination(self.OUTPUT, "SNN susceptibility"),
            "The units with S_t, the class, the contributions and the primary control (GeoPackage).",
        )
        self.add(QgsProcessingParameterFileDestination(self.MODEL, "Model file", "Landslide model (*.lsm)"),
                 "a, b, w, c and names of Eq. (1) in raw units, for 'Predict'.")  # fmt: skip
        self.add(QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html)", optional=True,
                                                       createByDefault=True),
                 "An HTML report that opens in any browser.")  # fmt: skip
        add_comparison_outputs(self)

    def process(self, parameters, context, feedback):
        import numpy as np

        from ..core.io import write_vector
        from ..core.model_io import save_model
        from ..core.report import snn_report
        from ..core.snn_units import SPLITS, train_snn_units
        from .rendering import render_png

        frame = read_vector(self, parameters, self.INPUT, context, feedback)
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        points = frame.geometry.representative_point()
        config = snn_config(self, parameters, context, feedback)
        run = train_snn_units(
            frame,
            self.parameterAsFields(parameters, self.FEATURES, context),
            self.parameterAsString(parameters, self.LABEL_FIELD, context),
            np.column_stack([points.x.to_numpy(), points.y.to_numpy()]),
            config,
            SPLITS[self.parameterAsEnum(parameters, self.SPLIT, context)],
            self.parameterAsDouble(parameters, self.TILE_SIZE, context),
            compare_level1=bool(report_path),  # the Level-1 SNN appears in the report's comparison table
            progress=core_progress(feedback),
        )
        clash = [c for c in run.outputs.columns if c in frame.columns]
        layer = frame.drop(columns=clash).join(run.outputs.set_index(frame.index))
        output = self.layer_destination(parameters, self.OUTPUT, context)
        write_vector(layer, output)
        save_default_style(output, "snn_susceptibility", feedback)
        save_category_style(output, "primary_control", "primary_control", feedback)
        model_path = self.file_destination(parameters, self.MODEL, context, "lsm")
        save_model(model_path, run.result.model.to_model_file())
        results = {
            self.OUTPUT: output,
            self.MODEL: model_path,
            **comparison_results(run, feedback),
        }
        if report_path:
            maps = {"S_t": render_png(output, "snn_susceptibility")}
            snn_report(run, frame, maps, source=str(output)).write(report_path)
            results[self.REPORT] = report_path
        return results
