"""A command line read as a config: what `--key=value` and `key=value` arguments set.

Light on purpose (the ledger imports it on every `missionctl exp` call).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any

# The command's own program and arguments, as opposed to the KEY=VALUE it sets.
COMMAND_KEY = "command"
_ASSIGNMENT_RE = re.compile(r"^(?:--)?([A-Za-z_][A-Za-z0-9_.-]*)=(.*)\Z", re.DOTALL)


def command_config(argv: Sequence[str]) -> dict[str, Any]:
    """What a command line sets: each `--key=value` or `key=value`, the rest as `command`.

    Two runs whose commands differ other than in an experiment's declared knobs
    were not a controlled comparison; this is how the ledger sees it.
    """
    config: dict[str, Any] = {}
    program: list[str] = []
    for token in argv:
        m = _ASSIGNMENT_RE.match(token)
        if m:
            config[m.group(1)] = m.group(2)
        else:
            program.append(token)
    return {COMMAND_KEY: shlex.join(program), **config}
