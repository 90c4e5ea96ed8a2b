"""Benchmark of slope-unit aggregation: this plugin's core against QGIS and exactextract on the same inputs.

Builds, in a temporary folder, ``--rasters`` float32 GeoTIFFs of ``--size``² cells (and the same at half the
size, for the scaling check) over a 50 km square, and ``--units`` irregular slope-unit-like polygons (a Voronoi
tessellation, densified and warped so that boundaries wiggle). Then it times, on those files:

* ``aggregate_slope_units`` in this process, mean + std of every raster, centre rule (also at half size) and
  exact rule;
* ``native:zonalstatisticsfb`` (mean + std) once per raster through ``qgis_process.bin`` (headless, with a
  throwaway profile);
* ``exactextract`` (mean + stdev of all rasters in one call) run with the Python of a separate virtual
  environment (``--exactextract-python``; e.g. ``python3 -m venv /tmp/exx && /tmp/exx/bin/pip install
  exactextract numpy rasterio fiona``); it is a peer, not a dependency.

It checks that the means agree (centre rule against QGIS to 1e-6; exact rule against exactextract, which weights
pixels by coverage too) and prints a table, then the ratios.

    .venv/bin/python bench/aggregate.py --size 5000 --units 10000 --rasters 12
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from package import expose_package

EXTENT_M = 50_000.0
ORIGIN = (500_000.0, 4_300_000.0)
CRS = "EPSG:32633"
QGIS_BIN = "/usr/bin/qgis_process.bin"

EXACTEXTRACT_SCRIPT = """
import json, sys, time
import numpy as np
from exactextract import exact_extract
rasters, units, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
feats = exact_extract(rasters, units, ["mean", "stdev"], include_cols=["uid"], output="geojson")
seconds = time.perf_counter() - t0
props = [f["properties"] for f in feats]
uid = np.array([p["uid"] for p in props])
order = np.argsort(uid)
names = [k for k in props[0] if k != "uid"]
np.savez(out, **{k: np.array([np.nan if p[k] is None else p[k] for p in props], dtype=float)[order] for k in names})
print(json.dumps({"seconds": seconds}))
"""


def _import_core():
    """The plugin's aggregation module."""
    expose_package()
    from landslide_susceptibility.core import aggregate

    return aggregate


