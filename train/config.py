"""What a training run is made of: the config knobs, the budget, and the presets.

Torch-free on purpose: the CLI validates `--set` and `--budget` (and prints the
valid keys) before paying for `import torch`, and the app reads configs back.

The config holds every knob that changes the numbers (model shape, feature
switches, optimisation, evaluation, device and dtype); seeds and the budget
are kept beside it, not in it, so two arms of an experiment that differ only in
seed share one `config_hash`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from missionctl.errors import UserError


def _knob(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    low: float | None = None,
    high: float | None = None,
) -> Any:
    return field(
        default=default, metadata={"help": help, "choices": choices, "low": low, "high": high}
    )


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a run that changes its numbers; `--set key=value` sets any of them."""

    # The model: nanochat's GPT, each feature a switch so agents can ablate it.
    depth: int = _knob(4, "transformer blocks; the size dial", low=1, high=256)
    width: int = _knob(0, "model width; 0 means 64 x depth", low=0, high=65536)
    head_dim: int = _knob(
        64, "width of one attention head (width must be a multiple)", low=2, high=4096
    )
    mlp_ratio: int = _knob(4, "MLP hidden width as a multiple of the model width", low=1, high=64)
    seq_len: int = _knob(256, "context length in bytes", low=2, high=65536)
    rotary: bool = _knob(True, "rotary position embeddings (off: learned absolute positions)")
    rope_base: float = _knob(10000.0, "rotary base frequency", low=1.0)
    qk_norm: bool = _knob(True, "RMS-normalise queries and keys before attention")
    norm: str = _knob("rms", "parameter-free normalisation", choices=("rms", "layer"))
    embed_norm: bool = _knob(True, "normalise the token embedding before the first block")
    mlp: str = _knob("relu2", "MLP activation", choices=("relu2", "gelu"))
    tie_embeddings: bool = _knob(False, "share the token embedding with the output head")
    bias: bool = _knob(False, "biases in every linear layer")
    logit_softcap: float = _knob(
        15.0, "cap logits as c*tanh(z/c) in float32; 0 turns it off", low=0
    )
    zero_init: bool = _knob(True, "zero-initialise output projections and the head")
    # Optimisation.
    optimizer: str = _knob("adamw", "optimizer", choices=("adamw", "muon"))
    batch_size: int = _knob(16, "sequences per micro-batch", low=1, high=65536)
    grad_accum: int = _knob(1, "micro-batches per optimizer step", low=1, high=65536)
    lr: float = _knob(6e-3, "peak learning rate (AdamW; with muon, for embeddings/head)", low=0)
    muon_lr: float = _knob(0.02, "peak learning rate of the muon-updated matrices", low=0)
    weight_decay: float = _knob(0.0, "decoupled weight decay on the blocks' matrices", low=0)
    beta1: float = _knob(0.9, "AdamW beta1 (muon momentum uses 0.95)", low=0)
    beta2: float = _knob(0.95, "AdamW beta2", low=0)
    eps: float = _knob(1e-8, "AdamW epsilon", low=0)
    grad_clip: float = _knob(1.0, "clip the global gradient norm to this; 0 turns it off", low=0)
    warmup: float = _knob(0.0, "fraction of the budget spent warming the lr up from 0", low=0)
    warmdown: float = _knob(0.4, "fraction of the budget, at the end, spent decaying the lr", low=0)
    final_lr_frac: float = _knob(
        0.0, "lr at the end of the warmdown, as a fraction of the peak", low=0
    )
    # Evaluation: the validation windows are fixed, so every run is scored on the same bytes.
    evals: int = _knob(
        4, "evaluations spread over the run, besides the final one", low=0, high=10000
    )
    eval_tokens: int = _knob(32768, "validation bytes scored per evaluation", low=1, high=2**30)
    # Execution.
    device: str = _knob(
        "auto", "where to train (auto: cuda when present)", choices=("auto", "cpu", "cuda")
    )
    dtype: str = _knob(
        "auto", "compute dtype (auto: bf16 autocast on cuda, float32 on cpu)",
        choices=("auto", "float32", "bfloat16"),
    )  # fmt: skip
    compile: str = _knob(
        "auto", "torch.compile the model (auto: on cuda only)", choices=("auto", "on", "off")
    )

    @property
    def model_width(self) -> int:
        """The model width: `width`, or 64 x `depth` when it is 0."""
        return self.width or 64 * self.depth

    @property
    def n_heads(self) -> int:
        return self.model_width // self.head_dim

    @property
    def tokens_per_step(self) -> int:
        """Bytes (tokens) one optimizer step trains on."""
        return self.batch_size * self.grad_accum * self.seq_len

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def config_hash(self) -> str:
        """A short stable hash of every knob: equal hashes mean equal configs."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def check(self) -> None:
        """Raise `UserError` for combinations no single knob's check can see."""
        if self.model_width % self.head_dim:
            raise UserError(
                f"width {self.model_width} is not a multiple of head_dim {self.head_dim};"
                " set width or head_dim so that it is (e.g. head_dim=64)"
            )
        if self.rotary and self.head_dim % 2:
            raise UserError(f"rotary embeddings need an even head_dim, not {self.head_dim}")
        if self.warmup + self.warmdown > 1:
            raise UserError(
                f"warmup ({self.warmup:g}) + warmdown ({self.warmdown:g}) exceed the whole"
                " budget; make them sum to at most 1"
            )
        for name in ("beta1", "beta2"):  # Adam divides by 1 - beta**t
            if not 0 <= getattr(self, name) < 1:
                raise UserError(
                    f"{name} must be at least 0 and below 1, not {getattr(self, name):g}"
                )
        if self.final_lr_frac > 1:
            raise UserError(f"final_lr_frac must be at most 1, not {self.final_lr_frac:g}")
        if self.batch_size * self.seq_len > MAX_MICROBATCH_TOKENS:
            raise UserError(
                f"batch_size {self.batch_size} x seq_len {self.seq_len} is"
                f" {self.batch_size * self.seq_len:,} tokens in one micro-batch, over the limit of"
                f" {MAX_MICROBATCH_TOKENS:,}; lower batch_size and raise grad_accum instead"
            )


