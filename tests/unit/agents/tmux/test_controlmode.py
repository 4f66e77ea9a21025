"""The control-mode parser on byte fixtures as tmux 3.3a writes them."""

from __future__ import annotations

import random

import pytest

from missionctl.agents.tmux import controlmode as cm

# A session as recorded from `tmux -C attach -t hub -f ignore-size,pause-after=1`:
# the attach's own block (flags 0), output, two client commands (flags 1), one of
# them failing, window changes, a pause and the exit.
SESSION = (
    b"%begin 1795502971 277 0\n"
    b"%end 1795502971 277 0\n"
    b"%session-changed $0 hub\n"
    b"%output %1 \\033[31mred\\134 \\033[1mbold\\015\\012# \n"
    b"%extended-output %1 12 : \\033[0mplain\\015\\012\n"
    b"%begin 1795502972 286 1\n"
    b"# printf '\\033[31mred\\\\ \\033[1mbold\\n'\n"
    b"\x1b[31mred\\ \x1b[1mbold\n"
    b"#\n"
    b"\n"
    b"%end 1795502972 286 1\n"
    b"%begin 1795502972 288 1\n"
    b"parse error: unknown command: bogus-cmd\n"
    b"%error 1795502972 288 1\n"
    b"%window-add @2\n"
    b"%window-renamed @2 r3 with spaces\n"
    b"%window-close @2\n"
    b"%unlinked-window-close @3\n"
    b"%layout-change @1 edde,30x5,0,0,1 edde,30x5,0,0,1 *\n"
    b"%pause %1\n"
    b"%begin 1795502973 290 1\n"
    b"%continue %1\n"
    b"%end 1795502973 290 1\n"
    b"%sessions-changed\n"
    b"%client-detached /dev/pts/3\n"
    b"%exit server exited unexpectedly\n"
)

EXPECTED: list[cm.Event] = [
    cm.Reply(1795502971, 277, 0, True, ()),
    cm.SessionChanged("$0", "hub"),
    cm.Output("%1", b"\\033[31mred\\134 \\033[1mbold\\015\\012# "),
    cm.ExtendedOutput("%1", 12, b"\\033[0mplain\\015\\012"),
    cm.Reply(
        1795502972,
        286,
        1,
        True,
        ("# printf '\\033[31mred\\\\ \\033[1mbold\\n'", "\x1b[31mred\\ \x1b[1mbold", "#", ""),
    ),
    cm.Reply(1795502972, 288, 1, False, ("parse error: unknown command: bogus-cmd",)),
    cm.WindowAdd("@2"),
    cm.WindowRenamed("@2", "r3 with spaces"),
    cm.WindowClose("@2"),
    cm.UnlinkedWindowClose("@3"),
    cm.LayoutChange("@1", "edde,30x5,0,0,1", "edde,30x5,0,0,1", "*"),
    cm.Pause("%1"),
    # tmux writes %continue inside the refresh-client block; it is still a notification.
    cm.Continue("%1"),
    cm.Reply(1795502973, 290, 1, True, ()),
    cm.SessionsChanged(),
    cm.Notification("client-detached", "/dev/pts/3"),
    cm.Exit("server exited unexpectedly"),
]


def test_a_recorded_session_parses_into_typed_events() -> None:
    assert cm.ControlParser().feed(SESSION) == EXPECTED


@pytest.mark.parametrize("seed", range(20))
def test_chunks_split_anywhere_give_the_same_events(seed: int) -> None:
    rng = random.Random(seed)
    parser = cm.ControlParser()
    events: list[cm.Event] = []
    pos = 0
    while pos < len(SESSION):
        step = rng.randint(1, 17)
        events += parser.feed(SESSION[pos : pos + step])
        pos += step
    assert events == EXPECTED
    assert not parser.in_block


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    parser = cm.ControlParser()
    events = [e for i in range(len(SESSION)) for e in parser.feed(SESSION[i : i + 1])]
    assert events == EXPECTED


