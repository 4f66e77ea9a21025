"""FLOPs accounting: nanochat's per-token count agrees with torch's FLOP counter on real models."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from missionctl.train.config import Budget, TrainConfig
from missionctl.train.model import flops
from missionctl.train.model.gpt import GPT

SHAPES: list[dict[str, Any]] = [
    {"depth": 2, "seq_len": 32},
    {"depth": 1, "width": 96, "head_dim": 32, "seq_len": 48, "mlp_ratio": 3},
    {
        "depth": 2,
        "width": 64,
        "head_dim": 16,
        "seq_len": 16,
        "rotary": False,
        "tie_embeddings": True,
        "bias": True,
        "mlp": "gelu",
    },
]


@pytest.mark.parametrize("changes", SHAPES)
def test_flops_per_token_matches_the_flop_counter(changes: dict[str, Any]) -> None:
    config = dataclasses.replace(TrainConfig(), **changes)
    model = GPT(config)
    batch = 3
    idx = torch.randint(0, 256, (batch, config.seq_len))
    # The counter sees attention's matmuls only when SDPA runs as plain math; it counts
    # the full T x T score matrix, as nanochat's formula does.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        torch.autograd.backward(model.loss(idx, idx))
    assert counter.get_total_flops() == flops.flops_per_token(config) * batch * config.seq_len


@pytest.mark.parametrize("changes", SHAPES)
def test_parameter_counts_match_the_model(changes: dict[str, Any]) -> None:
    config = dataclasses.replace(TrainConfig(), **changes)
    model = GPT(config)
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    assert flops.matmul_params(config) == linear
    assert flops.n_params(config) == sum(p.numel() for p in model.parameters())
    lookups = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding))
    tied = model.head.weight.numel() if config.tie_embeddings else 0
    assert flops.embedding_params(config) == lookups - tied


def test_budgets_give_the_most_whole_steps_that_fit() -> None:
    config = dataclasses.replace(TrainConfig(), depth=1, seq_len=16, batch_size=2)
    per_step = config.tokens_per_step * flops.flops_per_token(config)
    assert flops.steps_in_budget(Budget("flops", 3 * per_step), config) == 3
    assert flops.steps_in_budget(Budget("flops", 3.99 * per_step), config) == 3
    assert flops.steps_in_budget(Budget("flops", 0.1 * per_step), config) == 1
    assert flops.steps_in_budget(Budget("tokens", 100), config) == 100 // 32
    assert flops.steps_in_budget(Budget("steps", 7), config) == 7
    assert flops.steps_in_budget(Budget("seconds", 7), config) is None


def test_mfu_only_against_a_known_bf16_peak() -> None:
    assert flops.peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == 989e12
    assert flops.peak_flops("NVIDIA H200", "bfloat16") == 989e12
    assert flops.peak_flops("NVIDIA H100 80GB HBM3", "float32") is None
    assert flops.peak_flops(None, "float32") is None
    assert flops.peak_flops("Some Future GPU", "bfloat16") is None
    assert flops.mfu(494.5e12, 989e12) == pytest.approx(0.5)
    assert flops.mfu(1e12, None) is None
