"""The physics-informed network (core/pinn.py) and its synthetic slope-unit table (core/synthetic_table.py)."""

from __future__ import annotations

import html
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from landslide_susceptibility.core import physics, pinn, synthetic_table
from landslide_susceptibility.core.model_io import ModelFile, load_model, save_model
from landslide_susceptibility.core.progress import Cancelled
from landslide_susceptibility.core.report import pinn_report
from landslide_susceptibility.core.validation import roc_auc, spatial_folds, threshold_nearest_corner

# Small networks: the properties tested here do not depend on the paper's depth of 15 hidden blocks.
FAST = pinn.PINNConfig(epochs=100, depth=4, batch_size=256, threads=1, device="cpu", seed=0)
TINY = pinn.PINNConfig(epochs=4, depth=2, width=16, batch_size=128, threads=1, device="cpu", seed=3)


def as_data(frame: pd.DataFrame, label: bool = True, **kwargs) -> pinn.PINNData:
    a = frame.attrs
    return pinn.PINNData.from_frame(
        frame,
        a["numeric"],
        a["categorical"],
        label=a["label"] if label else None,
        slope=a["slope"],
        pga=a["pga"],
        x=a["x"],
        y=a["y"],
        **kwargs,
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_unit_table(5000, seed=0)


def synthetic_unit_table(n: int, seed: int) -> pd.DataFrame:
    return synthetic_table.synthetic_unit_table(n, n_numeric=12, n_geology=9, seed=seed)


@pytest.fixture(scope="module")
def trained(frame):
    return pinn.train_pinn(as_data(frame), FAST)


# ------------------------------------------------------------------------------------------- synthetic table


def test_synthetic_table_is_realistic_and_physical():
    df = synthetic_unit_table(3000, seed=4)
    assert list(df.attrs["numeric"]) == list(synthetic_table.FEATURES)
    assert 0.10 <= df["landslide"].mean() <= 0.30
    assert df["slope_deg"].between(10, 60).all() and df["pga_g"].between(0.05, 0.8).all()
    assert df["geology"].nunique() == 9
    np.testing.assert_allclose(df[["sand_pct", "silt_pct", "clay_pct"]].sum(axis=1), 100.0)
    assert df["true_ct_kpa_m"].between(0.2, 40).all() and df["true_phi_deg"].between(18, 50).all()
    truth = physics.newmark(df["true_ct_kpa_m"], df["true_phi_deg"], df["slope_deg"], df["pga_g"], "paper")
    np.testing.assert_allclose(df["true_ac_g"], truth.ac_g)
    np.testing.assert_allclose(df["true_probability"], truth.probability)
    # Labels follow the true probability; units look like their neighbours (spatial structure).
    assert roc_auc(df["landslide"], df["true_probability"]) > 0.95
    _, nearest = cKDTree(df[["x", "y"]].to_numpy()).query(df[["x", "y"]].to_numpy(), k=2)
    for name in ("precipitation_mm", "sand_pct", "pga_g"):
        values = df[name].to_numpy()
        assert np.corrcoef(values, values[nearest[:, 1]])[0, 1] > 0.7, name
    again = synthetic_unit_table(3000, seed=4)
    pd.testing.assert_frame_equal(df, again)


def test_synthetic_table_options():
    df = synthetic_table.synthetic_unit_table(200, n_numeric=14, n_geology=4, seed=1)
    assert df.attrs["numeric"][-2:] == ["noise_1", "noise_2"] and df["geology"].nunique() <= 4
    with pytest.raises(ValueError, match="n_units"):
        synthetic_table.synthetic_unit_table(5)


# ------------------------------------------------------------------------------------------- trained model


def test_pinn_beats_logistic_baseline_and_nears_the_truth(frame, trained):
    y = frame["landslide"].to_numpy()
    test = (trained.outputs["split"] == "test").to_numpy()
    auc = trained.metrics["test"]["auc"]
    assert auc == pytest.approx(roc_auc(y[test], trained.outputs["susceptibility"][test]))
    true_auc = roc_auc(y[test], frame["true_probability"][test])
    assert auc >= 0.95 * true_auc
    assert auc >= trained.metrics["baseline"]["test"]["auc"]
    assert trained.metrics["test"]["balanced_accuracy"] > 0.8


def test_retrieved_parameters_are_physical(frame, trained):
    out = trained.outputs
    assert spearmanr(out["ac_g"], frame["true_ac_g"]).correlation >= 0.8
    assert out["ct_kpa_m"].between(0.1, 50).mean() >= 0.95
    assert out["phi_deg"].between(15, 55).mean() >= 0.95
    assert 0.5 <= out["ct_kpa_m"].median() <= 30


def test_outputs_follow_the_physics_and_the_validation_threshold(frame, trained):
    out = trained.outputs
    exact = physics.newmark(out["ct_kpa_m"], out["phi_deg"], frame["slope_deg"], frame["pga_g"], "paper")
    np.testing.assert_allclose(out["fs"], exact.fs, rtol=1e-9)
    np.testing.assert_allclose(out["ac_g"], exact.ac_g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["susceptibility"], physics.scatter_probability(out["disp_cm"]), rtol=1e-9)
    moving = (exact.disp_cm > 1e-3) & (exact.disp_cm < 1e3)  # where the smooth torch physics is exact
    assert moving.sum() > 100
    np.testing.assert_allclose(out["disp_cm"][moving], exact.disp_cm[moving], rtol=1e-6)
    y = frame["landslide"].to_numpy()
    val = (out["split"] == "val").to_numpy()
    p = out["susceptibility"].to_numpy()
    threshold = trained.model.threshold
    assert threshold == threshold_nearest_corner(y[val], p[val])
    np.testing.assert_array_equal(out["pred"], (p >= threshold).astype(int))
    assert set(out.loc[(out["pred"] == 1) & (y == 0), "confusion"]) == {"FP"}
    assert (out["split"].value_counts(normalize=True).round(2).to_dict()) == {"train": 0.7, "val": 0.15, "test": 0.15}
    history = trained.history["holdout"]
    best, start = history["best_epoch"][0], pinn.selection_start(trained.model.config)
    assert start == 11 and best >= start
    assert history["val_auc"][0][best - 1] == max(history["val_auc"][0][start - 1 :])  # best after the warm-up


def test_reloaded_model_predicts_exactly_what_training_reported(frame, trained, tmp_path):
    path = save_model(tmp_path / "pinn.lsm", trained.model.to_model_file())
    model = pinn.PINNModel.from_model_file(load_model(path, "pinn"))
    assert model.encoding.input_names[:2] == ["slope_deg", "eastness"] and model.threshold == trained.model.threshold
    unlabelled = as_data(frame.drop(columns="landslide"), label=False)
    prediction = model.predict(unlabelled).to_frame()
    for name in (*pinn.OUTPUTS, "pred"):
        np.testing.assert_array_equal(prediction[name].to_numpy(), trained.outputs[name].to_numpy(), err_msg=name)


def test_raising_pga_never_lowers_the_probability(frame, trained):
    data = as_data(frame)
    model = trained.model
    base = model.predict(data)
    np.testing.assert_array_equal(model.predict(data, pga_g=data.pga_g).susceptibility, base.susceptibility)
    previous = None
    for factor in (0.25, 0.5, 1.0, 1.5, 1.875):
        scenario = model.predict(data, pga_g=data.pga_g * factor)
        np.testing.assert_array_equal(scenario.ct_kpa_m, base.ct_kpa_m)  # the ground does not change
        if previous is not None:
            assert (scenario.susceptibility >= previous.susceptibility).all()
            assert (scenario.disp_cm >= previous.disp_cm).all()
        previous = scenario
    assert previous.susceptibility.mean() > base.susceptibility.mean() + 0.05
    assert model.predict(data, pga_g=0.3).susceptibility.shape == (data.n_units,)
    with pytest.raises(ValueError, match="scenario PGA"):
        model.predict(data, pga_g=30.0)


def test_unseen_geology_and_missing_features_at_prediction(frame, trained):
    other = frame.copy()
    other.loc[:10, "geology"] = "G_new"
    out = trained.model.predict(as_data(other))
    assert np.isfinite(out.susceptibility).all()
    fewer = pinn.PINNData.from_frame(frame, ["slope_deg"], ["geology"], slope="slope_deg", pga="pga_g")
    with pytest.raises(ValueError, match=r"lacks the model's feature.*'eastness'"):
        trained.model.predict(fewer)


def test_the_network_is_chosen_after_the_warm_up(small):
    config = replace(TINY, epochs=12, depth=0, learning_rate=0.2)  # a coarse step: validation AUC wanders
    results = {w: pinn.train_pinn(small, replace(config, selection_warmup=w)) for w in (0.0, 0.5)}
    curve = np.asarray(results[0.0].history["holdout"]["val_auc"][0])
    np.testing.assert_array_equal(results[0.5].history["holdout"]["val_auc"][0], curve)  # same training
    assert results[0.0].metrics["best_epoch"] == np.argmax(curve) + 1
    assert results[0.5].metrics["best_epoch"] == np.argmax(curve[6:]) + 7
    assert np.argmax(curve) < 6, "the test needs a validation AUC that peaks in the warm-up"
    late = results[0.5]
    assert not np.array_equal(late.outputs["ac_g"], results[0.0].outputs["ac_g"])
    page = pinn_report(late, small.label).to_html()
    assert html.escape(f"kept at epoch {late.metrics['best_epoch']}, where its validation AUC was highest from "
                       "epoch 7 on") in page


def test_model_file_checks(trained):
    mf = trained.model.to_model_file()
    with pytest.raises(ValueError, match="not a PINN"):
        pinn.PINNModel.from_model_file(ModelFile("snn", mf.meta, mf.arrays))
    arrays = dict(mf.arrays, w1=mf.arrays["w1"][:3])
    with pytest.raises(ValueError, match="do not match"):
        pinn.PINNModel.from_model_file(ModelFile("pinn", mf.meta, arrays))


# ------------------------------------------------------------------------------------------- training machinery


@pytest.fixture(scope="module")
def small():
    return as_data(synthetic_unit_table(1200, seed=5))


def test_same_seed_same_results(small):
    a = pinn.train_pinn(small, TINY)
    b = pinn.train_pinn(small, TINY)
    pd.testing.assert_frame_equal(a.outputs, b.outputs)
    for stage in a.history.values():
        stage.pop("group_seconds")  # wall times
    for stage in b.history.values():
        stage.pop("group_seconds")
    assert a.history == b.history
    c = pinn.train_pinn(small, replace(TINY, seed=4))
    assert not np.array_equal(a.outputs["susceptibility"], c.outputs["susceptibility"])


def test_cross_validation_and_bootstraps(small):
    result = pinn.train_pinn(small, TINY, validation=["random_kfold", "spatial_kfold"], folds=3, bootstraps=4)
    out, y = result.outputs, small.label
    np.testing.assert_array_equal(out["spatial_cv_fold"], spatial_folds(small.xy, 3, TINY.seed) + 1)
    for scheme, prefix in pinn.CV_PREFIX.items():
        cv = result.metrics["cv"][scheme]
        assert sorted(out[f"{prefix}_fold"].unique()) == [1, 2, 3]
        assert out[f"{prefix}_oof"].notna().all()
        for f in range(3):
            rows = (out[f"{prefix}_fold"] == f + 1).to_numpy()
            assert cv["auc"][f] == pytest.approx(roc_auc(y[rows], out.loc[rows, f"{prefix}_oof"]))
        assert cv["auc_min"] <= cv["auc_mean"] <= cv["auc_max"]
        assert len(result.metrics["baseline"][scheme]["auc"]) == 3
        history = result.history[scheme]
        assert np.asarray(history["val_auc"]).shape == (3, TINY.epochs)
        for curve, best in zip(history["val_auc"], history["best_epoch"]):
            assert curve[best - 1] == max(curve)  # each member keeps its own best epoch (4 epochs: no warm-up)
    for quantity in pinn.BOOTSTRAP_QUANTITIES:
        lo, mid, hi = (out[f"{quantity}_p{q:02d}"].to_numpy() for q in pinn.BOOTSTRAP_PERCENTILES)
        assert (lo <= mid).all() and (mid <= hi).all() and (hi > lo).any()
    assert len(result.metrics["bootstrap"]["test_auc"]) == 4
    assert np.asarray(result.history["bootstrap"]["loss"]).shape == (4, TINY.epochs)


def test_vectorised_members_equal_members_trained_one_at_a_time(small):
    together = pinn.train_pinn(small, TINY, validation="random_kfold", folds=3, bootstraps=3)
    apart = pinn.train_pinn(
        small, replace(TINY, max_members=1, workers=2), validation="random_kfold", folds=3, bootstraps=3
    )
    # Equal up to float32 rounding, which batched and single matrix products order differently.
    for name in ("random_cv_oof", "susceptibility_p50", "ct_kpa_m_p05", "phi_deg_p95"):
        np.testing.assert_allclose(together.outputs[name], apart.outputs[name], rtol=5e-3, atol=1e-5, err_msg=name)
    assert len(apart.history["bootstrap"]["group_seconds"]) == 3


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_reports_and_cancellation_is_prompt(small, workers):
    config = replace(TINY, epochs=200, workers=workers)
    calls = []

    def progress(fraction: float, message: str) -> None:
        calls.append((time.monotonic(), fraction, message))
        if len(calls) == 6:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        pinn.train_pinn(small, config, validation="random_kfold", folds=3, progress=progress)
    assert time.monotonic() - calls[-1][0] < 2.0
    fractions = [c[1] for c in calls]
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 0.5
    assert max(np.diff([c[0] for c in calls])) < 1.5


def test_authors_code_physics_trains(small):
    result = pinn.train_pinn(small, replace(TINY, physics_mode="authors_code", loss="eq4", class_weight=5.0))
    assert np.isfinite(result.outputs[list(pinn.OUTPUTS)].to_numpy()).all()
    assert result.outputs["fs"].between(1.2, 15).all()  # the code's clip
    assert result.model.to_model_file().meta["physics_mode"] == "authors_code"


def test_gpu_when_present(small):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pinn.train_pinn(small, replace(TINY, device="cuda"))
        return
    result = pinn.train_pinn(small, replace(TINY, device="cuda"))
    assert np.isfinite(result.outputs["susceptibility"]).all()


# ------------------------------------------------------------------------------------------- bad input


def test_bad_tables_get_clear_messages():
    df = synthetic_unit_table(300, seed=6)
    a = df.attrs

    def build(frame, **kw):
        args = {
            "numeric": a["numeric"],
            "categorical": ["geology"],
            "label": "landslide",
            "slope": "slope_deg",
            "pga": "pga_g",
            **kw,
        }
        return pinn.PINNData.from_frame(frame, **args)

    with pytest.raises(ValueError, match=r"3 slope unit\(s\).*at least 20"):
        build(df.head(3))
    with pytest.raises(ValueError, match=r"'relief'.*not found"):
        build(df, numeric=["relief", "ndvi"])
    with pytest.raises(ValueError, match="'geology' is not numeric"):
        build(df, numeric=["geology"], categorical=[])
    nan = df.copy()
    nan.loc[[1, 5, 9], "ndvi"] = np.nan
    with pytest.raises(ValueError, match=r"'ndvi' has 3 missing \(NaN\)"):
        build(nan)
    with pytest.raises(ValueError, match="single class"):
        build(df.assign(landslide=0))
    with pytest.raises(ValueError, match=r"slope field 'slope_deg' must lie in \(0, 90\)"):
        build(df.assign(slope_deg=df["slope_deg"].where(df.index != 7, 0.0)))
    with pytest.raises(ValueError, match="%g"):
        build(df.assign(pga_g=df["pga_g"] * 100))  # %g values declared as g
    assert build(df.assign(pga_g=df["pga_g"] * 100), pga_unit="%g").pga_g == pytest.approx(df["pga_g"])
    with pytest.raises(ValueError, match="PGA field 'pga_g' is also a network feature"):
        build(df, numeric=[*a["numeric"], "pga_g"])
    with pytest.raises(ValueError, match="label field 'landslide' is also a feature"):
        build(df, numeric=[*a["numeric"], "landslide"])
    counts = build(df.assign(landslide=df["landslide"] * 3)).label  # counts > 0 are landslides
    np.testing.assert_array_equal(counts, df["landslide"])


def test_too_few_landslides_for_the_folds():
    df = synthetic_unit_table(300, seed=6)
    few = df.copy()
    keep = np.flatnonzero(few["landslide"].to_numpy() == 1)[12:]
    few.loc[keep, "landslide"] = 0  # 12 landslides left
    data = as_data(few)
    with pytest.raises(ValueError, match="20 folds need at least 20 landslide"):
        pinn.train_pinn(data, TINY, validation="random_kfold", folds=20)
    very_few = df.copy()
    very_few.loc[np.flatnonzero(df["landslide"].to_numpy() == 1)[5:], "landslide"] = 0
    with pytest.raises(ValueError, match=r"5 with and 295 without landslides.*10 of each class"):
        pinn.train_pinn(as_data(very_few), TINY)  # 5 landslides
    with pytest.raises(ValueError, match="unknown validation scheme"):
        pinn.train_pinn(as_data(df), TINY, validation="loo")


def test_bad_configurations():
    with pytest.raises(ValueError, match="dropout"):
        pinn.PINNConfig(dropout=1.2)
    with pytest.raises(ValueError, match="physics_mode"):
        pinn.PINNConfig(physics_mode="jibson")
    with pytest.raises(ValueError, match="device"):
        pinn.PINNConfig(device="tpu")
    with pytest.raises(ValueError, match="epochs"):
        pinn.PINNConfig(epochs=0)
    with pytest.raises(ValueError, match=r"selection_warmup must lie in \[0, 1\)"):
        pinn.PINNConfig(selection_warmup=1.0)
    config = pinn.PINNConfig(depth=3, split=[0.6, 0.2, 0.2])
    assert pinn.PINNConfig.from_dict(config.to_dict()) == config


def test_an_error_in_one_worker_stops_them_all(small, monkeypatch):
    calls = []
    real_inputs = pinn._inputs

    def failing(*args):
        calls.append(time.monotonic())
        if len(calls) == 2:  # the first bootstrap group, while the hold-out model trains in the other worker
            raise RuntimeError("boom")
        return real_inputs(*args)

    monkeypatch.setattr(pinn, "_inputs", failing)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="boom"):
        pinn.train_pinn(small, replace(TINY, epochs=500, workers=2, max_members=1), bootstraps=4)
    assert time.monotonic() - started < 5.0  # 500 epochs of the hold-out model alone take about 8 s


