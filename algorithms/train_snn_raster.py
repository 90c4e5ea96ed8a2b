"""landslide:trainsnnraster — the superposable neural network of Youssef et al. (2023) on pixels (the paper's mode)."""

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import LandslideAlgorithm, core_progress, read_vector, require_polygons, style_raster
from .compat import NUMBER_DOUBLE, NUMBER_INTEGER, TYPE_RASTER, TYPE_VECTOR_POLYGON
from .snn_common import (
    add_comparison_outputs,
    add_level,
    add_schedule,
    add_seed_and_device,
    comparison_results,
    snn_config,
)

JACOBIAN_DTYPES = ("float64", "float32")


class TrainSNNRaster(LandslideAlgorithm):
    NAME = "trainsnnraster"
    DISPLAY_NAME = "Train SNN on rasters (pixels)"
    GROUP = "Models"
    GROUP_ID = "models"
    REQUIRES = ("numpy", "scipy", "rasterio", "geopandas", "torch", "sklearn")
    HELP = (
        "Trains the superposable neural network of Youssef et al. (2023) on pixels, as in the paper: every pixel "
        "is a sample, its features the values of the rasters there, its label 1 when its centre lies inside a "
        "landslide polygon. The model is the one of 'Train SNN': S_t = Σ S_j(χ_j) over single features and their "
        "products (LEVEL), each S_j a small Gaussian-RBF network in the feature's raw units.\n\n"
        "RASTERS: one feature per raster, named by its layer name (a multi-band raster gives one feature per "
        "band, named by the band description or <layer>_b<k>); 'Predict' finds the features of a new raster stack "
        "by these names. The grid is that of the first raster: the others may differ in CRS, cell size and "
        "extent and are resampled onto it bilinearly (bring class rasters onto the grid yourself, by nearest "
        "neighbour); the mask is taken from the nearest cell. Pixels without a value in every raster, or where "
        "the MASK is 0 or nodata, are left out. LANDSLIDES may be in any CRS.\n\n"
        "Split: the paper's Pythagorean tiling of the pixels — training squares of 16/13 and test squares of "
        "10/13 of the lattice pitch TILE_SIZE (map units, rounded to whole cells; 0: the authors' 13 cells, or an "
        "eighth of the raster if smaller); 35 % of all pixels are drawn and those in test squares become the "
        "validation pixels (early stopping and model choice). The test AUCs are on the other test pixels. "
        "MAX_SAMPLES caps the pixels used (all landslide pixels and a uniform random sample of the others).\n\n"
        "OUTPUT: S_t on the whole grid (float32 GeoTIFF, nodata outside the valid pixels, with a .qml sidecar "
        "style). MODEL: the model file for 'Predict' on a raster stack, with the feature names and the grid's CRS. "
        "The numeric outputs compare, on the same test pixels, the SNN with its teacher, logistic regression and "
        "the likelihood-ratio model; REPORT adds the Level-1 SNN, the best single feature, the S_j curves with "
        "likelihood ratios, ΔS̄_j bars and ld/nld pies."
    )

    RASTERS = "RASTERS"
    LANDSLIDES = "LANDSLIDES"
    MASK = "MASK"
    LEVEL = "LEVEL"
    TILE_SIZE = "TILE_SIZE"
    TOURNAMENT_MODELS = "TOURNAMENT_MODELS"
    FKD_ITERATIONS = "FKD_ITERATIONS"
    MAX_SAMPLES = "MAX_SAMPLES"
    SEED = "SEED"
    DEVICE = "DEVICE"
    THREADS = "THREADS"
    JACOBIAN = "JACOBIAN"
    OUTPUT = "OUTPUT"
    MODEL = "MODEL"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterMultipleLayers(self.RASTERS, "Feature rasters", TYPE_RASTER),
                 "The features, one per raster (or band), named by the layer name; the first raster sets the "
                 "grid.")  # fmt: skip
        self.add(QgsProcessingParameterFeatureSource(self.LANDSLIDES, "Landslides", [TYPE_VECTOR_POLYGON]),
                 "Landslide polygons, any CRS: a pixel whose centre lies inside one is a landslide pixel.")  # fmt: skip
        self.add(QgsProcessingParameterRasterLayer(self.MASK, "Study-area mask", optional=True),
                 "Pixels where the mask is 0 or nodata are left out (rivers, flats, snow).")  # fmt: skip
        add_level(self)
        self.add(QgsProcessingParameterNumber(self.TILE_SIZE, "Tile size (map units)", NUMBER_DOUBLE, 0.0, minValue=0),
                 "Lattice pitch of the Pythagorean tiling; 0: the authors' 13 cells (an eighth of the raster if "
                 "smaller).")  # fmt: skip
        add_schedule(self)
        self.add(QgsProcessingParameterNumber(self.MAX_SAMPLES, "Most pixels used", NUMBER_INTEGER, 1_000_000,
                                              minValue=0),
                 "Cap on the pixels the model is trained, validated and tested on: above it, every landslide pixel "
                 "and a uniform random sample of the other pixels (0: every valid pixel). S_t is written for "
                 "every pixel.", advanced=True)  # fmt: skip
        add_seed_and_device(self)
        self.add(QgsProcessingParameterEnum(self.JACOBIAN, "Jacobian precision", list(JACOBIAN_DTYPES),
                                            defaultValue=0),
                 "Precision of the Levenberg–Marquardt Jacobians and JᵀJ; the solve is float64 either way. float32 "
                 "halves their cost on large rasters (1,000,000 pixels × 15 features, Level 2, the authors' "
                 "schedule: 12 minutes on 2 CPU cores).",
                 advanced=True)  # fmt: skip
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, "SNN susceptibility S_t"),
                 "S_t on the grid of the first raster (float32 GeoTIFF, styled by a .qml sidecar).")  # fmt: skip
        self.add(QgsProcessingParameterFileDestination(self.MODEL, "Model file", "Landslide model (*.lsm)"),
                 "a, b, w, c and names of Eq. (1) in raw units, the feature names and the grid's CRS, for "
                 "'Predict' on a raster stack.")  # fmt: skip
        self.add(QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html)", optional=True,
                                                       createByDefault=True),
                 "An HTML report that opens in any browser.")  # fmt: skip
        add_comparison_outputs(self, (
            ("N_PIXELS", "Valid pixels"),
            ("N_LANDSLIDE_PIXELS", "Valid pixels inside a landslide"),
            ("N_SAMPLES", "Pixels the model was trained and tested on"),
        ))  # fmt: skip

    def process(self, parameters, context, feedback):
        from ..core.model_io import save_model
        from ..core.progress import scaled
        from ..core.report import snn_report
        from ..core.snn_raster import (
            check_output_path,
            pixel_model_file,
            raster_bands,
            train_snn_raster,
            write_susceptibility,
        )
        from .rendering import render_png

        layers = self.parameterAsLayerList(parameters, self.RASTERS, context)
        bands = raster_bands([(layer.source(), layer.name()) for layer in layers])
        require_polygons(self, parameters, self.LANDSLIDES, context)
        landslides = read_vector(self, parameters, self.LANDSLIDES, context, feedback)
        mask_layer = self.parameterAsRasterLayer(parameters, self.MASK, context)
        mask = mask_layer.source() if mask_layer is not None else None
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        jacobian = JACOBIAN_DTYPES[self.parameterAsEnum(parameters, self.JACOBIAN, context)]
        config = snn_config(self, parameters, context, feedback, jacobian_dtype=jacobian)
        output = self.layer_destination(parameters, self.OUTPUT, context, "tif")
        check_output_path(output, [*(b.path for b in bands), mask])
        progress = core_progress(feedback)
        trained = train_snn_raster(
            bands,
            landslides,
            mask=mask,
            tile_size=self.parameterAsDouble(parameters, self.TILE_SIZE, context),
            max_samples=self.parameterAsInt(parameters, self.MAX_SAMPLES, context),
            config=config,
            compare_level1=bool(report_path),  # the Level-1 SNN appears in the report's comparison table
            progress=scaled(progress, 0.0, 0.9),
        )
        for warning in trained.warnings:
            feedback.pushWarning(warning)
        run, model = trained.run, trained.run.result.model
        feedback.pushInfo(
            f"{trained.n_valid} valid pixels, {trained.n_landslide} inside a landslide; {len(run.label)} used, "
            f"tiling lattice of {trained.pitch} cells"
        )
        write_susceptibility(model, trained.bands, trained.grid, output, mask, scaled(progress, 0.9, 1.0))
        style_raster(output, "raster_susceptibility", context)
        model_path = self.file_destination(parameters, self.MODEL, context, "lsm")
        save_model(model_path, pixel_model_file(model, trained.grid))
        results = {
            self.OUTPUT: output,
            self.MODEL: model_path,
            **comparison_results(run, feedback),
            "N_PIXELS": trained.n_valid,
            "N_LANDSLIDE_PIXELS": trained.n_landslide,
            "N_SAMPLES": len(run.label),
        }
        if report_path:
            maps = {"S_t": render_png(output, "raster_susceptibility")}
            rep = snn_report(run, trained.frame, maps, source=str(output), items="pixels")
            rep.paragraph(
                f"Pixels: {trained.n_valid} with a value in every raster"
                + (" and kept by the mask" if mask is not None else "")
                + f", {trained.n_landslide} of them inside a landslide; {len(run.label)} used (training "
                f"{run.split.train.size}, validation {run.split.val.size}, test {run.split.test.size}); Pythagorean "
                f"tiling with a lattice of {trained.pitch} cells ({trained.pitch * trained.grid.cell_size:g} map "
                "units)."
            )
            rep.write(report_path)
            results[self.REPORT] = report_path
        return results
