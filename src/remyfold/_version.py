"""remyfold's version, as installed (``importlib.metadata``), for the files and pages it writes.

Read from the installed distribution's metadata, so ``pyproject.toml`` is the one place the
version is written. A source tree used without installing (``PYTHONPATH=src``) reports
:data:`UNKNOWN_VERSION` rather than a number that may be wrong.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "remyfold"
UNKNOWN_VERSION = "0+unknown"


def installed_version(distribution: str = DISTRIBUTION) -> str:
    """The installed version of ``distribution``, or :data:`UNKNOWN_VERSION` when it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = installed_version()
