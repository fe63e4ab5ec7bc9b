"""Fetch a structure by id: RCSB PDB entries (mmCIF) and AlphaFold DB models, cached and checked.

Id forms (case-insensitive):

* a **PDB id**, a digit and three letters or digits (``4K6I``): the entry's mmCIF from RCSB,
  ``{base}/{ID}.cif.gz`` (base ``https://files.rcsb.org/download``, or ``REMYFOLD_RCSB_URL``),
  cached as ``pdb/{ID}.cif.gz``;
* a **UniProt accession** (UniProt's published pattern, ``P48443``, ``A0A0B4J2F0``): the AlphaFold DB
  model. AlphaFold DB's prediction API, ``{base}/api/prediction/{ACC}`` (base
  ``https://alphafold.ebi.ac.uk``, or ``REMYFOLD_AFDB_URL``), names the current model file
  (``cifUrl``, e.g. ``.../files/AF-P48443-F1-model_v6.cif``), so a new database version needs no
  change here; the model of the accession itself (fragment F1) is cached as ``afdb/{ACC}.cif``.

The cache folder is the one of the UniProt sequences (:func:`remyfold.targets.sequences.cache_dir`).
A download is checked before it is cached (non-empty, not an HTML page, mmCIF that gemmi reads with
at least one atom) and written atomically. A cache entry that fails the same check is fetched
again; offline, the one-line error names the bad file. Every request has a timeout
(:data:`TIMEOUT_S`) and a size limit (:data:`MAX_BYTES`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from remyfold.errors import InputError, first_line
from remyfold.targets.sequences import cache_dir, write_cache_entry

RCSB_BASE = "https://files.rcsb.org/download"
AFDB_BASE = "https://alphafold.ebi.ac.uk"
TIMEOUT_S = 30
#: Largest download accepted (the largest PDB entries' .cif.gz are a few hundred MB).
MAX_BYTES = 1 << 30
PDB_ID = re.compile(r"[0-9][A-Z0-9]{3}")
#: UniProt's accession pattern (https://www.uniprot.org/help/accession_numbers).
UNIPROT_ACCESSION = re.compile(r"[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2}")


class FetchError(InputError):
    """An id that cannot be fetched: unknown form, not in the database, offline, a bad download."""


def id_kind(value: str) -> str | None:
    """``"pdb"`` for a PDB id, ``"afdb"`` for a UniProt accession, ``None`` for anything else."""
    text = value.strip().upper()
    if PDB_ID.fullmatch(text):
        return "pdb"
    if UNIPROT_ACCESSION.fullmatch(text):
        return "afdb"
    return None


def is_structure_id(value: str) -> bool:
    """Whether ``value`` is a PDB id or a UniProt accession."""
    return id_kind(value) is not None


def fetch_structure(value: str) -> Path:
    """The cached mmCIF of a PDB id or UniProt accession, downloaded (and checked) when missing or damaged.

    Raises:
        FetchError: an unknown id form, an id the database does not have, no connection, a bad download.
    """
    kind = id_kind(value)
    if kind is None:
        raise FetchError(f"{value!r} is neither a PDB id (4 characters, e.g. 4K6I) nor a UniProt accession "
                         "(e.g. P48443); give one of those or a structure file")  # fmt: skip
    ident = value.strip().upper()
    cached = cache_dir() / kind / (f"{ident}.cif.gz" if kind == "pdb" else f"{ident}.cif")
    bad_cache = None
    if cached.exists():
        try:
            check_mmcif(cached.read_bytes(), gzipped=kind == "pdb")
            return cached
        except (FetchError, OSError) as err:
            bad_cache = first_line(err)
    try:
        data = _download_pdb(ident) if kind == "pdb" else _download_afdb(ident)
    except _Offline as err:
        if bad_cache is not None:
            raise FetchError(f"the cached file {cached} is bad ({bad_cache}) and {ident} cannot be fetched again "
                             f"({err}); delete that file and check the connection, or put the "
                             "structure's mmCIF there (named as it is)") from None  # fmt: skip
        form = "gzip-compressed mmCIF" if kind == "pdb" else "mmCIF"
        raise FetchError(f"cannot fetch {ident}: {err}; check the connection and try again, "
                         f"or put its {form} in {cached}") from None  # fmt: skip
    write_cache_entry(cached, data, ident, FetchError)
    return cached


class _Offline(Exception):
    """The server could not be reached (the message says why)."""


def _download_pdb(pdb_id: str) -> bytes:
    """The checked ``.cif.gz`` bytes of a PDB entry from RCSB."""
    base = os.environ.get("REMYFOLD_RCSB_URL", RCSB_BASE).rstrip("/")
    url = f"{base}/{pdb_id}.cif.gz"
    data = _get(url, f"no PDB entry {pdb_id} at RCSB ({url}); check the id")
    _check_download(data, url, gzipped=True)
    return data


def _download_afdb(accession: str) -> bytes:
    """The checked mmCIF bytes of the AlphaFold DB model of ``accession`` (its URL from the prediction API)."""
    base = os.environ.get("REMYFOLD_AFDB_URL", AFDB_BASE).rstrip("/")
    api = f"{base}/api/prediction/{accession}"
    missing = f"AlphaFold DB has no model of UniProt accession {accession} ({api}); check the accession"
    try:
        entries = json.loads(_get(api, missing))
        if not isinstance(entries, list):
            raise TypeError(entries)
        urls = [e["cifUrl"] for e in entries if e.get("uniprotAccession", "").upper() == accession]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise FetchError(f"AlphaFold DB's answer for {accession} ({api}) is not its prediction JSON; "
                         "try again later") from None  # fmt: skip
    if not urls:
        raise FetchError(missing)
    data = _get(urls[0], f"the AlphaFold DB model file {urls[0]} of {accession} is missing; try again later")
    _check_download(data, urls[0], gzipped=urls[0].endswith(".gz"))
    return gzip.decompress(data) if urls[0].endswith(".gz") else data


def _get(url: str, not_found: str) -> bytes:
    """The body of ``url``; :class:`FetchError` (``not_found``) on HTTP 404/410, :class:`_Offline` otherwise."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            data = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        if err.code in (404, 410):
            raise FetchError(not_found) from None
        raise _Offline(f"{url} answered HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise _Offline(f"{url}: {getattr(err, 'reason', err)}") from None
    if len(data) > MAX_BYTES:
        raise FetchError(f"{url} is larger than {MAX_BYTES >> 20} MiB; download it yourself and give the file")
    return data


def _check_download(data: bytes, url: str, gzipped: bool) -> None:
    """:func:`check_mmcif`, the error naming the URL."""
    try:
        check_mmcif(data, gzipped)
    except FetchError as err:
        raise FetchError(f"{url} did not send a structure ({err}); try again later") from None


def check_mmcif(data: bytes, gzipped: bool) -> None:
    """:class:`FetchError` unless ``data`` (gzip-compressed when ``gzipped``) is mmCIF with atoms that gemmi reads."""
    import gemmi

    if not data.strip():
        raise FetchError("empty")
    if data.lstrip()[:1] == b"<":
        raise FetchError("an HTML page, not mmCIF")
    try:
        text = (gzip.decompress(data) if gzipped else data).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        raise FetchError("not gzip-compressed mmCIF text" if gzipped else "binary, not mmCIF text") from None
    if not text.lstrip().startswith("data_"):
        raise FetchError("not mmCIF (no data_ block)")
    try:
        structure = gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
    except (RuntimeError, ValueError) as err:
        raise FetchError(f"unreadable mmCIF: {first_line(err)}") from None
    if not any(len(residue) for model in structure for chain in model for residue in chain):
        raise FetchError("mmCIF without atoms")
