"""The optional ``remyfold[dock]`` extra: import its modules lazily, fail in one line when absent.

``require("vina")`` returns the imported module or raises :class:`DockError`
naming the extra and the pip command that installs it
(:func:`remyfold.errors.install_command`: the clone's path for a clone). Modules are imported on first use only, so
``remyfold --help`` and the rest of remyfold never need the chemistry stack.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from remyfold.dock.errors import DockError
from remyfold.errors import install_command

EXTRA = "remyfold[dock]"
# import name -> distribution name (what pip installs).
DISTRIBUTIONS = {
    "rdkit": "rdkit",
    "meeko": "meeko",
    "vina": "vina",
    "scipy": "scipy",
    "pocketeer": "pocketeer",
    "pdbfixer": "pdbfixer",
    "openmm": "openmm",
    "posebusters": "posebusters",
}


def require(module: str) -> ModuleType:
    """Import ``module`` (a dotted name whose top level is in :data:`DISTRIBUTIONS`)."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as err:
        dist = DISTRIBUTIONS.get(top, top)
        raise DockError(
            f"docking needs the optional extra {EXTRA} ({dist} is not installed: {err}); "
            f"install it with: {install_command('dock')} (vina has wheels for Python 3.11 and 3.12 only)"
        ) from None
