"""landslide:newmark and landslide:newmarkraster: golden physics cases, the USGS Loma Prieta map, bad input.

Golden values: docs/physics.md §2.3 (cases A, B, G, I, D, C; paper physics and the authors' code).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from scipy.special import expit
from shapely.geometry import Point, box
from test_loma_prieta import SLOPE_QUANTILES, _cell_index, _read_target

from landslide_susceptibility.core import physics
from landslide_susceptibility.core.io import write_geotiff
from landslide_susceptibility.core.newmark_maps import (
    RasterInputs,
    newmark_maps,
    newmark_units,
    write_newmark_maps,
)
from landslide_susceptibility.core.shakemap import read_shakemap_grid

# case: C/t kPa/m, φ°, α°, PGA g, FS, a_c g, D cm (None = static failure), p, FS and D of the authors' code
GOLDEN = {
    "A": (5, 30, 35, 0.40, 1.210892, 0.120963, 3.94258, 0.257802, 1.210892, 4.99308),
    "B": (0, 35, 30, 0.30, 1.212795, 0.106398, 2.61271, 0.084147, 1.212795, 3.27861),
    "G": (2, 35, 35, 0.50, 1.154540, 0.088641, 12.5033, 0.999449, 1.2, 9.49185),
    "I": (0, 40, 35, 0.25, 1.198358, 0.113774, 1.22850, 0.022500, 1.2, 1.47052),
    "D": (10, 40, 25, 0.20, 2.848164, 0.781068, 0.0, 0.006693, 2.848164, 5.45481e-8),
    "C": (2, 32, 40, 0.50, 0.882591, -0.075469, None, 1.0, 1.2, 7.36216),
}
NAMES = list(GOLDEN)
COL = {
    name: [case[k] for case in GOLDEN.values()]
    for k, name in enumerate(("ct", "phi", "slope", "pga_g", "fs", "ac", "disp", "p", "code_fs", "code_disp"))
}
THICKNESS_M = 2.5
RTOL = 1e-4


def _unit_table(geometries, crs="EPSG:32645") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": NAMES,
            "ct": COL["ct"],
            "cohesion": [THICKNESS_M * c for c in COL["ct"]],
            "thick": [THICKNESS_M] * len(NAMES),
            "phi": COL["phi"],
            "slope": COL["slope"],
            "pga_pct": [100 * g for g in COL["pga_g"]],
            "pga_g": COL["pga_g"],
        },
        geometry=geometries,
        crs=crs,
    )


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    """The golden cases as six square slope units (GeoPackage, UTM 45N) and as points."""
    folder = tmp_path_factory.mktemp("units")
    polygons = folder / "units.gpkg"
    _unit_table([box(100 * i, 0, 100 * i + 90, 90) for i in range(len(NAMES))]).to_file(polygons, driver="GPKG")
    points = folder / "points.gpkg"
    _unit_table([Point(100 * i, 0) for i in range(len(NAMES))]).to_file(points, driver="GPKG")
    return {"polygons": polygons, "points": points, "folder": folder}


def _unit_params(path, output, **extra):
    params = {
        "INPUT": path,
        "SLOPE_FIELD": "slope",
        "PGA_FIELD": "pga_pct",
        "PGA_UNITS": 1,
        "PHI_FIELD": "phi",
        "OUTPUT": output,
    }
    params.update(extra)
    return params


@pytest.fixture(scope="module")
def paper_run(qgis_run, units):
    output = units["folder"] / "paper_ct.gpkg"
    run = qgis_run("landslide:newmark", _unit_params(units["polygons"], output, CT_FIELD="ct"))
    assert run.returncode == 0, run.log
    return run, output


def _assert_paper_golden(frame):
    assert list(frame["name"]) == NAMES
    np.testing.assert_allclose(frame["fs"], COL["fs"], rtol=RTOL)
    np.testing.assert_allclose(frame["ac_g"], COL["ac"], rtol=RTOL)
    np.testing.assert_allclose(frame["susceptibility"], COL["p"], rtol=RTOL)
    disp = frame["disp_cm"].to_numpy(dtype=float)
    for name, got, want in zip(NAMES, disp, COL["disp"]):
        if want is None:
            assert math.isnan(got), f"case {name}: static failure must have a NULL displacement"
        else:
            assert got == pytest.approx(want, rel=RTOL, abs=1e-12), name


# ------------------------------------------------------------------------------------- landslide:newmark


@pytest.mark.qgis
def test_units_paper_golden_and_styled_output(paper_run, units, qgis_app):
    from qgis.core import QgsVectorLayer

    run, output = paper_run
    res = run.results
    assert res["N_UNITS"] == 6
    assert res["N_STATIC_FAILURES"] == 1  # case C
    assert res["MEAN_SUSCEPTIBILITY"] == pytest.approx(np.mean(COL["p"]), rel=RTOL)
    frame = gpd.read_file(output)
    _assert_paper_golden(frame)

    layer = QgsVectorLayer(str(output), "out", "ogr")
    assert layer.isValid()
    assert layer.crs().authid() == "EPSG:32645"
    assert layer.featureCount() == 6
    names = layer.fields().names()
    for field in ("name", "ct", "cohesion", "thick", "phi", "slope", "pga_pct", "pga_g"):
        assert field in names
    assert names[-4:] == ["fs", "ac_g", "disp_cm", "susceptibility"]
    renderer = layer.renderer()  # the default style stored in the GeoPackage
    assert renderer.type() == "graduatedSymbol"
    assert renderer.classAttribute() == "susceptibility"
    bounds = [(r.lowerValue(), r.upperValue()) for r in renderer.ranges()]
    np.testing.assert_allclose(bounds, [(0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0)])
    colours = [r.symbol().color() for r in renderer.ranges()]
    assert colours[0].green() > colours[0].red() and colours[-1].red() > colours[-1].green()  # green → red


@pytest.mark.qgis
def test_units_cohesion_and_thickness_equal_ct(qgis_run, paper_run, units):
    output = units["folder"] / "paper_cohesion.gpkg"
    run = qgis_run(
        "landslide:newmark",
        _unit_params(units["polygons"], output, COHESION_FIELD="cohesion", THICKNESS_FIELD="thick"),
    )
    assert run.returncode == 0, run.log
    by_ct = gpd.read_file(paper_run[1])
    by_cohesion = gpd.read_file(output)
    pd.testing.assert_frame_equal(
        by_cohesion[["fs", "ac_g", "disp_cm", "susceptibility"]],
        by_ct[["fs", "ac_g", "disp_cm", "susceptibility"]],
        rtol=1e-12,
    )
    assert run.results["N_STATIC_FAILURES"] == 1


@pytest.mark.qgis
def test_units_authors_code_on_points(qgis_run, units, qgis_app):
    from qgis.core import QgsSymbol, QgsVectorLayer

    output = units["folder"] / "code_points.gpkg"
    run = qgis_run(
        "landslide:newmark",
        _unit_params(units["points"], output, CT_FIELD="ct", PGA_FIELD="pga_g", PGA_UNITS=0, PHYSICS_MODE=1),
    )
    assert run.returncode == 0, run.log
    frame = gpd.read_file(output)
    np.testing.assert_allclose(frame["fs"], COL["code_fs"], rtol=RTOL)
    code_ac = (np.array(COL["code_fs"]) - 1) * np.sin(np.radians(COL["slope"]))
    np.testing.assert_allclose(frame["ac_g"], code_ac, rtol=RTOL)
    np.testing.assert_allclose(frame["disp_cm"], COL["code_disp"], rtol=RTOL)
    np.testing.assert_allclose(frame["susceptibility"], expit(np.array(COL["code_disp"]) - 5), rtol=RTOL)
    assert run.results["N_STATIC_FAILURES"] == 0  # the code clips FS to ≥ 1.2
    layer = QgsVectorLayer(str(output), "points", "ogr")
    renderer = layer.renderer()
    assert renderer.type() == "graduatedSymbol"
    assert {r.symbol().type() for r in renderer.ranges()} == {QgsSymbol.Marker}


@pytest.mark.qgis
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"CT_FIELD": "ct", "SLOPE_FIELD": "nope"}, "slope field 'nope' is not a field of the layer"),
        ({"CT_FIELD": "ct", "PGA_FIELD": "pga_g"}, "the values look like g already"),
        (
            {"CT_FIELD": "ct", "COHESION_FIELD": "cohesion", "THICKNESS_FIELD": "thick"},
            "Give either CT_FIELD (C/t, kPa/m) or COHESION_FIELD with THICKNESS_FIELD, not both",
        ),
        ({}, "Give CT_FIELD (C/t, kPa/m) or COHESION_FIELD (kPa) with THICKNESS_FIELD (m): neither is set"),
    ],
    ids=["missing-field", "g-declared-as-pct-g", "ct-and-cohesion", "neither"],
)
def test_units_bad_input(qgis_run, units, tmp_path, extra, message):
    output = tmp_path / "bad.gpkg"
    run = qgis_run("landslide:newmark", _unit_params(units["polygons"], output, **extra))
    assert run.returncode == 1
    assert message in run.log
    assert not output.exists()


# ------------------------------------------------------------------------------------- core: tables


def test_newmark_units_core_golden_and_validation(units):
    table = gpd.read_file(units["polygons"])
    result = newmark_units(table, "slope", "pga_pct", "phi", "%g", ct_field="ct")
    _assert_paper_golden(result.table)
    assert (result.n_units, result.n_static_failures) == (6, 1)
    assert result.table.crs == table.crs and "fs" not in table.columns  # a copy
    again = newmark_units(result.table, "slope", "pga_pct", "phi", 1, ct_field="ct")
    assert again.warnings == tuple(
        f"the input field {f!r} is replaced by the computed one" for f in ("fs", "ac_g", "disp_cm", "susceptibility")
    )

    def fails(frame, message, **kwargs):
        args = {"slope_field": "slope", "pga_field": "pga_pct", "phi_field": "phi", "pga_units": "%g"}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            newmark_units(frame, **args)

    holes = table.copy()
    holes.loc[[1, 3], "phi"] = np.nan
    fails(holes, r"friction-angle field 'phi' is NULL, NaN or infinite in 2 of 6 features", ct_field="ct")
    steep = table.assign(slope=[35, 30, 35, 0, 95, 40])
    fails(steep, r"slope field 'slope' must be in \(0, 90\] degrees; 2 of 6 features", ct_field="ct")
    thin = table.assign(thick=[2.5, 0, 2.5, 2.5, 2.5, 2.5])
    fails(thin, r"thickness field 'thick' must be > 0 m; 1 of 6", cohesion_field="cohesion", thickness_field="thick")
    fails(table, "'name' is not numeric", ct_field="name")
    fails(table, "a cohesion field .* needs a thickness field", cohesion_field="cohesion")
    fails(table, "either a C/t field", ct_field="ct", cohesion_field="cohesion", thickness_field="thick")
    fails(table.assign(pga_pct=table.pga_pct * 100), "above any recorded shaking", ct_field="ct")


# ------------------------------------------------------------------------------------- landslide:newmarkraster

UTM10 = "EPSG:32610"


def _write_untagged(path, values, transform):
    """A float32 GeoTIFF without a CRS."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(np.asarray(values, dtype=np.float32), 1)
    return path


