"""Experimental structures and AlphaFold DB models by id, downloaded once and cached.

:func:`fetch_structure` turns a PDB id (``4K6I``) or a UniProt accession (``P48443``) into the path
of a cached mmCIF file; :func:`is_structure_id` says whether a text has one of those forms. Torch-free.
"""

from remyfold.fetch.structures import FetchError, fetch_structure, id_kind, is_structure_id

__all__ = ["FetchError", "fetch_structure", "id_kind", "is_structure_id"]
