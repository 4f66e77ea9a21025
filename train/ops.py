"""The model's element-wise ops: RMSNorm, ReLU², rotary embeddings and the logit softcap.

On a CPU the model runs eagerly, where each op is a pass over memory and
autograd's generic backward adds several more: the fused forms here (a
hand-written backward for the norm and the activation, rotary as one complex
multiply) make fewer passes, which keeps our GPT level with or ahead of a
plain GPT-2 of the same shape despite its extra features (see
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


def rotate(x: Tensor, cos: Tensor, sin: Tensor, fused: bool) -> Tensor:
    """Rotary embedding: each pair (x[2i], x[2i+1]) of the last dimension turned by its angle."""
    pairs = x.reshape(*x.shape[:-1], x.size(-1) // 2, 2)
    if fused and x.dtype in (torch.float32, torch.float64):
        # The pairs as complex numbers: one complex multiply each way instead of six real ops.
        turned = torch.view_as_complex(pairs) * torch.complex(cos, sin)
        return torch.view_as_real(turned).flatten(-2)
    even, odd = pairs.unbind(-1)
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)