@pytest.fixture(scope="module")
def golden_rasters(tmp_path_factory):
    """The golden cases as a 2 × 3 grid (30 m cells, UTM 45N): A B G / I D C. Friction has no CRS tag."""
    folder = tmp_path_factory.mktemp("golden_rasters")
    transform = Affine(30.0, 0.0, 500_000.0, 0.0, -30.0, 3_000_000.0)

    def grid(values):
        return np.array(values, dtype=float).reshape(2, 3)

    paths = {}
    for name, key in (("slope", "slope"), ("ct", "ct")):
        paths[name] = write_geotiff(folder / f"{name}.tif", grid(COL[key]).astype(np.float32), transform, "EPSG:32645")
    paths["pga"] = write_geotiff(
        folder / "pga_pct.tif", (100 * grid(COL["pga_g"])).astype(np.float32), transform, "EPSG:32645"
    )
    paths["friction"] = _write_untagged(folder / "friction.tif", grid(COL["phi"]), transform)
    return paths


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1).astype(float).ravel(), ds.crs, ds.transform


@pytest.mark.qgis
def test_raster_single_slope_golden(qgis_run, golden_rasters, tmp_path):
    out = {key: tmp_path / f"{key.lower()}.tif" for key in ("FS", "AC", "DISPLACEMENT", "PROBABILITY")}
    run = qgis_run(
        "landslide:newmarkraster",
        {
            "SLOPE": golden_rasters["slope"],
            "CT": golden_rasters["ct"],
            "FRICTION": golden_rasters["friction"],
            "PGA": golden_rasters["pga"],
            "PGA_UNITS": 1,
            **out,
        },
    )
    assert run.returncode == 0, run.log
    assert "has no CRS; its size and transform match those of the slope raster" in run.log
    fs, crs, transform = _read(out["FS"])
    assert crs.to_epsg() == 32645 and transform == Affine(30.0, 0.0, 500_000.0, 0.0, -30.0, 3_000_000.0)
    np.testing.assert_allclose(fs, COL["fs"], rtol=RTOL)
    np.testing.assert_allclose(_read(out["AC"])[0], COL["ac"], rtol=RTOL)
    disp = _read(out["DISPLACEMENT"])[0]
    np.testing.assert_allclose(disp[:5], COL["disp"][:5], rtol=RTOL)
    assert math.isnan(disp[5])  # C: static failure is nodata in the displacement map …
    np.testing.assert_allclose(_read(out["PROBABILITY"])[0], COL["p"], rtol=RTOL)  # … and probability 1


