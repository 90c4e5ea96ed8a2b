"""The SNN's pixel mode: landslide:trainsnnraster and landslide:predict on a raster stack through the real
qgis_process, and the core's alignment, labelling and sampling."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject

from landslide_susceptibility.core import model_io
from landslide_susceptibility.core.io import write_geotiff
from landslide_susceptibility.core.snn_raster import (
    AlignedStack,
    Grid,
    check_output_path,
    grid_of,
    landslide_pixels,
    raster_bands,
    sample_pixels,
    tiling_pitch,
)

FEATURES = ("slope", "ct_true", "phi_true", "pga")
# A short schedule, the method and not its accuracy: Level 1, as Level 2's forward selection over 10 composites takes
# minutes on a CPU.
QUICK = {"LEVEL": 1, "TOURNAMENT_MODELS": 20, "FKD_ITERATIONS": 15, "SEED": 1}


def _read(path) -> tuple:
    with rasterio.open(path) as src:
        return src.read(1), src.profile


def _reprojected(path, target, crs: str) -> None:
    """The raster at ``path`` warped bilinearly to ``crs`` (its own grid there), written to ``target``."""
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        out = np.full((height, width), np.nan, np.float32)
        reproject(src.read(1), out, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
                  dst_crs=crs, resampling=Resampling.bilinear, src_nodata=src.nodata, dst_nodata=np.nan)  # fmt: skip
    write_geotiff(target, out, transform, crs, nodata=np.nan)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread_in_qgis_process():
    """qgis_process runs torch on one thread: on a 2-core machine shared with other jobs, two threads wait for each
    other at every operation and training is 10–20 times slower."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def region(qgis_run, tmp_path_factory):
    """A demo region with a pixel-scale inventory and a mask.

    The demo region's own landslides belong to failed slope units; here every pixel fails with the Newmark/Jibson
    probability of its own slope, true C/t, φ and PGA (a third of the pixels slide), and the mask leaves out a river
    band (0) and a nodata corner.
    """
    from rasterio import features
    from shapely.geometry import shape

    from landslide_susceptibility.core.physics import newmark
    from landslide_susceptibility.core.synthetic import failure_probability

    tmp = tmp_path_factory.mktemp("snn_raster")
    run = qgis_run("landslide:createdemoregion", {"SEED": 1, "SIZE": 96, "OUTPUT_FOLDER": tmp / "region"})
    assert run.returncode == 0, run.log
    rasters = {name: tmp / "region" / f"{name}.tif" for name in FEATURES}
    values = {name: _read(path)[0].astype(float) for name, path in rasters.items()}
    slope, profile = _read(rasters["slope"])
    disp = newmark(values["ct_true"], values["phi_true"], values["slope"], values["pga"], mode="paper").disp_cm
    failed = np.random.default_rng(0).random(slope.shape) < failure_probability(disp)
    shapes = features.shapes(failed.astype(np.uint8), mask=failed, transform=profile["transform"])
    slides = gpd.GeoDataFrame(geometry=[shape(g) for g, _ in shapes], crs=profile["crs"])
    slides.to_file(tmp / "slides.gpkg", driver="GPKG")
    mask = np.ones(slope.shape, np.uint8)
    mask[40:47] = 0
    mask[:10, :10] = 255
    write_geotiff(tmp / "mask.tif", mask, profile["transform"], profile["crs"], nodata=255)
    return {"tmp": tmp, "rasters": rasters, "slides": tmp / "slides.gpkg", "mask": mask, "failed": failed}


@pytest.fixture(scope="module")
def trained(qgis_run, region):
    tmp = region["tmp"]
    run = qgis_run(
        "landslide:trainsnnraster",
        {"RASTERS": [region["rasters"][n] for n in FEATURES], "LANDSLIDES": region["slides"],
         "MASK": tmp / "mask.tif", **QUICK, "OUTPUT": tmp / "st.tif", "MODEL": tmp / "snn.lsm",
         "REPORT": tmp / "snn.html", "JACOBIAN": 1},  # float32 Jacobians, as for large rasters
    )  # fmt: skip
    assert run.returncode == 0, run.log
    return run


