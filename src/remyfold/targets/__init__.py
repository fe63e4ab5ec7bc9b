"""The remyelination target catalog: targets, their drugs and experimental structures, and sequences.

``catalog.toml`` (in this package) is the data; :mod:`remyfold.targets.catalog`
reads it; :mod:`remyfold.targets.sequences` gives each target's sequence from
the shipped FASTA or UniProt's REST service (cached).
"""
