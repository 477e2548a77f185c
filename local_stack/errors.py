"""Why the local stack stopped."""

from __future__ import annotations


class StackError(Exception):
    """The stack cannot run; the message says what to do, and nothing of it is left running."""


class StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: stop everything and exit cleanly."""