def _clip_slopes(loma, folder, shift_deg=0.0):
    """The 7 slope-quantile rasters cut to the target's 84 × 144 cells (optionally shifted east), as files."""
    lon, lat, _ = _read_target(loma / "godt_2008_target.nc")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SLOPE_QUANTILES:
        with rasterio.open(loma / "slopes" / f"{name}.tif") as ds:
            row, col = _cell_index(ds.transform, lon[0], lat[-1])  # the north-west target cell
            window = rasterio.windows.Window(int(col), int(row), lon.size, lat.size)
            transform = ds.window_transform(window)
            profile = {
                "driver": "GTiff",
                "width": lon.size,
                "height": lat.size,
                "count": 1,
                "dtype": "int16",
                "crs": ds.crs,
                "nodata": ds.nodata,
                "transform": Affine(transform.a, 0, transform.c + shift_deg, 0, transform.e, transform.f),
            }
            path = folder / f"{name}.tif"
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(ds.read(1, window=window), 1)
        paths.append(path)
    return paths


def _godt_params(loma, slopes, probability):
    return {
        "SLOPE_QUANTILES": slopes,
        "SLOPE_SCALE": 0.01,
        "COHESION": loma / "cohesion_10i_kPa.tif",
        "COHESION_SCALE": 0.1,
        "THICKNESS": 2.4,
        "UNIT_WEIGHT": 15.7,
        "FRICTION": loma / "friction_deg.tif",
        "SHAKEMAP": loma / "grid.xml",
        "FS_FLOOR": 1.01,
        "AC_FLOOR": 0.05,
        "NODATA_COHESION": 1,
        "NODATA_FRICTION": 26,
        "PROBABILITY": probability,
    }


