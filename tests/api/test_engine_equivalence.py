"""The engine computes the reference's function (transformers.EsmForProteinFolding, fp32, CPU).

Contract (issue 2): every atom within 0.01 Å and pLDDT within 0.1 (0–100) of the
reference, for monomers, padded batches and multimers, with random weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from remyfold.api import Folder
from remyfold.sequence import LINKER, RESIDUE_INDEX_OFFSET
from remyfold.loading import load_model
from remyfold.model.residue_constants import RESTYPES

ATOM_TOL, PLDDT_TOL, PAE_TOL, PTM_TOL = 0.01, 0.1, 0.01, 1e-3
MONOMERS = {"mbp_frag": "ASQKRPSQRHGSKYLATASTMDHARHGFLPRHRDTGILDSIGRFFGGDRGAPK", "short": "MKVLX", "pep": "GSWE"}


@pytest.fixture(scope="module")
def folder(tiny_weights_dir):
    return Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), model_name="tiny")


def reference_run(model, sequences: list[str], residx: list[list[int]] | None = None, recycles: int | None = None):
    """Run the reference on a padded batch of plain sequences (no linker handling); ``recycles=None``: its default."""
    n = max(map(len, sequences))
    aatype = torch.zeros(len(sequences), n, dtype=torch.long)
    mask = torch.zeros(len(sequences), n, dtype=torch.long)
    pos = torch.arange(n).repeat(len(sequences), 1)
    for b, seq in enumerate(sequences):
        aatype[b, : len(seq)] = torch.tensor([RESTYPES.index(a) if a in RESTYPES else 20 for a in seq])
        mask[b, : len(seq)] = 1
        if residx is not None:
            pos[b, : len(seq)] = torch.tensor(residx[b])
    with torch.no_grad():
        return model(aatype, mask, position_ids=pos, num_recycles=recycles)


def assert_matches(pred, ref, b: int, keep: np.ndarray | None = None) -> None:
    """Compare one Prediction with batch row ``b`` of the reference output (optionally a residue subset)."""
    n = len(keep) if keep is not None else pred.length
    keep = np.ones(n, bool) if keep is None else keep
    from transformers.models.esm.openfold_utils.feats import atom14_to_atom37

    out = {k: v[b : b + 1, :n] for k, v in ref.items() if k in ("residx_atom37_to_atom14", "atom37_atom_exists")}
    ref37 = atom14_to_atom37(ref["positions"][-1][b : b + 1, :n], out)[0].numpy()[keep]
    exists = out["atom37_atom_exists"][0].numpy()[keep] > 0
    assert np.array_equal(pred.atom_mask, exists)
    dev = np.linalg.norm(pred.positions - ref37, axis=-1)[exists]
    assert dev.max() < ATOM_TOL, f"max atom deviation {dev.max():.4f} Å"
    plddt_ref = 100 * ref["plddt"][b, :n].numpy()[keep]
    assert np.abs(pred.plddt - plddt_ref).max() < PLDDT_TOL
    pae_ref = ref["predicted_aligned_error"][b, :n, :n].numpy()[keep][:, keep]
    assert np.abs(pred.pae - pae_ref).max() < PAE_TOL


@pytest.mark.parametrize("name", sorted(MONOMERS))
def test_monomer_matches_reference(folder, tiny_reference, name):
    """Both with their default recycling: max_recycles (4) trunk passes, i.e. 3 recycles."""
    seq = MONOMERS[name]
    [pred] = folder.fold({name: seq})
    ref = reference_run(tiny_reference, [seq])
    assert_matches(pred, ref, 0)
    assert abs(pred.ptm - float(ref["ptm"])) < PTM_TOL
    assert (pred.num_recycles, pred.trunk_passes, pred.sequence) == (3, 4, seq)


def test_padded_batch_matches_reference(folder, tiny_reference):
    seqs = list(MONOMERS.values())
    preds = folder.fold_batch([(f"s{i}", s) for i, s in enumerate(seqs)], num_recycles=1)
    ref = reference_run(tiny_reference, seqs, recycles=1)
    for b, pred in enumerate(preds):
        assert_matches(pred, ref, b)


def test_batching_does_not_change_results(folder):
    seqs = {"a": MONOMERS["mbp_frag"], "b": MONOMERS["pep"]}
    together = folder.fold(seqs, num_recycles=1, max_tokens_per_batch=10_000)
    alone = folder.fold(seqs, num_recycles=1, max_tokens_per_batch=1)
    for x, y in zip(together, alone):
        assert np.abs(x.positions - y.positions).max() < 1e-3
        assert abs(x.ptm - y.ptm) < 1e-5


def test_multimer_matches_reference_with_linker(folder, tiny_reference):
    chains = ["MKTAYIAKQRQISF", "GSHMLEDPV", "WYQR"]
    [pred] = folder.fold({"cplx": ":".join(chains)}, num_recycles=2)
    # ESMFold's convention, written out independently: G25 linkers, +512 index offset per chain.
    joined, residx, keep, pos = "", [], [], 0
    for c, chain in enumerate(chains):
        seg = chain + (LINKER if c < len(chains) - 1 else "")
        residx += [pos + i + c * RESIDUE_INDEX_OFFSET for i in range(len(seg))]
        keep += [True] * len(chain) + [False] * (len(seg) - len(chain))
        joined, pos = joined + seg, pos + len(seg)
    ref = reference_run(tiny_reference, [joined], [residx], recycles=2)
    assert_matches(pred, ref, 0, np.array(keep))
    assert [c.id for c in pred.chains] == ["A", "B", "C"]
    assert pred.length == sum(map(len, chains))
    assert list(pred.residue_number[:3]) == [1, 2, 3] and pred.residue_number[len(chains[0])] == 1
    assert list(np.bincount(pred.chain_index)) == [len(c) for c in chains]


def test_chunking_is_equivalent(tiny_weights_dir):
    seq = {"x": MONOMERS["mbp_frag"]}
    plain = Folder(load_model(tiny_weights_dir), device=torch.device("cpu")).fold(seq, num_recycles=1)[0]
    chunked = Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), chunk_size=7).fold(seq, num_recycles=1)[0]
    assert np.abs(plain.positions - chunked.positions).max() < 1e-3
    assert np.abs(plain.plddt - chunked.plddt).max() < 1e-3


def test_sdpa_attention_is_equivalent(tiny_weights_dir):
    seq = {"x": MONOMERS["mbp_frag"]}
    plain = Folder(load_model(tiny_weights_dir), device=torch.device("cpu")).fold(seq, num_recycles=1)[0]
    fast = Folder(load_model(tiny_weights_dir, attention="sdpa"), device=torch.device("cpu")).fold(seq, num_recycles=1)[0]
    assert np.abs(plain.positions - fast.positions).max() < 1e-3
    assert np.abs(plain.plddt - fast.plddt).max() < 1e-3


def test_bf16_mode_stays_close_to_fp32(tiny_weights_dir):
    """The opt-in bf16 mode runs everywhere and tracks fp32 (random weights: loose, scale-relative bound)."""
    seq = {"x": MONOMERS["mbp_frag"]}
    exact = Folder.from_pretrained(str(tiny_weights_dir), device="cpu").fold(seq, num_recycles=1)[0]
    fast = Folder.from_pretrained(str(tiny_weights_dir), device="cpu", precision="bf16").fold(seq, num_recycles=1)[0]
    assert fast.precision == "bf16" and np.isfinite(fast.positions).all()
    scale = np.abs(exact.positions[:, 1]).max()
    assert np.abs(exact.positions[:, 1] - fast.positions[:, 1]).max() < 0.01 * scale
    assert np.abs(exact.plddt - fast.plddt).max() < 1.0


def test_default_folder_uses_the_device_choice_and_matches_reference(tiny_weights_dir, tiny_reference):
    from remyfold.api import AUTO_ATTENTION
    from remyfold.model.primitives import select_attention

    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cpu")
    assert folder.model.trunk.blocks[0].tri_att_start.mha.attention is select_attention(AUTO_ATTENTION["cpu"])
    [pred] = folder.fold({"x": MONOMERS["mbp_frag"]}, num_recycles=1)
    assert_matches(pred, reference_run(tiny_reference, [MONOMERS["mbp_frag"]], recycles=1), 0)


def test_complex_scores_from_the_reference_logits(folder, tiny_reference):
    """ipTM, actifpTM and chain-pair scores of a complex folded next to a monomer (padded batch) equal
    the loop formulas applied to the reference's PAE and distogram logits; the monomer has none."""
    from test_interface_confidence import slow_scores

    chains = ["MKTAYIAKQRQISF", "GSHMLEDPV"]
    cx, mono = folder.fold_batch([("cx", ":".join(chains)), ("mono", "MKVLAGWQ")], num_recycles=1)
    joined = chains[0] + LINKER + chains[1]
    residx = list(range(len(chains[0]) + len(LINKER))) + [
        len(chains[0]) + len(LINKER) + i + RESIDUE_INDEX_OFFSET for i in range(len(chains[1]))]  # fmt: skip
    ref = reference_run(tiny_reference, [joined], [residx], recycles=1)
    labels = [0] * len(chains[0]) + [-1] * len(LINKER) + [1] * len(chains[1])
    expected = slow_scores(ref["ptm_logits"][0].numpy(), ref["distogram_logits"][0].numpy(), labels)
    assert cx.iptm == pytest.approx(expected["iptm"], abs=PTM_TOL)
    assert cx.actifptm == pytest.approx(expected["actifptm"], abs=PTM_TOL)
    assert cx.ranking_confidence == pytest.approx(0.8 * cx.iptm + 0.2 * cx.ptm)
    np.testing.assert_allclose(cx.chain_pair_iptm, expected["pair"], atol=PTM_TOL)
    np.testing.assert_allclose(cx.chain_pair_pae_min, expected["pae_min"], atol=PAE_TOL)
    assert (mono.iptm, mono.ranking_confidence, mono.actifptm, mono.chain_pair_iptm, mono.chain_pair_pae_min) == (
        None, None, None, None, None)  # fmt: skip
