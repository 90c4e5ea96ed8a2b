"""Pure-Python library behind the landslide plugin: physics, models, aggregation, terrain and I/O.

Nothing here imports ``qgis``: every module can be used from a notebook or a script.
"""
