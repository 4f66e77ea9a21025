"""The statistics of a verdict: the paired t-test, its interval, seed counts, Holm, and BH.

Conventions (the verdict's JSON carries the results; the tests recompute them
with `scipy.stats` independently):

- Differences are paired by seed: d_i = treatment_i - baseline_i.
- The declared test is one-sided against a signed threshold θ (see
  `ExperimentSpec.threshold`): for a metric to lower, non-inferiority asks
  whether mean(d) < +margin and superiority whether mean(d) < -min_effect (the
  mirror image for a metric to raise). `p` is that one-sided test's p-value,
  `scipy.stats.ttest_1samp(d, θ, alternative="less"|"greater")`.
- `ci` is the two-sided 1 - 2α interval, mean(d) ± t(1-α, n-1)·sd/√n, so the
  one-sided test at α rejects exactly when the interval lies beyond θ.
- `seeds_needed` is the smallest n ≥ 2 with t(1-α/k, n-1)·sd/√n < |mean(d) - θ|:
  if the mean and the spread of the paired differences stay as measured, the
  interval at n pairs clears the threshold (k treatments: α/k, Holm's strictest
  level). None when the mean sits on the threshold or more than `MAX_SEEDS` are needed.

Why scipy.special and not scipy.stats: on the 2-core development machine
(scipy 1.17) `import scipy.stats` costs 0.7-0.75 s and `import scipy.special`
0.23-0.29 s, and `missionctl exp verdict` must answer within 0.3 s. The t
distribution's CDF and quantile are `scipy.special.stdtr` / `stdtrit`, the
functions `scipy.stats.t` itself calls. Even that import leaves too little of
0.3 s for a new process, so a verdict is computed where its inputs change (a
run ending, `exp attach`) and cached: `exp verdict` then answers in ~0.12 s
without importing scipy (`python bench/ledger.py`). Holm and Benjamini-Hochberg
are the few lines below: scipy has no Holm, and its BH
(`scipy.stats.false_discovery_control`) would cost the 0.7 s import; the tests
check both against references.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_SEEDS = 10_000


def _special() -> Any:
    # Imported on first use: listing or showing a pending experiment needs no statistics.
    import scipy.special

    return scipy.special


@dataclass(frozen=True)
class PairedTest:
    """The paired t-test of one treatment against the baseline."""

    n: int
    mean: float
    sd: float
    ci: tuple[float, float]
    p: float
    seeds_needed: int | None


def paired_test(
    diffs: Sequence[float], threshold: float, lower_is_better: bool, alpha: float, family: int = 1
) -> PairedTest:
    """The one-sided paired t-test of `diffs` against `threshold` (see the module docstring).

    `diffs` needs at least two values. `family` is the number of treatments
    tested together (Holm's strictest level, α/family, sizes `seeds_needed`).
    """
    n = len(diffs)
    if n < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    special = _special()
    mean = statistics.fmean(diffs)
    sd = statistics.stdev(diffs)
    se = sd / math.sqrt(n)
    df = n - 1
    if se > 0:
        half = float(special.stdtrit(df, 1 - alpha)) * se
        t = (mean - threshold) / se
        p = float(special.stdtr(df, t if lower_is_better else -t))
    else:
        # Every pair differs by the same amount: no spread, so no doubt either way.
        half = 0.0
        toward = (threshold - mean) if lower_is_better else (mean - threshold)
        p = 0.0 if toward > 0 else (1.0 if toward < 0 else 0.5)
    return PairedTest(
        n=n,
        mean=mean,
        sd=sd,
        ci=(mean - half, mean + half),
        p=p,
        seeds_needed=seeds_needed(sd, abs(mean - threshold), alpha / family),
    )


def seeds_needed(sd: float, distance: float, alpha: float) -> int | None:
    """Smallest n ≥ 2 with t(1-alpha, n-1)·sd/√n < distance; None beyond `MAX_SEEDS`."""
    if distance <= 0 or not math.isfinite(distance):
        return None
    if sd == 0:
        return 2
    import numpy as np

    n = np.arange(2, MAX_SEEDS + 1)
    half = _special().stdtrit(n - 1, 1 - alpha) * sd / np.sqrt(n)
    fits = np.nonzero(half < distance)[0]
    return int(n[fits[0]]) if len(fits) else None


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (the family-wise error of several treatments)."""
    k = len(pvalues)
    order = sorted(range(k), key=lambda i: pvalues[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (the false discovery rate across experiments)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for position, i in enumerate(order):
        rank = m - position  # 1-based rank from the smallest
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = running
    return adjusted
