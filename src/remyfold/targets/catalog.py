"""Read the target catalog (``catalog.toml``, shipped in this package) into frozen records.

``load_catalog()`` returns a :class:`Catalog` with ``targets`` and ``drugs``;
lookups are case-insensitive (``catalog.target("rxrg")``, ``catalog.drug("Bexarotene")``).
A target whose UniProt accession could not be verified has ``accession = None`` and says why in
``unverified``; dated facts (trial results, leads) are :class:`Note` records, each with its source.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from remyfold.errors import InputError


class TargetsError(InputError):
    """An unknown target or drug, or a sequence that cannot be had."""


@dataclass(frozen=True)
class Structure:
    """An experimental structure of a target (PDB id; chain and ligand component id where verified)."""

    pdb: str
    description: str
    source: str
    chain: str | None = None
    ligand: str | None = None
    ligand_name: str | None = None
    unverified: str | None = None


@dataclass(frozen=True)
class Note:
    """A dated fact (a trial result, a lead, a structure whose id could not be checked) and its source."""

    text: str
    source: str
    unverified: str | None = None


@dataclass(frozen=True)
class Drug:
    """A drug: name, SMILES, InChIKey, action, the catalog targets it acts on, public sources, notes."""

    name: str
    smiles: str
    inchikey: str
    action: str
    targets: tuple[str, ...]
    sources: tuple[str, ...]
    notes: tuple[Note, ...] = ()
    unverified: str | None = None


@dataclass(frozen=True)
class Target:
    """A remyelination target: gene, UniProt accession, name, role, drugs, structures, sources."""

    id: str
    gene: str
    accession: str | None
    name: str
    role: str
    drugs: tuple[str, ...]
    structures: tuple[Structure, ...]
    sources: tuple[str, ...]
    unverified: str | None = None
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Catalog:
    targets: tuple[Target, ...]
    drugs: tuple[Drug, ...]

    def target(self, key: str) -> Target | None:
        """The target whose id, gene or accession is ``key`` (case-insensitive)."""
        key = key.upper()
        return next((t for t in self.targets if key in (t.id.upper(), t.gene.upper(), (t.accession or "").upper())),
                    None)

    def drug(self, name: str) -> Drug | None:
        return next((d for d in self.drugs if d.name.lower() == name.lower()), None)

    def require_target(self, key: str) -> Target:
        target = self.target(key)
        if target is None:
            known = " ".join(t.id for t in self.targets)
            raise TargetsError(f"unknown target {key!r}; known: {known}")
        return target


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Parse the packaged ``catalog.toml``."""
    raw = tomllib.loads(resources.files("remyfold.targets").joinpath("catalog.toml").read_text("utf-8"))
    drugs = tuple(
        Drug(d["name"], d["smiles"], d["inchikey"], d["action"], tuple(d["targets"]), tuple(d["sources"]),
             _notes(d), d.get("unverified"))
        for d in raw["drug"]
    )
    targets = tuple(_target(t) for t in raw["target"])
    return Catalog(targets, drugs)


def _target(t: dict) -> Target:
    structures = tuple(Structure(**s) for s in t.get("structure", ()))
    return Target(t["id"], t["gene"], t.get("accession"), t["name"], t["role"], tuple(t.get("drugs", ())),
                  structures, tuple(t["sources"]), t.get("unverified"), _notes(t))


def _notes(entry: dict) -> tuple[Note, ...]:
    return tuple(Note(n["text"], n["source"], n.get("unverified")) for n in entry.get("note", ()))
