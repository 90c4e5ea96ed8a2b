"""The SNN in the authors' pixel mode: a stack of rasters on one grid, landslide polygons as pixel labels, the
Pythagorean tiling of the pixels, and the total susceptibility S_t written as a GeoTIFF in row blocks.

The grid is that of the first raster band. Every other raster (and the mask) is read through a warped view onto
that grid (``rasterio.vrt.WarpedVRT``): feature rasters by bilinear interpolation (they are continuous
quantities; bring class rasters onto the grid yourself), the mask by the nearest cell. A raster already on the
grid is read as it is. Rasters are read in blocks of rows, so memory depends on the grid's width, not its size;
the labels, the valid-pixel mask and the tiling are held for the whole grid (a few bytes per pixel).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import pandas as pd

from .io import Grid
from .model_io import ModelFile
from .progress import Progress, report, scaled

PathLike = Union[str, os.PathLike]

PAPER_PITCH_PX = 13
"""Lattice pitch of the authors' tiling, in pixels (16 px training and 10 px test squares)."""
_OVERLAP_RATIO = 3.0 / 13.0  # the authors' 3 px overlap of a 13 px lattice
_VAL_FRACTION = 0.35  # share of all pixels drawn; those in test squares become validation (authors' code)
_BLOCK_PIXELS = 1 << 20  # pixels per block of rows read or written at once
_ROWS_PER_CHUNK = 16384  # pixels per chunk of the S_j evaluation (its temporary arrays are pixels × M × 30)


@dataclass(frozen=True)
class RasterBand:
    """One feature: band ``band`` (1-based) of the raster file at ``path``, called ``name``."""

    path: str
    name: str
    band: int = 1


def raster_bands(sources: Sequence) -> list:
    """The features of raster files ``sources`` ((path, layer name) pairs), one per band: a single-band raster is
    called by its layer name, a band of a multi-band raster by its band description, else '<layer name>_b<k>'.
    ``ValueError`` when a file cannot be read or two features would share a name."""
    import rasterio

    bands = []
    for path, layer_name in sources:
        try:
            with rasterio.open(path) as ds:
                descriptions = list(ds.descriptions)
                count = ds.count
        except Exception as exc:  # rasterio raises its own IO errors
            raise ValueError(f"raster {layer_name!r} ({path}) cannot be opened: {exc}") from exc
        if count == 1:
            bands.append(RasterBand(str(path), str(layer_name)))
            continue
        for k in range(1, count + 1):
            name = descriptions[k - 1] or f"{layer_name}_b{k}"
            bands.append(RasterBand(str(path), str(name), k))
    names = [b.name for b in bands]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(
            f"feature name(s) {', '.join(map(repr, clashes))} occur more than once: every raster (band) is one "
            "feature and needs a name of its own; rename the layers (or set distinct band descriptions)"
        )
    return bands


def grid_of(band: RasterBand) -> Grid:
    """The grid of ``band``'s raster; ``ValueError`` without a CRS or for a rotated raster."""
    import rasterio

    with rasterio.open(band.path) as ds:
        if ds.crs is None:
            raise ValueError(
                f"raster {band.name!r} ({band.path}) has no CRS; it defines the grid of the others: assign its CRS "
                "first (e.g. with gdal:assignprojection)"
            )
        t = ds.transform
        if t.b != 0 or t.d != 0:
            raise ValueError(f"raster {band.name!r} ({band.path}) is rotated or sheared: warp it north-up first")
        return Grid(ds.crs, t, ds.height, ds.width)


