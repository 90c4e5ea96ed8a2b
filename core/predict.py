"""Applying a saved model to slope units: field checks, earthquake scenarios (a PGA field, raster or ShakeMap),
and the outputs of training, recomputed."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from .model_io import load_model
from .progress import Progress, report, scaled
from .units import check_pga_g, pga_to_g


@dataclass(frozen=True)
class Scenario:
    """A new earthquake for a PINN: PGA from a field of the units, a raster, or a USGS ShakeMap ``grid.xml``
    (its PGA is in %g), averaged over each unit. ``unit`` applies to the field and the raster."""

    pga_field: Optional[str] = None
    pga_raster: Optional[Union[str, os.PathLike]] = None
    shakemap: Optional[Union[str, os.PathLike]] = None
    unit: Union[str, int] = "g"

    def check(self) -> None:
        given = [x for x in (self.pga_field, self.pga_raster, self.shakemap) if x]
        if len(given) > 1:
            raise ValueError("give the scenario PGA one way only: a field, a raster or a ShakeMap grid.xml")


@dataclass
class Prediction:
    """The units with the model's outputs added, the model kind ('pinn' or 'snn') and notes for the log."""

    frame: pd.DataFrame
    kind: str
    meta: dict
    warnings: list = field(default_factory=list)


def _check_levels(encoding, frame: pd.DataFrame) -> None:
    for name, levels in zip(encoding.categorical, encoding.levels):
        seen = set(frame[name].astype(str))
        unseen = sorted(seen - set(levels))
        if unseen:
            raise ValueError(
                f"categorical field {name!r} has level(s) {unseen[:8]} that the model never saw in training "
                f"(it knows {list(levels)}); the model cannot predict them: recode them to known levels or "
                "remove those units"
            )


def scenario_pga_g(units, scenario: Scenario, progress: Optional[Progress] = None) -> np.ndarray:
    """PGA in g per unit for ``scenario``: a field as is, a raster or ShakeMap averaged over each unit (pixel
    centres inside the unit, as in :mod:`.aggregate`). A raster or ShakeMap that leaves any unit uncovered is an
    error."""
    from .aggregate import RasterSource, aggregate_slope_units

    scenario.check()
    if scenario.pga_field:
        if scenario.pga_field not in units.columns:
            raise ValueError(f"scenario PGA field {scenario.pga_field!r} not found in the units")
        values = pga_to_g(pd.to_numeric(units[scenario.pga_field], errors="coerce"), scenario.unit)
        if np.isnan(values).any():
            raise ValueError(
                f"scenario PGA field {scenario.pga_field!r} has {int(np.isnan(values).sum())} empty values"
            )
        check_pga_g(values, scenario.unit, name=f"scenario PGA field {scenario.pga_field!r}")
        return values
    with tempfile.TemporaryDirectory() as tmp:
        if scenario.shakemap:
            from .shakemap import read_shakemap_grid

            grid = read_shakemap_grid(scenario.shakemap)
            path, unit = grid.to_geotiff(Path(tmp) / "shakemap_pga.tif", "PGA", "g"), "g"
            what = f"the ShakeMap ({grid.extent})"
        else:
            path, unit, what = Path(scenario.pga_raster), scenario.unit, "the PGA raster"
        try:
            result = aggregate_slope_units(
                units[[units.geometry.name]], [RasterSource(path, "scenario_pga")], statistics=("mean",),
                progress=progress,
            )  # fmt: skip
        except ValueError as err:
            if "does not overlap" not in str(err):
                raise
            raise ValueError(f"{what} does not cover any of the units: use one of the study area") from None
    values = pga_to_g(result.frame["scenario_pga_mean"].to_numpy(float), unit)
    missing = np.isnan(values)
    if missing.any():
        raise ValueError(
            f"{what} does not cover {int(missing.sum())} of {values.size} units (no PGA value inside them): "
            "use a ShakeMap or raster that covers the whole study area"
        )
    check_pga_g(values, unit, name=f"PGA of {what}")
    return values


def predict_units(
    model_path: Union[str, os.PathLike],
    units,
    scenario: Optional[Scenario] = None,
    progress: Optional[Progress] = None,
) -> Prediction:
    """Apply the model file at ``model_path`` to ``units`` (a GeoDataFrame holding the fields it was trained on).

    PINN: ``scenario`` replaces the training PGA (no retraining: C/t and φ stay, the physics is re-run).
    SNN: contributions per feature and the total susceptibility.
    """
    model_file = load_model(model_path, expected_kind=("pinn", "snn"))
    report(progress, 0.05, f"{model_file.kind.upper()} model loaded")
    if model_file.kind == "pinn":
        return _predict_pinn(model_file, units, scenario, progress)
    if scenario is not None and any((scenario.pga_field, scenario.pga_raster, scenario.shakemap)):
        raise ValueError("an SNN model has no physics: earthquake scenarios apply to PINN models only")
    return _predict_snn(model_file, units, progress)


