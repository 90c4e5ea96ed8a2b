"""File helpers: every file is written under a temporary name and moved into place when complete; the raster grid
(:class:`Grid`) that raster readers and writers share."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np


def raster_bounds(transform, height: int, width: int) -> tuple:
    """(left, bottom, right, top) in map units of a ``height`` × ``width`` raster with affine ``transform``."""
    xs, ys = transform * (np.array([0, width, 0, width]), np.array([0, 0, height, height]))
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (rasterio ``CRS``), affine ``transform``, rows and columns."""

    crs: object
    transform: object
    height: int
    width: int

    @property
    def shape(self) -> tuple:
        return (self.height, self.width)

    @property
    def cell_size(self) -> float:
        """Mean edge length of a cell, in map units."""
        return 0.5 * (abs(self.transform.a) + abs(self.transform.e))

    def bounds(self) -> tuple:
        """(left, bottom, right, top) in map units."""
        return raster_bounds(self.transform, self.height, self.width)

    def holds(self, crs, transform, height: int, width: int) -> bool:
        """Whether a raster with these properties lies on this grid (``crs`` None: taken as this CRS)."""
        same_crs = crs is None or crs == self.crs
        return same_crs and (height, width) == self.shape and transform.almost_equals(self.transform, precision=1e-9)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Readers never see a half-written file, and an existing file survives a failed write.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        for leftover in (tmp_path, *tmp_path.parent.glob(tmp_path.name + "-*")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def write_geotiff(
    path: str | os.PathLike[str],
    array: np.ndarray,
    transform,
    crs,
    nodata: Optional[float] = None,
    band_names: Optional[list] = None,
) -> Path:
    """Write a 2-D (or bands × rows × cols) array as a tiled, compressed GeoTIFF, atomically.

    ``transform`` is an ``affine.Affine``; ``crs`` anything ``rasterio.crs.CRS.from_user_input`` accepts.
    """
    data = np.asarray(array)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"array must be 2-D or 3-D, got shape {array.shape}")
    count, height, width = data.shape
    with geotiff_writer(path, height, width, transform, crs, data.dtype.name, nodata, band_names, count) as dst:
        dst.write(data)
    return Path(path)


@contextlib.contextmanager
def geotiff_writer(
    path: str | os.PathLike[str],
    height: int,
    width: int,
    transform,
    crs,
    dtype: str = "float32",
    nodata: Optional[float] = None,
    band_names: Optional[list] = None,
    count: int = 1,
) -> Iterator:
    """An open rasterio dataset for a tiled, compressed GeoTIFF of ``height`` × ``width`` cells, written in windows
    by the caller; it replaces ``path`` when the block ends without error (atomically, as :func:`atomic_path`)."""
    import rasterio
    from rasterio.crs import CRS

    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": count,
        "dtype": dtype,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "compress": "deflate",
    }
    if height >= 256 and width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if nodata is not None:
        profile["nodata"] = nodata
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            for i, name in enumerate(band_names or [], start=1):
                dst.set_band_description(i, name)
            yield dst


_MULTI = {"Polygon": "MultiPolygon", "Point": "MultiPoint", "LineString": "MultiLineString"}


def promote_to_multi(frame):
    """Make single and multi geometries of one kind all multi, so the layer has one geometry type."""
    types = set(frame.geom_type.dropna())
    for single, multi in _MULTI.items():
        if types == {single, multi}:
            from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon

            cls = {"MultiPolygon": MultiPolygon, "MultiPoint": MultiPoint, "MultiLineString": MultiLineString}[multi]
            geoms = [cls([g]) if g is not None and g.geom_type == single else g for g in frame.geometry]
            return frame.set_geometry(geoms, crs=frame.crs)
    return frame


def write_vector(frame, path: str | os.PathLike[str], layer: Optional[str] = None, reproducible: bool = False) -> Path:
    """Write a GeoDataFrame to a GeoPackage (or any OGR format by extension), atomically.

    Mixed single/multi geometries of one kind are written as multi geometries. ``reproducible`` pins the
    GeoPackage's change timestamp so that the same content gives a byte-identical file.
    """
    frame = promote_to_multi(frame)
    target = Path(path)
    driver = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON"}.get(target.suffix.lower())
    if driver is None:
        raise ValueError(f"unsupported vector format {target.suffix!r}: use .gpkg, .shp or .geojson")
    if driver == "ESRI Shapefile":
        frame.to_file(target, driver=driver)  # several sidecar files: no single atomic rename
        return target
    import fiona

    options = {"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"} if reproducible else {}
    with atomic_path(target) as tmp, fiona.Env(**options):
        frame.to_file(tmp, driver=driver, layer=layer or target.stem)
    return target


def rasterize_field(frame, column: str, cell_size: float, path: str | os.PathLike[str]) -> Path:
    """Burn a numeric ``column`` of a polygon GeoDataFrame into a float32 GeoTIFF of ``cell_size`` map units
    (pixel centres inside a polygon take its value; elsewhere nodata), atomically."""
    from affine import Affine
    from rasterio import features

    if column not in frame.columns:
        raise ValueError(f"field {column!r} not found; the layer has {', '.join(map(str, frame.columns))}")
    values = np.asarray(frame[column], dtype=float)
    if not cell_size > 0:
        raise ValueError(f"cell size must be > 0 map units, got {cell_size}")
    minx, miny, maxx, maxy = frame.total_bounds
    width, height = int(np.ceil((maxx - minx) / cell_size)), int(np.ceil((maxy - miny) / cell_size))
    if width * height > 400_000_000:
        raise ValueError(f"a {width} × {height} raster is too large: choose a larger cell size than {cell_size}")
    transform = Affine(cell_size, 0, minx, 0, -cell_size, maxy)
    shapes = [(g, v) for g, v in zip(frame.geometry, values) if g is not None and np.isfinite(v)]
    out = features.rasterize(shapes, (height, width), fill=np.nan, transform=transform, dtype="float32")
    return write_geotiff(path, out, transform, frame.crs.to_wkt(), nodata=np.nan)
