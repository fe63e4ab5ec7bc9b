"""The ESMFold network: ESM-2 language model → folding trunk → structure module → heads.

Knows nothing of files or the command line: it takes a :class:`FoldingConfig`
and tensors, and returns tensors.
"""

from remyfold.model.config import EsmConfig, FoldingConfig, StructureModuleConfig, TrunkConfig
from remyfold.model.esmfold import ESMFold

__all__ = ["ESMFold", "EsmConfig", "FoldingConfig", "StructureModuleConfig", "TrunkConfig"]
