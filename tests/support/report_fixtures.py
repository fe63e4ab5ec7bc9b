"""Synthetic `remyfold predict` output folders for the report tests.

Models are ideal-ish α-helices built from cylindrical coordinates (one
residue per 100° turn and 1.5 Å rise), backbone atoms N, CA, C, O only, with
pLDDT written to every atom's B-factor, as `remyfold predict` does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gemmi
import numpy as np

# Backbone atom -> (radius Å, phase offset degrees, rise offset Å) on the helix.
HELIX_ATOMS = {"N": (1.55, -28.0, -0.85), "CA": (2.30, 0.0, 0.0), "C": (1.60, 27.0, 0.85), "O": (2.00, 30.0, 2.05)}
ELEMENTS = {"N": "N", "CA": "C", "C": "C", "O": "O"}
#: The complex scores of the fixture's dimer, as ``remyfold predict`` writes them in ``<id>.json``.
DIMER_SCORES = {"iptm": 0.4321, "ranking_confidence": 0.4877, "actifptm": 0.6543,
                "chain_pair_iptm": [[0.8123, 0.4321], [0.4321, 0.7789]],
                "chain_pair_pae_min": [[0.75, 11.25], [12.5, 0.8]]}  # fmt: skip
SUMMARY_HEADER = "id\tlength\tchains\tmean_plddt\tptm\tstatus\tseconds\terror\n"


def helix_structure(chains: list[tuple[str, str]], plddt: np.ndarray) -> gemmi.Structure:
    """A gemmi structure of one helix per ``(chain_id, sequence)``; ``plddt`` ``[N_res]`` as B-factors."""
    structure = gemmi.Structure()
    model = gemmi.Model("1")
    index = 0
    for offset, (chain_id, sequence) in enumerate(chains):
        chain = gemmi.Chain(chain_id)
        for number, letter in enumerate(sequence, start=1):
            residue = gemmi.Residue()
            residue.name = gemmi.expand_one_letter(letter, gemmi.ResidueKind.AA) or "UNK"
            residue.seqid = gemmi.SeqId(number, " ")
            residue.entity_type = gemmi.EntityType.Polymer
            for name, (radius, phase, rise) in HELIX_ATOMS.items():
                angle = math.radians(100.0 * number + phase)
                atom = gemmi.Atom()
                atom.name, atom.element = name, gemmi.Element(ELEMENTS[name])
                # Helix axis along x (across the default view); chains side by side in y.
                atom.pos = gemmi.Position(
                    1.5 * number + rise, radius * math.cos(angle) + 12.0 * offset, radius * math.sin(angle)
                )
                atom.occ, atom.b_iso = 1.0, float(plddt[index])
                residue.add_atom(atom)
            chain.add_residue(residue)
            index += 1
        model.add_chain(chain)
    structure.add_model(model)
    structure.setup_entities()
    return structure


def synthetic_pae(n_res: int, chain_lengths: list[int]) -> np.ndarray:
    """PAE ``[N_res, N_res]``: grows with sequence separation, +10 Å between chains, capped at 31.75."""
    idx = np.arange(n_res)
    pae = 1.0 + 0.25 * np.abs(idx[:, None] - idx[None, :])
    chain_of = np.repeat(np.arange(len(chain_lengths)), chain_lengths)
    pae += 10.0 * (chain_of[:, None] != chain_of[None, :])
    return np.minimum(pae, 31.75)


def write_prediction(directory: Path, record_id: str, chains: list[tuple[str, str]], *, fmt: str = "pdb",
                     complex_scores: dict | None = None) -> dict:  # fmt: skip
    """Write ``<id>.pdb`` (or ``.cif``) and ``<id>.json`` for a helix model; return the JSON object.

    ``complex_scores``: JSON keys to add (``iptm``, ``chain_pair_iptm``, ...), as predict writes for complexes.
    """
    lengths = [len(seq) for _, seq in chains]
    n_res = sum(lengths)
    # pLDDT ramps from 97 to 30 so that every confidence band is present.
    plddt = np.linspace(97.0, 30.0, n_res)
    structure = helix_structure(chains, plddt)
    if fmt == "pdb":
        (directory / f"{record_id}.pdb").write_text(structure.make_pdb_string())
    else:
        (directory / f"{record_id}.cif").write_text(structure.make_mmcif_document().as_string())
    pae = synthetic_pae(n_res, lengths)
    data = {
        "id": record_id,
        "sequence": ":".join(seq for _, seq in chains),
        "chains": [{"id": cid, "sequence": seq, "length": len(seq)} for cid, seq in chains],
        "mean_plddt": float(plddt.mean()),
        "ptm": 0.71,
        "plddt": [round(float(v), 2) for v in plddt],
        "pae": [[round(float(v), 2) for v in row] for row in pae],
        "max_pae": 31.75,
        "num_recycles": 4,
        "model_name": "esmfold_v1",
        "weights_revision": "test",
        "precision": "fp32",
        "device": "cpu",
        "seconds": 1.5,
        "remyfold_version": "0.1.0",
        **(complex_scores or {}),
    }
    (directory / f"{record_id}.json").write_text(json.dumps(data))
    return data


def summary_row(record_id: str, data: dict | None, status: str = "ok", error: str = "") -> str:
    """One ``summary.tsv`` line; ``data=None`` for a failed record."""
    if data is None:
        return f"{record_id}\t\t\t\t\t{status}\t0.1\t{error}\n"
    chains = ",".join(f"{c['id']}:{c['length']}" for c in data["chains"])
    n_res = len(data["plddt"])
    return f"{record_id}\t{n_res}\t{chains}\t{data['mean_plddt']:.2f}\t{data['ptm']:.3f}\t{status}\t1.5\t{error}\n"


def make_prediction_folder(directory: Path) -> Path:
    """A folder with a monomer (PDB), a dimer (mmCIF only), a failed record and a hostile id."""
    directory.mkdir(parents=True, exist_ok=True)
    mono = write_prediction(directory, "helix_mono", [("A", "ACDEFGHIKLMNPQRSTVWY" * 2)])
    dimer = write_prediction(directory, "helix_dimer", [("A", "MKTAYIAKQR" * 3), ("B", "GSHMLEDPAA" * 2)], fmt="cif",
                             complex_scores=DIMER_SCORES)  # fmt: skip
    odd_id = "odd<b>&'\"id"
    odd = write_prediction(directory, odd_id, [("A", "MKV" * 6)])
    rows = [
        summary_row("helix_mono", mono),
        summary_row("helix_dimer", dimer, status="skipped"),
        summary_row("broken", None, status="failed", error='"X" sequence has <script>alert(1)</script> letters'),
        summary_row(odd_id, odd),
    ]
    (directory / "summary.tsv").write_text(SUMMARY_HEADER + "".join(rows))
    return directory


def compare_result(model: str, reference: str) -> dict:
    """An object shaped like `remyfold compare --json` output."""
    return {
        "model": model,
        "reference": reference,
        "tm_score": 0.8123,
        "gdt_ts": 0.7456,
        "gdt_ha": 0.5612,
        "rmsd": 1.234,
        "lddt": 0.8011,
        "lddt_ca": 0.8234,
        "aligned_residues": 40,
        "sequence_identity": 1.0,
        "per_residue_lddt": [0.8] * 40,
    }
