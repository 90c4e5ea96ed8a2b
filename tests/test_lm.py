"""Batched Levenberg–Marquardt trainer: Jacobians, agreement with a plain per-network LM, early stopping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares

from landslide_susceptibility.core import lm

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rbf_net(p: np.ndarray, x: np.ndarray) -> tuple:
    """1 → h radbas → linear, written out by hand: outputs and Jacobian in MLPSpec's parameter order
    (input weights a, hidden biases b, output weights w, output bias c)."""
    h = (p.size - 1) // 3
    a, b, w, c = p[:h], p[h : 2 * h], p[2 * h : 3 * h], p[3 * h]
    z = np.outer(x, a) + b
    g = np.exp(-z * z)
    y = g @ w + c
    dz = -2.0 * z * g * w
    jac = np.hstack([dz * x[:, None], dz, g, np.ones((x.size, 1))])
    return y, jac


def _reference_lm(p0: np.ndarray, x: np.ndarray, t: np.ndarray, epochs: int) -> np.ndarray:
    """Plain trainlm loop for one network: normal equations of the mean squared error, μ ×10 / ×0.1."""
    p, mu = p0.copy(), 1e-3
    for _ in range(epochs):
        y, jac = _rbf_net(p, x)
        e = t - y
        loss = np.mean(e * e)
        hess, grad = jac.T @ jac / x.size, jac.T @ e / x.size
        while mu <= 1e10:
            step = np.linalg.solve(hess + mu * np.eye(p.size), grad)
            if np.mean((t - _rbf_net(p + step, x)[0]) ** 2) < loss:
                p, mu = p + step, mu * 0.1
                break
            mu *= 10.0
    return p


@pytest.mark.parametrize(
    ("hidden", "acts", "out"),
    [((4,), ("radbas",), "linear"), ((5, 4), ("tanh", "radbas"), "relu"), ((3, 3), ("tanh", "tanh"), "linear")],
)
def test_jacobian_matches_finite_differences(hidden, acts, out):
    spec = lm.MLPSpec(3, hidden, acts, out)
    gen = torch.Generator().manual_seed(3)
    p = lm.nguyen_widrow(spec, 2, gen)
    x = torch.randn(2, 9, 3, dtype=torch.float64, generator=gen)
    y, jac = lm.mlp_jacobian(spec, p, x)
    assert jac.shape == (2, 9, spec.n_params)
    torch.testing.assert_close(y, lm.mlp_forward(spec, p, x))
    eps = 1e-6
    for k in range(spec.n_params):
        d = torch.zeros_like(p)
        d[:, k] = eps
        numeric = (lm.mlp_forward(spec, p + d, x) - lm.mlp_forward(spec, p - d, x)) / (2 * eps)
        torch.testing.assert_close(jac[:, :, k], numeric, atol=1e-7, rtol=1e-6)


def test_hand_written_network_agrees_with_mlp_layout():
    spec = lm.MLPSpec(1, (4,), ("radbas",))
    p = lm.nguyen_widrow(spec, 1, torch.Generator().manual_seed(0))
    x = np.linspace(-1, 1, 11)
    y_ref, jac_ref = _rbf_net(p[0].numpy(), x)
    y, jac = lm.mlp_jacobian(spec, p, torch.as_tensor(x)[None, :, None])
    np.testing.assert_allclose(y[0].numpy(), y_ref, atol=1e-14)
    np.testing.assert_allclose(jac[0].numpy(), jac_ref, atol=1e-14)


def test_batched_lm_follows_the_per_network_loop_exactly():
    spec = lm.MLPSpec(1, (3,), ("radbas",))
    gen = torch.Generator().manual_seed(1)
    b, n = 4, 30
    x = torch.linspace(-1, 1, n, dtype=torch.float64).repeat(b, 1)
    t = torch.sin(2.0 * x) + 0.2 * torch.arange(b, dtype=torch.float64)[:, None] * x * x
    p0 = lm.nguyen_widrow(spec, b, gen)
    res = lm.train_lm(spec, p0, x.unsqueeze(-1), t, options=lm.LMOptions(epochs=25, min_grad=0.0))
    for i in range(b):
        ref = _reference_lm(p0[i].numpy(), x[i].numpy(), t[i].numpy(), 25)
        np.testing.assert_allclose(res.params[i].numpy(), ref, rtol=1e-7, atol=1e-9)
    # Several μ values per round pick the same step as trying them one by one.
    res4 = lm.train_lm(spec, p0, x.unsqueeze(-1), t, options=lm.LMOptions(epochs=25, min_grad=0.0, trials=4))
    torch.testing.assert_close(res4.params, res.params, rtol=1e-9, atol=1e-11)


def test_lm_converges_to_the_least_squares_solution():
    """A realizable 2-neuron problem: the batched LM and MINPACK's LM reach the generating weights."""
    spec = lm.MLPSpec(1, (2,), ("radbas",))
    truth = np.array([3.0, -2.0, 1.0, 0.5, 1.5, -0.7, 0.2])
    x = np.linspace(-1, 1, 60)
    t = _rbf_net(truth, x)[0]
    p0 = truth + np.array([0.3, -0.2, 0.1, -0.1, 0.2, 0.1, -0.05])
    res = lm.train_lm(
        spec, torch.as_tensor(p0)[None], torch.as_tensor(x)[None, :, None], torch.as_tensor(t)[None],
        options=lm.LMOptions(epochs=200),
    )  # fmt: skip
    ref = least_squares(lambda p: _rbf_net(p, x)[0] - t, p0, method="lm", xtol=1e-14, ftol=1e-14)
    assert float(res.train_loss[0]) < 1e-14
    np.testing.assert_allclose(res.params[0].numpy(), truth, atol=1e-7)
    np.testing.assert_allclose(ref.x, truth, atol=1e-7)
    assert int(res.stop[0]) in (lm.STOP_GRAD, lm.STOP_MU)


