"""The GPT: soft-capped logits, causality, every feature switch, and the CPU ops' own gradients."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch

from missionctl.train.config import TrainConfig
from missionctl.train.model import ops
from missionctl.train.model.gpt import GPT

TINY = TrainConfig(depth=2, width=64, head_dim=16, seq_len=16)


def _trained_like(config: TrainConfig, seed: int = 0) -> GPT:
    """A model with every weight random (zero-init would make the logits trivially 0)."""
    torch.manual_seed(seed)
    model = GPT(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


def test_softcap_caps_logits_as_c_tanh_z_over_c() -> None:
    capped = _trained_like(dataclasses.replace(TINY, logit_softcap=15.0))
    raw = GPT(dataclasses.replace(TINY, logit_softcap=0.0))
    raw.load_state_dict(capped.state_dict())
    idx = torch.randint(0, 256, (2, 16))
    z, y = raw(idx), capped(idx)
    assert z.dtype == torch.float32 and y.dtype == torch.float32
    assert z.abs().max() > 15  # the cap has something to cap
    torch.testing.assert_close(y, 15.0 * torch.tanh(z / 15.0))
    assert y.abs().max() < 15
    small = z.abs() < 1
    torch.testing.assert_close(y[small], z[small], atol=1e-2, rtol=0)  # ~identity near 0


def test_softcap_applies_in_float32_under_bf16_autocast() -> None:
    model = _trained_like(TINY)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(torch.randint(0, 256, (1, 16)))
    assert logits.dtype == torch.float32


def test_zero_init_starts_at_the_uniform_loss() -> None:
    model = GPT(TINY)
    idx = torch.randint(0, 256, (2, 16))
    assert model.loss(idx, idx).item() == pytest.approx(math.log(256), abs=1e-6)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"rotary": False},
        {"qk_norm": False},
        {"norm": "layer"},
        {"embed_norm": False},
        {"mlp": "gelu"},
        {"tie_embeddings": True},
        {"bias": True},
        {"logit_softcap": 0.0},
        {"zero_init": False},
    ],
)
def test_every_switch_trains_and_stays_causal(changes: dict[str, Any]) -> None:
    model = _trained_like(dataclasses.replace(TINY, **changes))
    idx = torch.randint(0, 256, (2, 16))
    later = idx.clone()
    later[:, 10:] = torch.randint(0, 256, (2, 6))
    # Changing bytes at positions >= 10 must not change any prediction before them.
    torch.testing.assert_close(model(idx)[:, :10], model(later)[:, :10])
    loss = model.loss(idx, idx)
    torch.autograd.backward(loss)
    assert math.isfinite(loss.item())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_switches_change_the_model() -> None:
    idx = torch.randint(0, 256, (2, 16))
    base = _trained_like(TINY)
    for changes in ({"qk_norm": False}, {"mlp": "gelu"}, {"norm": "layer"}, {"embed_norm": False}):
        other = GPT(dataclasses.replace(TINY, **changes))
        other.load_state_dict(base.state_dict())
        assert not torch.allclose(base(idx), other(idx)), changes
    assert sum(p.numel() for p in GPT(dataclasses.replace(TINY, rotary=False)).parameters()) > sum(
        p.numel() for p in base.parameters()
    )


@pytest.mark.parametrize(
    ("name", "shape"),
    [("rms_norm", (3, 5, 16)), ("relu2", (3, 5, 16)), ("rotate", (2, 5, 2, 3, 8))],
)
def test_hand_written_backwards_match_autograd(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    angles = torch.randn(1, shape[1], 1, 1, shape[-1] // 2, dtype=torch.float64)
    extra = (angles.cos(), angles.sin()) if name == "rotate" else ()
    op = getattr(ops, name)
    fused = op(x, *extra, fused=True)
    plain = op(x, *extra, fused=False)
    torch.testing.assert_close(fused, plain)
    grad = torch.randn_like(fused)
    (g_fused,) = torch.autograd.grad(fused, x, grad)
    (g_plain,) = torch.autograd.grad(plain, x, grad)
    torch.testing.assert_close(g_fused, g_plain)
    assert torch.autograd.gradcheck(lambda t: op(t, *extra, fused=True), (x,))


def test_fused_relu2_mlp_matches_the_plain_layers() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 5, 16, dtype=torch.float64, requires_grad=True)
    w_fc = torch.randn(64, 16, dtype=torch.float64, requires_grad=True)
    w_proj = torch.randn(16, 64, dtype=torch.float64, requires_grad=True)
    inputs = (x, w_fc, w_proj)
    fused = ops.relu2_mlp(*inputs, fused=True)
    plain = ops.relu2_mlp(*inputs, fused=False)
    torch.testing.assert_close(fused, plain)
    grad = torch.randn_like(fused)
    for g_fused, g_plain in zip(
        torch.autograd.grad(fused, inputs, grad),
        torch.autograd.grad(plain, inputs, grad),
        strict=True,
    ):
        torch.testing.assert_close(g_fused, g_plain)
    assert torch.autograd.gradcheck(lambda *t: ops.relu2_mlp(*t, fused=True), inputs)
    # Only the gradients asked for are computed: a frozen input gets none.
    (only_x,) = torch.autograd.grad(ops.relu2_mlp(x, w_fc.detach(), w_proj, fused=True).sum(), x)
    assert only_x.shape == x.shape


def test_fused_rotary_qk_norm_matches_rotating_then_norming() -> None:
    torch.manual_seed(0)
    b, t, h, d = 2, 5, 3, 8
    qkv = torch.randn(b, t, 3, h, d, dtype=torch.float64, requires_grad=True)
    angles = torch.randn(1, t, 1, 1, d // 2, dtype=torch.float64)
    cos, sin = angles.cos(), angles.sin()
    fused = ops.rotary_qk_norm(qkv, cos, sin, fused=True)
    plain = ops.rotary_qk_norm(qkv, cos, sin, fused=False)
    grads = [torch.randn(b, t, h, d, dtype=torch.float64) for _ in range(3)]
    for a, p in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, p)
    torch.testing.assert_close(
        torch.autograd.grad(fused, qkv, grads)[0], torch.autograd.grad(plain, qkv, grads)[0]
    )
    # Each output on its own (the others get no gradient), and gradcheck on all three.
    for i in range(3):
        (alone,) = torch.autograd.grad(
            ops.rotary_qk_norm(qkv, cos, sin, fused=True)[i], qkv, grads[i]
        )
        (want,) = torch.autograd.grad(
            ops.rotary_qk_norm(qkv, cos, sin, fused=False)[i], qkv, grads[i]
        )
        torch.testing.assert_close(alone, want)
    assert torch.autograd.gradcheck(lambda x: ops.rotary_qk_norm(x, cos, sin, fused=True), (qkv,))


def _graph_nodes(out: torch.Tensor) -> set[str]:
    seen, todo = {}, [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and id(node) not in seen:
            seen[id(node)] = node.name()
            todo.extend(next_node for next_node, _ in node.next_functions)
    return set(seen.values())


def test_model_mlp_takes_the_fused_path_only_where_it_applies() -> None:
    # Bias-free ReLU² on the CPU: the fused node; with biases or GELU: the plain layers.
    x = torch.randn(2, 8, TINY.model_width, requires_grad=True)
    for changes, fused in (({}, True), ({"bias": True}, False), ({"mlp": "gelu"}, False)):
        mlp = GPT(dataclasses.replace(TINY, **changes)).blocks[0].mlp
        assert ("_ReLU2MLPBackward" in _graph_nodes(mlp(x))) is fused, changes


def test_rotary_rotates_by_position() -> None:
    # Position 0 is the identity; later positions keep each pair's length but turn it.
    config = dataclasses.replace(TINY, seq_len=4)
    model = GPT(config)
    x = torch.randn(1, 4, 2, 1, 16)
    for fused in (True, False):
        y = ops.rotate(x, model.cos, model.sin, fused=fused)
        torch.testing.assert_close(y[:, 0], x[:, 0])
        pair = lambda t: t[..., 0::2] ** 2 + t[..., 1::2] ** 2  # noqa: E731
        torch.testing.assert_close(pair(y), pair(x))
        assert not torch.allclose(y[:, 1:], x[:, 1:])


def test_softcap_op_matches_its_formula_and_gradient() -> None:
    torch.manual_seed(0)
    u = torch.randn(4, 7, dtype=torch.float64, requires_grad=True) * 3
    fused, plain = ops.softcap(u, 15.0, fused=True), ops.softcap(u, 15.0, fused=False)
    torch.testing.assert_close(fused, plain)
    grad = torch.randn_like(fused)
    torch.testing.assert_close(
        torch.autograd.grad(fused, u, grad)[0], torch.autograd.grad(plain, u, grad)[0]
    )
    leaf = u.detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: ops.softcap(t, 15.0, fused=True), (leaf,))


def test_the_fused_cpu_model_equals_the_plain_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    # The whole model, not just each op: same loss and same gradient for every weight.
    model = _trained_like(TINY).double()
    idx = torch.randint(0, 256, (2, 16))
    fused_loss = model.loss(idx, idx)
    fused = torch.autograd.grad(fused_loss, list(model.parameters()))
    assert "_ReLU2MLPBackward" in _graph_nodes(fused_loss)
    assert "_RotaryQKNormBackward" in _graph_nodes(fused_loss)
    for name in ("relu2_mlp", "rotary_qk_norm", "rms_norm", "softcap", "relu2"):
        real = getattr(ops, name)
        monkeypatch.setattr(ops, name, lambda *a, _op=real, fused: _op(*a, fused=False))
    plain_loss = model.loss(idx, idx)
    assert "_ReLU2MLPBackward" not in _graph_nodes(plain_loss)
    plain = torch.autograd.grad(plain_loss, list(model.parameters()))
    torch.testing.assert_close(fused_loss, plain_loss)
    for (name, _), a, b in zip(model.named_parameters(), fused, plain, strict=True):
        torch.testing.assert_close(a, b, msg=name)