# Tokens in one forward pass: its activations (and 256-way logits) must fit a device.
MAX_MICROBATCH_TOKENS = 1 << 22

KNOBS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(TrainConfig)}
SEED_KEYS = ("init_seed", "data_seed")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def knob_help() -> str:
    """One line per knob: name, default and what it does (for `--help` and errors)."""
    lines = []
    for name, f in KNOBS.items():
        choices = f.metadata["choices"]
        low, high = f.metadata["low"], f.metadata["high"]
        kind = "|".join(choices) if choices else str(f.type)
        if high is not None:
            kind += f" {low:g}-{high:g}"
        lines.append(f"  {name}={f.default} ({kind}): {f.metadata['help']}")
    for name in SEED_KEYS:
        lines.append(f"  {name}=0 (int): seed of the {name.split('_')[0]} randomness")
    return "\n".join(lines)


MAX_SEED = 2**63 - 1  # torch.manual_seed takes a 64-bit integer


def parse_value(key: str, text: str) -> Any:
    """`text` converted to the type of knob `key`; a `UserError` names the valid values."""
    if key in SEED_KEYS:
        seed = _parse_int(key, text, low=0)
        if seed > MAX_SEED:
            raise UserError(f"{key}={text} is too large; seeds go from 0 to 2**63-1")
        return seed
    if key not in KNOBS:
        valid = ", ".join([*KNOBS, *SEED_KEYS])
        raise UserError(f"unknown config key {key!r}; the valid keys are: {valid}")
    f = KNOBS[key]
    low = f.metadata["low"]
    if f.type == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise UserError(f"{key}={text!r} is not a boolean; use true or false")
    if f.type == "int":
        return _parse_int(key, text, low=low, high=f.metadata["high"])
    if f.type == "float":
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"{key}={text!r} is not a number; e.g. {key}={f.default}") from None
        if not math.isfinite(value) or (low is not None and value < low):
            raise UserError(f"{key}={text} is out of range; it must be a number >= {low:g}")
        return value
    choices = f.metadata["choices"]
    if text not in choices:
        raise UserError(f"{key}={text!r} is not valid; the valid values are: {', '.join(choices)}")
    return text


def _parse_int(key: str, text: str, low: float | None, high: float | None = None) -> int:
    try:
        number = float(text)  # accepts 1e3 as well as 1000; 5,000 digits become inf
    except ValueError:
        number = math.nan
    if math.isnan(number) or (math.isfinite(number) and number != int(number)):
        raise UserError(f"{key}={_short(text)!r} is not a whole number; e.g. {key}=4")
    too_low = low is not None and number < low
    if too_low or (high is not None and number > high) or math.isinf(number):
        valid = f"at least {low:g}" if high is None else f"from {low or 0:g} to {high:g}"
        raise UserError(f"{key}={_short(text)} is out of range; it must be {valid}")
    return int(number)


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "..."


