"""The one exception type a user can cause, and how the CLI reports it."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: bad input, missing tool, unknown agent.

    The CLI prints the message as one line on stderr and exits with code 2;
    the message is a full sentence that says what is wrong and what to do.
    """

    exit_code = 2
