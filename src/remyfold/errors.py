"""User-facing errors.

Every error a user can cause (bad input, missing weights, impossible option
combinations) is raised as :class:`RemyfoldError` with a one-line message that
says what is wrong, where, and what to do. The command line prints it as a
single line and exits non-zero; it never shows a traceback for these.
"""


class RemyfoldError(Exception):
    """An error caused by input or environment, reported as one line."""

    exit_code = 2


class InputError(RemyfoldError):
    """Bad input file or value (FASTA, structure, option)."""


class WeightsError(RemyfoldError):
    """Model weights are missing, unreadable or do not match the model."""


class ClusterError(RemyfoldError):
    """The Dask cluster cannot be used: extra not installed, scheduler unreachable or lost."""


def first_line(err: BaseException) -> str:
    """The first non-blank line of ``err``'s message, or its type's name when the message is empty."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def one_line(err: BaseException) -> str:
    """``Type: first line of the message`` (just ``Type`` for an empty message), for one-line error reports."""
    text = first_line(err)
    name = type(err).__name__
    return name if text == name else f"{name}: {text}"