class AlignedStack:
    """Bands read on ``grid`` in blocks of rows, as float64 with NaN where a raster has nodata or no data.

    Bands on the grid are read as they are; the others through a warped view with ``resampling``
    ('bilinear' or 'nearest'). A raster without a CRS is accepted only when it lies on the grid itself
    (noted in ``warnings``). Use as a context manager.
    """

    def __init__(self, bands: Sequence[RasterBand], grid: Grid, resampling: str = "bilinear"):
        self.bands = list(bands)
        self.grid = grid
        self.resampling = resampling
        self.warnings: list = []
        self._files: dict = {}  # path → open dataset, shared by the bands of a multi-band raster
        self._warped: list = []  # warped views, closed before their datasets
        self._views: list = []  # per band: the dataset or its warped view

    def __enter__(self) -> AlignedStack:
        import rasterio
        from rasterio.enums import Resampling
        from rasterio.vrt import WarpedVRT

        method = {"bilinear": Resampling.bilinear, "nearest": Resampling.nearest}[self.resampling]
        try:
            for band in self.bands:
                if band.path not in self._files:
                    try:
                        self._files[band.path] = rasterio.open(band.path)
                    except Exception as exc:
                        raise ValueError(f"raster {band.name!r} ({band.path}) cannot be opened: {exc}") from exc
                ds = self._files[band.path]
                if not 1 <= band.band <= ds.count:
                    raise ValueError(f"raster {band.name!r} ({band.path}) has no band {band.band} (it has {ds.count})")
                if self.grid.holds(ds.crs, ds.transform, ds.height, ds.width):
                    if ds.crs is None:
                        self.warnings.append(
                            f"raster {band.name!r} ({band.path}) has no CRS; it has the size and transform of the "
                            "grid, so it is taken as lying on it"
                        )
                    self._views.append(ds)
                    continue
                if ds.crs is None:
                    raise ValueError(
                        f"raster {band.name!r} ({band.path}) has no CRS and is not on the grid of the first raster: "
                        "assign its CRS first (e.g. with gdal:assignprojection)"
                    )
                view = WarpedVRT(
                    ds, crs=self.grid.crs, transform=self.grid.transform, width=self.grid.width,
                    height=self.grid.height, resampling=method, nodata=np.nan, dtype="float64",
                )  # fmt: skip
                self._warped.append(view)
                self._views.append(view)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for ds in [*self._warped, *self._files.values()]:
            ds.close()
        self._warped.clear()
        self._files.clear()

    @property
    def block_rows(self) -> int:
        """Rows per block: about a million pixels, whole 256-row tiles where the grid is tiled."""
        rows = max(1, _BLOCK_PIXELS // self.grid.width)
        return max(256, rows // 256 * 256) if min(self.grid.shape) >= 256 else rows

    def blocks(self):
        """(first row, end row) of each block, top to bottom."""
        step = self.block_rows
        for start in range(0, self.grid.height, step):
            yield start, min(start + step, self.grid.height)

    def read(self, rows: tuple) -> np.ndarray:
        """Values [bands, rows, width] of the block ``rows`` = (first, end)."""
        from rasterio.windows import Window

        window = Window(0, rows[0], self.grid.width, rows[1] - rows[0])
        out = np.empty((len(self.bands), rows[1] - rows[0], self.grid.width))
        for i, (band, view) in enumerate(zip(self.bands, self._views)):
            data = view.read(band.band, window=window, masked=True)
            out[i] = data.astype(np.float64).filled(np.nan)
        return out


def _open_mask(opened: contextlib.ExitStack, mask: Optional[PathLike], grid: Grid) -> Optional[AlignedStack]:
    """The mask raster read on ``grid`` by the nearest cell, closed with ``opened``; None without a mask."""
    if mask is None:
        return None
    return opened.enter_context(AlignedStack([RasterBand(str(mask), "mask")], grid, "nearest"))


def _keep_block(mask: Optional[AlignedStack], rows: tuple) -> Optional[np.ndarray]:
    """Pixels of the block that the mask keeps (nonzero and not nodata); None without a mask."""
    if mask is None:
        return None
    values = mask.read(rows)[0]
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values != 0)


def landslide_pixels(landslides, grid: Grid) -> np.ndarray:
    """Boolean grid: True where a pixel centre lies inside a landslide polygon of the GeoDataFrame ``landslides``
    (reprojected to the grid's CRS; without a CRS it is taken to be in it)."""
    from rasterio import features

    frame = landslides
    if frame.crs is not None and frame.crs != grid.crs:
        frame = frame.to_crs(grid.crs)
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    kinds = {g.geom_type for g in geoms}
    if kinds - {"Polygon", "MultiPolygon"}:
        raise ValueError(
            f"the landslides must be polygons, got {', '.join(sorted(kinds))} geometries: pixels are labelled by the "
            "polygon that holds their centre"
        )
    if not geoms:
        return np.zeros(grid.shape, dtype=bool)
    return features.rasterize(
        [(g, 1) for g in geoms], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
    ).astype(bool)


def tiling_pitch(grid: Grid, tile_size: float) -> int:
    """Lattice pitch of the pixel tiling in pixels for ``tile_size`` map units; 0 gives the authors' 13 px, or an
    eighth of the grid's longer side when that is smaller (so that a small raster still gets 8 lattice cells)."""
    if tile_size < 0 or not math.isfinite(tile_size):
        raise ValueError(f"TILE_SIZE must be ≥ 0 map units (0: automatic), got {tile_size}")
    if tile_size == 0:
        return max(4, min(PAPER_PITCH_PX, max(grid.shape) // 8))
    pitch = round(tile_size / grid.cell_size)
    if pitch < 4:
        raise ValueError(
            f"TILE_SIZE {tile_size:g} map units is {tile_size / grid.cell_size:.2g} cells of {grid.cell_size:g}: "
            f"the tiling needs at least 4 cells per lattice cell ({4 * grid.cell_size:g} map units)"
        )
    if pitch >= max(grid.shape):
        raise ValueError(
            f"TILE_SIZE {tile_size:g} map units ({pitch} cells) is not smaller than the raster "
            f"({grid.height} × {grid.width} cells): the tiling needs several lattice cells; use at most "
            f"{max(grid.shape) // 4 * grid.cell_size:g} map units"
        )
    return pitch


@dataclass
class SNNRaster:
    """Outcome of :func:`train_snn_raster`.

    ``run`` holds the result, the comparison table, the split and the per-pixel outputs of the training sample
    (rows = sampled pixels in row-major order, as :class:`.snn_units.SNNUnits`, for the report); ``frame`` the
    sample's feature values; ``n_valid`` the pixels with every feature (and kept by the mask), ``n_landslide``
    those of them inside a landslide; ``pitch`` the tiling's lattice pitch in pixels.
    """

    run: object
    frame: pd.DataFrame
    grid: Grid
    bands: list
    n_valid: int
    n_landslide: int
    pitch: int
    warnings: list = field(default_factory=list)


def _valid_pixels(stack: AlignedStack, mask: Optional[AlignedStack], progress: Optional[Progress]) -> np.ndarray:
    valid = np.empty(stack.grid.shape, dtype=bool)
    for rows in stack.blocks():
        values = stack.read(rows)
        ok = np.isfinite(values).all(axis=0)
        keep = _keep_block(mask, rows)
        valid[rows[0] : rows[1]] = ok if keep is None else ok & keep
        report(progress, rows[1] / stack.grid.height, "finding the pixels with data")
    return valid


def _gather(stack: AlignedStack, index: np.ndarray, progress: Optional[Progress]) -> np.ndarray:
    """Feature values [len(index), bands] of the pixels at row-major flat ``index`` (sorted)."""
    width = stack.grid.width
    x = np.empty((index.size, len(stack.bands)))
    for rows in stack.blocks():
        lo, hi = np.searchsorted(index, (rows[0] * width, rows[1] * width))
        if hi > lo:
            values = stack.read(rows).reshape(len(stack.bands), -1)
            x[lo:hi] = values[:, index[lo:hi] - rows[0] * width].T
        report(progress, rows[1] / stack.grid.height, "reading the training pixels")
    return x


def sample_pixels(valid: np.ndarray, label: np.ndarray, max_samples: int, seed: int) -> np.ndarray:
    """Row-major flat indices (sorted) of the training pixels: every valid pixel, or with more than
    ``max_samples`` (> 0) every valid landslide pixel and a uniform random sample of the other valid pixels,
    ``max_samples`` in all (as many others as landslide pixels when these are more than half of it)."""
    index = np.flatnonzero(valid.ravel())
    if max_samples <= 0 or index.size <= max_samples:
        return index
    positive = label.ravel()[index]
    pos, neg = index[positive], index[~positive]
    n_neg = min(neg.size, max(max_samples - pos.size, pos.size))
    chosen = np.random.default_rng(seed).choice(neg, n_neg, replace=False)
    return np.sort(np.concatenate([pos, chosen]))


def train_snn_raster(
    bands: Sequence[RasterBand],
    landslides,
    mask: Optional[PathLike] = None,
    tile_size: float = 0.0,
    max_samples: int = 1_000_000,
    config=None,
    compare_level1: bool = True,
    progress: Optional[Progress] = None,
) -> SNNRaster:
    """Train the SNN on the pixels of raster ``bands`` (:class:`RasterBand`, on or aligned to the first one's grid)
    with labels from the landslide polygons (GeoDataFrame, any CRS), and the paper's comparison models on the
    same split.

    ``mask``: a raster whose 0 or nodata pixels are left out. ``tile_size``: lattice pitch of the Pythagorean
    tiling in map units (0: see :func:`tiling_pitch`). ``max_samples``: the most pixels to train and test on
    (0: all; see :func:`sample_pixels`). The DCT smoothing of the targets runs along image columns, the
    column-major pixel order of the authors' code.
    """
    from .snn import SNNConfig
    from .snn_units import SNNUnits, contribution_field, train_and_compare
    from .validation import mask_split, pythagorean_tiling_mask

    config = config or SNNConfig()
    bands = list(bands)
    if len(bands) < 2:
        raise ValueError(
            f"the SNN needs at least 2 features (rasters or bands), got {len(bands)}"
            + (f" ({bands[0].name})" if bands else "")
        )
    if max_samples < 0:
        raise ValueError(f"MAX_SAMPLES must be ≥ 0 (0: every pixel), got {max_samples}")
    grid = grid_of(bands[0])
    pitch = tiling_pitch(grid, tile_size)
    report(progress, 0.0, "labelling the landslide pixels")
    label = landslide_pixels(landslides, grid)
    with contextlib.ExitStack() as opened:
        stack = opened.enter_context(AlignedStack(bands, grid))
        mask_stack = _open_mask(opened, mask, grid)
        warnings = stack.warnings + (mask_stack.warnings if mask_stack is not None else [])
        valid = _valid_pixels(stack, mask_stack, scaled(progress, 0.0, 0.04))
        n_valid = int(valid.sum())
        if n_valid == 0:
            raise ValueError(
                "no pixel has a value in every raster" + (" and is kept by the mask" if mask is not None else "")
                + f": check that the rasters ({', '.join(b.name for b in bands)}) overlap"
            )  # fmt: skip
        n_landslide = int((label & valid).sum())
        if n_landslide == 0:
            raise ValueError(_no_landslide_message(landslides, grid, int(label.sum())))
        if n_landslide == n_valid:
            raise ValueError("every valid pixel lies inside a landslide: the SNN needs stable pixels too")
        index = sample_pixels(valid, label, max_samples, config.seed)
        x = _gather(stack, index, scaled(progress, 0.04, 0.08))
    y = label.ravel()[index].astype(np.int64)
    del label
    codes = pythagorean_tiling_mask(grid.shape, pitch, round(pitch * _OVERLAP_RATIO), _VAL_FRACTION, config.seed)
    chosen = np.zeros(grid.height * grid.width, dtype=bool)
    chosen[index] = True
    split = mask_split(codes, chosen.reshape(grid.shape), order="C")
    del codes, chosen, valid
    _check_partitions(y, split, pitch, grid)
    rows, cols = np.divmod(index, grid.width)
    order = np.argsort(cols * grid.height + rows, kind="stable")  # column-major scan, as the authors' code

    names = [b.name for b in bands]
    training = scaled(progress, 0.08, 1.0)
    result, comparison = train_and_compare(x, y, names, split, config, order, compare_level1, training)
    contrib = result.model.contributions(x, _ROWS_PER_CHUNK)
    outputs = pd.DataFrame({"snn_st": contrib.sum(axis=1)})
    for j, name in enumerate(result.model.names):
        outputs[contribution_field(name)] = contrib[:, j]
    run = SNNUnits(result, outputs, comparison, split, y, names)
    report(progress, 1.0, "SNN trained")
    return SNNRaster(run, pd.DataFrame(x, columns=names), grid, bands, n_valid, n_landslide, pitch, warnings)


def _no_landslide_message(landslides, grid: Grid, n_inside: int) -> str:
    west, south, east, north = grid.bounds()
    frame = landslides if landslides.crs is None or landslides.crs == grid.crs else landslides.to_crs(grid.crs)
    box = frame.total_bounds if len(frame) else None
    where = (
        f"the landslides span x {box[0]:g}…{box[2]:g}, y {box[1]:g}…{box[3]:g}"
        if box is not None and np.isfinite(box).all()
        else "the landslide layer has no geometries"
    )
    if n_inside:
        return (
            f"the {n_inside} pixel(s) inside a landslide polygon all lack a value in some raster or are masked out: "
            "the SNN needs landslide pixels among the valid ones"
        )
    return (
        f"no landslide polygon holds the centre of a raster pixel: {where} while the rasters span x {west:g}…"
        f"{east:g}, y {south:g}…{north:g} (in {grid.crs.to_string()}); use landslides of the rasters' area"
    )


def _check_partitions(y: np.ndarray, split, pitch: int, grid: Grid) -> None:
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        n_pos = int(y[rows].sum())
        if rows.size == 0 or n_pos in (0, rows.size):
            raise ValueError(
                f"the {part} pixels of the tiling (lattice of {pitch} cells = {pitch * grid.cell_size:g} map units) "
                f"hold {n_pos} landslide pixel(s) of {rows.size}: the SNN needs both classes in training, "
                "validation and test pixels; use a smaller TILE_SIZE or more landslides"
            )


def check_output_path(path: PathLike, inputs: Sequence) -> None:
    """``ValueError`` when the output ``path`` is one of the ``inputs`` (paths): an input is never overwritten."""
    target = os.path.realpath(path)
    for source in inputs:
        if source is not None and os.path.realpath(source) == target:
            raise ValueError(f"the output {path} is an input raster: write S_t to another file")


def write_susceptibility(
    model,
    bands: Sequence[RasterBand],
    grid: Grid,
    path: PathLike,
    mask: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> dict:
    """Write S_t of ``model`` (:class:`.snn.SNNModel`) on ``grid`` as a float32 GeoTIFF at ``path``, atomically, in
    blocks of rows; ``bands`` are the model's inputs in its order. Nodata (NaN) where a band has no value or
    ``mask`` is 0 or nodata. Returns counts: ``pixels`` with a value, ``above`` the model's threshold, and the
    ``mean`` S_t."""
    from rasterio.windows import Window

    from .io import geotiff_writer

    if [b.name for b in bands] != list(model.input_names):
        raise ValueError(f"the bands {[b.name for b in bands]} are not the model's inputs {model.input_names}")
    check_output_path(path, [*(b.path for b in bands), mask])
    n_pixels = n_above = 0
    total = 0.0
    with contextlib.ExitStack() as opened:
        stack = opened.enter_context(AlignedStack(bands, grid))
        mask_stack = _open_mask(opened, mask, grid)
        dst = opened.enter_context(
            geotiff_writer(path, grid.height, grid.width, grid.transform, grid.crs, "float32", np.nan, ["S_t"])
        )
        for rows in stack.blocks():
            values = stack.read(rows)
            ok = np.isfinite(values).all(axis=0)
            keep = _keep_block(mask_stack, rows)
            if keep is not None:
                ok &= keep
            out = np.full(ok.shape, np.nan, dtype=np.float32)
            if ok.any():
                st = model.contributions(values[:, ok].T, _ROWS_PER_CHUNK).sum(axis=1)
                out[ok] = st
                n_pixels += st.size
                n_above += int((st > model.threshold).sum())
                total += float(st.sum())
            dst.write(out, 1, window=Window(0, rows[0], grid.width, rows[1] - rows[0]))
            report(progress, rows[1] / grid.height, "writing S_t")
    return {"pixels": n_pixels, "above": n_above, "mean": total / n_pixels if n_pixels else float("nan")}


def pixel_model_file(model, grid: Grid) -> ModelFile:
    """The model file of a pixel-mode SNN: the SNN's, marked ``mode`` 'pixel', with the training grid's CRS (WKT)
    and cell size (map units) so that a prediction can check its rasters."""
    model_file = model.to_model_file()
    model_file.meta.update(mode="pixel", crs=grid.crs.to_wkt(), cell_size=grid.cell_size)
    return model_file


def is_pixel_model(model_file: ModelFile) -> bool:
    """Whether ``model_file`` holds an SNN trained on pixels (:func:`train_snn_raster`)."""
    return model_file.kind == "snn" and model_file.meta.get("mode") == "pixel"
