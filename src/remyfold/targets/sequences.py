"""Target sequences: shipped ones from ``sequences.fasta``, the others from UniProt's REST service.

The shipped FASTA holds canonical UniProtKB/Swiss-Prot sequences (credit:
UniProt Consortium, CC BY 4.0). Others are fetched once from
``{base}/uniprotkb/{ACC}.fasta`` (base ``https://rest.uniprot.org``, or the
``REMYFOLD_UNIPROT_URL`` environment variable) into the cache folder
(``REMYFOLD_CACHE``, else ``$XDG_CACHE_HOME/remyfold``, else
``~/.cache/remyfold``) under ``uniprot/ACC.fasta``, written atomically.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

from remyfold.io.atomic import write_text_atomic
from remyfold.targets.catalog import Target, TargetsError

DEFAULT_BASE = "https://rest.uniprot.org"
TIMEOUT_S = 20


def cache_dir() -> Path:
    """The remyfold cache folder (see the module docstring)."""
    if os.environ.get("REMYFOLD_CACHE"):
        return Path(os.environ["REMYFOLD_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "remyfold"


def shipped_sequences() -> dict[str, str]:
    """Accession -> sequence of the FASTA shipped in the package."""
    text = resources.files("remyfold.targets").joinpath("sequences.fasta").read_text("utf-8")
    return {acc: seq for acc, _header, seq in parse_uniprot_fasta(text)}


def parse_uniprot_fasta(text: str) -> list[tuple[str, str, str]]:
    """``(accession, header, sequence)`` of each record of UniProt-style FASTA (``>sp|ACC|NAME ...``)."""
    records, header, chunks = [], None, []
    for line in text.splitlines() + [">"]:
        if line.startswith(">"):
            if header is not None:
                parts = header.split("|")
                acc = parts[1] if len(parts) >= 3 else header.split()[0]
                records.append((acc, header, "".join(chunks)))
            header, chunks = line[1:].strip(), []
        elif line.strip():
            chunks.append(line.strip())
    return [r for r in records if r[1]]


def target_sequence(target: Target) -> str:
    """The target's sequence: shipped, cached, or fetched from UniProt (then cached)."""
    shipped = shipped_sequences()
    if target.accession in shipped:
        return shipped[target.accession]
    cached = cache_dir() / "uniprot" / f"{target.accession}.fasta"
    if cached.exists():
        return _single_record(cached.read_text("utf-8"), target, str(cached))
    base = os.environ.get("REMYFOLD_UNIPROT_URL", DEFAULT_BASE).rstrip("/")
    url = f"{base}/uniprotkb/{target.accession}.fasta"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise TargetsError(
            f"cannot fetch {target.id} ({target.accession}) from {url}: {reason}; "
            "connect to the internet or put its FASTA in "
            f"{cached}"
        ) from None
    sequence = _single_record(text, target, url)
    write_text_atomic(cached, text)
    return sequence


def _single_record(text: str, target: Target, where: str) -> str:
    records = parse_uniprot_fasta(text)
    if len(records) != 1 or records[0][0] != target.accession or not records[0][2].isalpha():
        raise TargetsError(f"{where} is not the UniProt FASTA record of {target.accession}")
    return records[0][2]


def targets_fasta(targets: list[Target]) -> str:
    """FASTA ready for ``remyfold predict``: ``>ID sp|ACC|... name`` headers, 60 residues a line."""
    out = []
    for target in targets:
        seq = target_sequence(target)
        out.append(f">{target.id} {target.accession} {target.name} (UniProt, CC BY 4.0)")
        out.extend(seq[i : i + 60] for i in range(0, len(seq), 60))
    return "\n".join(out) + "\n"