@pytest.mark.qgis
def test_loma_prieta_godt2008_through_qgis_process(qgis_run, loma, tmp_path):
    lon, lat, target = _read_target(loma / "godt_2008_target.nc")
    slopes = _clip_slopes(loma, tmp_path / "slopes")
    output = tmp_path / "probability.tif"
    run = qgis_run("landslide:newmarkraster", _godt_params(loma, slopes, output))
    assert run.returncode == 0, run.log
    assert set(run.results) == {"PROBABILITY"}
    # cohesion and friction carry no CRS: accepted, and said so in the log
    assert "cohesion_10i_kPa.tif) has no CRS; it has the cell size of the slope-quantile raster 1" in run.log
    with rasterio.open(output) as ds:
        assert ds.crs.to_epsg() == 4326 and (ds.height, ds.width) == (84, 144)
        assert ds.xy(ds.height - 1, 0) == pytest.approx((lon[0], lat[0]), abs=1e-9)
        probability = ds.read(1).astype(float)
    north_up = target[::-1]  # the target's row 0 is the south edge
    matched = np.isclose(probability, north_up, rtol=0, atol=1e-6)  # float32 output
    assert matched.sum() == 12_096, f"{12_096 - matched.sum()} cells differ"


@pytest.mark.qgis
def test_raster_bad_input(qgis_run, loma, golden_rasters, tmp_path):
    shifted = _clip_slopes(loma, tmp_path / "shifted", shift_deg=0.5)  # 60 of the 144 columns leave the ShakeMap
    output = tmp_path / "probability.tif"
    run = qgis_run("landslide:newmarkraster", _godt_params(loma, shifted, output))
    assert run.returncode == 1
    assert "(lon -122.5…-121.3, lat 36.5…37.2) does not cover the raster grid: 5040 of 12096 cells" in run.log
    assert not output.exists()

    both = {
        "SLOPE": golden_rasters["slope"],
        "FRICTION": golden_rasters["friction"],
        "PGA": golden_rasters["pga"],
        "CT": golden_rasters["ct"],
        "COHESION": golden_rasters["ct"],
        "PROBABILITY": output,
    }
    run = qgis_run("landslide:newmarkraster", both)
    assert run.returncode == 1
    assert "Give either COHESION (kPa, with THICKNESS) or CT (kPa/m), not both or neither" in run.log
    assert not output.exists()


