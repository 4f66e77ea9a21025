"""What the end-to-end tests of the real agent CLIs share."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from missionctl.agents.supervision.notices import CONFIRM_TIMEOUT_S
from tests.fakes.model_server import Request, user_texts

# How long the supervisor may hold back an unconfirmed notice before it acts on it.
CONFIRM_S = CONFIRM_TIMEOUT_S


def needs(binary: str, install: str) -> list[pytest.MarkDecorator]:
    """Skip where `binary` is not installed (`.ci/run` installs the pinned version)."""
    reason = f"{binary} is not installed ({install})"
    return [pytest.mark.skipif(shutil.which(binary) is None, reason=reason), pytest.mark.slow]


def said(text: str) -> Callable[[Request], bool]:
    """Whether a request carries `text` in one of its user messages."""
    return lambda request: any(text in t for t in user_texts(request))
