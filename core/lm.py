"""Batched Levenberg–Marquardt training of many tiny multilayer perceptrons at once.

Thousands of small networks (a few inputs, one or two hidden layers of ≤ 30 neurons, one output) are
stacked as tensors: parameters ``[B, P]``, inputs ``[B, n, k]``, targets ``[B, n]``. Every epoch forms
each network's Jacobian analytically, the normal equations ``JᵀWJ`` and ``JᵀWe`` with one batched matrix
product, and solves them by batched Cholesky in float64. The rule follows MATLAB's ``trainlm``:

* step Δ = (JᵀJ + μI)⁻¹ Jᵀe with JᵀJ and Jᵀe divided by the number of rows (as ``trainlm`` scales
  them for the mean squared error); a step is taken only if the loss falls, μ ← μ·mu_dec after a
  success and μ ← μ·mu_inc after a failure, retried within the same epoch until a step succeeds or
  μ > mu_max. ``trials`` > 1 solves that many successive μ values at once (the same choice as trying
  them one after another; on a CPU one at a time is fastest);
* stop at the epoch limit, μ > mu_max, gradient norm < min_grad, loss ≤ goal, or ``max_fail``
  consecutive epochs without a better validation loss — each network on its own;
* with validation rows, each network returns the weights of its best validation epoch (epoch 0
  included); without, its last weights.

Rows carry non-negative weights: a bootstrap sample with repeated rows becomes its distinct rows
weighted by their counts (the same normal equations, fewer rows), and padding rows get weight 0.

``minmax_map`` reproduces MATLAB's default ``mapminmax`` preprocessing (each network rescales each input
and its target to [−1, 1] on its own training rows); :class:`BatchedMLP` applies it when predicting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from .progress import Progress, report, scaled

HIDDEN_ACTIVATIONS = ("tanh", "radbas")
OUTPUT_ACTIVATIONS = ("linear", "relu")

# Stop reasons, per network, in LMResult.stop.
STOP_EPOCHS, STOP_MU, STOP_GRAD, STOP_VAL, STOP_GOAL = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class MLPSpec:
    """k inputs → hidden layers (``tanh`` or ``radbas`` = exp(−n²)) → one ``linear`` or ``relu`` output."""

    n_in: int
    hidden: tuple
    activations: tuple
    output: str = "linear"

    def __post_init__(self) -> None:
        if self.n_in < 1:
            raise ValueError(f"n_in must be at least 1, got {self.n_in}")
        if len(self.hidden) < 1 or len(self.hidden) != len(self.activations):
            raise ValueError(f"hidden {self.hidden} and activations {self.activations} must match, ≥ 1 layer")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden layer sizes must be ≥ 1, got {self.hidden}")
        bad = [a for a in self.activations if a not in HIDDEN_ACTIVATIONS]
        if bad:
            raise ValueError(f"hidden activation {bad[0]!r} unknown: use one of {HIDDEN_ACTIVATIONS}")
        if self.output not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output activation {self.output!r} unknown: use one of {OUTPUT_ACTIVATIONS}")

    @property
    def shapes(self) -> list:
        """(out, in) of every weight layer, first to last."""
        sizes = [self.n_in, *self.hidden, 1]
        return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for o, i in self.shapes)


@dataclass(frozen=True)
class LMOptions:
    """``trainlm`` settings (MATLAB defaults) plus ``trials``: μ values solved together per round."""

    epochs: int = 1000
    max_fail: int = 6
    mu: float = 1e-3
    mu_dec: float = 0.1
    mu_inc: float = 10.0
    mu_max: float = 1e10
    min_grad: float = 1e-7
    goal: float = 0.0
    trials: int = 1


@dataclass
class LMResult:
    """Per network: returned parameters, epochs run, best epoch, stop reason, final train/val loss."""

    params: torch.Tensor
    epochs: torch.Tensor
    best_epoch: torch.Tensor
    stop: torch.Tensor
    train_loss: torch.Tensor
    val_loss: Optional[torch.Tensor] = None


# ------------------------------------------------------------------------------------------ network maths


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "tanh":
        # tanh z = 2σ(2z) − 1: the same function, and torch's CPU sigmoid is several times faster than its tanh.
        return torch.sigmoid(z * 2.0).mul(2.0).sub_(1.0)
    if name == "radbas":
        return torch.exp(-z * z)
    if name == "relu":
        return torch.clamp_min(z, 0.0)
    return z


def _act_grad(name: str, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """d act / d z, from the pre-activation ``z`` and activation ``a``."""
    if name == "tanh":
        return 1.0 - a * a
    if name == "radbas":
        return -2.0 * z * a
    if name == "relu":
        return (z > 0).to(z.dtype)
    return torch.ones_like(z)


def _unpack(spec: MLPSpec, params: torch.Tensor) -> list:
    """Views (W [..., out, in], b [..., out]) per layer of ``params`` [..., P]."""
    lead = params.shape[:-1]
    layers, off = [], 0
    for o, i in spec.shapes:
        w = params[..., off : off + o * i].reshape(*lead, o, i)
        off += o * i
        b = params[..., off : off + o]
        off += o
        layers.append((w, b))
    return layers


def mlp_forward(spec: MLPSpec, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Outputs [..., n] of networks ``params`` [..., P] on inputs ``x`` [..., n, k] (broadcast over ...)."""
    return _forward_t(spec, params, x.transpose(-1, -2))


