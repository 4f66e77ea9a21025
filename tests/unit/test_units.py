"""One way to show durations, sizes, counts and rates."""

from __future__ import annotations

from missionctl.units import duration, plural, si, size


def test_durations() -> None:
    assert duration(None) == "-" and duration(-3) == "0s" and duration(45.4) == "45s"
    assert duration(95) == "1m35s" and duration(3725) == "1h02m" and duration(3599.6) == "1h00m"


def test_sizes_in_binary_units() -> None:
    assert size(None) == "-" and size(512) == "512B" and size(1536) == "1.5K"
    assert size(734_003_200) == "700.0M" and size(3 * 2**40) == "3072.0G"


def test_counts_and_rates_in_decimal_units() -> None:
    assert si(None) == "-" and si(900) == "900" and si(12345) == "12.3k"
    assert si(4.1e6) == "4.1M" and si(2e9) == "2.0G" and si(-1500) == "-1.5k"


def test_a_noun_agrees_with_its_number() -> None:
    assert plural(1, "process") == "1 process" and plural(2, "process") == "2 processes"
    assert plural(0, "agent") == "0 agents" and plural(3, "mouse", "mice") == "3 mice"
