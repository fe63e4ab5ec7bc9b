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


def install_command(extra: str) -> str:
    """The pip command that installs ``remyfold[extra]`` the way this remyfold was installed.

    An editable install from a clone (PEP 610 ``direct_url.json``) or sources run from a clone
    need ``pip install -e '<clone>[extra]'`` (``remyfold`` is not a name on the package index
    for them); a wheel from a local folder ``pip install '<folder>[extra]'``; an index install
    ``pip install 'remyfold[extra]'``.
    """
    import json
    from importlib import metadata
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    clone = Path(__file__).resolve().parents[2]
    try:
        dist = metadata.distribution("remyfold")
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
        installed_here = Path(str(dist.locate_file("remyfold"))).resolve() == Path(__file__).resolve().parent
    except (metadata.PackageNotFoundError, ValueError):
        origin, installed_here = {}, False
    url = urlparse(origin.get("url", ""))
    if installed_here and url.scheme == "file" and "dir_info" in origin:
        editable = "-e " if origin["dir_info"].get("editable") else ""
        return f"pip install {editable}'{unquote(url.path)}[{extra}]'"
    if installed_here or not (clone / "pyproject.toml").is_file():
        return f"pip install 'remyfold[{extra}]'"
    return f"pip install -e '{clone}[{extra}]'"  # sources of a clone on the path (or an editable install)
