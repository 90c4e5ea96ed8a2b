"""Physics layer: golden values of docs/physics.md §2.3 in both modes, numpy ↔ torch agreement, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landslide_susceptibility.core import physics
from landslide_susceptibility.core.physics import (
    PHYSICS_MODES,
    RHO_G_KN_M3,
    critical_acceleration,
    exceedance_probability,
    factor_of_safety,
    godt2008_probability,
    newmark,
    newmark_displacement,
    torch_newmark,
    torch_newmark_displacement,
)

SIGMA_MINUS_5 = 1.0 / (1.0 + math.exp(5.0))  # 0.0066929

# physics.md §2.3: case → (C/t kPa/m, φ°, α°, PGA g), paper values (FS, a_c g, r, D cm, p) and authors' code
# values (FS, r, D cm). ρ = 2300 kg/m³, g = 9.81 m/s².
INPUTS = {
    "A": (5.0, 30.0, 35.0, 0.40),
    "B": (0.0, 35.0, 30.0, 0.30),
    "G": (2.0, 35.0, 35.0, 0.50),
    "I": (0.0, 40.0, 35.0, 0.25),
    "D": (10.0, 40.0, 25.0, 0.20),
    "C": (2.0, 32.0, 40.0, 0.50),
}
PAPER = {
    "A": (1.210892, 0.120963, 0.302407, 3.94258, 0.257802),
    "B": (1.212795, 0.106398, 0.354658, 2.61271, 0.084147),
    "G": (1.154540, 0.088641, 0.177281, 12.5033, 0.999449),
    "I": (1.198358, 0.113774, 0.455095, 1.22850, 0.022500),
}
CODE = {
    "A": (1.210892, 0.296662, 4.99308),
    "B": (1.212795, 0.347920, 3.27861),
    "G": (1.2, 0.225071, 9.49185),
    "I": (1.2, None, 1.47052),
    "D": (2.848164, 0.999, 5.45481e-8),
    "C": (1.2, 0.252230, 7.36216),
}
REL = 2e-5  # the golden values carry 6 significant digits


def _torch(case: str, dtype=torch.float64, mode: str = "paper"):
    ct, phi, slope, pga = (torch.tensor(v, dtype=dtype) for v in INPUTS[case])
    return torch_newmark(ct, phi, slope, pga, mode=mode)


# ------------------------------------------------------------------------------------------ golden values


@pytest.mark.parametrize("case", sorted(PAPER))
def test_paper_golden_numpy(case):
    fs, ac, r, disp, p = PAPER[case]
    res = newmark(*INPUTS[case])
    assert float(res.fs) == pytest.approx(fs, rel=REL)
    assert float(res.ac_g) == pytest.approx(ac, rel=REL)
    assert float(res.ac_g) / INPUTS[case][3] == pytest.approx(r, rel=REL)
    assert float(res.disp_cm) == pytest.approx(disp, rel=REL)
    assert float(res.probability) == pytest.approx(p, abs=1e-6)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", sorted(PAPER))
def test_paper_golden_torch(case, dtype):
    fs, ac, _, disp, p = PAPER[case]
    res = _torch(case, dtype)
    rel = REL if dtype == torch.float64 else 5e-5
    assert res.disp_cm.dtype == dtype
    assert res.fs.item() == pytest.approx(fs, rel=rel)
    assert res.ac_g.item() == pytest.approx(ac, rel=rel)
    assert res.disp_cm.item() == pytest.approx(disp, rel=rel)
    assert res.probability.item() == pytest.approx(p, abs=1e-6)
    assert res.logit.item() == pytest.approx(disp - 5.0, rel=rel, abs=1e-6)


def test_stable_case_d_paper():
    res = newmark(*INPUTS["D"])
    assert float(res.fs) == pytest.approx(2.848164, rel=REL)
    assert float(res.ac_g) == pytest.approx(0.781068, rel=REL)
    assert float(res.disp_cm) == 0.0
    assert float(res.probability) == pytest.approx(SIGMA_MINUS_5, rel=1e-12)
    t = _torch("D")
    assert 0.0 < t.disp_cm.item() < 1e-6  # the smoothed floor of 1 − r leaks less than 1e-6 cm
    assert t.probability.item() == pytest.approx(SIGMA_MINUS_5, abs=1e-9)


def test_static_failure_case_c_paper():
    res = newmark(*INPUTS["C"])
    assert float(res.fs) == pytest.approx(0.882591, rel=REL)
    assert float(res.ac_g) == pytest.approx(-0.075469, rel=REL)
    assert np.isinf(res.disp_cm) and float(res.probability) == 1.0
    for dtype in (torch.float32, torch.float64):
        t = _torch("C", dtype)
        assert t.ac_g.item() == pytest.approx(-0.075469, rel=5e-5)
        assert torch.isfinite(t.logit).item() and t.logit.item() > 1e3
        assert t.probability.item() == 1.0


def test_openquake_case_displacement():
    # a_c = 1 g, PGA = 2 g → r = 0.5 → 0.877344 cm (OpenQuake's test value 8.77344e-3 m)
    assert float(newmark_displacement(1.0, 2.0)) == pytest.approx(0.877344, rel=REL)
    assert float(exceedance_probability(0.877344)) == pytest.approx(0.015943, abs=1e-6)
    disp, logit = torch_newmark_displacement(torch.tensor(1.0, dtype=torch.float64), 2.0)
    assert disp.item() == pytest.approx(0.877344, rel=REL)
    assert logit.item() == pytest.approx(0.877344 - 5.0, rel=REL)


@pytest.mark.parametrize(("r", "disp"), [(0.27373, 5.0), (0.48262, 1.0), (0.19847, 10.0)])
def test_jibson_anchor_ratios(r, disp):
    assert float(newmark_displacement(r * 0.4, 0.4)) == pytest.approx(disp, rel=2e-4)


@pytest.mark.parametrize("case", sorted(CODE))
def test_authors_code_golden(case):
    fs, r, disp = CODE[case]
    pga = INPUTS[case][3]
    res = newmark(*INPUTS[case], mode="authors_code")
    t = _torch(case, mode="authors_code")
    for fs_value, ac_value, disp_value in (
        (float(res.fs), float(res.ac_g), float(res.disp_cm)),
        (t.fs.item(), t.ac_g.item(), t.disp_cm.item()),
    ):
        assert fs_value == pytest.approx(fs, rel=REL)
        assert disp_value == pytest.approx(disp, rel=REL)
        if r is not None:
            assert min(ac_value * 9.81 / (10 * pga), 0.999) == pytest.approx(r, rel=REL)
    assert t.logit.item() == pytest.approx(t.disp_cm.item() - 5.0, rel=1e-12, abs=1e-12)
    assert float(res.probability) == pytest.approx(1 / (1 + math.exp(5 - float(res.disp_cm))), rel=1e-12)


def test_authors_code_range_and_units():
    # maximum D (r clipped at 0.001) is 4.36e4 cm; PGA = 0 counts as r ≥ 1 (clipped at 0.999)
    assert float(newmark_displacement(1e-6, 1.0, mode="authors_code")) == pytest.approx(4.36e4, rel=1e-3)
    assert float(newmark_displacement(0.3, 0.0, mode="authors_code")) == pytest.approx(5.45481e-8, rel=REL)
    # the ×10 against a_c·9.81 makes the code's ratio 0.981 × the true one
    ac, pga = 0.2, 0.5
    code = float(newmark_displacement(ac, pga, mode="authors_code"))
    r = 0.981 * ac / pga
    assert code == pytest.approx(math.exp(0.751 + 2.53 * math.log(1 - r) - 1.438 * math.log(r)), rel=1e-12)


# ----------------------------------------------------------------------------------- identities and units


def test_closed_form_critical_acceleration():
    rng = np.random.default_rng(1)
    ct = rng.uniform(0, 40, 500)
    phi = rng.uniform(5, 60, 500)
    slope = rng.uniform(0.5, 89.5, 500)
    fs = factor_of_safety(ct, phi, slope)
    ac = critical_acceleration(ct, phi, slope)
    np.testing.assert_allclose(ac, (fs - 1) * np.sin(np.radians(slope)), rtol=1e-10, atol=1e-12)
    # the cohesion contribution to a_c is C/t/(ρg), whatever the slope
    np.testing.assert_allclose(ac - critical_acceleration(0.0, phi, slope), ct / 22.563, rtol=1e-12, atol=1e-15)
    assert RHO_G_KN_M3 == pytest.approx(22.563, rel=1e-12)


def test_factor_of_safety_unit_weight_and_flat_ground():
    # c = 5 kPa over t = 2.4 m with γ = 15.7 kN/m³ (Godt et al. 2008): 5/(15.7·2.4·sin35°) + tan30°/tan35°
    expected = 5 / (15.7 * 2.4 * math.sin(math.radians(35))) + math.tan(math.radians(30)) / math.tan(math.radians(35))
    assert float(factor_of_safety(5 / 2.4, 30, 35, unit_weight_kn_m3=15.7)) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.055891, rel=1e-6)
    assert np.isinf(factor_of_safety([0.0, 3.0], 30, 0.0)).all()
    # a_c is continuous down to flat ground: C/t/(ρg) + tan φ
    assert float(critical_acceleration(3.0, 30, 0.0)) == pytest.approx(3 / 22.563 + math.tan(math.radians(30)))
    assert float(factor_of_safety(3.0, 30, 90.0)) == pytest.approx(3 / 22.563, rel=1e-9)


def test_displacement_edges_and_nan():
    disp = newmark_displacement(
        [0.1, 0.5, 0.6, 0.0, -0.1, 0.2, np.nan, 0.1], [0.5, 0.5, 0.5, 0.3, 0.0, 0.0, 0.4, np.nan]
    )
    assert disp[0] == pytest.approx(10 ** (0.215 + 2.341 * math.log10(0.8) - 1.438 * math.log10(0.2)), rel=1e-12)
    assert disp[1] == 0.0 and disp[2] == 0.0  # r = 1 and r > 1
    assert np.isinf(disp[3]) and np.isinf(disp[4])  # a_c ≤ 0: static failure, even without shaking
    assert disp[5] == 0.0  # no shaking
    assert np.isnan(disp[6]) and np.isnan(disp[7])
    p = exceedance_probability([0.0, 5.0, np.inf, np.nan])
    np.testing.assert_allclose(p[:3], [SIGMA_MINUS_5, 0.5, 1.0], rtol=1e-12)
    assert np.isnan(p[3])
    res = newmark([np.nan, 2.0], 30, 30, 0.3)
    assert np.isnan(res.probability[0]) and np.isfinite(res.probability[1])


# --------------------------------------------------------------------------------------- numpy ↔ torch


def _random_inputs(rng, n):
    slope = rng.uniform(0.2, 89.8, n)
    phi = rng.uniform(0.5, 89.5, n)
    ct = np.where(rng.random(n) < 0.2, 0.0, 10 ** rng.uniform(-3, 2.5, n))
    pga = np.where(rng.random(n) < 0.1, 0.0, 10 ** rng.uniform(-3, 0.3, n))
    return ct, phi, slope, pga


def test_torch_paper_matches_numpy():
    rng = np.random.default_rng(2)
    ct, phi, slope, pga = _random_inputs(rng, 100_000)
    ref = newmark(ct, phi, slope, pga)
    out = torch_newmark(*(torch.from_numpy(v) for v in (ct, phi, slope, pga)))
    disp = out.disp_cm.numpy()
    r = ref.ac_g / np.where(pga > 0, pga, np.nan)
    exact = (ref.ac_g >= 1e-4) & (pga >= 1e-4) & (r <= 0.997) & (ref.disp_cm <= 1e3)
    assert exact.sum() > 3_000
    np.testing.assert_allclose(out.fs.numpy(), ref.fs, rtol=1e-12)
    np.testing.assert_allclose(out.ac_g.numpy(), ref.ac_g, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(disp[exact], ref.disp_cm[exact], rtol=1e-10)
    still = ref.disp_cm == 0
    assert still.sum() > 10_000 and np.abs(disp[still]).max() < 2e-6
    # p agrees to 1e-6 everywhere but where both PGA and |a_c| are tiny (the smoothed jump at PGA = 0)
    settled = (pga >= 1e-3) | (np.abs(ref.ac_g) >= 1e-3)
    assert np.abs(out.probability.numpy() - ref.probability)[settled].max() < 1e-6
    failed = ref.ac_g <= 0
    assert failed.sum() > 1_000 and (out.probability.numpy()[failed & settled] == 1.0).all()


def test_torch_authors_code_matches_numpy():
    rng = np.random.default_rng(3)
    ct, phi, slope, pga = _random_inputs(rng, 50_000)
    ref = newmark(ct, phi, slope, pga, mode="authors_code")
    out = torch_newmark(*(torch.from_numpy(v) for v in (ct, phi, slope, pga)), mode="authors_code")
    for name in ("fs", "ac_g", "disp_cm", "probability"):
        np.testing.assert_allclose(getattr(out, name).numpy(), getattr(ref, name), rtol=1e-10, atol=1e-14)
    assert out.fs.min() >= 1.2 and out.fs.max() <= 15.0


# ------------------------------------------------------------------------------------- gradients


def _gradcheck_points(n: int, seed: int):
    rng = np.random.default_rng(seed)
    ct = np.concatenate([rng.uniform(0.05, 60, n), [0.0, 0.0, 40.0, 3.0, 2.0, 0.0]])
    phi = np.concatenate([rng.uniform(1, 89, n), [20.0, 35.0, 40.0, 30.0, 32.0, 85.0]])
    slope = np.concatenate([rng.uniform(0.5, 89.5, n), [45.0, 30.0, 25.0, 35.0, 40.0, 0.5]])
    pga = np.concatenate([rng.uniform(0.0, 1.5, n), [0.3, 0.0, 0.2, 0.0, 0.5, 1.0]])
    # the extra points: FS < 1 (C/t = 0), PGA = 0, r ≫ 1, PGA = 0 with a_c > 0, static failure, a flat slope
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (ct, phi, slope, pga)]


@pytest.mark.parametrize("mode", PHYSICS_MODES)
def test_gradcheck(mode):
    inputs = _gradcheck_points(40, seed=4 if mode == "paper" else 5)
    with torch.no_grad():
        ac = torch_newmark(*inputs).ac_g
        ratio = ac / inputs[3]
    if mode == "paper":  # the sample covers static failure, sliding and r ≥ 1
        assert (ac < 0).sum() >= 3 and ((ratio > 0) & (ratio < 1)).sum() >= 3 and (ratio >= 1).sum() >= 3
    assert torch.autograd.gradcheck(lambda *x: tuple(torch_newmark(*x, mode=mode)), inputs, atol=1e-6, rtol=1e-4)


def test_float32_sweep_finite_values_and_gradients():
    rng = np.random.default_rng(6)
    n = 100_000
    slope = np.concatenate([rng.uniform(0.0, 90.0, n - 4), [1e-3, 89.999, 0.01, 45.0]])
    slope = np.clip(slope, 1e-3, 89.999)
    phi = rng.uniform(0.01, 89.99, n)
    ct = np.where(rng.random(n) < 0.2, 0.0, 10 ** rng.uniform(-3, 3, n))
    pga = np.where(rng.random(n) < 0.2, 0.0, 10 ** rng.uniform(-5, 0.5, n))
    labels = torch.from_numpy((rng.random(n) < 0.3).astype(np.float32))
    for mode in PHYSICS_MODES:
        xs = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in (ct, phi, slope, pga)]
        out = torch_newmark(*xs, mode=mode)
        for name, value in out._asdict().items():
            assert value.dtype == torch.float32
            assert torch.isfinite(value).all(), (mode, name)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logit, labels)
        for name in ("logit", "probability", "disp_cm"):
            grads = torch.autograd.grad(getattr(out, name).sum(), xs, retain_graph=True)
            assert all(torch.isfinite(g).all() for g in grads), (mode, name)
        grads = torch.autograd.grad(loss, xs)
        assert all(torch.isfinite(g).all() for g in grads), mode
        if mode == "paper":  # no dead zone: the logit always responds to C/t, φ and PGA
            d_ct, d_phi, _, d_pga = torch.autograd.grad(torch_newmark(*xs).logit.sum(), xs)
            assert (d_ct < 0).all() and (d_phi < 0).all() and (d_pga > 0).all()


def test_limits_of_the_smoothed_paper_mode():
    pga = torch.tensor([0.3, 0.3, 0.3, 0.0, 0.0], dtype=torch.float64)
    ct = torch.tensor([0.0, 0.0, 50.0, 5.0, 0.0], dtype=torch.float64)
    phi = torch.tensor([20.0, 10.0, 40.0, 30.0, 20.0], dtype=torch.float64)
    out = torch_newmark(ct, phi, 40.0, pga)
    p = out.probability
    assert p[0].item() == 1.0 and p[1].item() == 1.0  # FS < 1: static failure
    assert p[2].item() == pytest.approx(SIGMA_MINUS_5, abs=1e-9)  # r ≫ 1
    assert p[3].item() == pytest.approx(SIGMA_MINUS_5, abs=1e-9)  # no shaking
    assert p[4].item() == 1.0  # no shaking, but FS < 1
    assert out.disp_cm.max().item() < 1e5


# ------------------------------------------------------------------------------------- monotonicity


@pytest.mark.parametrize("mode", PHYSICS_MODES)
def test_monotonicity(mode):
    rng = np.random.default_rng(7)
    m = 200
    ct, phi, slope, pga = (v[:, None] for v in _random_inputs(rng, m))
    grid = np.linspace(0, 1, 60)[None, :]
    sweeps = {
        "pga": (ct, phi, slope, 1.5 * grid),
        "ct": (40 * grid, phi, slope, pga),
        "phi": (ct, 1 + 88 * grid, slope, pga),
    }
    for name, args in sweeps.items():
        p_np = newmark(*args, mode=mode).probability
        t = torch_newmark(*(torch.as_tensor(np.broadcast_to(a, (m, 60)).copy()) for a in args), mode=mode)
        for p in (p_np, t.probability.numpy()):
            step = np.diff(p, axis=1)
            if name == "pga":
                assert step.min() >= -1e-12, name
            else:
                assert step.max() <= 1e-12, name
        if mode == "paper":  # strictly: no flat stretch where training would stall
            step = np.diff(t.disp_cm.numpy(), axis=1)
            assert (step > 0).all() if name == "pga" else (step < 0).all(), name


# ------------------------------------------------------------------------------------- shapes and devices


def test_torch_broadcasting_dtypes_and_numbers():
    ct = torch.tensor([[0.0], [5.0], [20.0]], dtype=torch.float32)
    pga = torch.tensor([0.0, 0.1, 0.3, 0.6], dtype=torch.float32)
    out = torch_newmark(ct, 30.0, 35.0, pga)
    assert all(v.shape == (3, 4) and v.dtype == torch.float32 for v in out)
    ref = newmark(ct.numpy(), 30.0, 35.0, pga.numpy())
    np.testing.assert_allclose(out.probability.numpy(), ref.probability, rtol=1e-5, atol=1e-6)
    mixed = torch_newmark(ct, torch.tensor(30.0, dtype=torch.float64), 35.0, 0.3)
    assert mixed.logit.dtype == torch.float64 and mixed.logit.shape == (3, 1)
    assert torch_newmark(5, 30, 35, 0.4).disp_cm.item() == pytest.approx(3.94258, rel=5e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_on_cuda():
    xs = [torch.tensor(v, dtype=torch.float32, device="cuda") for v in zip(*INPUTS.values())]
    out = torch_newmark(*xs)
    assert out.logit.device.type == "cuda"
    cpu = torch_newmark(*(x.cpu() for x in xs))
    torch.testing.assert_close(out.probability.cpu(), cpu.probability, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1.0, 30, 30, 0.3), "ct_kpa_m"),
        ((5.0, 0.0, 30, 0.3), "phi_deg"),
        ((5.0, 90.0, 30, 0.3), "phi_deg"),
        ((5.0, 30, -1.0, 0.3), "slope_deg"),
        ((5.0, 30, 90.5, 0.3), "slope_deg"),
        ((5.0, 30, 30, -0.1), "pga_g"),
    ],
)
def test_bad_inputs(args, field):
    with pytest.raises(ValueError, match=field):
        newmark(*args)


def test_bad_inputs_of_the_parts():
    with pytest.raises(ValueError, match="unknown physics mode 'jibson'"):
        newmark(5, 30, 30, 0.3, mode="jibson")
    with pytest.raises(ValueError, match="unknown physics mode"):
        torch_newmark(5.0, 30.0, 30.0, 0.3, mode="Paper")
    with pytest.raises(ValueError, match=r"ct_kpa_m.*2 value"):
        factor_of_safety([-1.0, 2.0, -3.0], 30, 30)
    with pytest.raises(ValueError, match="phi_deg"):
        critical_acceleration(1.0, [30, 95], 30)
    with pytest.raises(ValueError, match="pga_g"):
        newmark_displacement(0.1, [-0.2, 0.3])
    with pytest.raises(ValueError, match="disp_cm"):
        exceedance_probability(-1.0)
    with pytest.raises(ValueError, match="unit_weight_kn_m3"):
        factor_of_safety(1.0, 30, 30, unit_weight_kn_m3=0.0)


# ------------------------------------------------------------------------------------- Godt et al. (2008)


def test_godt2008_floors_and_lookup():
    # one cell per column; 7 equal slope quantiles per cell unless stated
    slopes = np.full((7, 5), 40.0)
    slopes[:4, 2] = 5.0  # gentle quantiles that cannot slide: 3 of 7 exceed
    slopes[:, 3] = 0.0  # flat cell: never slides
    slopes[0, 4] = np.nan
    cohesion = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    friction = np.array([20.0, 20.0, 20.0, 20.0, 20.0])
    pga = np.array([0.5, 0.04, 0.5, 0.5, 0.5])
    prob = godt2008_probability(slopes, cohesion, friction, pga)
    # FS = tan20/tan40 = 0.434 → floored at 1.01 → a_c = 0.01·sin40 → floored at 0.05 g; r = 0.1 → D = 35 cm
    assert float(newmark_displacement(0.05, 0.5)) == pytest.approx(1.64059 * 0.9**2.341 * 0.1**-1.438, rel=1e-5)
    assert prob[0] == 0.99
    assert prob[1] == 0.0  # PGA below the a_c floor: no displacement although FS < 1
    assert prob[2] == 0.30
    assert prob[3] == 0.0
    assert np.isnan(prob[4])
    assert physics.GODT2008_PROBABILITIES[3] == 0.30


def test_godt2008_bad_inputs():
    with pytest.raises(ValueError, match="7 slope-quantile"):
        godt2008_probability(np.full((6, 2), 30.0), 5.0, 30.0, 0.3)
    with pytest.raises(ValueError, match="thickness_m"):
        godt2008_probability(np.full((7, 2), 30.0), 5.0, 30.0, 0.3, thickness_m=0.0)
