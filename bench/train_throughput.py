"""Training throughput of missionctl's GPT against a plain reference GPT, same process.

The reference is the textbook GPT-2 written out below: learned position
embeddings, LayerNorm with gains and biases, attention as an explicit masked
softmax(QK^T/sqrt(d))V, a GELU MLP with biases, tied embeddings. Both models
get the same width, depth, context and batch, the trainer's optimizer (fused
AdamW), the same threads and dtype; a timed step is forward + backward +
optimizer step on random bytes.

The machine may be shared, so rounds alternate between the two models (ABBA
order) and the ratio is the median over rounds of (reference time / our time)
within a round: load that comes and goes hits both sides of a pair alike.
By default it measures the cpu-std shape at every core (a run alone on the
machine) and at one thread (a run in an org whose run slots split the cores).

    python bench/train_throughput.py                   # cpu-std's shape on this machine
    python bench/train_throughput.py --seq-len 512 --batch-size 4
    python bench/train_throughput.py --preset gpu-d8   # on a GPU: bf16, compiled, MFU

Prints tokens/s for both and the ratio ours/reference (>= 1.0: ours is at
least as fast).
"""

from __future__ import annotations

from missionctl.train.cli import cpu_runtime_defaults

# As the trainer's command line does, before torch loads OpenMP and MKL.
cpu_runtime_defaults()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from missionctl.train.config import PRESETS, TrainConfig  # noqa: E402
from missionctl.train.model import flops  # noqa: E402
from missionctl.train.model.gpt import GPT  # noqa: E402
from missionctl.train.runs.slots import cpu_count  # noqa: E402
from missionctl.train.trainer import resolve_device  # noqa: E402

Step = Callable[[], None]


class ReferenceBlock(nn.Module):
    def __init__(self, d: int, heads: int, seq_len: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_out = nn.Linear(4 * d, d)
        mask = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        out: Tensor = x + self.fc_out(F.gelu(self.fc(self.ln2(x))))
        return out


class ReferenceGPT(nn.Module):
    def __init__(self, d: int, depth: int, heads: int, seq_len: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(256, d)
        self.wpe = nn.Embedding(seq_len, d)
        self.blocks = nn.ModuleList(ReferenceBlock(d, heads, seq_len) for _ in range(depth))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, 256, bias=False)
        self.head.weight = self.wte.weight
        for p in self.parameters():
            if p.ndim == 2:
                nn.init.normal_(p, std=0.02)

    def loss(self, idx: Tensor, targets: Tensor) -> Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x)).float()
        return F.cross_entropy(logits.view(-1, 256), targets.reshape(-1))


def _stepper(
    model: nn.Module, loss: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor, dtype: str
) -> Step:
    # The trainer's optimizer for both: the ratio compares the models.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)

    def step() -> None:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            value = loss(x, y)
        torch.autograd.backward(value)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _time(step: Step, steps: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(config: TrainConfig, threads: int, rounds: int, steps: int) -> None:
    """Print both models' tokens/s and the ratio at `threads` torch threads."""
    torch.set_num_threads(threads)
    device, dtype, compiled = resolve_device(config)
    torch.manual_seed(0)
    x = torch.randint(0, 256, (config.batch_size, config.seq_len), device=device)
    y = torch.randint(0, 256, (config.batch_size, config.seq_len), device=device)
    ours = GPT(config).to(device)
    ref = ReferenceGPT(config.model_width, config.depth, config.n_heads, config.seq_len).to(device)
    ours_loss: Callable[[Tensor, Tensor], Tensor] = ours.loss
    ref_loss: Callable[[Tensor, Tensor], Tensor] = ref.loss
    if compiled:
        # Both compiled, or neither: the ratio compares models, not compilers.
        ours_loss = torch.compile(ours.loss)
        ref_loss = torch.compile(ref.loss)
    steppers = {
        "ours": _stepper(ours, ours_loss, x, y, dtype),
        "reference": _stepper(ref, ref_loss, x, y, dtype),
    }
    for step in steppers.values():  # warm up: allocator, kernels, compilation
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for r in range(rounds):
        order = list(steppers) if r % 2 == 0 else list(reversed(steppers))
        for name in order:
            times[name].append(_time(steppers[name], steps, device))
    tokens = config.batch_size * config.seq_len * steps
    pairs = [r / o for o, r in zip(times["ours"], times["reference"], strict=True)]
    print(
        f"device {device.type} ({dtype}, compiled={compiled}, threads={threads});"
        f" depth {config.depth} width {config.model_width} seq_len {config.seq_len}"
        f" batch {config.batch_size}; {rounds} rounds x {steps} steps"
    )
    for name, spent in times.items():
        print(
            f"  {name:>9}: {tokens / statistics.median(spent):10,.0f} tok/s"
            f" (best round {tokens / min(spent):,.0f})"
        )
    peak = flops.peak_flops(
        torch.cuda.get_device_name(device) if device.type == "cuda" else None, dtype
    )
    rate = tokens / statistics.median(times["ours"])
    mfu = flops.mfu(rate * flops.flops_per_token(config), peak)
    if mfu is not None:
        print(f"       ours: MFU {mfu:.1%} of {peak:.3g} FLOP/s (nanochat's FLOPs count)")
    else:
        print("       ours: MFU n/a (no bf16 peak for this device; GPU: not measured here)")
    quartiles = statistics.quantiles(pairs, n=4)
    print(
        f"  ratio ours/reference: {statistics.median(pairs):.2f}x"
        f" (median of {rounds} paired rounds; quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f})"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="cpu-std", choices=list(PRESETS))
    ap.add_argument("--depth", type=int, help="override the preset's depth")
    ap.add_argument("--seq-len", type=int, help="override the preset's context")
    ap.add_argument("--batch-size", type=int, help="override the preset's batch")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=30, help="paired rounds")
    ap.add_argument(
        "--threads",
        type=int,
        action="append",
        help="torch CPU threads; repeatable (default: all cores, then 1)",
    )
    args = ap.parse_args()
    changes = {
        key: value
        for key, value in (
            ("depth", args.depth),
            ("seq_len", args.seq_len),
            ("batch_size", args.batch_size),
        )
        if value is not None
    }
    config = dataclasses.replace(PRESETS[args.preset].config(), **changes)
    for threads in args.threads or sorted({cpu_count(), 1}, reverse=True):
        measure(config, threads, args.rounds, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
