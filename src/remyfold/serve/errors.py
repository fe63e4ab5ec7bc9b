"""Errors of the folding server.

:class:`ServeError` is a user-facing one-line error of the command line (bad data folder,
missing extra). :class:`RequestError` is a client's mistake in one request; the app turns it
into a JSON ``{"detail": message}`` answer with its 4xx status.
"""

from __future__ import annotations

from remyfold.errors import RemyfoldError


class ServeError(RemyfoldError):
    """A server set-up problem (data folder, users, missing extra), reported as one line."""


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a one-line ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class NotFound(RequestError):
    """No such job / record for this user (another user's job is not found either)."""

    def __init__(self, what: str):
        super().__init__(404, f"{what} not found")
