"""Target sequences: shipped ones from ``sequences.fasta``, the others from UniProt's REST service.

The shipped FASTA holds canonical UniProtKB/Swiss-Prot sequences (credit:
UniProt Consortium, CC BY 4.0). Others are fetched once from
``{base}/uniprotkb/{ACC}.fasta`` (base ``https://rest.uniprot.org``, or the
``REMYFOLD_UNIPROT_URL`` environment variable) into the cache folder
(``REMYFOLD_CACHE``, else ``$XDG_CACHE_HOME/remyfold``, else
``~/.cache/remyfold``) under ``uniprot/ACC.fasta``, written atomically; a cache entry that is
not the target's record (binary, truncated) counts as missing and is fetched again. Every FASTA
text is read by remyfold's one FASTA reader (:mod:`remyfold.sequence`).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.atomic import write_bytes_atomic
from remyfold.sequence import parse_fasta_text
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
    return {acc: seq for acc, _id, seq in parse_uniprot_fasta(text, "the shipped sequences.fasta")}


def parse_uniprot_fasta(text: str, source: str = "UniProt FASTA") -> list[tuple[str, str, str]]:
    """``(accession, record id, sequence)`` of each record of UniProt-style FASTA (``>sp|ACC|NAME ...``).

    Read and checked by remyfold's one FASTA reader (:func:`remyfold.sequence.parse_fasta_text`,
    no length limit); the accession is the id's second ``|`` field, or the id itself.

    Raises:
        InputError: text that is not valid protein FASTA (``source`` names it).
    """
    records = parse_fasta_text(text, source, max_length=sys.maxsize)
    return [(_accession(record.id), record.id, record.sequence) for record in records]


def _accession(record_id: str) -> str:
    """``sp|P48443|RXRG_HUMAN`` -> ``P48443``; an id without ``|`` fields is the accession itself."""
    parts = record_id.split("|")
    return parts[1] if len(parts) >= 3 else record_id


def target_sequence(target: Target) -> str:
    """The target's sequence: shipped, cached, or fetched from UniProt (then cached).

    A cache entry that cannot be read as the target's UniProt record (binary, truncated, another
    record) counts as missing: the sequence is fetched again and the entry replaced.
    """
    shipped = shipped_sequences()
    if target.accession in shipped:
        return shipped[target.accession]
    cached = cache_dir() / "uniprot" / f"{target.accession}.fasta"
    bad_cache = None
    if cached.exists():
        try:
            return _single_record(_read_cached(cached), target, str(cached))
        except TargetsError as err:
            bad_cache = str(err)
    base = os.environ.get("REMYFOLD_UNIPROT_URL", DEFAULT_BASE).rstrip("/")
    url = f"{base}/uniprotkb/{target.accession}.fasta"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        if bad_cache is not None:
            raise TargetsError(
                f"the cached file {cached} is bad ({bad_cache}) and {target.id} ({target.accession}) cannot be "
                f"fetched again from {url}: {reason}; delete that file and connect to the internet, "
                "or put the target's UniProt FASTA there"
            ) from None
        raise TargetsError(
            f"cannot fetch {target.id} ({target.accession}) from {url}: {reason}; "
            "connect to the internet or put its FASTA in "
            f"{cached}"
        ) from None
    sequence = _single_record(text, target, url)
    write_cache_entry(cached, text.encode("utf-8"), f"{target.id}'s sequence", TargetsError)
    return sequence


def write_cache_entry(path: Path, data: bytes, what: str, error: type[Exception]) -> None:
    """Write a cache entry atomically; an ``error`` in one line (naming ``what``) when the cache cannot hold it."""
    try:
        write_bytes_atomic(path, data)
    except OSError as err:
        raise error(f"cannot cache {what} in {path} ({err.strerror}); "
                    "remove what is in the way or set REMYFOLD_CACHE to another folder") from None  # fmt: skip


def _read_cached(path: Path) -> str:
    """The text of a cache entry; :class:`TargetsError` if it cannot be read as UTF-8 text."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as err:
        raise TargetsError(f"cannot read it: {err.strerror}") from None
    except UnicodeDecodeError:
        raise TargetsError("binary content, not FASTA text") from None


def _single_record(text: str, target: Target, where: str) -> str:
    """The sequence of ``text`` if it is exactly ``target``'s UniProt FASTA record."""
    try:
        records = parse_uniprot_fasta(text, where)
    except InputError:
        records = []
    if len(records) != 1 or records[0][0] != target.accession:
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
