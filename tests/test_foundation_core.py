"""Units, scaling, metrics, splits, model files and atomic writes: the pieces every model shares."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from landslide_susceptibility.core import model_io, units, validation
from landslide_susceptibility.core.io import atomic_path, write_geotiff
from landslide_susceptibility.core.scaling import Scaler, fit_scaler


def test_pga_units():
    np.testing.assert_allclose(units.pga_to_g([0.3], "g"), [0.3])
    np.testing.assert_allclose(units.pga_to_g([30.0], "%g"), [0.3])
    np.testing.assert_allclose(units.pga_to_g([9.80665], "m/s2"), [1.0])
    np.testing.assert_allclose(units.pga_to_g([9.80665], 2), [1.0])
    with pytest.raises(ValueError, match="unknown PGA unit"):
        units.pga_unit("gal")
    units.check_pga_g(units.pga_to_g([25.0, 60.0], "%g"), "%g")
    with pytest.raises(ValueError, match="are they in %g"):
        units.check_pga_g(units.pga_to_g([25.0, 60.0], "g"), "g")  # %g values read as g
    with pytest.raises(ValueError, match="look like g already"):
        units.check_pga_g(units.pga_to_g([0.25, 0.6], "%g"), "%g")  # g values read as %g
    with pytest.raises(ValueError, match="negative"):
        units.check_pga_g([-0.1, 0.3])


def test_scaler_round_trip_and_constant_column():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(50, 3))
    for kind in ("standard", "minmax"):
        s = fit_scaler(x, kind)
        z = s.transform(x)
        np.testing.assert_allclose(s.inverse(z), x)
        back = Scaler.from_dict(s.to_dict())
        np.testing.assert_array_equal(back.transform(x), z)
    np.testing.assert_allclose(fit_scaler(x, "minmax").transform(x).min(axis=0), 0)
    x[:, 1] = 2.0
    with pytest.raises(ValueError, match="slope"):
        fit_scaler(x, names=["a", "slope", "c"])


def test_auc_matches_definition():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    pairs = [(p, n) for p in s[y == 1] for n in s[y == 0]]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert validation.roc_auc(y, s) == pytest.approx(expected)
    with pytest.raises(ValueError, match="single class"):
        validation.roc_auc(np.zeros(4), np.arange(4))


def test_metrics_and_threshold():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.4, 0.7, 0.9])
    m = validation.classification_metrics(y, s, 0.5)
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 1, 2)
    assert m.balanced_accuracy == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    t = validation.threshold_nearest_corner(y, s)
    fpr, tpr, thr = validation.roc_curve(y, s)
    d = np.hypot(fpr, 1 - tpr)
    assert t == thr[np.argmin(np.where(np.isfinite(thr), d, np.inf))]
    assert list(validation.confusion_labels([1, 0, 1, 0], [1, 1, 0, 0])) == ["TP", "FP", "FN", "TN"]


def test_splits_partition_rows():
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.2).astype(int)
    s = validation.holdout_split(y, seed=3)
    all_idx = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(all_idx), np.arange(400))
    assert abs(len(s.train) - 280) <= 2 and abs(len(s.test) - 60) <= 2
    assert abs(y[s.test].mean() - y.mean()) < 0.03
    xy = np.column_stack([rng.random(400) * 1000, rng.random(400) * 1000])
    for fold in (validation.random_folds(y, 5, seed=1), validation.spatial_folds(xy, 5, seed=1)):
        assert set(np.unique(fold)) == set(range(5))
        for f, split in validation.fold_splits(y, fold):
            assert np.all(fold[split.test] == f)
            assert not np.intersect1d(split.train, split.test).size
            assert not np.intersect1d(split.val, split.test).size
            assert not np.intersect1d(split.train, split.val).size
    # spatial folds are compact: within-fold spread is well below the spread of the whole area
    fold = validation.spatial_folds(xy, 5, seed=1)
    assert np.mean([xy[fold == f].std(axis=0).mean() for f in range(5)]) < 0.7 * xy.std(axis=0).mean()
    groups = np.repeat(np.arange(8), 50)
    assert len(np.unique(validation.group_folds(groups, 4))) == 4
    with pytest.raises(ValueError, match="FOLDS"):
        validation.random_folds(y, 1)


def test_model_file_round_trip_and_refusals(tmp_path):
    m = model_io.ModelFile("pinn", {"features": ["slope", "pga"]}, {"w0": np.arange(6.0).reshape(2, 3)})
    path = model_io.save_model(tmp_path / "m.lsm", m)
    back = model_io.load_model(path, expected_kind="pinn")
    assert back.meta == m.meta
    np.testing.assert_array_equal(back.arrays["w0"], m.arrays["w0"])
    with pytest.raises(ValueError, match="holds a 'pinn' model"):
        model_io.load_model(path, expected_kind="snn")

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    evil = tmp_path / "evil.lsm"
    evil.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="pickle"):
        model_io.load_model(evil)
    obj = tmp_path / "obj.lsm"
    with open(obj, "wb") as fh:
        np.savez(fh, __meta__=np.frombuffer(b"{}", np.uint8), w=np.array([Boom()], dtype=object))
    with pytest.raises(ValueError):
        model_io.load_model(obj)
    assert not (tmp_path / "pwned").exists()


def test_newer_model_format_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(model_io, "FORMAT_VERSION", 99)
    path = model_io.save_model(tmp_path / "new.lsm", model_io.ModelFile("snn", {}, {}))
    monkeypatch.setattr(model_io, "FORMAT_VERSION", 1)
    with pytest.raises(ValueError, match="newer version"):
        model_io.load_model(path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    from affine import Affine

    target = tmp_path / "a.tif"
    write_geotiff(target, np.ones((4, 4), np.float32), Affine(1, 0, 0, 0, -1, 4), "EPSG:32645")
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("disk full")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.tif"]
