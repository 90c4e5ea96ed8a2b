#!/usr/bin/env bash
# Installs what the plugin, its tests and its demo need, and only what is missing:
#   1. Debian packages: QGIS 3.22 (qgis_process), its Python bindings and Debian's geo Python stack;
#   2. a virtual environment (.venv) on top of the system Python, holding torch and scikit-learn.
# A second run checks and returns in about a second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers python3-geopandas python3-rasterio python3-scipy python3-matplotlib
              python3-venv python3-pip xvfb xauth)
SYSTEM_PYTHON=/usr/bin/python3
VENV=.venv

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
        SUDO=sudo
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup: Debian packages present"
fi

# The stamp records the requirement files it was built from, so editing them triggers a reinstall.
stamp="$VENV/.requirements.sha256"
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "setup: $VENV up to date"
else
    echo "setup: building $VENV (torch CPU, scikit-learn, pytest, ruff)"
    [[ -x "$VENV/bin/python" ]] || "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" > "$stamp"
fi
"$VENV/bin/python" - <<'PY'
import importlib
for name in ("qgis.core", "geopandas", "rasterio", "torch", "sklearn"):
    importlib.import_module(name)
PY
echo "setup: ready"
