"""QGIS plugin entry point. Imports nothing heavy: numpy, torch and friends load when an algorithm runs."""


def classFactory(iface):
    from .plugin import LandslidePlugin

    return LandslidePlugin(iface)
