"""The GPT the org experiments on, in the style of nanochat's.

Rotary position embeddings, parameter-free RMSNorm (before each block, after
the embedding, and on queries and keys), a ReLU² MLP, an output head separate
from the embedding, no biases, causal attention through
`scaled_dot_product_attention`, and logits soft-capped in float32 as
c·tanh(z/c). Every one of these is a switch in `TrainConfig`, so an agent can
ablate it and compare.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from missionctl.train.config import TrainConfig
from missionctl.train.model import ops
from missionctl.train.model.flops import VOCAB_SIZE


def _fused(t: Tensor) -> bool:
    """Whether the hand-fused ops of `ops` apply to `t`: on a CPU, in full precision, outside
    autocast. Elsewhere the plain expressions run (and CUDA compiles them)."""
    return (
        t.device.type == "cpu"
        and t.dtype in (torch.float32, torch.float64)
        and not torch.is_autocast_enabled("cpu")
    )


def _norm(x: Tensor, kind: str) -> Tensor:
    # Parameter-free either way: nanochat drops the gains, which costs nothing in quality.
    if kind == "rms":
        return ops.rms_norm(x, fused=x.device.type == "cpu")
    return F.layer_norm(x, (x.size(-1),))


def _rotary_tables(seq_len: int, head_dim: int, base: float) -> tuple[Tensor, Tensor]:
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    # Shaped (1, T, 1, 1, head_dim/2) to broadcast over the (B, T, 2, H, D) stack of q and k.
    return angles.cos()[None, :, None, None, :], angles.sin()[None, :, None, None, :]


class Attention(nn.Module):
    """Causal self-attention; q, k and v come from one fused matmul."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        d = config.model_width
        self.qkv = nn.Linear(d, 3 * d, bias=config.bias)
        self.proj = nn.Linear(d, d, bias=config.bias)

    def forward(self, x: Tensor, rotary: tuple[Tensor, Tensor] | None) -> Tensor:
        b, t, d = x.shape
        cfg = self.config
        qkv = self.qkv(x).view(b, t, 3, cfg.n_heads, cfg.head_dim)
        if rotary is not None and cfg.qk_norm and _fused(qkv):
            q, k, v = ops.rotary_qk_norm(qkv, *rotary, fused=True)
        else:
            # Queries and keys go through rotary and QK-norm together: half the element-wise ops.
            qk, v = qkv.split((2, 1), dim=2)
            if rotary is not None:
                cos, sin = rotary
                qk = ops.rotate(
                    qk, cos.to(qk.dtype), sin.to(qk.dtype), fused=x.device.type == "cpu"
                )
            if cfg.qk_norm:
                qk = _norm(qk, "rms")
            (q, k), v = qk.unbind(dim=2), v.squeeze(2)
        # Under autocast the norms run in float32 while v stays bfloat16; SDPA needs one dtype.
        q, k = q.to(v.dtype), k.to(v.dtype)
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        )
        out: Tensor = self.proj(y.transpose(1, 2).reshape(b, t, d))
        return out


class MLP(nn.Module):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        d = config.model_width
        self.fc = nn.Linear(d, config.mlp_ratio * d, bias=config.bias)
        self.proj = nn.Linear(config.mlp_ratio * d, d, bias=config.bias)
        self.relu2 = config.mlp == "relu2"

    def forward(self, x: Tensor) -> Tensor:
        if self.relu2 and self.fc.bias is None and self.proj.bias is None:
            return ops.relu2_mlp(x, self.fc.weight, self.proj.weight, fused=_fused(x))
        h = self.fc(x)
        h = ops.relu2(h, fused=h.device.type == "cpu") if self.relu2 else F.gelu(h)
        out: Tensor = self.proj(h)
        return out


class Block(nn.Module):
    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.norm = config.norm
        self.attn = Attention(config)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, rotary: tuple[Tensor, Tensor] | None) -> Tensor:
        x = x + self.attn(_norm(x, self.norm), rotary)
        out: Tensor = x + self.mlp(_norm(x, self.norm))
        return out


class GPT(nn.Module):
    """A byte-level GPT; `forward` gives float32 logits, `loss` the mean cross-entropy."""

    cos: Tensor
    sin: Tensor

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        d = config.model_width
        self.wte = nn.Embedding(VOCAB_SIZE, d)
        self.wpe = None if config.rotary else nn.Embedding(config.seq_len, d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.head = nn.Linear(d, VOCAB_SIZE, bias=config.bias)
        if config.tie_embeddings:
            self.head.weight = self.wte.weight
        cos, sin = _rotary_tables(config.seq_len, config.head_dim, config.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """nanochat's init: fan-in scaled matrices, unit embeddings, zeroed output layers."""
        for module in self.modules():
            if module is self.head and self.config.tie_embeddings:
                continue  # its weight is the embedding's, which keeps the embedding's init
            if isinstance(module, nn.Linear):
                fan_out, fan_in = module.weight.shape
                std = min(1.0, math.sqrt(fan_out / fan_in)) / math.sqrt(fan_in)
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=1.0)
        if self.config.zero_init:
            # Each block starts as the identity; a tied head must keep the embedding's init.
            for block in self.blocks:
                assert isinstance(block, Block)
                nn.init.zeros_(block.attn.proj.weight)
                nn.init.zeros_(block.mlp.proj.weight)
            if not self.config.tie_embeddings:
                nn.init.zeros_(self.head.weight)

    def hidden(self, idx: Tensor) -> Tensor:
        """The final normalised hidden states for byte ids `idx` of shape (B, T)."""
        t = idx.size(1)
        if self.wpe is None and self.config.embed_norm:
            # Normalising the 256 rows of the table, then looking up, is the same function as
            # normalising every looked-up vector, at a fraction of the cost.
            x = F.embedding(idx, _norm(self.wte.weight, self.config.norm))
        else:
            x = self.wte(idx)
            if self.wpe is not None:
                x = x + self.wpe(torch.arange(t, device=idx.device))
            if self.config.embed_norm:
                x = _norm(x, self.config.norm)
        rotary = None if self.wpe is not None else (self.cos[:, :t], self.sin[:, :t])
        for block in self.blocks:
            x = block(x, rotary)
        return _norm(x, self.config.norm)

    def forward(self, idx: Tensor) -> Tensor:
        """Logits (B, T, 256) in float32, soft-capped when `logit_softcap` > 0."""
        h = self.hidden(idx)
        cap = self.config.logit_softcap
        if cap <= 0:
            logits: Tensor = self.head(h).float()
            return logits
        # c·tanh(z/c), with the 1/c folded into the (256 x width) head rather than applied to
        # every logit: one pass fewer over the largest activation. tanh runs in float32.
        bias = None if self.head.bias is None else self.head.bias / cap
        scaled = F.linear(h, self.head.weight / cap, bias).float()
        return ops.softcap(scaled, cap, fused=scaled.device.type == "cpu")

    def loss(self, idx: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy in nats per byte of predicting `targets` from `idx`."""
        logits: Tensor = self(idx)
        return F.cross_entropy(logits.view(-1, VOCAB_SIZE), targets.reshape(-1))