# ------------------------------------------------------------------------------------- core: rasters


def _utm_grid(folder, shape=(6, 8), cell=100.0, origin=(590_000.0, 4_100_000.0)):
    """Uniform slope 35°, C/t 2 kPa/m and friction 35° rasters on a UTM 10N grid."""
    transform = Affine(cell, 0.0, origin[0], 0.0, -cell, origin[1])
    paths = {}
    for name, value in (("slope", 35.0), ("ct", 2.0), ("friction", 35.0)):
        paths[name] = write_geotiff(folder / f"{name}.tif", np.full(shape, value, np.float32), transform, UTM10)
    return paths, transform


def _centres(transform, shape):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return transform * (cols + 0.5, rows + 0.5)


def test_pga_raster_is_interpolated_bilinearly(tmp_path):
    paths, transform = _utm_grid(tmp_path)
    # PGA linear in x and y on a coarser, offset grid: bilinear interpolation reproduces it exactly
    coarse = Affine(250.0, 0.0, 589_000.0, 0.0, -250.0, 4_101_000.0)
    cx, cy = _centres(coarse, (8, 9))

    def field(x, y):
        return 0.2 + 1e-4 * (x - 589_000.0) + 5e-5 * (4_101_000.0 - y)

    pga = write_geotiff(tmp_path / "pga_ms2.tif", field(cx, cy) * 9.80665, coarse, UTM10)
    maps = newmark_maps(
        RasterInputs(friction=paths["friction"], slope=paths["slope"], ct=paths["ct"], pga=pga, pga_unit="m/s2")
    )
    x, y = _centres(transform, (6, 8))
    expected = physics.newmark(2.0, 35.0, 35.0, field(x, y))
    np.testing.assert_allclose(maps.disp_cm, expected.disp_cm, rtol=1e-6)
    np.testing.assert_allclose(maps.probability, expected.probability, rtol=1e-6)
    assert maps.warnings == ()
    np.testing.assert_allclose(maps.ac_g, 0.088641, rtol=RTOL)  # case G's a_c everywhere


def test_shakemap_on_a_projected_grid(loma, tmp_path):
    from pyproj import Transformer

    paths, transform = _utm_grid(tmp_path, shape=(5, 7), cell=1000.0)
    maps = newmark_maps(
        RasterInputs(friction=paths["friction"], slope=paths["slope"], ct=paths["ct"], shakemap=loma / "grid.xml")
    )
    x, y = _centres(transform, (5, 7))
    lon, lat = Transformer.from_crs(UTM10, "EPSG:4326", always_xy=True).transform(x, y)
    pga_g = read_shakemap_grid(loma / "grid.xml").sample("PGA", lon, lat, unit="g")
    expected = physics.newmark(2.0, 35.0, 35.0, pga_g)
    np.testing.assert_allclose(maps.disp_cm, expected.disp_cm, rtol=1e-9)
    assert 0.5 < pga_g.min() and np.ptp(maps.disp_cm) > 1.0  # strong shaking near the epicentre, varying


