"""The plugin object QGIS creates: it registers the Processing provider."""

from qgis.core import QgsApplication


class LandslidePlugin:
    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None

    def initProcessing(self):
        """Register the provider; called by qgis_process (headless) and by initGui (desktop)."""
        from .algorithms.provider import LandslideProvider

        if self.provider is None:
            self.provider = LandslideProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
