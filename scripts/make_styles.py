"""Regenerates the .qml styles in resources/styles with QGIS's own API (run: .venv/bin/python scripts/make_styles.py).

Writing them through QGIS guarantees a format that QGIS 3.22 and later read.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsGraduatedSymbolRenderer,
    QgsMapLayer,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

STYLES = Path(__file__).resolve().parents[1] / "resources" / "styles"
OUTLINE = {"outline_color": "#5a5a5a", "outline_width": "0.1"}

# Green–yellow–red (ColorBrewer RdYlGn, reversed), for probabilities.
GYR = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027"]
# Viridis-like, for physical quantities.
VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"]


def fill(color: str):
    return QgsFillSymbol.createSimple({"color": color, **OUTLINE})


def graduated(expression: str, breaks: list, colors: list, labels: list):
    ranges = [
        QgsRendererRange(lo, hi, fill(color), label)
        for lo, hi, color, label in zip(breaks[:-1], breaks[1:], colors, labels)
    ]
    return QgsGraduatedSymbolRenderer(expression, ranges)


def vector_styles() -> dict:
    prob = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    prob_labels = ["very low (< 0.2)", "low (0.2–0.4)", "moderate (0.4–0.6)", "high (0.6–0.8)", "very high (≥ 0.8)"]
    ct = [0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 1e9]
    ac = [-1e9, 0.0, 0.05, 0.1, 0.2, 0.4, 1e9]
    disp = [0.0, 0.1, 1.0, 5.0, 20.0, 100.0, 1e12]
    width = [0.0, 0.05, 0.1, 0.2, 0.4, 1.0]
    confusion = QgsCategorizedSymbolRenderer(
        "confusion",
        [
            QgsRendererCategory("TP", fill("#d7191c"), "true positive (landslide, predicted)"),
            QgsRendererCategory("FN", fill("#fdae61"), "false negative (landslide, missed)"),
            QgsRendererCategory("FP", fill("#2c7bb6"), "false positive (no landslide, predicted)"),
            QgsRendererCategory("TN", fill("#e6e6e6"), "true negative"),
        ],
    )
    return {
        "susceptibility": graduated("susceptibility", prob, GYR, prob_labels),
        "snn_susceptibility": graduated("snn_st", prob, GYR, prob_labels),
        "ct": graduated("ct_kpa_m", ct, VIRIDIS, ["< 0.3 kPa/m", "0.3–1", "1–3", "3–10", "10–30", "≥ 30 kPa/m"]),
        "phi": graduated(
            "phi_deg", [0, 20, 25, 30, 35, 40, 90], VIRIDIS, ["< 20°", "20–25°", "25–30°", "30–35°", "35–40°", "≥ 40°"]
        ),
        "ac": graduated(
            "ac_g",
            ac,
            list(reversed(["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"])),
            ["≤ 0 g (statically unstable)", "0–0.05 g", "0.05–0.1 g", "0.1–0.2 g", "0.2–0.4 g", "≥ 0.4 g"],
        ),
        "displacement": graduated(
            'coalesce("disp_cm", 1e11)',
            disp,
            ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000"],
            ["< 0.1 cm", "0.1–1 cm", "1–5 cm", "5–20 cm", "20–100 cm", "≥ 100 cm or static failure"],
        ),
        "uncertainty": graduated(
            '"susc_p95" - "susc_p05"',
            width,
            ["#f7f7f7", "#cccccc", "#969696", "#636363", "#252525"],
            ["< 0.05", "0.05–0.1", "0.1–0.2", "0.2–0.4", "≥ 0.4 (90% band width)"],
        ),
        "confusion": confusion,
        "slope_units": QgsSingleSymbolRenderer(
            QgsFillSymbol.createSimple({"style": "no", "outline_color": "#404040", "outline_width": "0.15"})
        ),
        "landslides": QgsSingleSymbolRenderer(
            QgsFillSymbol.createSimple({"color": "#b2182b", "outline_color": "#67001f", "outline_width": "0.2"})
        ),
    }


def raster_susceptibility(path: Path) -> None:
    layer = QgsRasterLayer(str(path), "s")
    ramp = QgsColorRampShader(0.0, 1.0)
    ramp.setColorRampType(QgsColorRampShader.Interpolated)
    stops = [0.0, 0.25, 0.5, 0.75, 1.0]
    ramp.setColorRampItemList([QgsColorRampShader.ColorRampItem(v, QColor(c), f"{v:g}") for v, c in zip(stops, GYR)])
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(1.0)
    layer.setRenderer(renderer)
    layer.saveNamedStyle(str(STYLES / "raster_susceptibility.qml"), categories=QgsMapLayer.Symbology)


def main() -> int:
    app = QgsApplication([], False)
    app.initQgis()
    STYLES.mkdir(parents=True, exist_ok=True)
    fields = "&".join(
        f"field={f}:double"
        for f in ("susceptibility", "snn_st", "ct_kpa_m", "phi_deg", "ac_g", "disp_cm", "susc_p05", "susc_p95")
    )
    for name, renderer in vector_styles().items():
        layer = QgsVectorLayer(f"Polygon?crs=EPSG:4326&{fields}&field=confusion:string", name, "memory")
        layer.setRenderer(renderer)
        message, ok = layer.saveNamedStyle(str(STYLES / f"{name}.qml"), categories=QgsMapLayer.Symbology)
        if not ok:
            print(f"{name}: {message}", file=sys.stderr)
            return 1
        # Without the geometry type QGIS applies the style to point and line layers too; the plugin then swaps
        # the fill symbols for symbols of the layer's type (algorithms/base.py).
        path = STYLES / f"{name}.qml"
        path.write_text(re.sub(r"\s*<layerGeometryType>\d+</layerGeometryType>", "", path.read_text()))
    import tempfile

    import numpy as np
    import rasterio
    from affine import Affine

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=2,
            height=2,
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=Affine(1, 0, 0, 0, -1, 2),
        ) as dst:
            dst.write(np.zeros((1, 2, 2), np.float32))
        raster_susceptibility(path)
    print(f"styles written to {STYLES}")
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