def make_units(n: int, seed: int):
    """``n`` slope-unit-like polygons: Voronoi cells densified every ~20 m and warped by a smooth shear map."""
    import geopandas as gpd
    from shapely.geometry import MultiPoint, Polygon, box
    from shapely.ops import voronoi_diagram

    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    env = box(x0, y0, x0 + EXTENT_M, y0 + EXTENT_M)
    pts = MultiPoint([tuple(p) for p in rng.uniform(0, EXTENT_M, (n, 2)) + np.array(ORIGIN)])
    cells = [c.intersection(env) for c in voronoi_diagram(pts, envelope=env).geoms]
    spacing = EXTENT_M / math.sqrt(n)
    # x' = x + f(y), y' = y + g(x) with |f'|, |g'| < 1: one-to-one, so the tessellation stays a tessellation
    a1, l1, a2, l2 = 0.1 * spacing, 1.3 * spacing, 0.025 * spacing, 0.5 * spacing
    phase = rng.uniform(0, 2 * np.pi, 4)

    def warp(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        dx = a1 * np.sin(2 * np.pi * y / l1 + phase[0]) + a2 * np.sin(2 * np.pi * y / l2 + phase[1])
        dy = a1 * np.sin(2 * np.pi * x / l1 + phase[2]) + a2 * np.sin(2 * np.pi * x / l2 + phase[3])
        return np.column_stack((x + dx, y + dy))

    step = 20.0
    geoms = []
    for cell in cells:
        ring = np.asarray(cell.exterior.coords)
        seg = np.diff(ring, axis=0)
        k = np.maximum(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step), 1).astype(int)
        t = np.concatenate([np.arange(m) / m for m in k])
        start = np.repeat(ring[:-1], k, axis=0)
        dense = start + np.repeat(seg, k, axis=0) * t[:, None]
        geoms.append(Polygon(warp(np.vstack((dense, dense[:1])))))
    return gpd.GeoDataFrame({"uid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)


def write_rasters(folder: Path, count: int, size: int, seed: int, compress: str) -> list[Path]:
    """``count`` float32 rasters over the 50 km square: smooth fields plus noise, each with a nodata block."""
    import rasterio
    from affine import Affine

    folder.mkdir(parents=True, exist_ok=True)
    cell = EXTENT_M / size
    transform = Affine(cell, 0, ORIGIN[0], 0, -cell, ORIGIN[1] + EXTENT_M)
    rng = np.random.default_rng(seed)
    axis = np.arange(size) * cell
    paths = []
    for k in range(count):
        offset, amp = [(3000.0, 400.0), (25.0, 15.0), (0.0, 0.02), (1500.0, 300.0)][k % 4]
        fx = np.sin(axis / rng.uniform(800, 4000) + rng.uniform(0, 6)).astype(np.float32)
        fy = np.cos(axis / rng.uniform(800, 4000) + rng.uniform(0, 6)).astype(np.float32)
        data = offset + amp * (fx[None, :] + fy[:, None]) + rng.standard_normal((size, size), np.float32) * (amp / 20)
        data = data.astype(np.float32)
        r0, c0 = rng.integers(0, size - size // 10, 2)
        data[r0 : r0 + size // 10, c0 : c0 + size // 10] = -9999.0
        path = folder / f"var{k:02d}.tif"
        profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs=CRS,
                       transform=transform, nodata=-9999.0, tiled=True, blockxsize=256, blockysize=256)  # fmt: skip
        if compress != "none":
            profile["compress"] = compress
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
        paths.append(path)
    return paths


def run_ours(aggregate, units, rasters: list[Path], rule: str) -> tuple[float, object]:
    sources = [aggregate.RasterSource(p, p.stem) for p in rasters]
    t0 = time.perf_counter()
    res = aggregate.aggregate_slope_units(units, sources, statistics=("mean", "std"), pixel_rule=rule)
    return time.perf_counter() - t0, res.frame


def run_native(units_path: Path, rasters: list[Path], work: Path) -> tuple[float, dict]:
    """One headless qgis_process run per raster, with a throwaway profile; returns wall seconds and outputs."""
    import geopandas as gpd

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(work / "qgis-profile"),
               XDG_RUNTIME_DIR=str(work / "runtime"))  # fmt: skip
    (work / "runtime").mkdir(mode=0o700, exist_ok=True)
    outputs = {}
    total = 0.0
    for path in rasters:
        out = work / f"native_{path.stem}.gpkg"
        args = [QGIS_BIN, "--json", "run", "native:zonalstatisticsfb", "--", f"INPUT={units_path}",
                f"INPUT_RASTER={path}", "RASTER_BAND=1", "COLUMN_PREFIX=q_", "STATISTICS=2,4",
                f"OUTPUT={out}"]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        total += time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"qgis_process failed on {path.name}:\n{proc.stdout}\n{proc.stderr}")
        frame = gpd.read_file(out).sort_values("uid")
        outputs[path.stem] = (frame["q_mean"].to_numpy(float), frame["q_stdev"].to_numpy(float))
    return total, outputs


def ensure_exactextract(python: str) -> str:
    """Create the throwaway venv with exactextract (a peer to compare with, not a dependency) when missing."""
    path = Path(python)
    if not path.exists():
        venv = path.parent.parent
        print(f"creating a throwaway venv with exactextract in {venv}", flush=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "exactextract", "numpy", "rasterio", "fiona"],
                       check=True)  # fmt: skip
    return str(path)


