"""Docking: binding pockets, AutoDock Vina docking of drugs into structures, redocking checks.

Layer: above ``io/`` and the catalog (``remyfold.targets``); never imports
``remyfold.model``. Structures are read with gemmi; the chemistry stack
(RDKit, Meeko, Vina, pocket finder) is the optional ``remyfold[dock]`` extra,
imported lazily through :func:`remyfold.dock.extra.require`.
"""
