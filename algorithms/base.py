"""What every algorithm of the provider shares: identity, help, dependency checks, progress and error mapping."""

from __future__ import annotations

import importlib
import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingLayerPostProcessorInterface
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..core.progress import Cancelled
from .compat import FLAG_ADVANCED

PLUGIN_DIR = os.path.dirname(os.path.dirname(__file__))

# Enum options shared by several algorithms, in the order of the core's tuples (core.units.PGA_UNITS, devices).
PGA_UNIT_LABELS = ["g", "%g", "m/s²"]
DEVICE_LABELS = ["auto (GPU when present)", "cpu", "cuda"]
RESOURCES = os.path.join(PLUGIN_DIR, "resources")

# Import name → how a user installs it. Debian's packages are preferred for the GDAL-linked ones: wheels of
# rasterio/pyproj bundle their own GDAL/PROJ and crash QGIS.
_INSTALL_HINTS = {
    "numpy": "apt install python3-numpy (or pip install numpy)",
    "scipy": "apt install python3-scipy (or pip install scipy)",
    "rasterio": "apt install python3-rasterio (Debian/Ubuntu) or the OSGeo4W/conda package",
    "geopandas": "apt install python3-geopandas (Debian/Ubuntu) or the OSGeo4W/conda package",
    "torch": "pip install torch (CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "sklearn": "pip install scikit-learn",
}


def missing_dependencies(modules) -> list:
    """Names from ``modules`` that cannot be imported."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


class LandslideAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses set the class attributes and implement ``initAlgorithm`` and ``process``."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    GROUP_ID = ""
    HELP = ""
    REQUIRES: tuple = ("numpy",)

    def createInstance(self):
        return type(self)()

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):
        return self.GROUP_ID

    def shortHelpString(self):
        return self.tr(self.HELP)

    def icon(self):
        return QIcon(os.path.join(RESOURCES, "icon.svg"))

    def tr(self, text):
        return QCoreApplication.translate("LandslideAlgorithm", text)

    def add(self, parameter, help_text: str, advanced: bool = False):
        """Add ``parameter`` with its help text (shown in the dialog and by ``qgis_process help``)."""
        parameter.setHelp(self.tr(help_text))
        if advanced:
            parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
        self.addParameter(parameter)
        return parameter

    def canExecute(self):
        missing = missing_dependencies(self.REQUIRES)
        if missing:
            return False, self._missing_message(missing)
        return True, ""

    def _missing_message(self, missing) -> str:
        hints = "; ".join(f"{m}: {_INSTALL_HINTS.get(m, 'pip install ' + m)}" for m in missing)
        return self.tr(f"This algorithm needs the Python package(s) {', '.join(missing)}. Install with: {hints}")

    def processAlgorithm(self, parameters, context, feedback):
        missing = missing_dependencies(self.REQUIRES)
        if missing:
            raise QgsProcessingException(self._missing_message(missing))
        try:
            return self.process(parameters, context, feedback)
        except Cancelled:
            raise QgsProcessingException(self.tr("Cancelled by the user; no output was written.")) from None
        except ValueError as err:
            raise QgsProcessingException(str(err)) from err

    def process(self, parameters, context, feedback) -> dict:
        raise NotImplementedError

    def layer_destination(self, parameters, name, context, extension="gpkg") -> str:
        """Path of a layer destination; a temporary file when the caller (e.g. a model step whose output is not
        kept) gives none."""
        from qgis.core import QgsProcessingUtils

        path = self.parameterAsOutputLayer(parameters, name, context)
        if not path:
            path = QgsProcessingUtils.generateTempFilename(f"{name.lower()}.{extension}")
        return path

    def file_destination(self, parameters, name, context, extension) -> str:
        """Path of a file destination; a temporary file when none is given."""
        from qgis.core import QgsProcessingUtils

        return self.parameterAsFileOutput(parameters, name, context) or QgsProcessingUtils.generateTempFilename(
            f"{name.lower()}.{extension}"
        )


def read_vector(algorithm, parameters, name, context, feedback):
    """The vector parameter ``name`` as a GeoDataFrame (memory and database layers are exported first)."""
    import geopandas as gpd

    path, layer = algorithm.parameterAsCompatibleSourceLayerPathAndLayerName(
        parameters, name, context, ["gpkg", "shp"], "gpkg", feedback
    )
    if not path:
        raise QgsProcessingException(f"{name}: no layer given")
    frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    if frame.empty:
        raise QgsProcessingException(f"{name}: the layer has no features")
    return frame


def require_polygons(algorithm, parameters, name, context) -> None:
    """Raise a clear error when the vector parameter ``name`` is empty or not a polygon layer."""
    from qgis.core import QgsWkbTypes

    source = algorithm.parameterAsSource(parameters, name, context)
    if source is None:
        raise QgsProcessingException(f"{name}: the layer could not be opened")
    if source.featureCount() == 0:
        raise QgsProcessingException(f"{name}: the layer has no features")
    if QgsWkbTypes.geometryType(source.wkbType()) != QgsWkbTypes.PolygonGeometry:
        raise QgsProcessingException(
            f"{name} must be a polygon layer; {source.sourceName()} has {QgsWkbTypes.displayString(source.wkbType())} "
            "geometries"
        )


def crs_for_core(crs):
    """A QgsCoordinateReferenceSystem as the core takes it ('EPSG:xxxx' where there is one, WKT2 otherwise), or
    None for an invalid (unknown) CRS."""
    from qgis.core import QgsCoordinateReferenceSystem

    if not crs.isValid():
        return None
    if crs.authid().upper().startswith("EPSG:"):
        return crs.authid()
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def style_path(style: str) -> str:
    """Path of a shipped ``.qml`` style in resources/styles."""
    return os.path.join(RESOURCES, "styles", f"{style}.qml")


def adapt_symbols(layer) -> None:
    """The shipped styles draw polygons; give a point or line layer symbols of its own type in the same colours."""
    from qgis.core import QgsSymbol, QgsWkbTypes

    kind = layer.geometryType()
    if kind == QgsWkbTypes.PolygonGeometry:
        return

    def like(symbol):
        new = QgsSymbol.defaultSymbol(kind)
        new.setColor(symbol.color())
        return new

    renderer = layer.renderer()
    kind_name = renderer.type()
    if kind_name == "graduatedSymbol":
        renderer.setSourceSymbol(QgsSymbol.defaultSymbol(kind))
        for index, item in enumerate(renderer.ranges()):
            renderer.updateRangeSymbol(index, like(item.symbol()))
    elif kind_name == "categorizedSymbol":
        for index, item in enumerate(renderer.categories()):
            renderer.updateCategorySymbol(index, like(item.symbol()))
    elif kind_name == "singleSymbol":
        renderer.setSymbol(like(renderer.symbol()))


def save_default_style(path: str, style: str, feedback=None, extra_styles=()) -> bool:
    """Store ``resources/styles/<style>.qml`` as the default style inside the GeoPackage at ``path``, so the layer
    opens styled anywhere, also when written headless; ``extra_styles`` are stored beside it, to pick from in the
    layer properties. Symbols follow the layer's geometry type."""
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "styled", "ogr")
    if not layer.isValid():
        if feedback is not None:
            feedback.reportError(f"could not open {path} to store its style")
        return False
    ok_all = True
    for name in (*extra_styles, style):  # the default last, so it is the one a layer opens with
        message, ok = layer.loadNamedStyle(style_path(name))
        if not ok:
            if feedback is not None:
                feedback.reportError(f"style {name}: {message}")
            ok_all = False
            continue
        adapt_symbols(layer)
        error = layer.saveStyleToDatabase(name, "", name == style, "")
        if error:
            if feedback is not None:
                feedback.reportError(f"could not store the style {name} in {path}: {error}")
            ok_all = False
    return ok_all


