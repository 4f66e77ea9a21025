"""The learning-rate schedule and the optimizers' parameter groups."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from missionctl.train.config import TrainConfig
from missionctl.train.model.gpt import GPT
from missionctl.train.model.optim import Muon, build_optimizers, lr_multiplier, set_lr


def test_schedule_warms_up_holds_then_decays() -> None:
    config = TrainConfig(warmup=0.1, warmdown=0.4, final_lr_frac=0.1)
    assert lr_multiplier(0.0, config) == pytest.approx(0.0, abs=1e-6)
    assert lr_multiplier(0.05, config) == pytest.approx(0.5)
    assert lr_multiplier(0.1, config) == 1.0
    assert lr_multiplier(0.6, config) == 1.0
    assert lr_multiplier(0.8, config) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_multiplier(1.0, config) == pytest.approx(0.1)
    flat = TrainConfig(warmup=0.0, warmdown=0.0)
    assert {lr_multiplier(p, flat) for p in (0.0, 0.5, 1.0)} == {1.0}


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_groups_cover_every_parameter_once(optimizer: str) -> None:
    config = dataclasses.replace(
        TrainConfig(depth=1, width=64, head_dim=16, seq_len=8), optimizer=optimizer, bias=True
    )
    model = GPT(config)
    opts = build_optimizers(model, config)
    seen = [id(p) for opt in opts for group in opt.param_groups for p in group["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())
    assert any(isinstance(o, Muon) for o in opts) == (optimizer == "muon")
    set_lr(opts, 0.5)
    peaks = {g["lr"] / g["peak_lr"] for o in opts for g in o.param_groups}
    assert peaks == {0.5}


def test_muon_steps_lower_the_loss() -> None:
    torch.manual_seed(0)
    config = TrainConfig(depth=1, width=64, head_dim=16, seq_len=16, optimizer="muon", lr=1e-2)
    model = GPT(config)
    opts = build_optimizers(model, config)
    idx = torch.randint(0, 256, (4, 16))
    first = model.loss(idx, idx).item()
    for _ in range(10):
        torch.autograd.backward(model.loss(idx, idx))
        for opt in opts:
            opt.step()
        model.zero_grad()
    assert model.loss(idx, idx).item() < first - 0.5