BUDGET_KINDS = ("steps", "tokens", "flops", "seconds")
# Far past any run this trainer makes (gpu-d8 is 1e17 FLOPs), short of numbers that
# overflow the step arithmetic or promise a run that never ends.
BUDGET_LIMITS = {"steps": 1e9, "tokens": 1e15, "flops": 1e24, "seconds": 1e7}


@dataclass(frozen=True)
class Budget:
    """How much a run may train: a number of steps, tokens, FLOPs, or seconds of training."""

    kind: str
    amount: float

    def __str__(self) -> str:
        return f"{self.kind}={self.amount:g}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount": self.amount}

    @classmethod
    def parse(cls, text: str) -> Budget:
        """`flops=1e13`, `steps=500`, `tokens=2e6` or `seconds=90`."""
        kind, sep, amount = text.partition("=")
        kind = kind.strip()
        if not sep or kind not in BUDGET_KINDS:
            raise UserError(
                f"budget {text!r} is not KIND=AMOUNT with KIND one of {', '.join(BUDGET_KINDS)};"
                " e.g. --budget flops=1e13"
            )
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise UserError(
                f"budget amount {_short(amount)!r} must be a positive number, e.g. {kind}=1e13"
            )
        if value > BUDGET_LIMITS[kind]:
            raise UserError(
                f"budget {kind}={_short(amount)} is out of range; it must be above 0 and at most"
                f" {BUDGET_LIMITS[kind]:g}"
            )
        if kind == "steps" and value != int(value):
            raise UserError(f"a steps budget must be a whole number, not {amount}")
        return cls(kind, value)


@dataclass(frozen=True)
class Preset:
    """A named starting point: config overrides and a default budget."""

    name: str
    about: str
    overrides: dict[str, Any]
    budget: Budget

    def config(self) -> TrainConfig:
        return dataclasses.replace(TrainConfig(), **self.overrides)


# Budgets are FLOPs so that a preset does the same work wherever it runs; the
# wall times quoted were measured on the 2-core development machine.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "cpu-tiny",
            "3-5 s on a CPU, start to end; for end-to-end tests of the whole org",
            {"depth": 2, "seq_len": 64, "batch_size": 8, "evals": 1, "eval_tokens": 4096},
            Budget("flops", 1.5e11),
        ),
        Preset(
            "cpu-smoke",
            "about 20 s on 2 CPU cores; a quick check that a change trains (cpu-std's model)",
            {"depth": 2, "seq_len": 128, "batch_size": 16, "evals": 2, "eval_tokens": 16384},
            Budget("flops", 3e12),
        ),
        Preset(
            "cpu-std",
            "1-3 min on 2 CPU cores (about 1 when they are idle); the CPU experiment size",
            {"depth": 2, "seq_len": 128, "batch_size": 16, "evals": 4, "eval_tokens": 65536},
            Budget("flops", 1e13),
        ),
        Preset(
            "gpu-d8",
            "about 57M parameters at T=1024 on one GPU (8 blocks of width 768)",
            {
                "depth": 8,
                "width": 768,
                "head_dim": 128,
                "seq_len": 1024,
                "batch_size": 32,
                "grad_accum": 4,
                "lr": 1e-3,
                "weight_decay": 0.1,
                "warmup": 0.02,
                "evals": 10,
                "eval_tokens": 1048576,
            },
            Budget("flops", 1e17),
        ),
    )
}


def preset(name: str) -> Preset:
    """The preset called `name`, or a `UserError` listing them."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; the presets are: {', '.join(PRESETS)}") from None


def apply_overrides(config: TrainConfig, pairs: list[str]) -> tuple[TrainConfig, dict[str, int]]:
    """`config` with `key=value` pairs applied, and the seeds among them; checked."""
    changes: dict[str, Any] = {}
    seeds: dict[str, int] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep:
            raise UserError(f"--set {pair!r} is not key=value; e.g. --set depth=6")
        value = parse_value(key, text.strip())
        if key in SEED_KEYS:
            seeds[key] = value
        else:
            changes[key] = value
    result = dataclasses.replace(config, **changes)
    result.check()
    return result, seeds
