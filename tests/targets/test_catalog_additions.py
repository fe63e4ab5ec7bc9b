"""Issue 19's catalog additions: sterol-pathway enzymes, sobetirome, dated notes; each fact with its source."""

from __future__ import annotations

import json

import pytest

from remyfold.cli import main
from remyfold.targets.catalog import load_catalog

NEW_TARGETS = {"EBP", "CYP51A1", "TM7SF2"}


def _notes(catalog):
    return [n for t in catalog.targets for n in t.notes] + [n for d in catalog.drugs for n in d.notes]


def test_new_entries_are_well_formed():
    catalog = load_catalog()
    for key in NEW_TARGETS:
        target = catalog.require_target(key)
        assert target.gene == key and target.sources and all(s.startswith("http") for s in target.sources)
        assert "Hubler" in target.role and target.unverified  # what could not be checked is said
        if target.accession is None:
            assert "accession" in target.unverified
    sobetirome = catalog.drug("sobetirome")
    assert sobetirome.targets == ("THRB",) and sobetirome.unverified and sobetirome.sources
    assert "sobetirome" in catalog.target("THRB").drugs


def test_every_note_has_text_and_a_source():
    notes = _notes(load_catalog())
    assert len(notes) >= 7
    for note in notes:
        assert note.text.strip() and note.source.startswith("http")
        assert note.unverified is None or note.unverified.strip()
    texts = " ".join(n.text for n in notes)
    assert "CCMR-Two" in texts and "PIPE-307" in texts and "NCT06083753" in texts


def test_sobetirome_smiles_matches_its_key_and_formula():
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    drug = load_catalog().drug("sobetirome")
    mol = Chem.MolFromSmiles(drug.smiles)
    assert CalcMolFormula(mol) == "C20H24O4" and Chem.MolToInchiKey(mol) == drug.inchikey


def test_show_prints_notes_and_unverified_accession(capsys):
    assert main(["targets", "show", "EBP"]) == 0
    out = capsys.readouterr().out
    assert "UniProt not verified" in out and "not included:" in out
    assert main(["targets", "show", "CHRM1"]) == 0
    assert "note PIPE-307" in capsys.readouterr().out
    assert main(["targets", "show", "THRB", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["target"]["notes"] and shown["drugs"][0]["name"] == "sobetirome"


def test_fasta_of_a_target_without_accession_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "t.fasta"
    assert main(["targets", "fasta", "TM7SF2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TM7SF2 has no verified UniProt accession" in err
    assert not out.exists()
