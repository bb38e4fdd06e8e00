"""Errors pmpath raises on purpose; interfaces turn them into a one-line message and exit code 2.

Each message is a full sentence a user can act on: it names the offending value and, where there
is one, what to do instead.
"""


class PmpathError(Exception):
    """Base of every error a user can act on (bad input, missing record, conflict, permission)."""


class InvalidInputError(PmpathError):
    """Input that does not meet a documented rule (a malformed id, an unknown enum value, ...)."""


class NotFoundError(PmpathError):
    """A record, file or workspace that was asked for does not exist."""


class ConflictError(PmpathError):
    """A write based on a stale record version (optimistic concurrency), or a duplicate id."""


class PermissionDeniedError(PmpathError):
    """The acting user lacks the role the operation requires."""


class AuthenticationError(PmpathError):
    """A signature was attempted with a wrong or missing password (21 CFR 11.200)."""


class BusyError(PmpathError):
    """The work cannot be queued now (too many password checks waiting): nothing was done;
    try again shortly."""