def run_exactextract(python: str, units_path: Path, rasters: list[Path], work: Path) -> tuple[float, float, dict]:
    python = ensure_exactextract(python)
    script = work / "exx.py"
    script.write_text(EXACTEXTRACT_SCRIPT)
    out = work / "exx.npz"
    t0 = time.perf_counter()
    proc = subprocess.run([python, str(script), json.dumps([str(p) for p in rasters]), str(units_path), str(out)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"exactextract failed:\n{proc.stdout}\n{proc.stderr}")
    inner = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    data = np.load(out)
    return wall, inner, {k: data[k] for k in data.files}


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return math.inf
    return float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=5000, help="raster side in cells (default 5000)")
    parser.add_argument("--units", type=int, default=10000, help="number of slope units (default 10000)")
    parser.add_argument("--rasters", type=int, default=12, help="number of rasters (default 12)")
    parser.add_argument("--compress", default="none", choices=["none", "deflate", "lzw"], help="GeoTIFF compression")
    parser.add_argument("--exactextract-python", default="/tmp/exx/bin/python",
                        help="Python of a venv with exactextract, rasterio and fiona ('' to skip)")  # fmt: skip
    parser.add_argument("--skip-native", action="store_true", help="do not run qgis_process")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the inputs here instead of a temp folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    aggregate = _import_core()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-aggregate-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        units = make_units(args.units, args.seed)
        units_path = work / "units.gpkg"
        units.to_file(units_path, driver="GPKG")
        full = write_rasters(work / "full", args.rasters, args.size, args.seed + 1, args.compress)
        half = write_rasters(work / "half", args.rasters, args.size // 2, args.seed + 1, args.compress)
        print(f"inputs: {len(units)} units, {args.rasters} rasters of {args.size}² and {args.size // 2}² "
              f"({args.compress}) in {time.perf_counter() - t0:.1f} s, {work}", flush=True)  # fmt: skip

        rows = []
        t_centre, ours = run_ours(aggregate, units, full, "centre")
        rows.append(("ours, centre rule, in-process", args.size, t_centre))
        t_half, _ = run_ours(aggregate, units, half, "centre")
        rows.append(("ours, centre rule, half size", args.size // 2, t_half))
        t_exact, ours_exact = run_ours(aggregate, units, full, "exact")
        rows.append(("ours, exact rule, in-process", args.size, t_exact))
        checks = []
        t_native = t_exx = None
        if not args.skip_native:
            t_native, native = run_native(units_path, full, work)
            rows.append(("native:zonalstatisticsfb, per raster", args.size, t_native))
            dm = max(_max_abs(ours[f"{k}_mean"].to_numpy(), m) for k, (m, _) in native.items())
            ds = max(_max_abs(ours[f"{k}_std"].to_numpy(), s) for k, (_, s) in native.items())
            checks.append(f"ours (centre) vs native: max |Δ mean| = {dm:.2e}, max |Δ std| = {ds:.2e} "
                          f"({'OK' if max(dm, ds) <= 1e-6 else 'MISMATCH'} at 1e-6)")  # fmt: skip
        if args.exactextract_python:
            t_exx, t_exx_inner, exx = run_exactextract(args.exactextract_python, units_path, full, work)
            rows.append(("exactextract, one process", args.size, t_exx))
            rows.append(("  of which exact_extract() itself", args.size, t_exx_inner))
            rel = 0.0
            for p in full:
                a, b = ours_exact[f"{p.stem}_mean"].to_numpy(), exx[f"{p.stem}_mean"]
                ok = np.isfinite(a) & np.isfinite(b)
                rel = max(rel, float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1.0))))
            checks.append(f"ours (exact) vs exactextract: max |Δ mean| / max(|mean|, 1) = {rel:.2e}")

        pixels = args.rasters * args.size**2
        print(f"\n{'run':40s} {'cells':>11s} {'seconds':>9s} {'s/raster':>9s} {'Mcells/s':>9s}")
        for name, side, secs in rows:
            n = args.rasters * side * side
            print(f"{name:40s} {f'{side}²':>11s} {secs:9.2f} {secs / args.rasters:9.2f} {n / secs / 1e6:9.1f}")
        print()
        for line in checks:
            print(line)
        print(f"\nratios ({args.rasters} rasters, {pixels / 1e6:.0f} M cells, {len(units)} units):")
        if t_native is not None:
            print(f"  native / ours (centre)            = {t_native / t_centre:6.1f}×  (goal ≥ 10)")
        if t_exx is not None:
            print(f"  exactextract / ours (centre)      = {t_exx / t_centre:6.1f}×  (goal ≥ 1)")
            print(f"  exactextract / ours (exact)       = {t_exx / t_exact:6.1f}×")
        print(f"  ours {args.size}² / ours {args.size // 2}² (4× cells) = {t_centre / t_half:6.2f}×  (goal ≤ 4.5)")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
