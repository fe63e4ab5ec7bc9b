"""AutoDock4 ranking of docked poses (``remyfold dock --ranking ad4``).

The search is Vina's (:mod:`remyfold.dock.vina_dock`); only the order of the poses it returns
changes. Each pose is scored, as written (hydrogens relaxed), with the AutoDock4 force-field
function that AutoDock Vina ships (``sf_name="ad4"``; Morris et al., J Comput Chem 30:2785, 2009,
doi:10.1002/jcc.21256) and the poses are ranked by that score (ties: Vina's order).

Vina cannot compute the AutoDock4 grid maps: AutoGrid4 does. It runs here as a separate program
(``autogrid4``; Debian's ``autogrid`` package, GPL-2+; never linked or imported), on the receptor
PDBQT that dock prepared, with the grid parameter file Meeko writes
(``meeko.gridbox.get_gpf_string``): one affinity map per ligand atom type, the electrostatic and
the desolvation map, 0.375 Å spacing, AutoDock4's distance-dependent dielectric, over each search
box plus :data:`PAD`. A pose is scored in the box it was docked in. AutoDock4 has no maps for
Meeko's macrocycle glue atoms, so poses are scored with their rings closed (``rigid_macrocycles``).

In the redocking benchmark this order put a pose within 2 Å of the crystal ligand first in 28 of
37 site-given runs (Vina's order: 25) and 20 of 30 pocket-found runs (Vina's: 16), on every seed
at least as often as Vina's (``bench/results/redock-rescoring.md``).

**When the top pose is clear.** AutoDock4's scores separate binding modes less than Vina's: at any
margin, some wrong top poses had no rival within it. So the rule is not a new margin but
agreement (:func:`ad4_rivals`): the top pose is clear only when Vina's own top pose is clear
(:func:`~remyfold.dock.vina_dock.rival_ranks`) and lies within 2 Å of AutoDock4's top pose. Its
rivals are Vina's rivals and, when the two functions choose different binding modes, Vina's top
pose. In dock's own runs of the benchmark (``bench/results/redock-ad4.md``, 28 site-given runs)
this order put a right pose first in 20 (Vina's order of the same searches: 16), every wrong top
pose came with the warning, and the 8 top poses called clear were right.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from remyfold.dock.box import Box
from remyfold.dock.errors import DockError
from remyfold.dock.extra import require
from remyfold.dock.vina_dock import AGREEMENT_RMSD, Pose, rival_ranks

AUTOGRID = "autogrid4"
DIELECTRIC = -0.1465  # AutoDock4's setting: negative selects the distance-dependent dielectric
PAD = 2.0  # Å added to each box edge, so that every atom of a pose in the box lies on the grid


def check_autogrid() -> None:
    """:class:`DockError` (one line) unless ``autogrid4`` is on PATH."""
    if shutil.which(AUTOGRID) is None:
        raise DockError(f"the AutoDock4 ranking (--ranking ad4) needs {AUTOGRID} (AutoGrid4, GPL-2+, run as a separate "
                        "program) on PATH: install it (Debian or Ubuntu: apt-get install autogrid) or rank by Vina "
                        "(--ranking vina)")  # fmt: skip


def pdbqt_types(text: str) -> list[str]:
    """The AutoDock atom types of a PDBQT text's atoms, sorted and unique (read from column 78 on:
    Meeko's glue types such as ``CG0`` take three characters)."""
    return sorted({line[77:].strip() for line in text.splitlines()
                   if line.startswith(("ATOM", "HETATM")) and line[77:].strip()})  # fmt: skip