def test_raster_fills_floors_and_errors(tmp_path):
    paths, transform = _utm_grid(tmp_path, shape=(2, 2))
    pga = write_geotiff(tmp_path / "pga.tif", np.full((2, 2), 0.3, np.float32), transform, UTM10)
    holes = write_geotiff(
        tmp_path / "coh.tif", np.array([[5.0, -1], [5, 5]], np.float32), transform, UTM10, nodata=-1.0
    )
    base = {"friction": paths["friction"], "slope": paths["slope"], "cohesion": holes, "thickness_m": 2.5, "pga": pga}
    left = newmark_maps(RasterInputs(**base))
    assert np.isnan(left.probability[0, 1]) and np.isfinite(left.probability).sum() == 3
    assert "1 cell(s) with slope data have no result" in left.warnings[0]
    filled = newmark_maps(RasterInputs(**base, nodata_cohesion=5.0))
    np.testing.assert_allclose(filled.fs, physics.factor_of_safety(2.0, 35, 35), rtol=1e-6)
    # floors: FS ≥ 1.3 lifts a_c to 0.3·sin 35°; a_c ≥ 0.25 g lifts it further
    floored = newmark_maps(RasterInputs(**base, nodata_cohesion=5.0, fs_floor=1.3))
    np.testing.assert_allclose(floored.ac_g, 0.3 * np.sin(np.radians(35)), rtol=1e-6)
    np.testing.assert_allclose(floored.fs, 1.3)
    floored = newmark_maps(RasterInputs(**base, nodata_cohesion=5.0, fs_floor=1.3, ac_floor_g=0.25))
    np.testing.assert_allclose(floored.disp_cm, physics.newmark_displacement(0.25, 0.3), rtol=1e-6)
    # slope-quantile mode: 7 × 35° on case G (D = 12.5 cm ≥ 5 cm) at PGA 0.5 g → Godt class 7 → 0.99
    strong = write_geotiff(tmp_path / "pga5.tif", np.full((2, 2), 0.5, np.float32), transform, UTM10)
    quantiles = (paths["slope"],) * 7
    godt = newmark_maps(
        RasterInputs(**{**base, "slope": None, "pga": strong}, slope_quantiles=quantiles, nodata_cohesion=5.0)
    )
    np.testing.assert_allclose(godt.probability, 0.99)
    assert godt.fs is None and set(godt.arrays()) == {"probability"}
    with pytest.raises(ValueError, match="not computed in slope-quantile mode"):
        write_newmark_maps(godt, {"fs": tmp_path / "fs.tif"})
    assert not (tmp_path / "fs.tif").exists()

    centi = write_geotiff(tmp_path / "slope100.tif", np.full((2, 2), 3500, np.int16), transform, UTM10)
    with pytest.raises(ValueError, match=r"set the slope scale to 0\.01"):
        newmark_maps(RasterInputs(**{**base, "slope": centi}))
    untagged = _write_untagged(tmp_path / "friction_5m.tif", np.full((40, 40), 35.0), Affine(5, 0, 0, 0, -5, 200))
    with pytest.raises(ValueError, match="has no CRS and does not fit the grid of the slope raster"):
        newmark_maps(RasterInputs(**{**base, "friction": untagged}))
    with pytest.raises(ValueError, match="'authors_code' is not available with slope quantiles"):
        newmark_maps(RasterInputs(**{**base, "slope": None}, slope_quantiles=quantiles, mode="authors_code"))
    far = write_geotiff(
        tmp_path / "pga_far.tif", np.full((2, 2), 0.3, np.float32), transform * Affine.translation(50, 0), UTM10
    )
    with pytest.raises(ValueError, match="has no values over the cells with slope data"):
        newmark_maps(RasterInputs(**{**base, "pga": far}))
    with pytest.raises(ValueError, match="either a PGA raster or a ShakeMap"):
        newmark_maps(RasterInputs(**{**base, "pga": None}))
