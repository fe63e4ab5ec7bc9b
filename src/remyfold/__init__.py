"""remyfold: fast ESMFold-architecture structure prediction for remyelination research."""

__version__ = "0.1.0"
