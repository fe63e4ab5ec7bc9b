"""Structure comparison metrics: TM-score, GDT, RMSD and lDDT of a model against a reference.

The entry point is :func:`compare_structures` (the engine of ``remyfold compare``);
the pieces live in :mod:`.superpose`, :mod:`.tmscore`, :mod:`.gdt`, :mod:`.lddt`,
:mod:`.alignment` and :mod:`.compare`.
"""

from remyfold.metrics.compare import RESULT_KEYS, compare_chains, compare_structures

__all__ = ["RESULT_KEYS", "compare_chains", "compare_structures"]
