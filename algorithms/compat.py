"""Enum names that moved between QGIS 3.22 and the current LTR, resolved once.

QGIS 3.36+ scoped the Processing enums under ``Qgis`` (``Qgis.ProcessingSourceType.VectorPolygon``) and deprecated
the old class attributes (``QgsProcessing.TypeVectorPolygon``). QGIS 3.22 has only the old names.
"""

from qgis.core import (
    Qgis,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)


def _pick(scoped: str, member: str, legacy_owner, legacy_name: str):
    owner = getattr(Qgis, scoped, None)
    if owner is not None and hasattr(owner, member):
        return getattr(owner, member)
    return getattr(legacy_owner, legacy_name)


TYPE_VECTOR_POLYGON = _pick("ProcessingSourceType", "VectorPolygon", QgsProcessing, "TypeVectorPolygon")
TYPE_VECTOR_POINT = _pick("ProcessingSourceType", "VectorPoint", QgsProcessing, "TypeVectorPoint")
TYPE_VECTOR_ANY = _pick("ProcessingSourceType", "VectorAnyGeometry", QgsProcessing, "TypeVectorAnyGeometry")
TYPE_RASTER = _pick("ProcessingSourceType", "Raster", QgsProcessing, "TypeRaster")

NUMBER_INTEGER = _pick("ProcessingNumberParameterType", "Integer", QgsProcessingParameterNumber, "Integer")
NUMBER_DOUBLE = _pick("ProcessingNumberParameterType", "Double", QgsProcessingParameterNumber, "Double")

FIELD_NUMERIC = _pick("ProcessingFieldParameterDataType", "Numeric", QgsProcessingParameterField, "Numeric")
FIELD_ANY = _pick("ProcessingFieldParameterDataType", "Any", QgsProcessingParameterField, "Any")

FLAG_ADVANCED = _pick("ProcessingParameterFlag", "Advanced", QgsProcessingParameterDefinition, "FlagAdvanced")
FLAG_OPTIONAL = _pick("ProcessingParameterFlag", "Optional", QgsProcessingParameterDefinition, "FlagOptional")
FLAG_NO_THREADING = _pick("ProcessingAlgorithmFlag", "NoThreading", QgsProcessingAlgorithm, "FlagNoThreading")
