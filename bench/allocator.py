"""Run a benchmark with glibc's allocator set as ``scripts/qgis-process`` sets it for the plugin's headless runs:
freed memory stays in the process instead of going back to the system after every large tensor."""

from __future__ import annotations

import os
import sys

SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


def as_qgis_process() -> None:
    """Re-execute this Python process with :data:`SETTINGS` unless they are already in its environment (glibc
    reads them at start-up only)."""
    if all(k in os.environ for k in SETTINGS):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**SETTINGS, **os.environ})
