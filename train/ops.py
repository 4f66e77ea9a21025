"""The model's element-wise ops: RMSNorm, ReLU² and rotary embeddings.

On a CPU the model runs eagerly, where autograd's generic backward for these
ops makes several passes over memory per op; the hand-written backward passes
here make one or two, which is what lets our GPT out-run a plain GPT-2 of
the same shape (see bench/train_throughput.py). On CUDA the plain expressions
are used instead: torch.compile fuses them, and autocast keeps the norms in
float32 there. `fused=False` selects the plain expressions anywhere (the
tests check that both agree, values and gradients).
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
        return r.square()

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> Tensor:
        (r,) = ctx.saved_tensors
        # 2·relu(h)·dy: zero wherever h <= 0, so relu's own mask is already applied.
        dh: Tensor = (r + r).mul_(dy)
        return dh


def _rotate_into(x: Tensor, cos: Tensor, sin: Tensor, sign: float) -> Tensor:
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    y = torch.empty_like(x)
    y1, y2 = y[..., :half], y[..., half:]
    torch.mul(x1, cos, out=y1).addcmul_(x2, sin, value=sign)
    torch.mul(x2, cos, out=y2).addcmul_(x1, sin, value=-sign)
    return y


class _Rotary(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        ctx.save_for_backward(cos, sin)
        return _rotate_into(x, cos, sin, 1.0)

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor, None, None]:
        cos, sin = ctx.saved_tensors
        # A rotation's gradient is the opposite rotation.
        return _rotate_into(dy, cos, sin, -1.0), None, None


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


def rotate(x: Tensor, cos: Tensor, sin: Tensor, fused: bool) -> Tensor:
    """Rotary embedding: the halves of the last dimension rotated by the angles in cos/sin."""
    if fused:
        out: Tensor = _Rotary.apply(x, cos, sin)  # type: ignore[no-untyped-call]
        return out
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos + x2 * sin, x2 * cos - x1 * sin), dim=-1)
