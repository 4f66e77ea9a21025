"""Names of agents, orgs and environment variables: shared, and cheap to import.

`missionctl hook` imports this on every tool call of every agent, so it holds
only constants, two compiled patterns and one function.
"""

from __future__ import annotations

import re

# A leading letter keeps names from being read as tmux window indexes, git
# options or CLI flags; the rest keeps them safe as branch, window and folder names.
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}\Z")  # \Z: "$" would let "r1\n" through
NAME_RULE = "1-24 characters of a-z, 0-9 and '-', starting with a letter (e.g. \"r1\")"

# C0 and C1 control characters: in a subject, a setting or a notification they could
# move the cursor, ring the bell or end an escape sequence early.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain(text: str, limit: int | None = None) -> str:
    """`text` with each control character as a space, cut to `limit` characters."""
    return CONTROL_RE.sub(" ", text)[:limit]


ENV_WORKSPACE = "MISSIONCTL_WORKSPACE"
ENV_AGENT = "MISSIONCTL_AGENT"