def test_depth_and_learning_rate_follow_the_table_size_and_older_model_files_load():
    small, large = pinn.resolve_config(pinn.PINNConfig(), 9_999), pinn.resolve_config(pinn.PINNConfig(), 10_000)
    assert (small.depth, small.learning_rate, small.prior_weight) == (
        0, pinn.LINEAR_LEARNING_RATE, pinn.LINEAR_PRIOR_WEIGHT
    )
    assert (large.depth, large.learning_rate, large.prior_weight) == (
        pinn.PAPER_DEPTH, pinn.PAPER_LEARNING_RATE, pinn.DEEP_PRIOR_WEIGHT
    )
    assert pinn.resolve_config(pinn.PINNConfig(depth=3), 50).learning_rate == pinn.PAPER_LEARNING_RATE
    assert pinn.resolve_config(pinn.PINNConfig(depth=0, learning_rate=0.5), 50_000).learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        pinn.PINNConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="prior_weight must be ≥ 0"):
        pinn.PINNConfig(prior_weight=-1.0)
    old = pinn.PINNConfig.from_dict({"depth": 15})  # written before the linear path and the warm-up
    assert old.linear_path is False and old.selection_warmup == 0.0
    with pytest.raises(ValueError, match="depth must be a whole number ≥ 0"):
        pinn.PINNConfig(depth=-1)