def test_training_raster_is_on_the_grid_with_nodata_where_masked(trained, region, qgis_app):
    from qgis.core import QgsRasterLayer

    res = trained.results
    assert "torch CPU threads: torch default" in trained.json["log"]["info"]  # THREADS 0, no QGIS max set
    st, profile = _read(res["OUTPUT"])
    _, reference = _read(region["rasters"]["slope"])
    assert st.shape == (96, 96) and profile["dtype"] == "float32"
    assert profile["transform"] == reference["transform"] and profile["crs"] == reference["crs"]
    kept = region["mask"] == 1
    assert np.isnan(st[~kept]).all() and np.isfinite(st[kept]).all()
    assert res["N_PIXELS"] == kept.sum() == res["N_SAMPLES"]
    assert res["N_LANDSLIDE_PIXELS"] == (region["failed"] & kept).sum()
    # measured on this region: SNN 0.95, teacher 0.97, logistic regression 0.98, likelihood ratio 0.92
    assert res["AUC"] > 0.85
    for key in ("AUC_TEACHER", "AUC_LOGISTIC", "AUC_LIKELIHOOD_RATIO"):
        assert 0.8 < res[key] <= 1.0, key
    model = model_io.load_model(res["MODEL"], expected_kind="snn")
    assert model.meta["mode"] == "pixel" and model.meta["input_names"] == list(FEATURES)
    assert rasterio.crs.CRS.from_wkt(model.meta["crs"]) == reference["crs"]
    layer = QgsRasterLayer(str(res["OUTPUT"]), "st")  # opens with its .qml sidecar: the green–yellow–red ramp
    assert layer.renderer().type() == "singlebandpseudocolor"
    ramp = layer.renderer().shader().rasterShaderFunction().colorRampItemList()
    assert [item.color.name() for item in (ramp[0], ramp[-1])] == ["#1a9850", "#d73027"]
    html = open(res["REPORT"], encoding="utf-8").read()
    assert "stable pixels" in html and "lattice of 12 cells" in html and html.count("data:image/png") >= 4


def test_predict_on_the_same_rasters_gives_the_training_raster(qgis_run, trained, region):
    out = region["tmp"] / "predicted.tif"
    run = qgis_run(
        "landslide:predict",
        {"RASTERS": [region["rasters"][n] for n in FEATURES], "MODEL": trained.results["MODEL"],
         "OUTPUT_RASTER": out},
    )  # fmt: skip
    assert run.returncode == 0, run.log
    train, _ = _read(trained.results["OUTPUT"])
    predicted, _ = _read(out)
    valid = np.isfinite(train)
    np.testing.assert_allclose(predicted[valid], train[valid], rtol=0, atol=1e-6)
    assert np.isfinite(predicted).all()  # predict has no mask: every pixel with features
    assert run.results["N_PIXELS"] == 96 * 96
    assert (region["tmp"] / "predicted.qml").exists()


def test_raster_in_another_crs_is_aligned(qgis_run, trained, region):
    """Slope warped to geographic coordinates and back onto the grid by predict: S_t is the model applied to the
    slope warped back by GDAL (so the alignment is right), and close to the training S_t."""
    from landslide_susceptibility.core.snn import SNNModel

    other = region["tmp"] / "geographic"
    other.mkdir()
    _reprojected(region["rasters"]["slope"], other / "slope.tif", "EPSG:4326")
    model = SNNModel.from_model_file(model_io.load_model(trained.results["MODEL"]))
    assert "slope" in model.names  # the warped raster counts in S_t
    out = region["tmp"] / "aligned.tif"
    rasters = [
        region["rasters"]["pga"],
        region["rasters"]["ct_true"],
        region["rasters"]["phi_true"],
        other / "slope.tif",
    ]
    run = qgis_run("landslide:predict", {"RASTERS": rasters, "MODEL": trained.results["MODEL"], "OUTPUT_RASTER": out})
    assert run.returncode == 0, run.log
    aligned, profile = _read(out)
    train, reference = _read(trained.results["OUTPUT"])
    assert profile["crs"] == reference["crs"] and profile["transform"] == reference["transform"]
    with rasterio.open(other / "slope.tif") as src:
        slope = np.full(train.shape, np.nan)
        reproject(src.read(1), slope, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                  dst_transform=reference["transform"], dst_crs=reference["crs"], dst_nodata=np.nan,
                  resampling=Resampling.bilinear)  # fmt: skip
    values = {n: _read(region["rasters"][n])[0].astype(float) for n in FEATURES}
    values["slope"] = slope
    expected = model.predict(np.column_stack([values[n].ravel() for n in model.input_names])).reshape(train.shape)
    np.testing.assert_allclose(aligned, expected, atol=1e-5, equal_nan=True)
    both = np.isfinite(train) & np.isfinite(aligned)
    assert both.sum() > 0.99 * np.isfinite(train).sum()  # only a rim of edge pixels is lost
    diff = np.abs(aligned[both] - train[both])
    # measured: median 0.033, correlation 0.81 (S_t ∈ [0, 1]) — slope varies from cell to cell and is interpolated
    # twice, on the way out of the grid and back
    assert np.median(diff) < 0.05 and np.corrcoef(aligned[both], train[both])[0, 1] > 0.7


