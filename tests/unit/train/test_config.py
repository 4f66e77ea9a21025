"""Config knobs, budgets and presets: every bad input is one clear sentence naming the valid ones."""

from __future__ import annotations

import dataclasses

import pytest

from missionctl.errors import UserError
from missionctl.train.config import (
    KNOBS,
    PRESETS,
    Budget,
    TrainConfig,
    apply_overrides,
    parse_value,
    preset,
)
from missionctl.train.model import flops


def test_overrides_convert_each_type_and_split_out_the_seeds() -> None:
    config, seeds = apply_overrides(
        TrainConfig(),
        ["depth=6", "rotary=off", "logit_softcap=0", "mlp=gelu", "lr=1e-3", "data_seed=7"],
    )
    assert (config.depth, config.rotary, config.logit_softcap, config.mlp) == (
        6,
        False,
        0.0,
        "gelu",
    )
    assert config.lr == 1e-3
    assert seeds == {"data_seed": 7}
    assert config.model_width == 384 and config.n_heads == 6


@pytest.mark.parametrize(
    ("pair", "needle"),
    [
        ("depht=4", "the valid keys are: depth, width"),
        ("norm=batch", "the valid values are: rms, layer"),
        ("rotary=maybe", "use true or false"),
        ("depth=2.5", "not a whole number"),
        ("depth=0", "from 1 to 256"),
        ("lr=fast", "not a number"),
        ("lr=-1", "out of range"),
        ("lr=nan", "out of range"),
        ("depth", "is not key=value"),
        ("width=100", "not a multiple of head_dim"),
        ("warmup=0.7", "exceed the whole budget"),
        ("beta2=1.5", "below 1"),
        ("beta1=1", "below 1"),
        ("init_seed=9223372036854775808", "too large"),
    ],
)
def test_bad_overrides_name_the_fix(pair: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        apply_overrides(TrainConfig(), [pair])


def test_unknown_key_lists_every_valid_key_and_the_seeds() -> None:
    with pytest.raises(UserError) as info:
        parse_value("softcap", "0")
    message = str(info.value)
    assert all(name in message for name in KNOBS)
    assert "init_seed" in message and "data_seed" in message


@pytest.mark.parametrize(
    ("text", "kind", "amount"),
    [
        ("flops=1e13", "flops", 1e13),
        ("steps=500", "steps", 500),
        ("seconds=1.5", "seconds", 1.5),
        ("tokens=2e6", "tokens", 2e6),
    ],
)
def test_budgets_parse(text: str, kind: str, amount: float) -> None:
    assert Budget.parse(text) == Budget(kind, amount)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("flops", "KIND=AMOUNT"),
        ("hours=2", "KIND one of steps, tokens, flops, seconds"),
        ("steps=0", "positive"),
        ("steps=2.5", "whole number"),
        ("flops=inf", "positive"),
    ],
)
def test_bad_budgets_say_what_is_allowed(text: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        Budget.parse(text)


def test_config_hash_tracks_every_knob_and_only_knobs() -> None:
    base = TrainConfig()
    assert base.config_hash == TrainConfig().config_hash
    for name, f in KNOBS.items():
        if f.metadata["choices"]:
            other = next(c for c in f.metadata["choices"] if c != f.default)
        elif f.type == "bool":
            other = not f.default
        else:
            other = f.default + 2
        changed = dataclasses.replace(base, **{name: other})
        assert changed.config_hash != base.config_hash, name


def test_every_preset_is_valid_and_names_the_required_sizes() -> None:
    assert list(PRESETS) == ["cpu-tiny", "cpu-smoke", "cpu-std", "gpu-d8"]
    for p in PRESETS.values():
        p.config().check()
        assert (flops.steps_in_budget(p.budget, p.config()) or 0) >= 10, p.name
    d8 = preset("gpu-d8").config()
    assert d8.depth == 8 and d8.seq_len == 1024
    assert 45e6 <= flops.n_params(d8) <= 60e6
    with pytest.raises(UserError, match="the presets are: cpu-tiny, cpu-smoke, cpu-std, gpu-d8"):
        preset("cpu-huge")