def test_early_stopping_is_per_network_and_keeps_best_validation_weights():
    spec = lm.MLPSpec(1, (6,), ("radbas",))
    gen = torch.Generator().manual_seed(5)
    x = torch.linspace(-1, 1, 40, dtype=torch.float64)
    t = torch.cos(3.0 * x)
    xs = x.repeat(2, 1).unsqueeze(-1)
    ts = t.repeat(2, 1)
    # Network 0 is validated against a different function, so its validation loss soon rises;
    # network 1 is validated on its own target and keeps improving.
    tv = torch.stack([torch.cos(3.0 * x) + 0.8 * x, t])
    p0 = lm.nguyen_widrow(spec, 2, gen)
    opts = lm.LMOptions(epochs=60, max_fail=3, min_grad=0.0)
    res = lm.train_lm(spec, p0, xs, ts, val=(xs, tv, None), options=opts)
    assert int(res.stop[0]) == lm.STOP_VAL
    assert int(res.epochs[0]) < int(res.epochs[1])
    assert int(res.epochs[0]) == int(res.best_epoch[0]) + opts.max_fail
    # Its returned weights are those of its best validation epoch: retraining for exactly that many
    # epochs (without validation) gives the same weights.
    best = int(res.best_epoch[0])
    again = lm.train_lm(spec, p0[:1], xs[:1], ts[:1], options=lm.LMOptions(epochs=best, min_grad=0.0))
    torch.testing.assert_close(res.params[0], again.params[0], rtol=1e-9, atol=1e-9)
    val_loss = torch.mean((tv[0] - lm.mlp_forward(spec, res.params[0], xs[0])) ** 2)
    torch.testing.assert_close(val_loss, res.val_loss[0])


def test_row_weights_equal_repeated_rows():
    spec = lm.MLPSpec(2, (3,), ("tanh",))
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(1, 12, 2, dtype=torch.float64, generator=gen)
    t = torch.sin(x.sum(-1))
    counts = torch.tensor([[1, 3, 2, 1, 1, 4, 1, 2, 1, 1, 3, 1]], dtype=torch.float64)
    rep = counts[0].long()
    x_rep = x[0].repeat_interleave(rep, 0)[None]
    t_rep = t[0].repeat_interleave(rep, 0)[None]
    p0 = lm.nguyen_widrow(spec, 1, gen, input_range=(0.0, 1.0))
    opts = lm.LMOptions(epochs=15, min_grad=0.0)
    a = lm.train_lm(spec, p0, x, t, weights=counts, options=opts)
    b = lm.train_lm(spec, p0, x_rep, t_rep, options=opts)
    torch.testing.assert_close(a.params, b.params, rtol=1e-8, atol=1e-10)


