"""The model's hand-fused ops: RMSNorm, the ReLU² MLP, rotary embeddings, the logit softcap.

On a CPU the model runs eagerly, where each op is a pass over memory and
autograd's generic backward adds several more: the fused forms here (a
hand-written backward for the norm, the activation and the whole bias-free
MLP, rotary as one complex multiply) make fewer passes, which keeps our GPT
ahead of a plain GPT-2 of the same shape despite its extra features (see
bench/train_throughput.py). On CUDA the plain expressions are used instead:
torch.compile fuses them, and autocast keeps the norms in float32 there.
`fused=False` selects the plain expressions anywhere (the tests check that
both agree, values and gradients).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        mean_square = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(x.size(-1))
        scale = mean_square.add_(torch.finfo(x.dtype).eps).rsqrt_()
        y: Tensor = x * scale
        ctx.save_for_backward(y, scale)
        return y

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> Tensor:
        y, scale = ctx.saved_tensors
        # d/dx of x*r(x): r * (dy - y * mean(dy * y)).
        mean = torch.linalg.vecdot(dy, y, dim=-1).unsqueeze(-1).div_(y.size(-1))
        dx: Tensor = torch.addcmul(dy, y, mean, value=-1).mul_(scale)
        return dx


class _ReLU2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, h: Tensor) -> Tensor:
        r = F.relu(h)
        ctx.save_for_backward(r)
        return r * r

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> Tensor:
        (r,) = ctx.saved_tensors
        # 2·relu(h)·dy: zero wherever h <= 0, so relu's own mask is already applied.
        dh: Tensor = torch.mul(r, dy).mul_(2.0)
        return dh


class _ReLU2MLP(torch.autograd.Function):
    """proj(relu(fc(x))²) for bias-free layers, as one node with a hand-written backward.

    The activation is the widest tensor in the model (mlp_ratio x width per token), so the
    passes over it set the MLP's cost. Here the forward clamps fc's output in place and
    squares it into the one new buffer proj needs; the backward folds relu²'s factor 2 into
    proj's (width x hidden) weight, so its gradient becomes a single in-place multiply.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w_fc: Tensor, w_proj: Tensor) -> Tensor:
        flat = x.reshape(-1, x.size(-1))
        r = torch.mm(flat, w_fc.t()).clamp_min_(0.0)
        a = torch.mul(r, r)
        ctx.save_for_backward(flat, w_fc, w_proj, r, a)
        ctx.x_shape = x.shape
        return torch.mm(a, w_proj.t()).view(*x.shape[:-1], w_proj.size(0))

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        flat, w_fc, w_proj, r, a = ctx.saved_tensors
        dy = dy.reshape(-1, dy.size(-1))
        d_proj = torch.mm(dy.t(), a) if ctx.needs_input_grad[2] else None
        # d(r²)/dh = 2r: the 2 scales the small weight (exactly: a power of two), not dh.
        dh = torch.mm(dy, w_proj * 2.0).mul_(r)
        d_fc = torch.mm(dh.t(), flat) if ctx.needs_input_grad[1] else None
        dx = torch.mm(dh, w_fc).view(ctx.x_shape) if ctx.needs_input_grad[0] else None
        return dx, d_fc, d_proj