def _forward_t(spec: MLPSpec, params: torch.Tensor, xt: torch.Tensor) -> torch.Tensor:
    """As :func:`mlp_forward` with inputs laid out [..., k, n] (rows last: long contiguous loops)."""
    a = xt
    layers = _unpack(spec, params)
    for (w, b), name in zip(layers[:-1], spec.activations):
        a = _act(name, torch.matmul(w, a) + b.unsqueeze(-1))
    w, b = layers[-1]
    return _act(spec.output, torch.matmul(w, a).squeeze(-2) + b)


def mlp_jacobian(
    spec: MLPSpec, params: torch.Tensor, x: torch.Tensor, row_scale: Optional[torch.Tensor] = None
) -> tuple:
    """Outputs y [B, n] and the Jacobian dy/dparams [B, n, P] of networks ``params`` [B, P] on x [B, n, k];
    with ``row_scale`` [B, n], row i of the Jacobian is multiplied by row_scale[:, i]."""
    y, jt = _jacobian_t(spec, params, x.transpose(1, 2).contiguous(), row_scale)
    return y, jt.transpose(1, 2)


def _jacobian_t(
    spec: MLPSpec,
    params: torch.Tensor,
    xt: torch.Tensor,
    row_scale: Optional[torch.Tensor] = None,
    out: Optional[torch.Tensor] = None,
) -> tuple:
    """Outputs y [B, n] and the transposed Jacobian [B, P, n] on inputs laid out [B, k, n] (written into
    ``out`` when given: reusing one buffer avoids page faults on a fresh allocation every epoch)."""
    bsz, n = xt.shape[0], xt.shape[2]
    layers = _unpack(spec, params)
    acts, pre = [xt], []
    for (w, b), name in zip(layers[:-1], spec.activations):
        z = torch.baddbmm(b.unsqueeze(-1), w, acts[-1])
        pre.append(z)
        acts.append(_act(name, z))
    w_out, b_out = layers[-1]
    z_out = torch.baddbmm(b_out.unsqueeze(-1), w_out, acts[-1])  # [B, 1, n]
    y_out = _act(spec.output, z_out)
    jt = xt.new_empty(bsz, spec.n_params, n) if out is None else out
    offsets, off = [], 0
    for o, i in spec.shapes:
        offsets.append(off)
        off += o * i + o
    delta = _act_grad(spec.output, z_out, y_out)  # [B, 1, n]
    if row_scale is not None:
        delta = delta * row_scale.unsqueeze(1)
    for layer in range(len(layers) - 1, -1, -1):
        o, i = spec.shapes[layer]
        off = offsets[layer]
        torch.mul(delta.unsqueeze(2), acts[layer].unsqueeze(1), out=jt[:, off : off + o * i].view(bsz, o, i, n))
        jt[:, off + o * i : off + o * i + o] = delta
        if layer > 0:
            name = spec.activations[layer - 1]
            delta = torch.bmm(layers[layer][0].transpose(1, 2), delta) * _act_grad(name, pre[layer - 1], acts[layer])
    return y_out.squeeze(1), jt


