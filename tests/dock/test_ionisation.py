"""Ligand ionisation at a pH (remyfold.dock.ionisation): the charge states a chemist expects.

Expected states are the textbook ones at pH 7.4, from each group's pKa (amines ~10, amidines ~12,
guanidines ~13, carboxylic acids ~4, phosphate monoesters' second OH ~6.3, tetrazoles ~5,
imidazole ~7, 2,4-diaminopyrimidines ~7.2, anilines ~4.6, pyridine ~5.2); metformin is a monocation (pKa 12.4 and 2.8) and
piperazine takes one proton at 7.4 (pKa 9.7 and 5.4).
"""

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402

from remyfold.dock.ionisation import ionise  # noqa: E402

CASES = [
    # name, SMILES as given, net charge at pH 7.4, the ionised atoms (element, formal charge)
    ("clemastine", "CN1CCC[C@@H]1CCO[C@@](C)(c1ccccc1)c1ccc(Cl)cc1", 1, [("N", 1)]),
    ("metformin", "CN(C)C(=N)NC(=N)N", 1, [("N", 1)]),
    ("bexarotene", "CC1=CC2=C(C=C1C(=C)C3=CC=C(C=C3)C(=O)O)C(CCC2(C)C)(C)C", -1, [("O", -1)]),
    ("tyrosine", "N[C@@H](Cc1ccc(O)cc1)C(=O)O", 0, [("N", 1), ("O", -1)]),
    ("ADP", "Nc1ncnc2c1ncn2[C@@H]1O[C@H](COP(=O)(O)OP(=O)(O)O)[C@@H](O)[C@H]1O", -3, [("O", -1)] * 3),
    ("arginine", "N[C@@H](CCCNC(=N)N)C(=O)O", 1, [("N", 1), ("N", 1), ("O", -1)]),
    ("piperazine", "C1CNCCN1", 1, [("N", 1)]),
    ("ethylenediamine", "NCCN", 1, [("N", 1)]),
    ("1,4-diaminobutane", "NCCCCN", 2, [("N", 1), ("N", 1)]),
    ("benzamidine", "NC(=N)c1ccccc1", 1, [("N", 1)]),
    ("losartan", "CCCCc1nc(Cl)c(CO)n1Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1", -1, [("N", -1)]),
    ("acetylsalicylic acid", "CC(=O)Oc1ccccc1C(=O)O", -1, [("O", -1)]),
    ("morpholine", "C1COCCN1", 1, [("N", 1)]),
    # left neutral: no group of the table, or one whose pKa is far below 7.4 for a base
    ("progesterone", "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C", 0, []),
    ("aniline", "Nc1ccccc1", 0, []),
    ("pyridine", "c1ccncc1", 0, []),
    ("acetamide", "CC(N)=O", 0, []),
    ("benzenesulfonamide", "NS(=O)(=O)c1ccccc1", 0, []),
    ("4-fluorobenzamidoxime", "NC(=NO)c1ccc(F)cc1", 0, []),
    ("acetylguanidine", "CC(=O)NC(=N)N", 0, []),
    ("2,2,2-trifluoroethylamine", "NCC(F)(F)F", 0, []),
    ("phenol", "Oc1ccccc1", 0, []),
    # the charges a SMILES states are kept
    ("tiotropium", "C[N+]1(C)[C@@H]2C[C@H](OC(=O)C(O)(c3cccs3)c3cccs3)C[C@H]1[C@@H]1O[C@H]12", 1, [("N", 1)]),
    ("acetate", "CC(=O)[O-]", -1, [("O", -1)]),
]


def _charged(mol) -> list[tuple[str, int]]:
    return sorted((a.GetSymbol(), a.GetFormalCharge()) for a in mol.GetAtoms() if a.GetFormalCharge())


@pytest.mark.parametrize("name, smiles, net, charged", CASES, ids=[c[0] for c in CASES])
def test_state_at_physiological_ph(name, smiles, net, charged):
    given = Chem.MolFromSmiles(smiles)
    result = ionise(given, 7.4)
    assert Chem.GetFormalCharge(result.mol) == net
    assert _charged(result.mol) == sorted(charged)
    assert Chem.MolToSmiles(given) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))  # the input is not changed
    assert Chem.MolFromSmiles(result.smiles) is not None  # a valid molecule, hydrogens counted


def test_what_changed_is_named_and_a_pka_near_the_ph_is_left_as_given():
    histamine = ionise(Chem.MolFromSmiles("NCCc1c[nH]cn1"), 7.4)
    assert histamine.changed == ("aliphatic amine at N0",)
    assert histamine.near_pka == ("imidazole at N7",)  # pKa ~7: neither state dominates
    assert _charged(histamine.mol) == [("N", 1)]
    phosphonate = ionise(Chem.MolFromSmiles("CP(=O)(O)O"), 7.4)  # second pKa ~7.5
    assert Chem.GetFormalCharge(phosphonate.mol) == -1 and phosphonate.near_pka == ("phosphonate, second OH at O4",)


def test_an_antifolates_ring_nitrogen_is_near_its_pka_at_7_4_and_protonated_at_5():
    """Trimethoprim's N1 (pKa 7.1): left as given and listed at 7.4, protonated at pH 5."""
    trimethoprim = Chem.MolFromSmiles("COc1cc(Cc2cnc(N)nc2N)cc(OC)c1OC")
    assert ionise(trimethoprim, 7.4).near_pka == ("2,4-diaminopyrimidine N1 at N8",)
    acid = ionise(trimethoprim, 5.0)
    assert acid.changed == ("2,4-diaminopyrimidine N1 at N8",) and _charged(acid.mol) == [("N", 1)]
    assert acid.mol.GetAtomWithIdx(8).GetTotalNumHs() == 1  # the ring N next to the CH, not an amino N


@pytest.mark.parametrize("ph, net", [(2.0, 2), (7.4, 1), (12.0, 0)])
def test_the_state_follows_the_ph(ph, net):
    """Histamine: the imidazole (pKa ~7) is protonated at pH 2, the amine (pKa ~10) neither at pH 12."""
    assert Chem.GetFormalCharge(ionise(Chem.MolFromSmiles("NCCc1c[nH]cn1"), ph).mol) == net


def test_an_acid_at_low_ph_stays_neutral():
    assert Chem.GetFormalCharge(ionise(Chem.MolFromSmiles("CCC(=O)O"), 2.0).mol) == 0
    assert ionise(Chem.MolFromSmiles("CCC(=O)O"), 4.0).near_pka == ("carboxylic acid at O4",)


def test_as_dict_records_the_smiles_docked():
    result = ionise(Chem.MolFromSmiles("CN(C)C(=N)NC(=N)N"), 7.4)
    record = result.as_dict(7.4)
    assert record["charges"] == "ph" and record["ph"] == 7.4 and record["smiles_docked"] == result.smiles
    assert record["changed"] == ["guanidine at N4"] and record["near_pka"] == []