def ad4_maps(receptor: Path, box: Box, ligand_types: list[str], folder: Path) -> Path:
    """Compute AutoDock4 maps for ``receptor`` (a PDBQT file) over ``box`` (+ :data:`PAD`) in ``folder``.

    Returns the maps' prefix (``folder/receptor``), as ``vina.Vina.load_maps`` takes it. AutoGrid4
    runs in ``folder`` with file names relative to it; a failure is a :class:`DockError` quoting
    the end of its log.
    """
    check_autogrid()
    gridbox = require("meeko.gridbox")
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / "receptor.pdbqt"
    if receptor.resolve() != local.resolve():
        shutil.copyfile(receptor, local)
    size = [edge + PAD for edge in box.size]
    gpf, _points = gridbox.get_gpf_string(list(box.centre), size, local.name, pdbqt_types(local.read_text()),
                                          sorted(ligand_types), dielectric=DIELECTRIC)  # fmt: skip
    (folder / "receptor.gpf").write_text(gpf)
    done = subprocess.run([AUTOGRID, "-p", "receptor.gpf", "-l", "receptor.glg"], cwd=folder,
                          capture_output=True, text=True)  # fmt: skip
    prefix = folder / "receptor"
    wanted = [Path(f"{prefix}.{kind}.map") for kind in [*ligand_types, "e", "d"]]
    if done.returncode != 0 or not all(path.is_file() for path in wanted):
        log = (folder / "receptor.glg").read_text(errors="replace") if (folder / "receptor.glg").is_file() else ""
        tail = " ".join((log or done.stderr).split()[-20:])
        raise DockError(f"{AUTOGRID} failed on {receptor} (exit {done.returncode}): ...{tail}")
    return prefix


def ad4_engine(prefix: Path):
    """A ``vina.Vina`` engine with the AutoDock4 function and the maps at ``prefix`` loaded."""
    vina = require("vina")
    engine = vina.Vina(sf_name="ad4", cpu=1, verbosity=0)
    engine.load_maps(str(prefix))
    return engine


def ad4_scores(receptor_pdbqt: Path, mols: list, boxes: list[Box]) -> list[float]:
    """The AutoDock4 score (kcal/mol) of each pose (RDKit molecule with hydrogens) as it lies, on the
    maps of its own box (``boxes[i]`` for ``mols[i]``); each box's maps are computed once."""
    from remyfold.dock.ligand import ligand_pdbqt

    texts = [ligand_pdbqt(mol, "pose", rigid_macrocycles=True) for mol in mols]
    types = sorted(set().union(*(pdbqt_types(text) for text in texts)))
    scores: list[float] = [0.0] * len(mols)
    with tempfile.TemporaryDirectory(prefix="remyfold-ad4-") as scratch:
        for n, box in enumerate(dict.fromkeys(boxes)):  # each box once, in the order the poses first use it
            engine = ad4_engine(ad4_maps(receptor_pdbqt, box, types, Path(scratch) / f"box-{n}"))
            for i in (i for i, b in enumerate(boxes) if b == box):
                engine.set_ligand_from_string(texts[i])
                scores[i] = float(engine.score()[0])
    return scores


def rank_by_ad4(poses: list[Pose], scores: list[float]) -> tuple[list[Pose], list[int]]:
    """The poses ranked by AutoDock4 score (ties: Vina's rank), re-ranked from 1, each with its ``ad4``
    score and ``vina_rank``; and the new ranks of the top pose's rivals (:func:`ad4_rivals`).

    ``poses``: ranked by Vina (rank 1 first), ``scores``: their AutoDock4 scores in that order.
    """
    by_vina = sorted(poses, key=lambda p: p.rank)
    scored = [replace(p, ad4=s, vina_rank=p.rank) for p, s in zip(by_vina, scores)]
    order = sorted(scored, key=lambda p: (p.ad4, p.rank))
    new_rank = {p.vina_rank: rank for rank, p in enumerate(order, start=1)}
    ranked = [replace(p, rank=new_rank[p.vina_rank]) for p in order]
    return ranked, sorted(new_rank[r] for r in ad4_rivals(scored, order[0].vina_rank))


def ad4_rivals(by_vina: list[Pose], top_vina_rank: int) -> list[int]:
    """Vina ranks of the rivals of the AutoDock4 top pose (Vina rank ``top_vina_rank``): Vina's rivals
    of its own top pose, and Vina's top pose itself when it lies farther than :data:`AGREEMENT_RMSD`
    from the AutoDock4 top pose (the two functions choose different binding modes); never the top
    pose itself. Empty: the top pose is clear.
    """
    from remyfold.dock.redock import heavy_atom_rmsd

    vina_top = by_vina[0]
    top = next(p for p in by_vina if p.rank == top_vina_rank)
    rivals = set(rival_ranks(by_vina))
    if heavy_atom_rmsd(top.mol, vina_top.mol) > AGREEMENT_RMSD:
        rivals.add(vina_top.rank)
    rivals.discard(top_vina_rank)
    return sorted(rivals)
