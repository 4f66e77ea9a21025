"""How an SDK agent reports its state: the same `missionctl hook` every agent calls."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from missionctl.agents.providers.base import missionctl_argv

HOOK_TIMEOUT_S = 10.0


class HookReporter:
    """Runs `missionctl hook EVENT` with a JSON payload on stdin, and waits for it:
    the state must be recorded before the agent shows the prompt it announces."""

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        self.argv = list(argv) if argv is not None else missionctl_argv()

    def report(self, event: str, payload: Mapping[str, Any] | None = None) -> None:
        try:
            subprocess.run(
                [*self.argv, "hook", event],
                input=json.dumps(dict(payload or {})),
                capture_output=True,
                text=True,
                timeout=HOOK_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            pass  # a lost state report must not stop the agent (`hook` logs its own problems)
