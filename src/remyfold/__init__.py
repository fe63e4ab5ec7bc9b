"""remyfold: fast ESMFold-architecture structure prediction for remyelination research.

Public API: :class:`Folder` (load weights, fold sequences) and
:class:`Prediction` (coordinates, pLDDT, PAE, pTM). Importing the package is
light; torch is imported when :class:`Folder` is first used.
"""

from remyfold._version import __version__

__all__ = ["Folder", "Prediction", "__version__"]


def __getattr__(name: str):
    if name == "Folder":
        from remyfold.api import Folder

        return Folder
    if name == "Prediction":
        from remyfold.prediction import Prediction

        return Prediction
    raise AttributeError(f"module 'remyfold' has no attribute {name!r}")