def test_float32_jacobian_reaches_a_similar_fit():
    spec = lm.MLPSpec(1, (5,), ("radbas",))
    gen = torch.Generator().manual_seed(4)
    x = torch.linspace(-1, 1, 80, dtype=torch.float64).repeat(3, 1).unsqueeze(-1)
    t = torch.sin(2.5 * x[..., 0])
    p0 = lm.nguyen_widrow(spec, 3, gen)
    r64 = lm.train_lm(spec, p0, x, t, options=lm.LMOptions(epochs=100))
    r32 = lm.train_lm(spec, p0, x, t, options=lm.LMOptions(epochs=100), dtype=torch.float32)
    # Paths differ by rounding, so a network may settle in another local minimum; all fit well.
    assert float(r64.train_loss.max()) < 1e-2
    assert float(r32.train_loss.max()) < 1e-2
    assert float(r32.train_loss.median()) < 1e-5


def test_minmax_map_and_predictions():
    spec = lm.MLPSpec(2, (4,), ("radbas",))
    gen = torch.Generator().manual_seed(6)
    x = torch.rand(3, 50, 2, dtype=torch.float64, generator=gen) * torch.tensor([10.0, 0.1], dtype=torch.float64) + 5.0
    t = 100.0 + 20.0 * torch.sin(x[..., 0]) * x[..., 1]
    net = lm.fit_mlps(spec, x, t, options=lm.LMOptions(epochs=30), generator=gen)
    xn = x * net.inputs.scale.unsqueeze(1) + net.inputs.offset.unsqueeze(1)
    torch.testing.assert_close(xn.amin(1), -torch.ones(3, 2, dtype=torch.float64))
    torch.testing.assert_close(xn.amax(1), torch.ones(3, 2, dtype=torch.float64))
    pred = net.predict(x)
    assert float(((pred - t) ** 2).mean() / t.var()) < 0.2
    # Networks reading columns of a shared table agree with per-network inputs.
    table = torch.rand(70, 5, dtype=torch.float64, generator=gen) * 10.0
    cols = torch.tensor([[0, 3], [4, 1], [2, 2]])
    gathered = table[:, cols].permute(1, 0, 2)
    torch.testing.assert_close(net.predict_columns(table, cols, max_elements=64), net.predict(gathered))
    # A constant target maps to −1 and back to its value.
    const = lm.minmax_map(torch.full((1, 4), 7.0, dtype=torch.float64))
    torch.testing.assert_close(7.0 * const.scale + const.offset, torch.tensor([-1.0], dtype=torch.float64))


def test_nguyen_widrow_magnitudes():
    spec = lm.MLPSpec(3, (5, 4), ("tanh", "radbas"))
    p = lm.nguyen_widrow(spec, 200, torch.Generator().manual_seed(0))
    w1 = p[:, :15].reshape(200, 5, 3)
    # Rows of magnitude 0.7·S^(1/R), mapped onto the active range [−2, 2] (×2).
    torch.testing.assert_close(w1.norm(dim=-1), torch.full((200, 5), 2 * 0.7 * 5 ** (1 / 3), dtype=torch.float64))
    out_w = p[:, -5:]
    assert float(out_w.abs().max()) <= 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="activation"):
        lm.MLPSpec(2, (3,), ("sigmoid",))
    with pytest.raises(ValueError, match="output activation"):
        lm.MLPSpec(2, (3,), ("tanh",), "softmax")
    spec = lm.MLPSpec(1, (2,), ("radbas",))
    x = torch.zeros(2, 5, 1, dtype=torch.float64)
    t = torch.zeros(2, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="params must be"):
        lm.train_lm(spec, torch.zeros(2, 3, dtype=torch.float64), x, t)
    with pytest.raises(ValueError, match="weights"):
        lm.train_lm(spec, torch.zeros(2, spec.n_params, dtype=torch.float64), x, t, weights=-torch.ones_like(t))
    with pytest.raises(ValueError, match="trials"):
        lm.train_lm(spec, torch.zeros(2, spec.n_params, dtype=torch.float64), x, t, options=lm.LMOptions(trials=0))
