"""Errors of the docking subpackage (one line each, exit status 2)."""

from remyfold.errors import InputError


class DockError(InputError):
    """Bad docking input: ligand, receptor, box or pocket choice, or a missing extra."""
