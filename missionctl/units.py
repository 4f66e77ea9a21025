"""How numbers read, everywhere missionctl shows one: durations, sizes, counts, rates.

One definition each, so `missionctl status`, the trainer's step lines and the
app's metrics strip never disagree on how long, how big or how many.
"""

from __future__ import annotations

__all__ = ["duration", "plural", "si", "size"]


def duration(seconds: float | None) -> str:
    """`45s`, `3m05s`, `2h07m`; `-` when unknown."""
    if seconds is None:
        return "-"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def size(n: float | None) -> str:
    """Bytes in binary units: `512B`, `1.5K`, `3.2M`, `7.9G`; `-` when unknown."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"


def si(n: float | None) -> str:
    """A count or rate in decimal units: `950`, `12.3k`, `4.1M`, `2.0G`; `-` when unknown."""
    if n is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """`1 process`, `2 processes`, `0 agents`: a number with its noun agreeing."""
    if n == 1:
        return f"1 {noun}"
    if plural_form is None:
        plural_form = noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{n} {plural_form}"
