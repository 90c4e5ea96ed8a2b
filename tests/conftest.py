"""Shared fixtures: the plugin importable as ``landslide_susceptibility``, the shared data, and qgis_process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "landslide_susceptibility"
SHARED_DATA = ROOT.parent / "shared" / "data"
QGIS_PROCESS = ROOT / "scripts" / "qgis-process"

# The repository root is the plugin folder; expose it under the plugin's package name.
_pkg_parent = ROOT / "build" / "pkg"
_pkg_parent.mkdir(parents=True, exist_ok=True)
_link = _pkg_parent / PACKAGE
if not _link.is_symlink() or _link.resolve() != ROOT:
    if _link.is_symlink():
        _link.unlink()
    _link.symlink_to(ROOT, target_is_directory=True)
sys.path.insert(0, str(_pkg_parent))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data in ../shared/data; skipped outside CI when absent, a failure in CI."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing in CI")
        pytest.skip(f"{SHARED_DATA} is not present")
    return SHARED_DATA


class QgisRun:
    """The outcome of one ``qgis_process --json run``."""

    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.json = None
        start = proc.stdout.find("{")
        if start >= 0:
            try:
                self.json = json.loads(proc.stdout[start:])
            except json.JSONDecodeError:
                self.json = None

    @property
    def results(self) -> dict:
        assert self.json is not None, f"no JSON output:\n{self.stdout}\n{self.stderr}"
        return self.json["results"]

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def run_algorithm(algorithm: str, params: dict, timeout: float = 600) -> QgisRun:
    """Run ``algorithm`` through the real qgis_process with ``--json``; list values repeat the key."""
    args = [str(QGIS_PROCESS), "--json", "run", algorithm, "--"]
    for key, value in params.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            args.append(f"{key}={v}")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return QgisRun(proc)


@pytest.fixture(scope="session")
def loma(shared_data) -> Path:
    """The Loma Prieta 1989 data of Godt et al. (2008)."""
    return shared_data / "loma_prieta_1989"


@pytest.fixture
def one_torch_thread():
    """Many tiny batched solves run faster on one torch thread when the CPU is shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def qgis_run():
    """``qgis_run(algorithm, params)`` runs an algorithm through scripts/qgis-process --json."""
    if not Path("/usr/bin/qgis_process.bin").exists():
        pytest.fail("qgis_process.bin is missing: run 'make setup'")
    return run_algorithm


@pytest.fixture(scope="session")
def qgis_app():
    """A headless QgsApplication in this process, for opening outputs as QGIS would."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication.instance()
    if app is None:
        app = QgsApplication([], False)
        app.initQgis()
    return app
