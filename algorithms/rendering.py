"""Maps for reports, drawn headless by QGIS's own renderer with the layer's stored style."""

from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QBuffer, QByteArray, QIODevice, QSize
from qgis.PyQt.QtGui import QColor

from .base import adapt_symbols, style_path


def render_png(path: str, style: str, width: int = 640) -> bytes:
    """PNG bytes of the vector layer (or GeoTIFF) at ``path`` drawn with ``resources/styles/<style>.qml`` and a
    legend-free frame; empty bytes when the layer cannot be drawn."""
    raster = str(path).lower().endswith((".tif", ".tiff"))
    layer = QgsRasterLayer(str(path), style) if raster else QgsVectorLayer(path, style, "ogr")
    if not layer.isValid():
        return b""
    _, ok = layer.loadNamedStyle(style_path(style))
    if not ok:
        return b""
    if not raster:
        adapt_symbols(layer)
    extent = layer.extent()
    extent.scale(1.04)
    height = max(int(width * extent.height() / max(extent.width(), 1e-9)), 1)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(width, min(height, 2 * width)))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    job.renderedImage().save(buffer, "PNG")
    return bytes(data)
