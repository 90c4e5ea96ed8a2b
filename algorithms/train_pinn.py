"""landslide:trainpinn — the physics-informed neural network of Dahal & Lombardo on slope units."""

import os

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterVectorDestination,
)

from .base import DEVICE_LABELS, PGA_UNIT_LABELS, LandslideAlgorithm, core_progress, read_vector, save_default_style
from .compat import FIELD_ANY, FIELD_NUMERIC, NUMBER_DOUBLE, NUMBER_INTEGER, TYPE_VECTOR_ANY

VALIDATION_LABELS = ["hold-out (70/15/15)", "random k-fold", "spatial k-fold (k-means of centroids or GROUP_FIELD)"]
PHYSICS_LABELS = ["paper (Jibson 2007 as printed)", "authors' code (for comparison with their results)"]
LOSS_LABELS = ["Jibson scatter (default)", "tempered Eq. 4", "Eq. 4 as printed"]
PARAMETER_STYLES = ("ct", "phi", "ac", "displacement", "confusion")

# Core output column → field of the output layer.
_RENAME = {
    "random_cv_oof": "susc_oof", "spatial_cv_oof": "susc_oof",
    "random_cv_fold": "fold", "spatial_cv_fold": "fold",
    "random_cv_confusion": "confusion_oof", "spatial_cv_confusion": "confusion_oof",
}  # fmt: skip
_BOOT_PREFIX = {"ct_kpa_m": "ct", "phi_deg": "phi", "ac_g": "ac", "susceptibility": "susc"}


