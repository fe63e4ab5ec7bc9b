"""Default recycling is the reference's default (issue 7 §1).

``EsmForProteinFolding`` called without ``num_recycles`` runs ``config.max_recycles`` trunk passes
(``num_recycles=N`` runs N+1). ``remyfold predict`` without ``--num-recycles``, and ``Folder.fold``
without ``num_recycles``, must compute the same function: checked here on random tiny configs
whose ``max_recycles`` is not 4, every atom within 0.01 Å and pLDDT within 0.1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_models import make_reference, save_reference

from remyfold.model.config import ConfigError, FoldingConfig, TrunkConfig
from remyfold.model.residue_constants import RESTYPES

pytest.importorskip("transformers")

ATOM_TOL, PLDDT_TOL = 0.01, 0.1
SEQUENCE = "MGLLECCARCLVGAPFASQKRPSQ"


# Small counts: random weights converge within a few passes, and the test must tell counts apart.
@pytest.fixture(scope="module", params=[2, 3], ids=lambda m: f"max_recycles={m}")
def reference(request, tmp_path_factory):
    """``(max_recycles, reference model, its saved weights folder)``."""
    max_recycles = request.param
    model = make_reference(seed=max_recycles, max_recycles=max_recycles)
    return max_recycles, model, save_reference(model, tmp_path_factory.mktemp(f"tiny_mr{max_recycles}"))


def reference_atoms(model, sequence: str, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference's atom37 positions ``[N, 37, 3]``, atom mask ``[N, 37]`` and Cα pLDDT ``[N]`` (0–100)."""
    from transformers.models.esm.openfold_utils.feats import atom14_to_atom37

    aatype = torch.tensor([[RESTYPES.index(a) for a in sequence]])
    with torch.no_grad():
        out = model(aatype, torch.ones_like(aatype), **kwargs)
    atom37 = atom14_to_atom37(out["positions"][-1], out)[0].numpy()
    return atom37, out["atom37_atom_exists"][0].numpy() > 0, 100 * out["plddt"][0, :, 1].numpy()


def pdb_atoms(path) -> dict[tuple[int, str], np.ndarray]:
    """``(residue index from 0, atom name) → xyz`` of a single-chain PDB file."""
    import gemmi

    chain = gemmi.read_structure(str(path))[0][0]
    return {(i, atom.name): np.array(atom.pos.tolist()) for i, res in enumerate(chain) for atom in res}


def max_deviation(atoms: dict, atom37: np.ndarray, exists: np.ndarray) -> float:
    """Largest distance between the PDB atoms and the reference's; the atom sets must be equal."""
    from transformers.models.esm.openfold_utils.residue_constants import atom_types

    expected = {(i, atom_types[k]) for i, k in zip(*np.nonzero(exists))}
    assert set(atoms) == expected
    return max(float(np.linalg.norm(xyz - atom37[i, atom_types.index(name)])) for (i, name), xyz in atoms.items())


def test_predict_without_recycle_flag_is_the_reference_default(reference, tmp_path, monkeypatch):
    from remyfold import cli

    max_recycles, model, weights = reference
    monkeypatch.setattr(cli, "COMMANDS", {"predict": "remyfold.commands.predict"})
    fasta = tmp_path / "in.fa"
    fasta.write_text(f">x\n{SEQUENCE}\n")
    out = tmp_path / "out"
    argv = ["predict", str(fasta), "--out", str(out), "--weights", str(weights), "--device", "cpu", "--quiet"]
    assert cli.main(argv) == 0
    data = json.loads((out / "x.json").read_text())
    assert (data["trunk_passes"], data["num_recycles"]) == (max_recycles, max_recycles - 1)

    atom37, exists, plddt = reference_atoms(model, SEQUENCE)  # the reference's default call
    atoms = pdb_atoms(out / "x.pdb")
    assert max_deviation(atoms, atom37, exists) < ATOM_TOL
    assert np.abs(np.asarray(data["plddt"]) - plddt).max() < PLDDT_TOL
    # The comparison tells pass counts apart: one pass more moves the atoms far beyond the tolerance.
    one_more, _, _ = reference_atoms(model, SEQUENCE, num_recycles=max_recycles)
    assert max_deviation(atoms, one_more, exists) > 10 * ATOM_TOL


def test_folder_default_runs_max_recycles_passes(reference):
    """``Folder.fold`` without ``num_recycles``: ``max_recycles`` passes actually run and are recorded."""
    from remyfold.api import Folder

    max_recycles, model, weights = reference
    folder = Folder.from_pretrained(str(weights), device="cpu")
    passes = []
    folder.model.trunk.blocks[0].register_forward_hook(lambda *_: passes.append(1))
    [pred] = folder.fold({"x": SEQUENCE})
    assert len(passes) == pred.trunk_passes == max_recycles and pred.num_recycles == max_recycles - 1
    assert folder.default_num_recycles == max_recycles - 1
    atom37, exists, plddt = reference_atoms(model, SEQUENCE)
    assert np.linalg.norm(pred.positions - atom37, axis=-1)[exists].max() < ATOM_TOL
    assert np.abs(pred.residue_plddt - plddt).max() < PLDDT_TOL
    # An explicit count keeps the reference's meaning: N recycles = N + 1 passes.
    passes.clear()
    [pred] = folder.fold({"x": SEQUENCE}, num_recycles=1)
    assert len(passes) == pred.trunk_passes == 2 and pred.num_recycles == 1


def test_config_without_any_default_pass_is_rejected():
    with pytest.raises(ConfigError, match="max_recycles"):
        FoldingConfig(trunk=TrunkConfig(max_recycles=0))
