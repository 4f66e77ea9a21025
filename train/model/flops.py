"""FLOPs accounting: nanochat's count per token, peak FLOPs per device, and MFU.

Per token, a training step costs 6 x (matmul parameters, the output head
included, embeddings excluded) for the forward and backward matmuls, plus
12 x heads x head_dim x seq_len per layer for attention's two batched matmuls
(forward and backward, over the full T x T score matrix, as nanochat counts it).
Element-wise work (norms, rotary, activations, softmax, the loss) is not
counted. The count is computed from the config alone (no torch) and checked
against `torch.utils.flop_counter.FlopCounterMode` in the tests.
"""

from __future__ import annotations

import math

from missionctl.train.config import Budget, TrainConfig

VOCAB_SIZE = 256  # byte-level tokens

# Dense bf16 tensor-core peaks (no sparsity), FLOP/s, matched by substring of the
# CUDA device name; the first match wins, so longer names come first.
PEAK_BF16: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("A10G", 70e12),
    ("L4", 121e12),
    ("4090", 165e12),
    ("3090", 71e12),
)


def matmul_params(config: TrainConfig) -> int:
    """Weights of the linear layers, the output head included (biases are not matmuls)."""
    d = config.model_width
    attn = 4 * d * d  # fused q, k, v and the output projection; heads x head_dim == d
    mlp = 2 * d * config.mlp_ratio * d
    return config.depth * (attn + mlp) + d * VOCAB_SIZE


def embedding_params(config: TrainConfig) -> int:
    """Lookup tables: the token embedding (unless tied to the head) and learned positions."""
    d = config.model_width
    tokens = 0 if config.tie_embeddings else VOCAB_SIZE * d
    positions = 0 if config.rotary else config.seq_len * d
    return tokens + positions


def bias_params(config: TrainConfig) -> int:
    if not config.bias:
        return 0
    d = config.model_width
    return config.depth * (3 * d + d + config.mlp_ratio * d + d) + VOCAB_SIZE


def n_params(config: TrainConfig) -> int:
    """Every trainable parameter (the norms have none)."""
    return matmul_params(config) + embedding_params(config) + bias_params(config)


def flops_per_token(config: TrainConfig) -> int:
    """Training FLOPs per token (forward + backward), nanochat's formula."""
    attention = 12 * config.depth * config.n_heads * config.head_dim * config.seq_len
    return 6 * matmul_params(config) + attention


def peak_flops(device_name: str | None, dtype: str) -> float | None:
    """The device's dense peak for `dtype`, or None when unknown (every CPU: no MFU there)."""
    if device_name is None or dtype != "bfloat16":
        return None
    for key, peak in PEAK_BF16:
        if key in device_name:
            return peak
    return None


def mfu(flops_per_second: float, peak: float | None) -> float | None:
    """Model FLOPs utilisation as a fraction of `peak`, or None without a peak."""
    if peak is None or peak <= 0:
        return None
    return flops_per_second / peak


def steps_in_budget(budget: Budget, config: TrainConfig) -> int | None:
    """Optimizer steps a budget allows: the most whole steps that fit in it (at least one).

    None for a seconds budget, which stops on the clock instead.
    """
    per_step = {
        "steps": 1.0,
        "tokens": float(config.tokens_per_step),
        "flops": float(config.tokens_per_step * flops_per_token(config)),
    }.get(budget.kind)
    if per_step is None:
        return None
    # The epsilon keeps exactly 3 steps' worth from counting as 2.9999 steps.
    return max(1, math.floor(budget.amount / per_step + 1e-9))
