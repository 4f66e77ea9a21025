"""The verdict's statistics against scipy.stats and the textbook definitions."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from scipy import stats

from missionctl.ledger.stats import benjamini_hochberg, holm, paired_test, seeds_needed


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("lower", [True, False])
def test_the_paired_test_is_scipys(seed: int, lower: bool) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 12)
    diffs = [rng.gauss(0.003, 0.01) for _ in range(n)]
    theta, alpha = rng.choice([0.01, -0.005, 0.0]), rng.choice([0.05, 0.025, 0.01])
    test = paired_test(diffs, theta, lower, alpha, family=2)
    expected = stats.ttest_1samp(diffs, theta, alternative="less" if lower else "greater")
    assert test.p == pytest.approx(expected.pvalue, rel=1e-9)
    low, high = stats.t.interval(1 - 2 * alpha, n - 1, loc=sum(diffs) / n, scale=stats.sem(diffs))
    assert test.ci == pytest.approx((low, high), rel=1e-9)
    # The interval clears the threshold exactly when the one-sided test rejects.
    assert (test.p < alpha) == ((high < theta) if lower else (low > theta))


def test_seeds_needed_is_the_first_n_whose_interval_clears_the_distance() -> None:
    for sd, distance, alpha in [(0.01, 0.004, 0.05), (0.02, 0.01, 0.025), (0.005, 0.02, 0.05)]:
        n = seeds_needed(sd, distance, alpha)
        assert n is not None
        half = [stats.t.ppf(1 - alpha, k - 1) * sd / math.sqrt(k) for k in (n - 1, n)]
        assert half[1] < distance and (n == 2 or half[0] >= distance)
    assert seeds_needed(0.01, 0.0, 0.05) is None  # the mean sits on the threshold
    assert seeds_needed(1.0, 1e-6, 0.05) is None  # beyond any sensible count
    assert seeds_needed(0.0, 0.001, 0.05) == 2


def test_no_spread_means_no_doubt() -> None:
    test = paired_test([0.02, 0.02, 0.02], 0.01, True, 0.05)
    assert test.p == 1.0 and test.ci == (0.02, 0.02)
    assert paired_test([0.0, 0.0], 0.01, True, 0.05).p == 0.0
    with pytest.raises(ValueError):
        paired_test([0.1], 0.0, True, 0.05)


def _holm_by_definition(ps: list[float]) -> list[float]:
    """Holm's adjusted p: the largest over j <= rank of min(1, (k - j + 1) p_(j))."""
    k = len(ps)
    ranked = sorted(range(k), key=lambda i: ps[i])
    out = [0.0] * k
    for rank, i in enumerate(ranked):
        out[i] = max(min(1.0, (k - j) * ps[ranked[j]]) for j in range(rank + 1))
    return out


def test_holm_and_benjamini_hochberg_match_their_references() -> None:
    rng = random.Random(4)
    for k in (1, 2, 3, 7):
        for _ in range(20):
            ps = [rng.random() ** 3 for _ in range(k)]
            assert holm(ps) == pytest.approx(_holm_by_definition(ps))
            assert benjamini_hochberg(ps) == pytest.approx(
                list(stats.false_discovery_control(ps, method="bh"))
            )
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # Ties and ones stay within [0, 1] and keep their order.
    for ps in itertools.product([0.0, 0.5, 1.0], repeat=3):
        adjusted = holm(list(ps))
        assert all(0 <= a <= 1 and a >= p for a, p in zip(adjusted, ps, strict=True))