def test_an_incomplete_line_waits_for_its_newline() -> None:
    parser = cm.ControlParser()
    assert parser.feed(b"%output %7 hal") == []
    assert parser.feed(b"f") == []
    assert parser.feed(b"\n") == [cm.Output("%7", b"half")]


def test_a_block_stays_open_across_chunks() -> None:
    parser = cm.ControlParser()
    assert parser.feed(b"%begin 1 5 1\nline one\n") == []
    assert parser.in_block
    assert parser.feed(b"line two\n%end 1 5 1\n") == [
        cm.Reply(1, 5, 1, True, ("line one", "line two"))
    ]


def test_output_escapes_decode_to_the_bytes_the_pane_wrote() -> None:
    (event,) = cm.ControlParser().feed(b"%output %3 a\\134b\\033[1m\\015\\012\\000\xc3\xa9\n")
    assert isinstance(event, cm.Output)
    assert event.data == b"a\\b\x1b[1m\r\n\x00\xc3\xa9"


def test_extended_output_decodes_and_ignores_future_arguments() -> None:
    (event,) = cm.ControlParser().feed(b"%extended-output %3 250 future args : x\\012y : z\n")
    assert event == cm.ExtendedOutput("%3", 250, b"x\\012y : z")
    assert isinstance(event, cm.ExtendedOutput)
    assert event.data == b"x\ny : z"


def test_unescape_leaves_plain_bytes_and_lone_backslashes_alone() -> None:
    assert cm.unescape(b"plain") == b"plain"
    assert cm.unescape(b"\\12x") == b"\\12x"  # not three octal digits: not an escape
    assert cm.unescape(b"\\101\\102") == b"AB"


def test_a_pane_line_that_looks_like_an_end_does_not_close_the_block() -> None:
    # Only a terminator with the block's own command number ends it.
    data = b"%begin 9 41 1\n%end 9 40 1\n%error from the pane\n%end 9 41 1\n"
    assert cm.ControlParser().feed(data) == [
        cm.Reply(9, 41, 1, True, ("%end 9 40 1", "%error from the pane"))
    ]


def test_notification_lookalikes_inside_a_block_are_reply_lines() -> None:
    data = b"%begin 9 42 1\n%output %1 x\n%window-add @4\n%pause %1 extra\n%end 9 42 1\n"
    (reply,) = cm.ControlParser().feed(data)
    assert isinstance(reply, cm.Reply)
    assert reply.lines == ("%output %1 x", "%window-add @4", "%pause %1 extra")


def test_reply_lines_with_bad_utf8_are_replaced_not_fatal() -> None:
    (reply,) = cm.ControlParser().feed(b"%begin 1 2 1\n\xff\xfeok\n%end 1 2 1\n")
    assert isinstance(reply, cm.Reply)
    assert reply.lines == ("\ufffd\ufffdok",)


def test_exit_without_reason() -> None:
    assert cm.ControlParser().feed(b"%exit\n") == [cm.Exit(None)]


def test_unknown_notifications_pass_through() -> None:
    data = b"%subscription-changed s $0 @1 1 %1 : value\n%pane-mode-changed %2\n"
    assert cm.ControlParser().feed(data) == [
        cm.Notification("subscription-changed", "s $0 @1 1 %1 : value"),
        cm.Notification("pane-mode-changed", "%2"),
    ]


def test_a_stray_line_is_reported_not_dropped() -> None:
    assert cm.ControlParser().feed(b"garbage\n") == [cm.Stray("garbage")]


def test_events_are_frozen() -> None:
    event = cm.Output("%1", b"x")
    with pytest.raises(AttributeError):
        event.pane = "%2"  # type: ignore[misc]


def test_malformed_extended_output_passes_through_as_a_notification() -> None:
    assert cm.ControlParser().feed(b"%extended-output %1 no-age\n") == [
        cm.Notification("extended-output", "%1 no-age")
    ]
