"""USGS ShakeMap ``grid.xml`` files: read the node grid, sample it at points, write a field as a GeoTIFF.

A grid.xml holds a regular lon/lat grid of nodes (``grid_specification``: lon/lat min/max, nominal spacing,
``nlon`` × ``nlat`` nodes), the names of its columns (``grid_field``, 1-based ``index``) and the node values
(``grid_data``: one line per node, longitude varying fastest, rows from the north edge to the south edge).
Accelerations (PGA, PSA…) are stored in %g, PGV in cm/s, MMI as intensity.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .units import PGA_UNITS, pga_to_g, pga_unit

# grid_field units attribute → unit of an acceleration field; ShakeMap 3 leaves it empty (%g by convention).
_ACCELERATION_UNITS = {"": "%g", "pctg": "%g", "%g": "%g", "g": "g"}
_COORDINATE_TOLERANCE = 0.05  # fraction of the node spacing allowed between listed and declared node positions


def is_acceleration_field(name: str) -> bool:
    """True for PGA and spectral accelerations (PSA03…, SA(0.3)…), the fields held in %g."""
    upper = name.upper()
    return upper == "PGA" or upper.startswith("PSA") or upper.startswith("SA(")


@dataclass(frozen=True, eq=False)
class ShakeMapGrid:
    """A ShakeMap node grid: ``fields`` maps each column name to an (nlat, nlon) array, row 0 = north edge.

    Nodes lie at lon_min + j·dlon, lat_max − i·dlat (degrees, WGS84). ``units`` gives each field's
    ``units`` attribute as written in the file; ``event`` the attributes of the ``<event>`` element.
    """

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    fields: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    event: Mapping[str, str]

    @property
    def nlat(self) -> int:
        return next(iter(self.fields.values())).shape[0]

    @property
    def nlon(self) -> int:
        return next(iter(self.fields.values())).shape[1]

    @property
    def dlon(self) -> float:
        """Node spacing in longitude, degrees."""
        return (self.lon_max - self.lon_min) / (self.nlon - 1)

    @property
    def dlat(self) -> float:
        """Node spacing in latitude, degrees."""
        return (self.lat_max - self.lat_min) / (self.nlat - 1)

    @property
    def extent(self) -> str:
        return f"lon {self.lon_min:g}…{self.lon_max:g}, lat {self.lat_min:g}…{self.lat_max:g}"

    @property
    def transform(self):
        """Affine transform of the GeoTIFF whose pixel centres are the nodes (pixels of dlon × dlat)."""
        from affine import Affine

        return Affine(self.dlon, 0.0, self.lon_min - self.dlon / 2, 0.0, -self.dlat, self.lat_max + self.dlat / 2)

    def field(self, name: str, unit: Optional[str] = None) -> np.ndarray:
        """The (nlat, nlon) node values of ``name``; accelerations converted to ``unit`` (g, %g, m/s2) if given."""
        if name not in self.fields:
            raise ValueError(f"ShakeMap grid has no field {name!r}; it has {', '.join(self.fields)}")
        return self._convert(name, self.fields[name], unit)

    def _convert(self, name: str, values: np.ndarray, unit: Optional[str]) -> np.ndarray:
        if unit is None:
            return values
        if not is_acceleration_field(name):
            raise ValueError(f"unit {unit!r} applies to acceleration fields only; {name!r} is not one")
        stored = _ACCELERATION_UNITS.get(self.units.get(name, "").strip().lower())
        if stored is None:
            raise ValueError(f"field {name!r} has unknown units {self.units[name]!r}: expected %g (pctg) or g")
        return pga_to_g(values, stored) / pga_to_g(1.0, pga_unit(unit))

    def sample(self, field: str, lon, lat, method: str = "bilinear", unit: Optional[str] = None) -> np.ndarray:
        """Values of ``field`` at points (degrees; arrays broadcast), by ``"bilinear"`` or ``"nearest"`` node.

        Raises ``ValueError`` when points fall outside the grid (or are not finite). Accelerations are
        returned in ``unit`` (g, %g or m/s2) when it is given, else in the file's units.
        """
        if method not in ("bilinear", "nearest"):
            raise ValueError(f"unknown sampling method {method!r}: use 'bilinear' or 'nearest'")
        values = self.field(field)
        x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        tol = 1e-9 * max(self.dlon, self.dlat)
        with np.errstate(invalid="ignore"):
            inside = (
                (x >= self.lon_min - tol)
                & (x <= self.lon_max + tol)
                & (y >= self.lat_min - tol)
                & (y <= self.lat_max + tol)
            )
        if not inside.all():
            raise ValueError(
                f"{int((~inside).sum())} of {inside.size} points lie outside the ShakeMap grid ({self.extent})"
            )
        col = (x - self.lon_min) / self.dlon
        row = (self.lat_max - y) / self.dlat
        if method == "nearest":
            j = np.clip(np.floor(col + 0.5).astype(np.int64), 0, self.nlon - 1)
            i = np.clip(np.floor(row + 0.5).astype(np.int64), 0, self.nlat - 1)
            return self._convert(field, values[i, j], unit)
        j = np.clip(np.floor(col).astype(np.int64), 0, self.nlon - 2)
        i = np.clip(np.floor(row).astype(np.int64), 0, self.nlat - 2)
        tx = col - j
        ty = row - i
        out = (
            values[i, j] * (1 - tx) * (1 - ty)
            + values[i, j + 1] * tx * (1 - ty)
            + values[i + 1, j] * (1 - tx) * ty
            + values[i + 1, j + 1] * tx * ty
        )
        return self._convert(field, out, unit)

    def to_geotiff(self, path: str | os.PathLike[str], field: str = "PGA", unit: Optional[str] = None) -> Path:
        """Write ``field`` as a float32 GeoTIFF in EPSG:4326, pixel centres on the nodes.

        Accelerations are written in ``unit`` (default g; one of g, %g, m/s2); other fields as stored, and a
        ``unit`` for them is an error.
        """
        from .io import write_geotiff

        if unit is None and is_acceleration_field(field):
            unit = PGA_UNITS[0]
        data = self.field(field, unit).astype(np.float32)
        label = f"{field} ({unit})" if unit else field
        return write_geotiff(path, data, self.transform, "EPSG:4326", band_names=[label])


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_shakemap_grid(path: str | os.PathLike[str]) -> ShakeMapGrid:
    """Parse a USGS ShakeMap ``grid.xml`` (versions 3 and 4); ``ValueError`` if it is not one."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path} is not a ShakeMap grid.xml: it is not XML ({exc})") from exc
    if _local(root.tag) != "shakemap_grid":
        raise ValueError(f"{path} is not a ShakeMap grid.xml: its root element is <{_local(root.tag)}>")
    children: dict[str, list[ET.Element]] = {}
    for child in root:
        children.setdefault(_local(child.tag), []).append(child)
    for required in ("grid_specification", "grid_field", "grid_data"):
        if required not in children:
            raise ValueError(f"{path} is not a complete ShakeMap grid.xml: no <{required}> element")

    spec = children["grid_specification"][0].attrib
    try:
        lon_min, lat_min, lon_max, lat_max = (float(spec[k]) for k in ("lon_min", "lat_min", "lon_max", "lat_max"))
        nlon, nlat = int(spec["nlon"]), int(spec["nlat"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{path}: bad <grid_specification> {spec}: {exc}") from exc
    if nlon < 2 or nlat < 2 or not (lon_max > lon_min and lat_max > lat_min):
        raise ValueError(f"{path}: <grid_specification> must give at least 2×2 nodes over a positive extent: {spec}")

    columns = sorted(children["grid_field"], key=lambda e: int(e.attrib.get("index", 0)))
    names = [c.attrib.get("name", "") for c in columns]
    if [int(c.attrib.get("index", 0)) for c in columns] != list(range(1, len(columns) + 1)):
        raise ValueError(f"{path}: <grid_field> indices must run 1..{len(columns)}")
    if "LON" not in names or "LAT" not in names:
        raise ValueError(f"{path}: <grid_field> must include LON and LAT, found {names}")

    text = children["grid_data"][0].text or ""
    try:
        flat = np.array(text.split(), dtype=float)
    except ValueError as exc:
        raise ValueError(f"{path}: <grid_data> holds a non-numeric value ({exc})") from exc
    expected = nlon * nlat * len(names)
    if flat.size != expected:
        raise ValueError(
            f"{path}: <grid_data> holds {flat.size} numbers, expected {nlon}×{nlat} nodes × {len(names)} fields"
        )
    table = flat.reshape(nlat, nlon, len(names))
    lon = table[..., names.index("LON")]
    lat = table[..., names.index("LAT")]
    if lat[0, 0] < lat[-1, 0]:  # rows listed south to north: store north first like every other grid
        table = table[::-1]
        lon, lat = lon[::-1], lat[::-1]
    dlon = (lon_max - lon_min) / (nlon - 1)
    dlat = (lat_max - lat_min) / (nlat - 1)
    expected_lon = lon_min + dlon * np.arange(nlon)
    expected_lat = lat_max - dlat * np.arange(nlat)
    if (
        np.abs(lon - expected_lon[None, :]).max() > _COORDINATE_TOLERANCE * dlon
        or np.abs(lat - expected_lat[:, None]).max() > _COORDINATE_TOLERANCE * dlat
    ):
        raise ValueError(f"{path}: the LON/LAT of <grid_data> do not form the grid of <grid_specification>")

    fields = {name: np.ascontiguousarray(table[..., k]) for k, name in enumerate(names)}
    units = {c.attrib.get("name", ""): c.attrib.get("units", "") for c in columns}
    event = dict(children["event"][0].attrib) if "event" in children else {}
    return ShakeMapGrid(
        lon_min=lon_min, lat_min=lat_min, lon_max=lon_max, lat_max=lat_max, fields=fields, units=units, event=event
    )
