"""The SGR decoder on rows as `capture-pane -p -e` writes them."""

from __future__ import annotations

import pytest
from rich.color import Color as RichColor
from rich.style import Style

from missionctl.tui.ansi import PLAIN, Sgr, apply_sgr, decode, rich_style, segments

RED = Sgr(fg=1)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("31", Sgr(fg=1)),
        ("97", Sgr(fg=15)),
        ("42", Sgr(bg=2)),
        ("104", Sgr(bg=12)),
        ("38;5;208", Sgr(fg=208)),
        ("48;5;17", Sgr(bg=17)),
        ("38;2;10;20;30", Sgr(fg=(10, 20, 30))),
        ("48;2;1;2;3", Sgr(bg=(1, 2, 3))),
        ("38:5:99", Sgr(fg=99)),
        ("38:2::10:20:30", Sgr(fg=(10, 20, 30))),
        ("38:2:10:20:30", Sgr(fg=(10, 20, 30))),
        (
            "1;2;3;4;5;7;8;9;53",
            Sgr(
                bold=True,
                dim=True,
                italic=True,
                underline=True,
                blink=True,
                reverse=True,
                conceal=True,
                strike=True,
                overline=True,
            ),
        ),
        ("21", Sgr(underline=True)),
        ("4:3", Sgr(underline=True)),
        ("58;5;3;1", Sgr(bold=True)),  # underline colour is read past, not shown
        ("58:2::1:2:3;1", Sgr(bold=True)),
        ("", PLAIN),
        ("0", PLAIN),
    ],
)
def test_sgr_from_plain(params: str, expected: Sgr) -> None:
    assert apply_sgr(PLAIN, params) == expected


@pytest.mark.parametrize(
    ("start", "params", "expected"),
    [
        (Sgr(fg=1, bold=True, dim=True), "22", Sgr(fg=1)),
        (Sgr(italic=True, underline=True), "23;24", PLAIN),
        (Sgr(underline=True), "4:0", PLAIN),
        (
            Sgr(blink=True, reverse=True, conceal=True, strike=True, overline=True),
            "25;27;28;29;55",
            PLAIN,
        ),
        (Sgr(fg=(1, 2, 3), bg=4), "39;49", PLAIN),
        (Sgr(fg=1, bold=True), "0;32", Sgr(fg=2)),
        (Sgr(fg=1), "1;0", PLAIN),  # a reset wipes what came before it in the same sequence
        (Sgr(fg=1, charset=True), "0", Sgr(charset=True)),  # SO/SI are not SGR
    ],
)
def test_sgr_changes_a_style(start: Sgr, params: str, expected: Sgr) -> None:
    assert apply_sgr(start, params) == expected


def test_a_malformed_extended_colour_is_ignored() -> None:
    assert apply_sgr(PLAIN, "38;5") == PLAIN
    assert apply_sgr(PLAIN, "38;2;1;2") == PLAIN
    assert apply_sgr(PLAIN, "38;7;1") == PLAIN


def test_a_row_is_split_into_styled_runs() -> None:
    runs, out = decode("\x1b[31mred\\ \x1b[1mbold\x1b[0m plain", PLAIN)
    assert runs == [("red\\ ", RED), ("bold", Sgr(fg=1, bold=True)), (" plain", PLAIN)]
    assert out == PLAIN


def test_the_style_a_row_ends_in_carries_into_the_next_row() -> None:
    # tmux does not reset between rows: the second row starts red without any escape.
    first, carried = decode("\x1b[31mstill", PLAIN)
    assert first == [("still", RED)]
    second, out = decode("red here\x1b[39m no", carried)
    assert carried == RED
    assert second == [("red here", RED), (" no", PLAIN)]
    assert out == PLAIN


def test_line_drawing_cells_become_box_characters() -> None:
    runs, out = decode("\x0elqqk\x0f ok", PLAIN)
    assert runs == [("┌──┐", Sgr(charset=True)), (" ok", PLAIN)]
    assert out == PLAIN
    # A charset switch that is still on at the row's end carries over too.
    _, carried = decode("\x0ex", PLAIN)
    assert decode("x", carried)[0] == [("│", Sgr(charset=True))]


def test_other_escapes_and_controls_are_dropped() -> None:
    runs, _ = decode(
        "a\x1b]8;;https://x.invalid\x1b\\link\x1b]8;;\x1b\\b\x07c\x1b[2Kd\x1b(Be", PLAIN
    )
    assert "".join(text for text, _ in runs) == "alinkbcde"


def test_wide_and_combining_text_passes_through() -> None:
    runs, _ = decode("\x1b[32m漢字 e\u0301", PLAIN)
    assert runs == [("漢字 e\u0301", Sgr(fg=2))]


def test_rich_styles_match_the_sgr() -> None:
    assert rich_style(PLAIN) == Style()
    style = rich_style(Sgr(fg=9, bg=(1, 2, 3), bold=True, reverse=True, strike=True))
    assert style.color == RichColor.from_ansi(9)
    assert style.bgcolor == RichColor.from_rgb(1, 2, 3)
    assert style.bold and style.reverse and style.strike
    assert style.italic is None  # unset, so the widget's own style shows through
    assert rich_style(Sgr(fg=200)).color == RichColor.from_ansi(200)


def test_segments_carry_text_and_style() -> None:
    parts, out = segments("\x1b[1mhi\x1b[0m!", PLAIN)
    assert [(p.text, p.style) for p in parts] == [("hi", Style(bold=True)), ("!", Style())]
    assert out == PLAIN
