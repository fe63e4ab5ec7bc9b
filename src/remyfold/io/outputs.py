"""Output paths of every command, checked before any work: one-line refusals, nothing left behind.

Two kinds of output:

- a **file** (``targets fasta --out``, ``report --out``): :func:`check_file_output` refuses an
  existing folder, a path ending in ``/``, a parent that is a file (``file/x``), a place under
  ``/proc`` or ``/sys`` and a folder that cannot be written; missing parent folders are fine
  (the atomic writer creates them).
- a **folder** (``dock --out``, ``predict --out``): :func:`prepare_folder_output` refuses an
  existing file, a parent that is a file, ``/proc``/``sys`` and unwritable places, creates the
  folder and returns the folders it created, which :func:`remove_created_dirs` removes again
  (when empty) after an early failure.

Every refusal is an :class:`~remyfold.errors.InputError` naming the option, the path and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from remyfold.errors import InputError

#: Kernel file systems: nothing a command writes belongs there.
VIRTUAL_ROOTS = (Path("/proc"), Path("/sys"))


def is_folder_spelling(value: str | os.PathLike) -> bool:
    """Whether ``value`` ends in a path separator (``out/``): the user means a folder."""
    text = os.fspath(value)
    return text.endswith(os.sep) or (os.altsep is not None and text.endswith(os.altsep))


def check_file_output(value: str | os.PathLike, flag: str = "--out", example: str = "out.txt") -> Path:
    """The file ``value`` as a :class:`Path` if a command may write it; :class:`InputError` otherwise."""
    path = Path(value)
    if is_folder_spelling(value) or path.is_dir():
        raise InputError(f"{flag} {value} is a folder; give the file to write, e.g. {path / example}")
    _check_place(path, flag, "file")
    return path


def check_report_outputs(out: str | os.PathLike, markdown: str | os.PathLike | None,
                         stem: str) -> tuple[Path, Path | None]:  # fmt: skip
    """A benchmark's ``--out`` (JSON) and optional ``--markdown`` files, checked before its work
    (:func:`check_file_output`; ``stem`` names the example file in the error)."""
    path = check_file_output(out, "--out", f"{stem}.json")
    return path, check_file_output(markdown, "--markdown", f"{stem}.md") if markdown else None


def check_folder_output(value: str | os.PathLike, flag: str = "--out") -> Path:
    """The folder ``value`` as a :class:`Path` if a command may write there (nothing is created yet);
    :class:`InputError` otherwise. Commands call it before slow work (a download, loading weights)."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {value} is a file; give a folder for the outputs")
    _check_place(path, flag, "folder")
    return path


def prepare_folder_output(value: str | os.PathLike, flag: str = "--out") -> list[Path]:
    """Create the folder ``value`` (and missing parents) if a command may write there.

    Returns the folders created, outermost first (see :func:`remove_created_dirs`).
    """
    path = check_folder_output(value, flag)
    created = [folder for folder in (path, *path.parents) if not folder.exists()][::-1]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        remove_created_dirs(created)
        raise InputError(f"{flag} {value}: cannot create the folder ({err.strerror}); choose another place") from None
    if not os.access(path, os.W_OK | os.X_OK):
        remove_created_dirs(created)
        raise InputError(f"{flag} {value}: the folder is not writable; choose another place")
    return created


def remove_created_dirs(created: list[Path], *own_files: Path) -> None:
    """Undo :func:`prepare_folder_output` after an early failure: remove ``own_files`` (this run's) and
    the folders it ``created`` when they are then empty. Nothing else is ever deleted."""
    if not created:
        return
    for path in own_files:
        path.unlink(missing_ok=True)
    for folder in reversed(created):
        try:
            folder.rmdir()  # only succeeds on an empty folder
        except OSError:
            return


def _check_place(path: Path, flag: str, kind: str) -> None:
    """Refuse kernel file systems, a parent that is a file, and an existing ancestor that is not writable."""
    absolute = Path(os.path.abspath(path))
    if any(absolute == root or root in absolute.parents for root in VIRTUAL_ROOTS):
        raise InputError(f"{flag} {path}: /{absolute.parts[1]} is a kernel file system, not a place for "
                         f"outputs; choose another {kind}")  # fmt: skip
    ancestor = absolute.parent if kind == "file" else absolute
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{flag} {path}: {ancestor} is a file, not a folder; choose another {kind}")
    if ancestor != absolute and not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: the folder {ancestor} is not writable; choose another place")