class TrainPINN(LandslideAlgorithm):
    NAME = "trainpinn"
    DISPLAY_NAME = "Train PINN (physics-informed, Newmark)"
    GROUP = "Models"
    GROUP_ID = "models"
    REQUIRES = ("numpy", "scipy", "geopandas", "torch", "sklearn")
    HELP = (
        "Trains the physics-informed neural network of Dahal & Lombardo: a deep network maps each unit's proxies "
        "(FEATURES, and one-hot CATEGORICAL_FEATURES such as geology) to two geotechnical parameters, C/t "
        "(cohesion over slab thickness, kPa/m) and the friction angle φ (degrees); the Newmark physics "
        "(infinite slope → critical acceleration a_c → Jibson 2007 displacement → P(D > 5 cm)) turns them, with "
        "the unit's slope and PGA, into the susceptibility. Trained with binary cross-entropy against the "
        "landslide label (0/1, or a count where > 0 is a landslide); the network is kept at its best validation "
        "AUC after a warm-up (SELECTION_WARMUP), and every reported metric is on units never used for training or "
        "model choice.\n\n"
        "PGA enters through the physics only: a PGA field listed among FEATURES is left out of the network, so "
        "the retrieved C/t and φ are properties of the ground and a new earthquake can be predicted without "
        "retraining ('Predict'), with a probability that can only rise with PGA.\n\n"
        "OUTPUT adds susceptibility, ct_kpa_m, phi_deg, fs, ac_g, disp_cm (NULL where the slope fails without "
        "shaking), pred (0/1 at the threshold nearest the ROC corner, chosen on validation units), confusion "
        "(TP/FP/FN/TN) and split; with cross-validation susc_oof (out-of-fold), fold and confusion_oof; with "
        "bootstraps the 5th/50th/95th percentiles ct_p05 … susc_p95. MODEL holds everything needed to predict "
        "later in a file that cannot run code when loaded. REPORT is an HTML page with metrics, ROC and loss "
        "curves, histograms and maps, and a logistic-regression baseline on the same splits."
    )

    INPUT = "INPUT"
    FEATURES = "FEATURES"
    CATEGORICAL_FEATURES = "CATEGORICAL_FEATURES"
    LABEL_FIELD = "LABEL_FIELD"
    SLOPE_FIELD = "SLOPE_FIELD"
    PGA_FIELD = "PGA_FIELD"
    PGA_UNITS = "PGA_UNITS"
    VALIDATION = "VALIDATION"
    GROUP_FIELD = "GROUP_FIELD"
    FOLDS = "FOLDS"
    BOOTSTRAPS = "BOOTSTRAPS"
    BOOTSTRAP_FRACTION = "BOOTSTRAP_FRACTION"
    EPOCHS = "EPOCHS"
    CLASS_WEIGHT = "CLASS_WEIGHT"
    PHYSICS_MODE = "PHYSICS_MODE"
    DEVICE = "DEVICE"
    DEPTH = "DEPTH"
    LINEAR_PATH = "LINEAR_PATH"
    DROPOUT = "DROPOUT"
    LOSS = "LOSS"
    SELECTION_WARMUP = "SELECTION_WARMUP"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    MODEL = "MODEL"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterFeatureSource(self.INPUT, "Slope units", [TYPE_VECTOR_ANY]),
            "Slope-unit polygons, or points (unit centroids are enough), with one row per unit.",
        )

        def field(name, label, help_text, kind=FIELD_NUMERIC, multiple=False, optional=False):
            self.add(QgsProcessingParameterField(name, label, None, self.INPUT, kind, multiple, optional), help_text)

        field(self.FEATURES, "Numeric features", "Numeric proxies, e.g. slope, curvature, precipitation, NDVI, "
              "soil; standardised on the training units.", multiple=True)  # fmt: skip
        field(self.CATEGORICAL_FEATURES, "Categorical features", "Class fields one-hot encoded, e.g. geology.",
              kind=FIELD_ANY, multiple=True, optional=True)  # fmt: skip
        field(self.LABEL_FIELD, "Landslide label", "0/1, or a landslide count (> 0 is a landslide).")
        field(self.SLOPE_FIELD, "Slope field (degrees)", "Mean slope of the unit in degrees, used by the physics.")
        field(self.PGA_FIELD, "PGA field", "Peak ground acceleration of the triggering earthquake per unit.")
        self.add(
            QgsProcessingParameterEnum(self.PGA_UNITS, "PGA unit", PGA_UNIT_LABELS, defaultValue=0),
            "Unit of the PGA field; values implausible for it are refused.",
        )
        self.add(
            QgsProcessingParameterEnum(self.VALIDATION, "Validation", VALIDATION_LABELS, defaultValue=0),
            "Hold-out only, or also k-fold cross-validation: random, or spatial (whole regions held out).",
        )
        field(self.GROUP_FIELD, "Group field (spatial folds)", "Optional field whose values define the spatial "
              "folds instead of k-means clusters of the centroids.", kind=FIELD_ANY, optional=True)  # fmt: skip
        self.add(QgsProcessingParameterNumber(self.FOLDS, "Folds", NUMBER_INTEGER, 10), "Folds of the k-fold schemes.")
        self.add(
            QgsProcessingParameterNumber(self.BOOTSTRAPS, "Bootstrap members", NUMBER_INTEGER, 0),
            "Networks trained on random subsets for the 5th/50th/95th percentile maps (paper: 50); 0: none.",
        )
        self.add(
            QgsProcessingParameterNumber(self.BOOTSTRAP_FRACTION, "Bootstrap fraction", NUMBER_DOUBLE, 0.5),
            "Share of the units each bootstrap member trains on (paper: 0.5).",
            advanced=True,
        )
        self.add(QgsProcessingParameterNumber(self.EPOCHS, "Epochs", NUMBER_INTEGER, 100), "Passes over the data.")
        self.add(QgsProcessingParameterNumber(self.CLASS_WEIGHT, "Class weight of landslides", NUMBER_DOUBLE, 1.0),
                 "Weight of landslide units in the loss; 1 keeps the output a calibrated probability.",
                 advanced=True)  # fmt: skip
        self.add(
            QgsProcessingParameterEnum(self.PHYSICS_MODE, "Physics", PHYSICS_LABELS, defaultValue=0),
            "The physically correct reading of the paper, or the authors' public code's choices.",
            advanced=True,
        )
        self.add(QgsProcessingParameterNumber(self.DEPTH, "Hidden blocks", NUMBER_INTEGER, -1, minValue=-1,
                                              maxValue=64),
                 "Dense-batch-norm-ReLU blocks before the 2-unit output block (paper: 15 + 1 = 16). −1 (default): "
                 "the paper's 15 for tables of at least 10,000 units, 0 below (on a few thousand units with noisy "
                 "labels the deep network overfits); 0: C/t and φ linear in the features before their links.",
                 advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterBoolean(self.LINEAR_PATH, "Linear path to the output", True),
                 "Adds a linear map of the inputs to the output block, beside the hidden blocks (a wide-and-deep "
                 "network): the geotechnical parameters are then a linear trend of the features plus what the "
                 "deep part learns. Off: the paper's plain stack.", advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterNumber(self.DROPOUT, "Dropout", NUMBER_DOUBLE, 0.0, minValue=0.0, maxValue=0.9),
                 "Dropout rate of every block. The paper states 0.3 (its public code uses none); 0.3 trains markedly "
                 "worse in 100 epochs, so the default is 0.", advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterEnum(self.LOSS, "Probability and loss", LOSS_LABELS, defaultValue=0),
                 "'Jibson scatter': the probability that D exceeds 5 cm given the scatter of Jibson's regression "
                 "(σ of log10 D = 0.51), σ(1.702·(log10 D − log10 5)/0.51), reported and trained on (physics.md §1.3 "
                 "and §4). 'tempered': the paper's Eq. 4 probability σ(D − 5), trained on its logit between 1 and "
                 "10 cm and on ln D outside; 'Eq. 4 as printed': Eq. 4 for both.", advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterNumber(self.SELECTION_WARMUP, "Selection warm-up (share of epochs)",
                                              NUMBER_DOUBLE, 0.1, minValue=0.0, maxValue=0.9),
                 "The network is kept at its best validation AUC among the epochs after this share (default: the "
                 "first 10 % are skipped). Early epochs rank units by slope and PGA with barely trained C/t and φ, "
                 "and on a small validation split can win by chance. 0: choose over all epochs, as the paper does.",
                 advanced=True)  # fmt: skip
        self.add(
            QgsProcessingParameterEnum(self.DEVICE, "Device", DEVICE_LABELS, defaultValue=0),
            "Where to train; 'cuda' fails clearly when no GPU is present.",
            advanced=True,
        )
        self.add(
            QgsProcessingParameterNumber(self.SEED, "Random seed", NUMBER_INTEGER, 0),
            "The same seed gives the same result on the CPU.",
        )
        self.add(
            QgsProcessingParameterVectorDestination(self.OUTPUT, "Susceptibility and parameters"),
            "The units with the PINN's outputs (GeoPackage), styled by susceptibility.",
        )
        self.add(
            QgsProcessingParameterFileDestination(self.MODEL, "Model file", "Landslide model (*.lsm)"),
            "The trained model, for 'Predict'.",
        )
        self.add(QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html)", optional=True,
                                                       createByDefault=True),
                 "An HTML report that opens in any browser.")  # fmt: skip
        for key, label in (
            ("AUC", "Test AUC"),
            ("BALANCED_ACCURACY", "Test balanced accuracy"),
            ("F1", "Test F1"),
            ("AUC_CV_MEAN", "Cross-validation AUC, mean"),
            ("AUC_CV_MIN", "Cross-validation AUC, min"),
            ("AUC_CV_MAX", "Cross-validation AUC, max"),
            ("AUC_LOGISTIC", "Logistic baseline AUC"),
            ("AUC_CV_LOGISTIC", "Logistic baseline cross-validation AUC, mean"),
        ):
            self.addOutput(QgsProcessingOutputNumber(key, label))  # fmt: skip

    def checkParameterValues(self, parameters, context):
        folds = self.parameterAsInt(parameters, self.FOLDS, context)
        if self.parameterAsEnum(parameters, self.VALIDATION, context) > 0 and folds < 2:
            return False, self.tr(f"FOLDS must be at least 2 for cross-validation (got {folds})")
        boots = self.parameterAsInt(parameters, self.BOOTSTRAPS, context)
        if boots < 0 or boots == 1:
            return False, self.tr(f"BOOTSTRAPS must be 0 (none) or at least 2 (got {boots})")
        if self.parameterAsInt(parameters, self.EPOCHS, context) < 1:
            return False, self.tr("EPOCHS must be at least 1")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        import numpy as np

        from ..core.model_io import save_model
        from ..core.physics import PHYSICS_MODES
        from ..core.pinn import DEVICES, LOSSES, PINNConfig, PINNData, train_pinn
        from ..core.report import pinn_report
        from ..core.validation import VALIDATION_SCHEMES
        from .rendering import render_png

        frame = read_vector(self, parameters, self.INPUT, context, feedback)
        features = self.parameterAsFields(parameters, self.FEATURES, context)
        pga_field = self.parameterAsString(parameters, self.PGA_FIELD, context)
        if pga_field in features:
            features = [f for f in features if f != pga_field]
            feedback.pushInfo(f"{pga_field} enters through the physics only; it is left out of the network's inputs")
        group = self.parameterAsString(parameters, self.GROUP_FIELD, context) or None
        points = frame.geometry.representative_point()
        frame = frame.assign(_x=points.x.to_numpy(), _y=points.y.to_numpy())
        table = PINNData.from_frame(
            frame,
            numeric=features,
            categorical=self.parameterAsFields(parameters, self.CATEGORICAL_FEATURES, context),
            label=self.parameterAsString(parameters, self.LABEL_FIELD, context),
            slope=self.parameterAsString(parameters, self.SLOPE_FIELD, context),
            pga=pga_field,
            pga_unit=self.parameterAsEnum(parameters, self.PGA_UNITS, context),
            x="_x",
            y="_y",
            group=group,
        )
        depth = self.parameterAsInt(parameters, self.DEPTH, context)
        config = PINNConfig(
            epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
            class_weight=self.parameterAsDouble(parameters, self.CLASS_WEIGHT, context),
            physics_mode=PHYSICS_MODES[self.parameterAsEnum(parameters, self.PHYSICS_MODE, context)],
            device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            seed=self.parameterAsInt(parameters, self.SEED, context),
            depth=None if depth < 0 else depth,
            linear_path=self.parameterAsBool(parameters, self.LINEAR_PATH, context),
            dropout=self.parameterAsDouble(parameters, self.DROPOUT, context),
            loss=LOSSES[self.parameterAsEnum(parameters, self.LOSS, context)],
            selection_warmup=self.parameterAsDouble(parameters, self.SELECTION_WARMUP, context),
            workers=min(2, os.cpu_count() or 1),  # parallel threads over ensemble groups; results do not change
        )
        scheme = VALIDATION_SCHEMES[self.parameterAsEnum(parameters, self.VALIDATION, context)]
        bootstraps = self.parameterAsInt(parameters, self.BOOTSTRAPS, context)
        result = train_pinn(
            table,
            config,
            validation=scheme,
            folds=self.parameterAsInt(parameters, self.FOLDS, context),
            bootstraps=bootstraps,
            bootstrap_fraction=self.parameterAsDouble(parameters, self.BOOTSTRAP_FRACTION, context),
            progress=core_progress(feedback),
        )

        outputs = result.outputs.rename(columns=_RENAME)
        outputs = outputs.rename(columns={
            f"{q}_p{p:02d}": f"{_BOOT_PREFIX[q]}_p{p:02d}" for q in _BOOT_PREFIX for p in (5, 50, 95)
        })  # fmt: skip
        outputs = outputs.drop(columns=[c for c in outputs if c.endswith("_cv_pred")])
        outputs["disp_cm"] = outputs["disp_cm"].where(np.isfinite(outputs["disp_cm"]))
        base = frame.drop(columns=["_x", "_y"])
        clash = [c for c in outputs.columns if c in base.columns]
        if clash:
            feedback.pushWarning(f"input fields {', '.join(clash)} are replaced by the PINN's outputs")
        layer = base.drop(columns=clash).join(outputs.set_index(base.index))
        from ..core.io import write_vector

        output = self.layer_destination(parameters, self.OUTPUT, context)
        write_vector(layer, output)
        extra = PARAMETER_STYLES + (("uncertainty",) if bootstraps else ())
        save_default_style(output, "susceptibility", feedback, extra_styles=extra)
        model_path = self.file_destination(parameters, self.MODEL, context, "lsm")
        save_model(model_path, result.model.to_model_file())

        test = result.metrics["test"]
        cv = result.metrics.get("cv", {}).get(scheme, {})
        cv_logistic = result.metrics["baseline"].get(scheme, {}).get("auc_mean")
        results = {
            self.OUTPUT: output,
            self.MODEL: model_path,
            "AUC": test["auc"],
            "BALANCED_ACCURACY": test["balanced_accuracy"],
            "F1": test["f1"],
            "AUC_CV_MEAN": cv.get("auc_mean"),
            "AUC_CV_MIN": cv.get("auc_min"),
            "AUC_CV_MAX": cv.get("auc_max"),
            "AUC_LOGISTIC": result.metrics["baseline"]["test"]["auc"],
            "AUC_CV_LOGISTIC": cv_logistic,
        }
        feedback.pushInfo(
            f"test AUC {test['auc']:.3f} (logistic regression {results['AUC_LOGISTIC']:.3f}), balanced accuracy "
            f"{test['balanced_accuracy']:.3f}, F1 {test['f1']:.3f}"
            + (f"; {scheme.replace('_', ' ')} AUC {cv['auc_mean']:.3f} ({cv['auc_min']:.3f}–{cv['auc_max']:.3f}; "
               f"logistic regression {cv_logistic:.3f})" if cv else "")
        )  # fmt: skip
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        if report_path:
            maps = {
                "Susceptibility": render_png(output, "susceptibility"),
                "C/t (kPa/m)": render_png(output, "ct"),
                "Friction angle φ": render_png(output, "phi"),
                "Critical acceleration a_c (g)": render_png(output, "ac"),
                "Confusion on all units (hold-out model)": render_png(output, "confusion"),
            }
            if bootstraps:
                maps["Uncertainty: width of the 90% band of susceptibility"] = render_png(output, "uncertainty")
            pinn_report(result, table.training_label(), maps, source=str(output)).write(report_path)
            results[self.REPORT] = report_path
        return results