def test_predict_names_the_missing_raster(qgis_run, trained, region):
    out = region["tmp"] / "missing.tif"
    rasters = [region["rasters"][n] for n in ("slope", "ct_true", "pga")]
    run = qgis_run("landslide:predict", {"RASTERS": rasters, "MODEL": trained.results["MODEL"], "OUTPUT_RASTER": out})
    assert run.returncode == 1
    assert "no raster named 'phi_true'" in run.log
    assert not out.exists()


def test_model_kinds_must_fit_the_input(qgis_run, trained, region, tmp_path):
    pixel_model = trained.results["MODEL"]
    run = qgis_run("landslide:predict", {"INPUT": region["tmp"] / "region" / "slope_units.gpkg", "MODEL": pixel_model})
    assert run.returncode == 1
    assert "lack field(s) 'slope'" in run.log and "RASTERS" in run.log
    run = qgis_run("landslide:predict", {"MODEL": pixel_model})
    assert run.returncode == 1 and "needs the rasters (RASTERS)" in run.log
    units_model = model_io.load_model(pixel_model)
    del units_model.meta["mode"]  # the same SNN as if trained on slope units
    model_io.save_model(tmp_path / "units.lsm", units_model)
    run = qgis_run(
        "landslide:predict",
        {"RASTERS": list(region["rasters"].values()), "MODEL": tmp_path / "units.lsm",
         "OUTPUT_RASTER": tmp_path / "x.tif"},
    )  # fmt: skip
    assert run.returncode == 1
    assert "slope-unit SNN" in run.log and "give the units (INPUT)" in run.log
    assert not (tmp_path / "x.tif").exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("one raster", "at least 2 features"),
        ("landslides elsewhere", "no landslide polygon holds the centre of a raster pixel"),
    ],
)
def test_bad_input(qgis_run, region, tmp_path, case, message):
    rasters = [region["rasters"][n] for n in FEATURES]
    slides = region["slides"]
    if case == "one raster":
        rasters = rasters[:1]
    else:
        moved = gpd.read_file(slides)
        moved.geometry = moved.geometry.translate(xoff=50_000.0)
        slides = tmp_path / "elsewhere.gpkg"
        moved.to_file(slides, driver="GPKG")
    run = qgis_run(
        "landslide:trainsnnraster",
        {"RASTERS": rasters, "LANDSLIDES": slides, **QUICK, "OUTPUT": tmp_path / "o.tif", "MODEL": tmp_path / "m.lsm"},
    )
    assert run.returncode == 1
    assert message in run.log
    assert not (tmp_path / "o.tif").exists() and not (tmp_path / "m.lsm").exists()


# ----------------------------------------------------------------------------------------------- core


CRS = "EPSG:32645"
TRANSFORM = Affine(30.0, 0.0, 300_000.0, 0.0, -30.0, 3_100_000.0)