_ACTIVE_RANGE = {"tanh": (-2.0, 2.0), "radbas": (-2.0, 2.0)}
_OUTPUT_RANGE = {"tanh": (-1.0, 1.0), "radbas": (0.0, 1.0)}


def nguyen_widrow(
    spec: MLPSpec,
    batch: int,
    generator: torch.Generator,
    input_range: tuple = (-1.0, 1.0),
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Initial parameters [batch, P] (float64) after MATLAB's ``initnw``.

    Hidden layers: weight rows of random direction and magnitude 0.7·S^(1/R), biases spread evenly over
    ±that magnitude, both mapped from the input range onto the transfer function's active range [−2, 2].
    The output layer (linear or relu: unbounded active range) is uniform in [−1, 1].
    """
    parts = []
    in_lo, in_hi = input_range
    for layer, (o, i) in enumerate(spec.shapes):
        if layer < len(spec.hidden):
            mag = 0.7 * o ** (1.0 / i)
            direction = torch.randn(batch, o, i, generator=generator, dtype=torch.float64)
            direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            w = mag * direction
            spread = torch.linspace(-1.0, 1.0, o, dtype=torch.float64) if o > 1 else torch.zeros(1, dtype=torch.float64)
            b = mag * spread * torch.sign(w[..., 0])
            # Map [−1, 1] inputs to the actual input range, then [−1, 1] outputs onto the active range.
            x_scale = 2.0 / (in_hi - in_lo)
            x_mid = 0.5 * (in_hi + in_lo)
            b = b - (w * x_scale * x_mid).sum(-1)
            w = w * x_scale
            lo, hi = _ACTIVE_RANGE[spec.activations[layer]]
            half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
            w, b = w * half, b * half + mid
            in_lo, in_hi = _OUTPUT_RANGE[spec.activations[layer]]
        else:
            w = torch.rand(batch, o, i, generator=generator, dtype=torch.float64) * 2.0 - 1.0
            b = torch.rand(batch, o, generator=generator, dtype=torch.float64) * 2.0 - 1.0
        parts += [w.reshape(batch, -1), b.reshape(batch, -1)]
    return torch.cat(parts, dim=1).to(device)


# ------------------------------------------------------------------------------------------ LM training


def _wmse(y: torch.Tensor, t: torch.Tensor, w: torch.Tensor, wsum: torch.Tensor) -> torch.Tensor:
    e = t - y
    return (w * e * e).sum(-1) / wsum


def train_lm(
    spec: MLPSpec,
    params: torch.Tensor,
    x: torch.Tensor,
    t: torch.Tensor,
    weights: Optional[torch.Tensor] = None,
    val: Optional[tuple] = None,
    options: LMOptions = LMOptions(),
    param_mask: Optional[torch.Tensor] = None,
    dtype: torch.dtype = torch.float64,
    max_bytes: int = 256 << 20,
    progress: Optional[Progress] = None,
) -> LMResult:
    """Train networks ``params`` [B, P] on rows ``x`` [B, n, k] → ``t`` [B, n] (row weights [B, n]).

    ``val`` = (x_val, t_val, w_val or None) turns on early stopping and best-validation weights.
    ``param_mask`` [B, P] of 0/1 freezes parameters (their Jacobian columns are zeroed). ``dtype`` is
    the precision of the Jacobian and of JᵀJ (float64 by default; float32 halves the cost); the solve
    is always float64. Networks are trained ``max_bytes`` of Jacobian at a time.
    """
    if params.ndim != 2 or params.shape[1] != spec.n_params:
        raise ValueError(f"params must be [B, {spec.n_params}], got {tuple(params.shape)}")
    bsz = params.shape[0]
    if x.ndim != 3 or x.shape[0] != bsz or x.shape[2] != spec.n_in:
        raise ValueError(f"x must be [{bsz}, n, {spec.n_in}], got {tuple(x.shape)}")
    if t.shape != x.shape[:2]:
        raise ValueError(f"targets must be {tuple(x.shape[:2])}, got {tuple(t.shape)}")
    if weights is None:
        weights = torch.ones_like(t)
    if weights.shape != t.shape or bool((weights < 0).any()):
        raise ValueError("row weights must have the targets' shape and be ≥ 0")
    itemsize = torch.finfo(dtype).bits // 8
    per_net = x.shape[1] * (spec.n_params + 2 * sum(spec.hidden)) * itemsize * 2
    chunk = max(1, min(bsz, int(max_bytes // max(per_net, 1))))
    pieces = []
    for start in range(0, bsz, chunk):
        sl = slice(start, min(bsz, start + chunk))
        vsl = None
        if val is not None:
            xv, tv, wv = val
            vsl = (xv[sl], tv[sl], None if wv is None else wv[sl])
        mask = None if param_mask is None else param_mask[sl]
        sub = scaled(progress, start / bsz, sl.stop / bsz)
        pieces.append(_train_chunk(spec, params[sl], x[sl], t[sl], weights[sl], vsl, options, mask, dtype, sub))
    cat = [torch.cat([getattr(p, name) for p in pieces]) for name in ("params", "epochs", "best_epoch", "stop")]
    losses = torch.cat([p.train_loss for p in pieces])
    vloss = torch.cat([p.val_loss for p in pieces]) if val is not None else None
    return LMResult(cat[0], cat[1], cat[2], cat[3], losses, vloss)


def _train_chunk(
    spec: MLPSpec,
    p0: torch.Tensor,
    x: torch.Tensor,
    t: torch.Tensor,
    w: torch.Tensor,
    val: Optional[tuple],
    opt: LMOptions,
    mask: Optional[torch.Tensor],
    dtype: torch.dtype,
    progress: Optional[Progress],
) -> LMResult:
    b, n_par = p0.shape
    dev = p0.device
    f64 = torch.float64
    params = p0.to(f64).clone()
    best = params.clone()
    mu = torch.full((b,), float(opt.mu), dtype=f64, device=dev)
    fails = torch.zeros(b, dtype=torch.long, device=dev)
    epochs = torch.zeros(b, dtype=torch.long, device=dev)
    best_epoch = torch.zeros(b, dtype=torch.long, device=dev)
    stop = torch.zeros(b, dtype=torch.long, device=dev)
    x, t, w = x.to(dtype).transpose(1, 2).contiguous(), t.to(dtype), w.to(dtype)
    wsum = w.sum(1).clamp_min(1e-300)
    train_loss = torch.full((b,), math.inf, dtype=f64, device=dev)
    has_val = val is not None
    if has_val:
        xv, tv, wv = val
        xv, tv = xv.to(dtype).transpose(1, 2).contiguous(), tv.to(dtype)
        wv = torch.ones_like(tv) if wv is None else wv.to(dtype)
        wvsum = wv.sum(1).clamp_min(1e-300)
        best_val = _wmse(_forward_t(spec, params.to(dtype), xv), tv, wv, wvsum).to(f64)
    if opt.trials < 1:
        raise ValueError(f"trials must be ≥ 1, got {opt.trials}")
    mu_steps = opt.mu_inc ** torch.arange(opt.trials, dtype=f64, device=dev)

    active = torch.arange(b, device=dev)
    xa, ta, wa, sw, wsa = x, t, w, w.sqrt(), wsum
    ma = mask
    if has_val:
        xva, tva, wva, wvsa = xv, tv, wv, wvsum
    jac_buffer = torch.empty(b, n_par, x.shape[2], dtype=dtype, device=dev)
    for epoch in range(opt.epochs):
        report(progress, epoch / opt.epochs, "training networks")
        pa = params[active]
        y, jt = _jacobian_t(spec, pa.to(dtype), xa, sw, out=jac_buffer[: active.numel()])
        e = ta - y
        loss = ((wa * e * e).sum(1) / wsa).to(f64)
        train_loss[active] = loss
        if ma is not None:
            jt.mul_(ma.to(dtype).unsqueeze(-1))
        # Normal equations of the mean squared error (JᵀWJ/Σw, JᵀWe/Σw), as trainlm scales them.
        norm = wsa.to(f64)[:, None]
        hess = torch.bmm(jt, jt.transpose(1, 2)).to(f64) / norm.unsqueeze(-1)
        grad = torch.bmm(jt, (e * sw).unsqueeze(-1)).squeeze(-1).to(f64) / norm
        gnorm = 2.0 * grad.norm(dim=1)
        halt = torch.zeros(active.numel(), dtype=torch.long, device=dev)
        halt[gnorm < opt.min_grad] = STOP_GRAD
        halt[loss <= opt.goal] = STOP_GOAL
        mu_a = mu[active]
        new_p = pa.clone()
        pending = torch.nonzero(halt == 0).squeeze(1)
        n_try = opt.trials
        while pending.numel():
            whole = pending.numel() == active.numel()
            mus = mu_a[pending].unsqueeze(1) * mu_steps[:n_try]  # [pb, K]
            system = (hess if whole else hess[pending]).unsqueeze(1).repeat(1, n_try, 1, 1)
            system.diagonal(dim1=-2, dim2=-1).add_(mus.unsqueeze(-1))
            chol, info = torch.linalg.cholesky_ex(system)
            rhs = (grad if whole else grad[pending])[:, None, :, None].expand(-1, n_try, -1, -1)
            step = torch.cholesky_solve(rhs, chol).squeeze(-1)
            if ma is not None:
                step = step * (ma if whole else ma[pending]).unsqueeze(1)
            cand = (pa if whole else pa[pending]).unsqueeze(1) + step  # [pb, K, P]
            xp, tp, wp, wsp = (xa, ta, wa, wsa) if whole else (xa[pending], ta[pending], wa[pending], wsa[pending])
            yc = _forward_t(spec, cand.to(dtype), xp.unsqueeze(1))
            lc = _wmse(yc, tp.unsqueeze(1), wp.unsqueeze(1), wsp.unsqueeze(1)).to(f64)
            ok = (info == 0) & torch.isfinite(lc) & (lc < loss[pending].unsqueeze(1)) & (mus <= opt.mu_max)
            found = ok.any(1)
            first = ok.to(torch.int8).argmax(1)
            acc = pending[found]
            pick = torch.arange(pending.numel(), device=dev)[found]
            new_p[acc] = cand[pick, first[found]]
            mu_a[acc] = mus[pick, first[found]] * opt.mu_dec
            rej = pending[~found]
            mu_a[rej] = mus[~found, -1] * opt.mu_inc
            pending = rej[mu_a[rej] <= opt.mu_max]
        halt[(halt == 0) & (mu_a > opt.mu_max)] = STOP_MU
        params[active] = new_p
        mu[active] = mu_a
        epochs[active] += (halt != STOP_GRAD) & (halt != STOP_GOAL)
        if has_val:
            vl = _wmse(_forward_t(spec, new_p.to(dtype), xva), tva, wva, wvsa).to(f64)
            bv = best_val[active]
            better = vl < bv
            worse = vl > bv
            idx_better = active[better]
            best[idx_better] = new_p[better]
            best_val[idx_better] = vl[better]
            best_epoch[idx_better] = epochs[idx_better]
            fa = fails[active]
            fa = torch.where(better, torch.zeros_like(fa), fa + worse.long())
            fails[active] = fa
            halt[(halt == 0) & (fa >= opt.max_fail)] = STOP_VAL
        else:
            best[active] = new_p
            best_epoch[active] = epochs[active]
        if epoch == opt.epochs - 1:
            halt[halt == 0] = STOP_EPOCHS
        stopped = halt != 0
        if bool(stopped.any()):
            stop[active[stopped]] = halt[stopped]
            keep = ~stopped
            active = active[keep]
            if active.numel() == 0:
                break
            xa, ta, wa, sw, wsa = xa[keep], ta[keep], wa[keep], sw[keep], wsa[keep]
            ma = None if ma is None else ma[keep]
            if has_val:
                xva, tva, wva, wvsa = xva[keep], tva[keep], wva[keep], wvsa[keep]
    if opt.epochs == 0:
        stop[:] = STOP_EPOCHS
    report(progress, 1.0, "training networks")
    vloss = best_val if has_val else None
    return LMResult(best, epochs, best_epoch, stop, train_loss, vloss)


# ------------------------------------------------------------------------------------------ preprocessing


@dataclass
class Affine:
    """Per network and column: x' = x·scale + offset (``scale``/``offset`` shaped [B, k] or [B])."""

    scale: torch.Tensor
    offset: torch.Tensor


def minmax_map(values: torch.Tensor, weights: Optional[torch.Tensor] = None, dim: int = 1) -> Affine:
    """MATLAB ``mapminmax``: the affine map of each network's rows onto [−1, 1] (rows with weight 0
    ignored). A constant column maps to −1 with scale 1, so it acts as a bias and stays invertible."""
    v = values
    if weights is not None:
        m = (weights > 0).unsqueeze(-1) if v.ndim == weights.ndim + 1 else weights > 0
        lo = torch.where(m, v, torch.full_like(v, math.inf)).amin(dim)
        hi = torch.where(m, v, torch.full_like(v, -math.inf)).amax(dim)
    else:
        lo, hi = v.amin(dim), v.amax(dim)
    span = hi - lo
    scale = 2.0 / torch.where(span > 0, span, torch.full_like(span, 2.0))
    return Affine(scale, -1.0 - lo * scale)


@dataclass
class BatchedMLP:
    """Trained networks with their input and output maps: y = out(net(in(x)))."""

    spec: MLPSpec
    params: torch.Tensor
    inputs: Optional[Affine] = None
    outputs: Optional[Affine] = None
    result: Optional[LMResult] = field(default=None, repr=False)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs [B, n] for per-network inputs ``x`` [B, n, k] (or [n, k], shared by all networks)."""
        if x.ndim == 2:
            x = x.unsqueeze(0)
        p = self.params
        if self.inputs is not None:
            x = x * self.inputs.scale.unsqueeze(1) + self.inputs.offset.unsqueeze(1)
        y = mlp_forward(self.spec, p.to(x.dtype), x)
        return self._out(y)

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        if self.outputs is None:
            return y
        return (y - self.outputs.offset.unsqueeze(-1)) / self.outputs.scale.unsqueeze(-1)

    def predict_columns(self, table: torch.Tensor, columns: torch.Tensor, max_elements: int = 1 << 24) -> torch.Tensor:
        """Outputs [B, N] when network b reads columns ``columns[b]`` of a shared ``table`` [N, K].

        The first layer is scattered into a [K]-wide weight matrix so that all networks share one
        matrix product per chunk of rows (no [B, N, k] copy of the inputs); chunks hold at most
        ``max_elements`` hidden activations.
        """
        bsz, k = columns.shape
        rows_per_chunk = max(256, max_elements // (bsz * max(self.spec.hidden)))
        width = table.shape[1]
        (w1, b1), *_ = _unpack(self.spec, self.params)
        if self.inputs is not None:
            scale, offset = self.inputs.scale, self.inputs.offset
        else:
            scale = torch.ones(bsz, k, dtype=w1.dtype, device=w1.device)
            offset = torch.zeros(bsz, k, dtype=w1.dtype, device=w1.device)
        h1 = w1.shape[1]
        wide = torch.zeros(bsz, h1, width, dtype=w1.dtype, device=w1.device)
        wide.scatter_add_(2, columns.unsqueeze(1).expand(-1, h1, -1), w1 * scale.unsqueeze(1))
        bias = b1 + (w1 * offset.unsqueeze(1)).sum(-1)
        flat = wide.reshape(bsz * h1, width).to(table.dtype)
        out = torch.empty(bsz, table.shape[0], dtype=table.dtype, device=table.device)
        for start in range(0, table.shape[0], rows_per_chunk):
            rows = table[start : start + rows_per_chunk]
            z1 = (rows @ flat.T).reshape(rows.shape[0], bsz, h1).transpose(0, 1) + bias.unsqueeze(1).to(table.dtype)
            out[:, start : start + rows.shape[0]] = self._out(_forward_after_first(self.spec, self.params, z1))
        return out


def _forward_after_first(spec: MLPSpec, params: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
    """Network outputs [B, n] from first-layer pre-activations ``z1`` [B, n, h1]."""
    layers = _unpack(spec, params.to(z1.dtype))
    a = _act(spec.activations[0], z1)
    for (w, b), name in zip(layers[1:-1], spec.activations[1:]):
        a = _act(name, torch.bmm(a, w.transpose(1, 2)) + b.unsqueeze(1))
    w, b = layers[-1]
    return _act(spec.output, torch.bmm(a, w.transpose(1, 2)).squeeze(-1) + b)


def fit_mlps(
    spec: MLPSpec,
    x: torch.Tensor,
    t: torch.Tensor,
    weights: Optional[torch.Tensor] = None,
    val: Optional[tuple] = None,
    options: LMOptions = LMOptions(),
    generator: Optional[torch.Generator] = None,
    init: Optional[torch.Tensor] = None,
    normalize: bool = True,
    maps: Optional[tuple] = None,
    dtype: torch.dtype = torch.float64,
    max_bytes: int = 256 << 20,
    progress: Optional[Progress] = None,
) -> BatchedMLP:
    """Initialise (Nguyen–Widrow, or ``init`` [B, P]), optionally ``mapminmax`` inputs and targets per
    network (or use the given ``maps`` = (input Affine, output Affine)), and train by LM. ``val`` rows
    (x, t, w) use the training rows' maps."""
    bsz = x.shape[0]
    inputs = outputs = None
    xs, ts, vs = x, t, val
    if normalize:
        inputs, outputs = maps if maps is not None else (minmax_map(x, weights), minmax_map(t, weights))
        xs = x * inputs.scale.unsqueeze(1) + inputs.offset.unsqueeze(1)
        ts = t * outputs.scale.unsqueeze(1) + outputs.offset.unsqueeze(1)
        if val is not None:
            xv, tv, wv = val
            vs = (
                xv * inputs.scale.unsqueeze(1) + inputs.offset.unsqueeze(1),
                tv * outputs.scale.unsqueeze(1) + outputs.offset.unsqueeze(1),
                wv,
            )
    if init is None:
        if generator is None:
            raise ValueError("give a torch.Generator or initial parameters")
        init = nguyen_widrow(spec, bsz, generator, device=x.device)
    res = train_lm(spec, init, xs, ts, weights, vs, options, dtype=dtype, max_bytes=max_bytes, progress=progress)
    return BatchedMLP(spec, res.params, inputs, outputs, res)
