"""The per-row strip cache: keyed on (incoming style, raw row, width)."""

from __future__ import annotations

from missionctl.tui.ansi import PLAIN, Sgr
from missionctl.tui.widgets.pane_mirror import StripCache


def test_a_row_is_decoded_once_per_incoming_style_and_width() -> None:
    cache = StripCache()
    strip, out = cache.get(PLAIN, "\x1b[31mred", 10)
    again, out_again = cache.get(PLAIN, "\x1b[31mred", 10)
    assert again is strip and out_again == out == Sgr(fg=1)
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_same_text_under_another_incoming_style_is_another_entry() -> None:
    cache = StripCache()
    plain, _ = cache.get(PLAIN, "text", 10)
    red, _ = cache.get(Sgr(fg=1), "text", 10)
    assert red is not plain
    assert [s.style.color.number for s in red if s.text.strip() and s.style and s.style.color] == [
        1
    ]
    assert cache.misses == 2


def test_strips_are_exactly_the_width_asked_for() -> None:
    cache = StripCache()
    short, _ = cache.get(PLAIN, "ab", 6)
    long, _ = cache.get(PLAIN, "abcdefghij", 6)
    wide, _ = cache.get(PLAIN, "漢字漢字", 5)
    assert (short.cell_length, long.cell_length, wide.cell_length) == (6, 6, 5)
    assert short.text == "ab    "
    assert long.text == "abcdef"


def test_a_width_change_is_a_miss() -> None:
    cache = StripCache()
    cache.get(PLAIN, "row", 10)
    cache.get(PLAIN, "row", 12)
    assert cache.misses == 2


def test_the_least_recently_used_entry_is_evicted() -> None:
    cache = StripCache(maxsize=2)
    first, _ = cache.get(PLAIN, "one", 5)
    cache.get(PLAIN, "two", 5)
    cache.get(PLAIN, "one", 5)  # "one" is now the most recent
    cache.get(PLAIN, "three", 5)  # evicts "two"
    assert len(cache) == 2
    assert cache.get(PLAIN, "one", 5)[0] is first
    misses = cache.misses
    cache.get(PLAIN, "two", 5)
    assert cache.misses == misses + 1