def _smooth(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A smooth test field at (fractional) pixel-centre coordinates of the 30 m grid."""
    return (np.sin(rows / 9.0) + np.cos(cols / 13.0) + 0.001 * rows * cols).astype(np.float32)


def _smooth_field(shape: tuple) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return _smooth(rows, cols)


def test_stack_aligns_a_raster_from_another_crs_and_cell_size(tmp_path):
    field = _smooth_field((80, 90))
    write_geotiff(tmp_path / "a.tif", field, TRANSFORM, CRS)
    _reprojected(tmp_path / "a.tif", tmp_path / "geo.tif", "EPSG:4326")
    rows, cols = np.mgrid[0:40, 0:45]
    coarse = _smooth(2 * rows + 1.5, 2 * cols + 1.5)  # a 60 m grid shifted by one cell, at its cell centres
    write_geotiff(tmp_path / "coarse.tif", coarse, TRANSFORM * Affine.translation(1, 1) * Affine.scale(2), CRS)
    bands = raster_bands([(tmp_path / "a.tif", "a"), (tmp_path / "geo.tif", "b"), (tmp_path / "coarse.tif", "c")])
    grid = grid_of(bands[0])
    with AlignedStack(bands, grid) as stack:
        assert list(stack.blocks()) == [(0, 80)]  # a small grid is one block
        values = stack.read((0, 80))
    np.testing.assert_array_equal(values[0], field)
    inner = (slice(3, -3), slice(3, -3))  # bilinear weights are cut at a raster's edge
    assert np.isfinite(values[1][inner]).all()
    assert np.abs(values[1] - field)[inner].max() < 0.02  # interpolated twice
    assert np.isnan(values[2][0]).all() and np.isnan(values[2][:, 0]).all()  # outside the coarse raster
    assert np.abs(values[2] - field)[inner].max() < 0.02  # bilinear between cells twice as large


def test_multiband_names_and_clashes(tmp_path):
    stack = np.stack([_smooth_field((10, 10))] * 3)
    write_geotiff(tmp_path / "soil.tif", stack, TRANSFORM, CRS, band_names=["sand", "", "clay"])
    bands = raster_bands([(tmp_path / "soil.tif", "soil")])
    assert [(b.name, b.band) for b in bands] == [("sand", 1), ("soil_b2", 2), ("clay", 3)]
    write_geotiff(tmp_path / "clay.tif", stack[0], TRANSFORM, CRS)
    with pytest.raises(ValueError, match="'clay' occur more than once"):
        raster_bands([(tmp_path / "soil.tif", "soil"), (tmp_path / "clay.tif", "clay")])


def test_landslides_in_another_crs_label_the_same_pixels():
    grid = Grid(rasterio.crs.CRS.from_user_input(CRS), TRANSFORM, 60, 60)
    from shapely.geometry import box

    x0, y0 = 300_000.0, 3_100_000.0
    slides = gpd.GeoDataFrame(
        geometry=[box(x0 + 300, y0 - 900, x0 + 750, y0 - 450), box(x0 + 1200, y0 - 1500, x0 + 1290, y0 - 1410)],
        crs=CRS,
    )
    label = landslide_pixels(slides, grid)
    assert label.sum() == 15 * 15 + 3 * 3  # pixel centres inside the boxes
    geographic = landslide_pixels(slides.to_crs("EPSG:4326"), grid)
    assert (geographic != label).sum() <= 4  # edges curve slightly in the projection


def test_sampling_keeps_every_landslide_pixel():
    rng = np.random.default_rng(3)
    valid = rng.random((50, 40)) < 0.9
    label = rng.random((50, 40)) < 0.05
    everything = sample_pixels(valid, label, 0, seed=1)
    np.testing.assert_array_equal(everything, np.flatnonzero(valid))
    index = sample_pixels(valid, label, 500, seed=1)
    assert index.size == 500 and np.all(np.diff(index) > 0) and valid.ravel()[index].all()
    assert set(np.flatnonzero(valid & label)) <= set(index)


def test_tiling_pitch_in_cells():
    grid = Grid(rasterio.crs.CRS.from_user_input(CRS), TRANSFORM, 400, 300)
    assert tiling_pitch(grid, 0) == 13  # the authors' lattice
    assert tiling_pitch(Grid(grid.crs, TRANSFORM, 64, 48), 0) == 8  # an eighth of a small raster
    assert tiling_pitch(grid, 600.0) == 20
    with pytest.raises(ValueError, match="at least 4 cells"):
        tiling_pitch(grid, 60.0)
    with pytest.raises(ValueError, match="not smaller than the raster"):
        tiling_pitch(grid, 400 * 30.0)


def test_an_input_is_never_the_output(tmp_path):
    write_geotiff(tmp_path / "slope.tif", _smooth_field((4, 4)), TRANSFORM, CRS)
    with pytest.raises(ValueError, match="is an input raster"):
        check_output_path(tmp_path / "." / "slope.tif", [tmp_path / "slope.tif", None])
    check_output_path(tmp_path / "st.tif", [tmp_path / "slope.tif", None])
