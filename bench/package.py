"""Make the plugin folder importable under its package name, as tests/conftest.py does, so that a benchmark can
``import landslide_susceptibility.core``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "landslide_susceptibility"


def expose_package() -> None:
    """Link ``build/pkg/landslide_susceptibility`` to the plugin folder and put ``build/pkg`` on ``sys.path``."""
    parent = ROOT / "build" / "pkg"
    link = parent / PACKAGE
    parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    if str(parent) not in sys.path:
        sys.path.insert(0, str(parent))