CATEGORY_COLOURS = (
    "#1f78b4", "#e31a1c", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928",
    "#a6cee3", "#fb9a99", "#b2df8a", "#fdbf6f", "#cab2d6", "#ffff99",
)  # fmt: skip
"""ColorBrewer 'Paired', strong colours first: one per category of a categorised style."""


def save_category_style(path: str, field: str, name: str, feedback=None) -> bool:
    """Store, inside the GeoPackage at ``path``, a style ``name`` (not the default) that colours the units by the
    categories of ``field`` (e.g. primary_control), one colour per value found in the layer."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory, QgsSymbol, QgsVectorLayer
    from qgis.PyQt.QtGui import QColor

    layer = QgsVectorLayer(path, "styled", "ogr")
    index = layer.fields().indexOf(field) if layer.isValid() else -1
    if index < 0:
        if feedback is not None:
            feedback.reportError(f"could not store the {name} style: {path} has no field {field!r}")
        return False
    categories = []
    for i, value in enumerate(sorted(layer.uniqueValues(index), key=str)):
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]))
        categories.append(QgsRendererCategory(value, symbol, str(value)))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    error = layer.saveStyleToDatabase(name, f"units coloured by {field}", False, "")
    if error and feedback is not None:
        feedback.reportError(f"could not store the style {name} in {path}: {error}")
    return not error


class _LoadStyle(QgsProcessingLayerPostProcessorInterface):
    """Loads a .qml style into a layer that Processing opens on completion (Processing skips default styles)."""

    def __init__(self, qml: str):
        super().__init__()
        self.qml = qml

    def postProcessLayer(self, layer, context, feedback):
        message, ok = layer.loadNamedStyle(self.qml)
        if not ok:
            feedback.reportError(f"style {self.qml}: {message}")
        layer.triggerRepaint()


_STYLE_LOADERS: dict = {}  # QGIS keeps only a pointer to a post-processor: these stay alive here


def style_raster(path: str, style: str, context) -> str:
    """Write ``resources/styles/<style>.qml`` beside the raster at ``path`` as its sidecar (same base name, .qml),
    so that it opens styled anywhere, and apply it when Processing loads the raster on completion. Returns the
    sidecar's path."""
    import shutil

    from ..core.io import atomic_path

    sidecar = os.path.splitext(path)[0] + ".qml"
    with atomic_path(sidecar) as tmp:
        shutil.copyfile(style_path(style), tmp)
    if context.willLoadLayerOnCompletion(path):
        loader = _STYLE_LOADERS.setdefault(sidecar, _LoadStyle(sidecar))
        context.layerToLoadOnCompletionDetails(path).setPostProcessor(loader)
    return sidecar


def core_progress(feedback):
    """A core ``Progress`` callback that drives ``feedback`` and raises ``Cancelled`` when the user cancels."""
    last = {"message": None}

    def _progress(fraction: float, message: str = "") -> None:
        if feedback.isCanceled():
            raise Cancelled()
        feedback.setProgress(100.0 * fraction)
        if message and message != last["message"]:
            feedback.pushInfo(message)
            last["message"] = message

    return _progress
