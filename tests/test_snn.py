"""Superposable neural network: building blocks with golden values, a synthetic additive problem with known
curves, the real NE-India slope units, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landslide_susceptibility.core import snn
from landslide_susceptibility.core.composites import build_composites, composite_name, composite_terms
from landslide_susceptibility.core.model_io import load_model, save_model
from landslide_susceptibility.core.validation import (
    TILING_TEST,
    TILING_TRAIN,
    TILING_VAL,
    Split,
    holdout_split,
    mask_split,
    pythagorean_tiling_mask,
    pythagorean_tiling_split,
    roc_auc,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------------------------- composites


def test_composite_counts_and_paper_example_order():
    assert len(composite_terms(15, 1)) == 15
    assert len(composite_terms(15, 2)) == 120  # the paper's "120 composite features"
    assert len(composite_terms(15, 3)) == 15 + 105 + 455 + 210
    names = ["x1", "x2", "x3"]
    got = [composite_name(t, names) for t in composite_terms(3, 3)]
    # Example 1 of the paper, in its order.
    assert got == [
        "x1", "x2", "x3", "x1*x2", "x1*x3", "x2*x3", "x1*x2*x3",
        "x1^2*x2", "x1^2*x3", "x2^2*x1", "x2^2*x3", "x3^2*x1", "x3^2*x2",
    ]  # fmt: skip
    level4 = {composite_name(t, names) for t in composite_terms(3, 4)}
    assert "x1^2*x2^2" not in level4  # (x1·x2)² is excluded by the gcd rule
    assert "x1^3*x2" in level4 and "x1^2*x2*x3" in level4
    assert "x1^4" not in level4
    with pytest.raises(ValueError, match="level"):
        composite_terms(3, 5)


def test_build_composites_are_products_of_raw_values():
    x = np.array([[2.0, 3.0, 5.0], [1.0, -1.0, 0.5]])
    terms = composite_terms(3, 3)
    chi = build_composites(x, terms)
    names = [composite_name(t, ["a", "b", "c"]) for t in terms]
    assert chi[0, names.index("a*b")] == 6.0
    assert chi[0, names.index("a*b*c")] == 30.0
    assert chi[0, names.index("b^2*c")] == 45.0
    assert chi[1, names.index("a^2*b")] == -1.0


# ----------------------------------------------------------------------------------------------- helpers


def test_batched_auc_matches_mann_whitney_with_ties_and_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    y[:2] = [0, 1]
    scores = np.round(rng.normal(size=(4, 300)) + y, 1)  # many ties
    got = snn.batched_auc(torch.as_tensor(scores), torch.as_tensor(y))
    for r in range(4):
        assert got[r].item() == pytest.approx(roc_auc(y, scores[r]), abs=1e-12)
    counts = rng.integers(1, 4, 300)
    weights = torch.as_tensor(counts, dtype=torch.float64)
    weighted = snn.batched_auc(torch.as_tensor(scores[:1]), torch.as_tensor(y), weights)
    repeated = roc_auc(np.repeat(y, counts), np.repeat(scores[0], counts))
    assert weighted.item() == pytest.approx(repeated, abs=1e-12)
    binned = snn.binned_auc(torch.as_tensor(rng.normal(size=(2, 200_000)) + np.r_[np.ones(50_000), np.zeros(150_000)]),
                            torch.as_tensor(np.r_[np.ones(50_000), np.zeros(150_000)]))  # fmt: skip
    # Two unit normals one standard deviation apart: AUROC = Φ(1/√2) = 0.7602.
    np.testing.assert_allclose(binned.numpy(), 0.7602, atol=0.004)


def test_dct_lowpass_keeps_round_q_n_minus_one_coefficients():
    n = 200
    k = np.arange(n)
    slow = np.cos(np.pi * (2 * k + 1) * 3 / (2 * n))  # DCT-II basis vector 3
    fast = np.cos(np.pi * (2 * k + 1) * 40 / (2 * n))  # basis vector 40
    # keep 0.1 → round(20) − 1 = 19 coefficients survive: 3 stays, 40 goes.
    out = snn.dct_lowpass(2.0 + slow + fast, 0.1)
    np.testing.assert_allclose(out, 2.0 + slow, atol=1e-12)
    # Exactly at the boundary: keep 0.1 removes basis vector 19 but keeps 18.
    np.testing.assert_allclose(snn.dct_lowpass(np.cos(np.pi * (2 * k + 1) * 19 / (2 * n)), 0.1), 0.0, atol=1e-12)
    b18 = np.cos(np.pi * (2 * k + 1) * 18 / (2 * n))
    np.testing.assert_allclose(snn.dct_lowpass(b18, 0.1), b18, atol=1e-12)


def test_bootstrap_size_rule():
    assert snn.bootstrap_size(7000, 1_000_000) == 3333  # the code's cap #neg/300 binds
    assert snn.bootstrap_size(115, 700) == 115  # a small table: every positive
    assert snn.bootstrap_size(5000, 60_000) == 1000  # the 1000-row floor
    assert snn.bootstrap_size(5000, 60_000, minimum=200) == 200
    with pytest.raises(ValueError, match="both classes"):
        snn.bootstrap_size(0, 100)


def test_spatial_order_keeps_neighbours_together():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1000, (2000, 2))
    order = snn.spatial_order(xy)
    assert np.array_equal(np.sort(order), np.arange(2000))
    along = np.linalg.norm(np.diff(xy[order], axis=0), axis=1).mean()
    shuffled = np.linalg.norm(np.diff(xy, axis=0), axis=1).mean()
    assert along < 0.1 * shuffled


# ----------------------------------------------------------------------------------------------- tiling


def test_pythagorean_tiling_mask_shares_and_squares():
    big = pythagorean_tiling_mask((13 * 40, 13 * 40), val_fraction=0.0)
    interior = big[13:-13, 13:-13]
    assert (interior == TILING_TRAIN).mean() == pytest.approx(238 / 338, abs=1e-12)
    edge = pythagorean_tiling_mask((260, 260), val_fraction=0.0)
    assert (edge == TILING_TRAIN).mean() == pytest.approx(0.6951, abs=1e-4)  # snn.md §2.1
    m = pythagorean_tiling_mask((40, 40), val_fraction=0.0)
    assert (m[:13, :13] == TILING_TEST).all()  # cell (1,1) is a test cell
    assert (m[:16, 13:29] == TILING_TRAIN).all()  # the 16 × 16 training square of cell (1,2)
    assert (m[16:26, 16:26] == TILING_TEST).all()  # the 10 × 10 test square of cell (2,2)
    assert (m[13:16, 13:16] == TILING_TRAIN).all()
    full = pythagorean_tiling_mask((500, 500), seed=3)
    shares = [(full == code).mean() for code in (TILING_TRAIN, TILING_VAL, TILING_TEST)]
    np.testing.assert_allclose(shares, [0.704, 0.104, 0.192], atol=0.01)
    assert np.array_equal(full, pythagorean_tiling_mask((500, 500), seed=3))


def test_tiling_split_of_points_matches_the_pixel_mask():
    rows, cols = np.meshgrid(np.arange(60), np.arange(50), indexing="ij")
    xy = np.c_[cols.ravel() + 0.5, -(rows.ravel() + 0.5)]  # pixel centres, y up
    split = pythagorean_tiling_split(xy, tile_size=13.0, val_fraction=0.0, origin=(0.0, 0.0))
    mask = pythagorean_tiling_mask((60, 50), val_fraction=0.0)
    assert np.array_equal(split.train, np.flatnonzero(mask.ravel() == TILING_TRAIN))
    assert split.val.size == 0
    with_val = pythagorean_tiling_split(xy, tile_size=13.0, origin=(0.0, 0.0), seed=1)
    assert np.array_equal(np.sort(np.r_[with_val.val, with_val.test]), split.test)
    assert with_val.val.size == pytest.approx(0.35 * split.test.size, rel=0.15)
    # mask_split numbers the pixels in the requested scan order.
    f_split = mask_split(mask, order="F")
    assert np.array_equal(f_split.train, np.flatnonzero(mask.ravel(order="F") == TILING_TRAIN))
    with pytest.raises(ValueError, match="tile size"):
        pythagorean_tiling_split(xy, tile_size=0.0)


# ----------------------------------------------------------------------------------------------- model, ΔS


def _tiny_model() -> snn.SNNModel:
    return snn.SNNModel(
        input_names=["a", "b"], names=["a", "a*b"], exponents=np.array([[1, 0], [1, 1]]),
        a=np.array([[2.0, 0.0], [1.0, 0.5]]), b=np.array([[-1.0, 0.0], [0.0, 1.0]]),
        w=np.array([[0.5, 0.0], [0.3, 0.2]]), c=np.array([0.1, -0.05]),
        clip_low=np.array([-10.0, -np.inf]), clip_high=np.array([10.0, 4.0]),
        train_min=np.array([0.0, 0.0]), train_max=np.array([2.0, 4.0]), threshold=0.4,
    )  # fmt: skip


def test_model_evaluates_equation_1_and_round_trips(tmp_path):
    model = _tiny_model()
    x = np.array([[1.0, 2.0], [0.5, 20.0]])
    contrib = model.contributions(x)
    s_a = 0.5 * np.exp(-((2.0 * 1.0 - 1.0) ** 2)) + 0.1
    chi_ab = 2.0  # 1·2
    s_ab = 0.3 * np.exp(-(chi_ab**2)) + 0.2 * np.exp(-((0.5 * chi_ab + 1.0) ** 2)) - 0.05
    np.testing.assert_allclose(contrib[0], [s_a, s_ab], rtol=1e-14)
    # a*b = 10 is clipped to 4.
    assert contrib[1, 1] == pytest.approx(model.curve(1, np.array([4.0]))[0], rel=1e-14)
    np.testing.assert_allclose(model.predict(x), contrib.sum(1))
    assert len(model.curves(50)) == 2 and model.curves(50)[1][0][-1] == 4.0
    path = save_model(tmp_path / "m.lsm", model.to_model_file())
    back = snn.SNNModel.from_model_file(load_model(path, "snn"))
    np.testing.assert_array_equal(back.contributions(x), contrib)
    assert back.names == ["a", "a*b"] and back.threshold == 0.4
    with pytest.raises(ValueError, match="expected 2 input columns"):
        model.contributions(np.ones((3, 3)))


def test_delta_s_and_primary_control():
    contrib = np.array([[0.5, 0.1], [0.4, 0.3], [0.1, 0.2], [0.0, 0.1]])
    st = contrib.sum(1)
    ds = snn.delta_s(contrib, st, threshold=0.5)
    # ld rows 0, 1 (S_t 0.6, 0.7); nld rows 2, 3.
    np.testing.assert_allclose(ds, [0.45 - 0.05, 0.2 - 0.15])
    assert np.isnan(snn.delta_s(contrib, st, threshold=5.0)).all()
    assert snn.primary_control(contrib).tolist() == [0, 0, 1, 1]


def test_likelihood_ratio_bins():
    values = np.arange(10, dtype=float)
    y = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 1])
    lr = snn.likelihood_ratio_bins(values, y, bins=2, kind="equal")
    # Bin [0, 4.5): 1 landslide of 4 in 5 of 10 rows → (0/4)/(5/10) = 0; the other bin 4/4 ÷ 5/10 = 2.
    np.testing.assert_allclose(lr.ratio, [0.0, 2.0])
    np.testing.assert_array_equal(lr.count, [5, 5])
    np.testing.assert_allclose(lr.lookup(np.array([-3.0, 7.0, 99.0])), [0.0, 2.0, 2.0])


# ----------------------------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_a_named_reason():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0.5).astype(int)
    split = holdout_split(y, seed=0)
    names = ["a", "b", "c"]
    with pytest.raises(ValueError, match="at least 2 features"):
        snn.train_snn(x[:, :1], y, ["a"], split)
    with pytest.raises(ValueError, match="single class"):
        snn.train_snn(x, np.zeros(200, int), names, split)
    const = x.copy()
    const[:, 1] = 4.0
    with pytest.raises(ValueError, match="b are constant"):
        snn.train_snn(const, y, names, split)
    nan = x.copy()
    nan[7, 2] = np.nan
    with pytest.raises(ValueError, match="c contain NaN"):
        snn.train_snn(nan, y, names, split)
    with pytest.raises(ValueError, match="overlap"):
        snn.train_snn(x, y, names, Split(split.train, split.train[:5], split.test))
    with pytest.raises(ValueError, match="ranking"):
        snn.SNNConfig(ranking="votes")
    with pytest.raises(ValueError, match="device"):
        snn.SNNConfig(device="tpu")
    with pytest.raises(ValueError, match="permutation"):
        snn.train_snn(x, y, names, split, order=np.zeros(200, int))


# ----------------------------------------------------------------------------------------------- end to end

TOY_SIDE = 200


def _toy(seed: int = 0) -> tuple:
    """logit = 1.5·x1 + 2.5·exp(−((x2 − 0.2)/0.35)²) + 3·x3·x4 − 3, with x5, x6 noise; x ~ U(−1, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (TOY_SIDE * TOY_SIDE, 6))
    truth = {
        "x1": lambda v: 1.5 * v,
        "x2": lambda v: 2.5 * np.exp(-(((v - 0.2) / 0.35) ** 2)),
        "x3*x4": lambda v: 3.0 * v,
    }
    logit = truth["x1"](x[:, 0]) + truth["x2"](x[:, 1]) + truth["x3*x4"](x[:, 2] * x[:, 3]) - 3.0
    y = (rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return x, y, truth, logit


TOY_CONFIG = dict(
    tournament_models=200, teacher_chains=10, teacher_nets=30, fkd_iterations=50, bootstrap_min=1500,
    smooth_targets=False, jacobian_dtype="float32", seed=0,
)  # fmt: skip


@pytest.mark.slow
def test_synthetic_additive_problem_recovers_features_and_curves():
    x, y, truth, logit = _toy()
    split = mask_split(pythagorean_tiling_mask((TOY_SIDE, TOY_SIDE), seed=0))
    names = [f"x{i}" for i in range(1, 7)]
    res = snn.train_snn(x, y, names, split, snn.SNNConfig(ranking="points", **TOY_CONFIG))
    model = res.model
    # The three true terms rank first; anything after them adds next to nothing.
    assert sorted(model.names[:3]) == ["x1", "x2", "x3*x4"]
    assert res.ranking_auc[-1] - res.ranking_auc[2] < 0.003
    # The tournament's permutation importance ranks the three true terms first.
    top3 = [res.composite_names[i] for i in np.argsort(-res.tournament.mean_drop)[:3]]
    assert sorted(top3) == ["x1", "x2", "x3*x4"]
    # Curves: one common scale and an offset per curve map S_j onto the true logit terms.
    chi = model.composites(x)
    pairs = []
    for name, f in truth.items():
        j = model.names.index(name)
        lo, hi = np.percentile(chi[:, j], [1, 99])
        grid = np.linspace(lo, hi, 200)
        pairs.append((model.curve(j, grid), f(grid)))
    s_all = np.concatenate([s - s.mean() for s, _ in pairs])
    f_all = np.concatenate([f - f.mean() for _, f in pairs])
    scale = (s_all @ f_all) / (s_all @ s_all)
    for s, f in pairs:
        r2 = 1.0 - np.sum((scale * (s - s.mean()) - (f - f.mean())) ** 2) / np.sum((f - f.mean()) ** 2)
        assert r2 >= 0.95
    bayes = roc_auc(y[split.test], logit[split.test])
    assert res.teacher.auc["test"] > bayes - 0.02
    assert res.auc["test"] >= 0.98 * res.teacher.auc["test"]
    # S_t lies in [0, 1] on training and validation rows; the threshold is one of its values.
    tv = np.r_[split.train, split.val]
    assert res.scores[tv].min() > -0.02 and res.scores[tv].max() < 1.02
    assert 0.0 < res.threshold < 1.0


def test_small_run_is_deterministic():
    x, y, _, _ = _toy()
    x, y = x[:3000], y[:3000]
    split = holdout_split(y, seed=1)
    cfg = snn.SNNConfig(
        ranking="points", tournament_models=60, selection_reps=1, teacher_chains=3, teacher_nets=6,
        fkd_iterations=4, final_neurons=(5,), final_epochs=50, bootstrap_min=300, smooth_targets=False, seed=7,
    )  # fmt: skip
    a = snn.train_snn(x, y, [f"x{i}" for i in range(1, 7)], split, cfg)
    b = snn.train_snn(x, y, [f"x{i}" for i in range(1, 7)], split, cfg)
    assert a.model.names == b.model.names
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.auc["test"] > 0.7


# ----------------------------------------------------------------------------------------------- real data

SZ_NAMES = ["Elev_mean", "RnSum_mean", "Slope_mean", "NDVI_mean", "area"]


def _sz(shared_data) -> tuple:
    gpd = pytest.importorskip("geopandas")
    units = gpd.read_file(shared_data / "sz_northeast_india" / "input_variables.shp")
    x = units[SZ_NAMES].to_numpy(float)
    y = (units["y"] > 0).astype(int).to_numpy()
    c = units.geometry.centroid
    return x, y, np.c_[c.x, c.y]


def test_sz_baselines_on_the_tiling_split(shared_data):
    x, y, xy = _sz(shared_data)
    assert x.shape == (832, 5) and y.sum() == 115
    split = pythagorean_tiling_split(xy, 3000.0, seed=0)
    assert (split.train.size, split.val.size, split.test.size) == (603, 76, 153)
    base = snn.baselines(x, y, SZ_NAMES, split)
    assert base.logistic == pytest.approx(0.7534, abs=0.003)
    assert base.likelihood_ratio == pytest.approx(0.7228, abs=0.003)
    assert base.best_feature == "area" and base.best_feature_sign == 1
    assert base.best_feature_auc == pytest.approx(0.7205, abs=1e-3)


@pytest.mark.slow
def test_sz_level2_snn_on_the_tiling_split(shared_data):
    x, y, xy = _sz(shared_data)
    split = pythagorean_tiling_split(xy, 3000.0, seed=0)
    cfg = snn.SNNConfig(level=2, tournament_models=400, fkd_iterations=30, seed=0)
    res = snn.train_snn(x, y, SZ_NAMES, split, cfg, order=snn.spatial_order(xy))
    assert 1 <= len(res.model.names) <= 6
    assert all(n in res.composite_names for n in res.model.names)
    # 27 test positives: margins are wide (the AUROC's standard error is about 0.05).
    assert res.auc["test"] > 0.65
    assert res.teacher.auc["test"] > 0.6
    assert res.auc["test"] >= 0.9 * res.teacher.auc["test"]
    contrib = res.model.contributions(x)
    np.testing.assert_allclose(contrib.sum(1), res.scores, atol=1e-9)
    ds = snn.delta_s(contrib, res.scores, res.threshold)
    assert np.isfinite(ds).all() and ds.max() > 0
