"""Keys and pastes as tmux commands (live send): names, bytes, quoting."""

from __future__ import annotations

import pytest

from missionctl.agents.tmux import keys


@pytest.mark.parametrize(
    ("key", "character", "command"),
    [
        ("a", "a", 'send-keys -t %3 -l -- "a"'),
        ("enter", "\r", "send-keys -t %3 -H 0d"),  # the byte a terminal sends
        ("enter", None, "send-keys -t %3 Enter"),
        ("ctrl+c", "\x03", "send-keys -t %3 -H 03"),
        ("ctrl+c", None, "send-keys -t %3 C-c"),
        ("backspace", "\x7f", "send-keys -t %3 -H 7f"),
        ("escape", "\x1b", "send-keys -t %3 -H 1b"),
        ("tab", "\t", "send-keys -t %3 -H 09"),
        ("up", None, "send-keys -t %3 Up"),
        ("ctrl+up", None, "send-keys -t %3 C-Up"),
        ("shift+tab", None, "send-keys -t %3 BTab"),
        ("pagedown", None, "send-keys -t %3 NPage"),
        ("delete", None, "send-keys -t %3 DC"),
        ("f5", None, "send-keys -t %3 F5"),
        ("alt+x", None, "send-keys -t %3 M-x"),
        ("dollar_sign", "$", 'send-keys -t %3 -l -- "\\$"'),  # never expanded by tmux
        ("tilde", "~", 'send-keys -t %3 -l -- "\\~"'),
        ("é", "é", 'send-keys -t %3 -l -- "é"'),
    ],
)
def test_a_key_is_one_send_keys(key: str, character: str | None, command: str) -> None:
    assert keys.key_command("%3", key, character) == command


def test_keys_tmux_cannot_name_are_refused() -> None:
    with pytest.raises(keys.UnknownKey):
        keys.key_command("%3", "ctrl+left_square_bracket", None)
    with pytest.raises(keys.UnknownKey):
        keys.tmux_name("hyper+a")


def test_text_is_quoted_so_tmux_expands_nothing() -> None:
    assert keys.double_quoted('a"b\\c$HOME ~/x') == '"a\\"b\\\\c\\$HOME \\~/x"'
    assert keys.double_quoted("one\ntwo\r\t\x1b[A\x00\x7f") == (
        '"one\\ntwo\\u000d\\u0009\\u001b[A\\u007f"'
    )  # NUL cannot be carried: dropped


def test_a_long_paste_goes_in_pieces_then_pastes_bracketed() -> None:
    text = "x" * (keys.PASTE_CHUNK * 2 + 5)
    lines = keys.paste_commands("%7", "missionctl-live-r1", text)
    assert lines[0].startswith('set-buffer -b missionctl-live-r1 -- "x')
    assert all(line.startswith("set-buffer -a -b missionctl-live-r1 -- ") for line in lines[1:3])
    assert lines[-1] == "paste-buffer -p -d -b missionctl-live-r1 -t %7"
    assert sum(line.count("x") for line in lines) == len(text)