class _RotaryQKNorm(torch.autograd.Function):
    """Attention's inputs from the (B, T, 3, H, D) output of the qkv matmul in one node.

    Queries and keys are RMS-normed and rotated, values passed through: (q, k, v), each
    (B, T, H, D). A rotation keeps every pair's length, so the norm's scale, taken before
    rotating, is the one after it, and the backward runs the norm's formula on the rotated
    values before rotating back. Autograd's version of this stacks the gradients of q and
    k and then concatenates them with v's; here each lands straight in its slot.
    """

    @staticmethod
    def forward(ctx: Any, qkv: Tensor, turn: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        qkv = qkv.contiguous()  # a no-op for the qkv matmul's output
        b, t, _, h, d = qkv.shape
        qk = qkv[:, :, :2]
        scale = torch.linalg.vector_norm(qk, dim=-1, keepdim=True).square_().div_(d)
        scale = scale.add_(torch.finfo(qkv.dtype).eps).rsqrt_()
        out = qkv.new_empty((b, t, 2, h, d))
        turned = torch.view_as_complex(out.view(b, t, 2, h, d // 2, 2))
        torch.mul(torch.view_as_complex(qk.view(b, t, 2, h, d // 2, 2)), turn, out=turned)
        turned.mul_(scale)
        ctx.save_for_backward(out, scale, turn)
        return out[:, :, 0], out[:, :, 1], qkv[:, :, 2]

    @staticmethod
    def backward(
        ctx: Any, dq: Tensor | None, dk: Tensor | None, dv: Tensor | None
    ) -> tuple[Tensor, None]:
        y, scale, turn = ctx.saved_tensors
        b, t, _, h, d = y.shape
        dqkv = y.new_empty((b, t, 3, h, d))
        back = turn.conj()[:, :, 0]
        for j, dy in ((0, dq), (1, dk)):
            slot = dqkv[:, :, j]
            if dy is None:
                slot.zero_()
                continue
            yj = y[:, :, j]
            # The norm's backward, r * (dy - y * mean(dy * y)), then the rotation undone.
            mean = torch.linalg.vecdot(dy, yj, dim=-1).unsqueeze(-1).div_(d)
            g = torch.addcmul(dy, yj, mean, value=-1, out=y.new_empty(dy.shape))
            g.mul_(scale[:, :, j])
            torch.mul(
                torch.view_as_complex(g.view(b, t, h, d // 2, 2)),
                back,
                out=torch.view_as_complex(slot.view(b, t, h, d // 2, 2)),
            )
        if dv is None:
            dqkv[:, :, 2].zero_()
        else:
            dqkv[:, :, 2].copy_(dv)
        return dqkv, None


class _Softcap(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: Tensor, cap: float) -> Tensor:
        y = torch.tanh(u).mul_(cap)
        ctx.save_for_backward(y)
        ctx.cap = cap
        return y

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, None]:
        (y,) = ctx.saved_tensors
        # d(c·tanh u)/du = c - y²/c.
        du: Tensor = torch.mul(y, y).mul_(-1.0 / ctx.cap).add_(ctx.cap).mul_(dy)
        return du, None


def softcap(u: Tensor, cap: float, fused: bool) -> Tensor:
    """cap·tanh(u): logits already divided by `cap`, capped to (-cap, cap)."""
    if fused:
        out: Tensor = _Softcap.apply(u, cap)  # type: ignore[no-untyped-call]
        return out
    return cap * torch.tanh(u)


def rms_norm(x: Tensor, fused: bool) -> Tensor:
    """x / sqrt(mean(x²) + eps) over the last dimension, without a gain."""
    if fused:
        out: Tensor = _RMSNorm.apply(x)  # type: ignore[no-untyped-call]
        return out
    return F.rms_norm(x, (x.size(-1),))


def relu2(h: Tensor, fused: bool) -> Tensor:
    """relu(h)²."""
    if fused:
        out: Tensor = _ReLU2.apply(h)  # type: ignore[no-untyped-call]
        return out
    return F.relu(h).square()


def relu2_mlp(x: Tensor, w_fc: Tensor, w_proj: Tensor, fused: bool) -> Tensor:
    """x @ w_fc.T, relu², @ w_proj.T: a bias-free ReLU² MLP."""
    if fused:
        out: Tensor = _ReLU2MLP.apply(x, w_fc, w_proj)  # type: ignore[no-untyped-call]
        return out
    return F.linear(F.relu(F.linear(x, w_fc)).square(), w_proj)


def rotary_qk_norm(
    qkv: Tensor, cos: Tensor, sin: Tensor, fused: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """(q, k, v) from qkv (B, T, 3, H, D): q and k rotated, then RMS-normed; v as it is."""
    if fused:
        turn = torch.complex(cos, sin)
        out: tuple[Tensor, Tensor, Tensor] = _RotaryQKNorm.apply(qkv, turn)  # type: ignore[no-untyped-call]
        return out
    qk = rms_norm(rotate(qkv[:, :, :2], cos, sin, fused=False), fused=False)
    q, k = qk.unbind(dim=2)
    return q, k, qkv[:, :, 2]


def rotate(x: Tensor, cos: Tensor, sin: Tensor, fused: bool) -> Tensor:
    """Rotary embedding: each pair (x[2i], x[2i+1]) of the last dimension turned by its angle."""
    pairs = x.reshape(*x.shape[:-1], x.size(-1) // 2, 2)
    if fused and x.dtype in (torch.float32, torch.float64):
        # The pairs as complex numbers: one complex multiply each way instead of six real ops.
        turned = torch.view_as_complex(pairs) * torch.complex(cos, sin)
        return torch.view_as_real(turned).flatten(-2)
    even, odd = pairs.unbind(-1)
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)
