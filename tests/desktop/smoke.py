"""Run inside QGIS desktop (qgis --code): open every landslide algorithm's dialog, load a styled layer, take a
screenshot, write a JSON summary and quit. Paths come from the LANDSLIDE_SMOKE_* environment variables."""

import json
import os
import sys
import traceback

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

OUT = os.environ["LANDSLIDE_SMOKE_OUT"]
LAYER = os.environ["LANDSLIDE_SMOKE_LAYER"]
summary = {"dialogs": {}, "errors": [], "layer": None}
_hook = sys.excepthook


def _record(kind, value, tb):
    summary["errors"].append("".join(traceback.format_exception(kind, value, tb)))
    _hook(kind, value, tb)


sys.excepthook = _record


def run():
    try:
        import processing

        registry = QgsApplication.processingRegistry()
        provider = registry.providerById("landslide")
        summary["provider"] = provider is not None
        for alg in (provider.algorithms() if provider else []):
            try:
                dialog = processing.createAlgorithmDialog(alg.id())
                dialog.show()
                QgsApplication.processEvents()
                dialog.grab().save(os.path.join(OUT, f"dialog_{alg.name()}.png"))
                dialog.close()
                summary["dialogs"][alg.id()] = "ok"
            except Exception:
                summary["dialogs"][alg.id()] = traceback.format_exc()
        layer = QgsVectorLayer(LAYER, "Susceptibility", "ogr")
        QgsProject.instance().addMapLayer(layer)
        summary["layer"] = {"valid": layer.isValid(), "renderer": layer.renderer().type() if layer.isValid() else None}
        iface.mapCanvas().setExtent(layer.extent())
        iface.mapCanvas().refreshAllLayers()
        QTimer.singleShot(3000, finish)
    except Exception:
        summary["errors"].append(traceback.format_exc())
        finish()


def finish():
    try:
        iface.mainWindow().grab().save(os.path.join(OUT, "qgis_desktop.png"))
    finally:
        with open(os.path.join(OUT, "summary.json"), "w") as fh:
            json.dump(summary, fh, indent=2)
        QgsApplication.exit(0)


QTimer.singleShot(1500, run)