def _predict_pinn(model_file, units, scenario: Optional[Scenario], progress) -> Prediction:
    from .pinn import PINNData, PINNModel

    model = PINNModel.from_model_file(model_file)
    fields = model.fields
    needed = [*model.encoding.numeric, *model.encoding.categorical, fields["slope"], fields["pga"]]
    if scenario is not None and (scenario.pga_field or scenario.pga_raster or scenario.shakemap):
        needed.remove(fields["pga"])
        pga = scenario_pga_g(units, scenario, scaled(progress, 0.1, 0.6))
        frame = units.assign(**{fields["pga"]: pga})
        unit = "g"
    else:
        pga, frame, unit = None, units, fields.get("pga_unit", "g")
    missing = [f for f in dict.fromkeys(needed) if f not in frame.columns]
    if missing:
        raise ValueError(
            f"the units lack field(s) {', '.join(map(repr, missing))} that the model needs; it was trained on "
            f"{', '.join(map(repr, needed))}"
        )
    _check_levels(model.encoding, frame)
    table = PINNData.from_frame(
        frame, model.encoding.numeric, model.encoding.categorical, None, fields["slope"], fields["pga"], unit
    )
    report(progress, 0.7, "PINN prediction")
    out = model.predict(table).to_frame()
    if pga is not None:
        out["pga_scenario_g"] = pga
    out["disp_cm"] = out["disp_cm"].where(np.isfinite(out["disp_cm"]))
    report(progress, 1.0, "done")
    return Prediction(_join(units, out), "pinn", model_file.meta)


def _predict_snn(model_file, units, progress) -> Prediction:
    from .snn import SNNModel, primary_control
    from .snn_raster import is_pixel_model
    from .snn_units import contribution_field

    model = SNNModel.from_model_file(model_file)
    missing = [f for f in model.input_names if f not in units.columns]
    if missing:
        hint = ""
        if is_pixel_model(model_file):
            hint = " (the model was trained on pixels, 'Train SNN on rasters': give it the raster stack, RASTERS)"
        raise ValueError(
            f"the units lack field(s) {', '.join(map(repr, missing))} that the SNN needs; it was trained on "
            f"{', '.join(map(repr, model.input_names))}{hint}"
        )
    x = np.column_stack([pd.to_numeric(units[f], errors="coerce").to_numpy(float) for f in model.input_names])
    bad = np.isnan(x).any(axis=0)
    if bad.any():
        names = [f for f, b in zip(model.input_names, bad) if b]
        raise ValueError(f"field(s) {', '.join(map(repr, names))} have empty or non-numeric values")
    report(progress, 0.5, "SNN prediction")
    contrib = model.contributions(x)
    total = contrib.sum(axis=1)
    out = pd.DataFrame({"snn_st": total, "snn_class": (total > model.threshold).astype(np.int64)})
    for j, name in enumerate(model.names):
        out[contribution_field(name)] = contrib[:, j]
    out["primary_control"] = [model.names[j] for j in primary_control(contrib)]
    report(progress, 1.0, "done")
    return Prediction(_join(units, out), "snn", model_file.meta)


@dataclass
class RasterPrediction:
    """S_t of a pixel-mode SNN written as a GeoTIFF: the path, the pixels with a value, those above the model's
    threshold, the mean S_t, and notes for the log."""

    path: Path
    pixels: int
    above: int
    mean: float
    warnings: list = field(default_factory=list)


def predict_raster(
    model_path: Union[str, os.PathLike],
    sources: list,
    path: Union[str, os.PathLike],
    progress: Optional[Progress] = None,
) -> RasterPrediction:
    """Apply the pixel-mode SNN in ``model_path`` to the rasters ``sources`` ((path, layer name) pairs, features
    found by name as in :func:`.snn_raster.raster_bands`) on the grid of the first raster, and write S_t to the
    GeoTIFF ``path`` (float32, nodata where a feature has no value)."""
    from rasterio.crs import CRS

    from .snn import SNNModel
    from .snn_raster import grid_of, is_pixel_model, raster_bands, write_susceptibility

    model_file = load_model(model_path, expected_kind=("pinn", "snn"))
    if not is_pixel_model(model_file):
        what = "a PINN" if model_file.kind == "pinn" else "a slope-unit SNN ('Train SNN')"
        raise ValueError(
            f"{model_path} holds {what} model, which predicts slope units: give the units (INPUT) instead of "
            "rasters; a raster stack needs a pixel model from 'Train SNN on rasters'"
        )
    model = SNNModel.from_model_file(model_file)
    bands = raster_bands(sources)
    if not bands:
        raise ValueError("no rasters given: the model needs " + ", ".join(map(repr, model.input_names)))
    by_name = {b.name: b for b in bands}
    missing = [name for name in model.input_names if name not in by_name]
    if missing:
        raise ValueError(
            f"no raster named {', '.join(map(repr, missing))}: the model needs the features "
            f"{', '.join(map(repr, model.input_names))} (matched by layer name); the rasters given are "
            f"{', '.join(map(repr, by_name))}"
        )
    grid = grid_of(bands[0])
    warnings = []
    extra = [b.name for b in bands if b.name not in model.input_names]
    if extra:
        warnings.append(f"raster(s) {', '.join(map(repr, extra))} are not model features and are not used")
    if "crs" in model_file.meta and CRS.from_wkt(model_file.meta["crs"]) != grid.crs:
        warnings.append(
            f"the first raster's CRS ({grid.crs.to_string()}) is not the training grid's "
            f"({CRS.from_wkt(model_file.meta['crs']).to_string()}): S_t is written on the first raster's grid"
        )
    trained_cell = model_file.meta.get("cell_size")
    if trained_cell and not np.isclose(grid.cell_size, trained_cell, rtol=0.01):
        warnings.append(
            f"the grid's cell size ({grid.cell_size:g} map units) differs from the training grid's "
            f"({trained_cell:g}): terrain features such as slope depend on it"
        )
    report(progress, 0.05, "pixel SNN loaded")
    counts = write_susceptibility(
        model, [by_name[name] for name in model.input_names], grid, path, progress=scaled(progress, 0.05, 1.0)
    )
    return RasterPrediction(Path(path), counts["pixels"], counts["above"], counts["mean"], warnings)


def _join(units, out: pd.DataFrame):
    clash = [c for c in out.columns if c in units.columns]
    return units.drop(columns=clash).join(out.set_index(units.index))
