"""Sequences to fold: records, the FASTA reader, complexes and the batching plan (torch-free).

The one FASTA reader of remyfold (``predict``, ``serve``, ``targets``): :func:`read_fasta` for
files, :func:`parse_fasta_text` for text. Complexes are folded as one chain joined by
:data:`LINKER` with residue indices offset by :data:`RESIDUE_INDEX_OFFSET` per chain (ESMFold's
convention; the engine, :mod:`remyfold.api`, encodes them); chains are named by
:data:`CHAIN_IDS`. :func:`plan_batches` / :func:`make_batches` group records by a token budget.

FASTA conventions (the input contract of ``remyfold predict``):

* A record starts at a ``>`` header line; its id is the header's first word.
  Sequence lines up to the next header are joined; spaces inside them are ignored.
* Letters are uppercased (lowercase is accepted). Allowed: the 20 standard one-letter
  codes and ``X`` (unknown residue). Anything else is an error naming the file, line,
  record, chain/residue position and letter, with a suggestion.
* ``:`` separates the chains of a complex (``AAAA:BBBB``); empty chains are errors.
* A single ``*`` (stop codon, as written by translation tools) at the end of a chain
  is stripped; a ``*`` anywhere else is an error.
* Blank lines are ignored. Gzip files are recognised by their magic bytes, not their name.
* Ids must be unique (also ignoring case, since they become file names on possibly
  case-insensitive file systems) and usable as file names (no ``/`` or ``\\``).
* A record may hold at most ``max_length`` residues over all chains (linkers not counted).

Every problem is raised as :class:`remyfold.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import gzip
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.residues import SEQUENCE_LETTERS, suggestion_for_letter
from remyfold.settings import DEFAULT_MAX_LENGTH

#: Names of the chains of a complex, in order (one character each, as PDB files need).
CHAIN_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: Joins the chains of a complex into the one chain the network folds (removed from every output).
LINKER = "G" * 25
#: Added to the residue index of each further chain, so the network sees the chains as far apart.
RESIDUE_INDEX_OFFSET = 512
#: Longest record id in UTF-8 bytes: it names the output files (255 bytes on most file systems, less
#: the suffixes and the atomic writer's temporary names).
MAX_ID_BYTES = 128
#: Longest id shown in a message.
MAX_SHOWN_ID = 60
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FastaRecord:
    """One validated FASTA record.

    Attributes:
        id: the header's first word (also the stem of the output files).
        sequence: uppercased one-letter sequence; chains separated by ``:``.
        source: the file it came from.
        line: 1-based line number of its header in that file.
    """

    id: str
    sequence: str
    source: str
    line: int

    @property
    def chains(self) -> list[str]:
        """The chain sequences, in order."""
        return self.sequence.split(":")

    @property
    def length(self) -> int:
        """Number of residues over all chains (separators excluded)."""
        return len(self.sequence) - self.sequence.count(":")


def read_fasta(paths, *, max_length: int = DEFAULT_MAX_LENGTH) -> list[FastaRecord]:
    """Read and validate every record of the FASTA files ``paths``, in order.

    Raises:
        InputError: on the first problem found (see the module docstring), before any
            record is returned, so that a job fails before doing any work.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records: list[FastaRecord] = []
    for path in paths:
        records.extend(_read_one_file(Path(path), max_length))
    _check_unique_ids(records)
    return records


def _read_text(path: Path) -> str:
    """Return the text of ``path``, gunzipping it when it starts with the gzip magic bytes."""
    if not path.exists():
        raise InputError(f"{path}: no such file; check the FASTA path")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give the FASTA files inside it")
    try:
        data = path.read_bytes()
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: cannot read it ({err}); check the file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a FASTA file (binary content); give a text FASTA file") from None


def parse_fasta_text(text: str, source: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> list[FastaRecord]:
    """Read and validate the records of FASTA ``text`` (same rules as files); ``source`` names it in errors."""
    records = _parse_records(source, text, max_length)
    _check_unique_ids(records)
    return records


def _read_one_file(path: Path, max_length: int) -> list[FastaRecord]:
    """Split one file into records and validate them."""
    return _parse_records(path, _read_text(path), max_length)


def _parse_records(path, text: str, max_length: int) -> list[FastaRecord]:
    """Split text into records (header line number, id, raw sequence lines) and validate them."""
    headers: list[tuple[int, str]] = []
    bodies: list[list[tuple[int, str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            headers.append((number, line[1:].strip()))
            bodies.append([])
        elif not headers:
            raise InputError(
                f"{path} is not a FASTA file: line {number} comes before any '>' header; "
                "each record must start with '>ID'"
            )
        else:
            bodies[-1].append((number, line))
    if not headers:
        raise InputError(f"{path} is empty: it holds no FASTA records; add '>ID' and a sequence")
    return [_make_record(path, line, header, body, max_length) for (line, header), body in zip(headers, bodies)]


def id_problem(record_id: str) -> str | None:
    """Why ``record_id`` cannot name a record's output files, or ``None``: a path separator, ``.``/``..``,
    a control character (a null byte among them), or more than :data:`MAX_ID_BYTES` bytes in UTF-8."""
    if "/" in record_id or "\\" in record_id or record_id in (".", ".."):
        return "the id cannot be used as a file name; rename the record without '/' or '\\'"
    bad = next((char for char in record_id if unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        return f"the id holds the control character {bad!r}; use printable characters"
    size = len(record_id.encode("utf-8"))
    if size > MAX_ID_BYTES:
        return (f"the id is {size} bytes long, over the limit of {MAX_ID_BYTES} (it names the output files); "
                "give the record a shorter id")  # fmt: skip
    return None


def shown_id(record_id: str, limit: int = MAX_SHOWN_ID) -> str:
    """``record_id`` for messages: control characters escaped, cut to ``limit`` characters (``…`` marks the cut)."""
    text = "".join(char if unicodedata.category(char) != "Cc" else repr(char)[1:-1] for char in record_id)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _make_record(path: Path, line: int, header: str, body, max_length: int) -> FastaRecord:
    """Validate one record: its id, its letters, its chains and its length."""
    words = header.split()
    if not words:
        raise InputError(f"{path} line {line}: header '>' has no id; write '>ID' with a unique ID")
    record_id = words[0]
    where = f"{path} line {line}, record '{shown_id(record_id)}'"
    problem = id_problem(record_id)
    if problem is not None:
        raise InputError(f"{where}: {problem}")
    if not body:
        raise InputError(f"{where}: the record has no sequence; add one or remove the record")
    chains = _parse_chains(where, body)
    if len(chains) > len(CHAIN_IDS):
        raise InputError(
            f"{where}: {len(chains)} chains, more than the {len(CHAIN_IDS)} that can be named; split the complex"
        )
    length = sum(len(chain) for chain in chains)
    if length > max_length:
        raise InputError(
            f"{where}: {length} residues, over the limit of {max_length}; "
            "shorten it or raise --max-length (memory grows with length squared)"
        )
    return FastaRecord(id=record_id, sequence=":".join(chains), source=str(path), line=line)


def _parse_chains(where: str, body) -> list[str]:
    """Join the sequence lines, split at ``:`` and check every letter of every chain.

    Args:
        where: "file line N, record 'ID'" for error messages.
        body: ``[(line_number, text), ...]`` the record's sequence lines.
    """
    # Keep each residue's file line so an error can point at it.
    letters: list[str] = []
    line_of: list[int] = []
    for number, text in body:
        for char in text.upper():
            if not char.isspace():
                letters.append(char)
                line_of.append(number)
    chains: list[str] = []
    start = 0
    for end in [i for i, char in enumerate(letters) if char == ":"] + [len(letters)]:
        chain = "".join(letters[start:end]).removesuffix("*")
        label = f"chain {len(chains) + 1}" if ":" in letters else "sequence"
        if not chain:
            raise InputError(f"{where}: {label} is empty; remove the extra ':' (chains are separated by one ':')")
        for offset, char in enumerate(chain):
            if char not in SEQUENCE_LETTERS:
                raise InputError(
                    f"{where}: invalid letter '{char}' at residue {offset + 1} of the {label} "
                    f"(file line {line_of[start + offset]}); {suggestion_for_letter(char)}"
                )
        chains.append(chain)
        start = end + 1
    return chains


def _check_unique_ids(records: list[FastaRecord]) -> None:
    """Raise if two records share an id, or ids differing only in case (their files would clash)."""
    seen: dict[str, FastaRecord] = {}
    for record in records:
        key = record.id.casefold()
        if key in seen:
            first = seen[key]
            same = "the same id" if first.id == record.id else "ids differing only in case"
            raise InputError(
                f"records '{first.id}' ({first.source} line {first.line}) and '{record.id}' "
                f"({record.source} line {record.line}) have {same}; "
                "give every record a unique id (output files are named after it)"
            )
        seen[key] = record


def chain_summary(chains: list[str]) -> str:
    """``A:120,B:80``: chain ids (A, B, ...) with their lengths."""
    return ",".join(f"{CHAIN_IDS[i]}:{len(sequence)}" for i, sequence in enumerate(chains))


def folded_length(record: FastaRecord) -> int:
    """Tokens the model folds for ``record``: its residues plus the :data:`LINKER` between chains."""
    return record.length + len(LINKER) * (len(record.chains) - 1)


def plan_batches(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Group record indices so that ``batch size × longest length ≤ max_tokens``.

    Records are sorted by length (similar lengths share a batch, little padding);
    a record longer than the budget is a batch of its own.
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def make_batches(records: list[FastaRecord], max_tokens: int) -> list[list[FastaRecord]]:
    """Group records so that ``len(batch) × longest folded length ≤ max_tokens`` (:func:`plan_batches`).

    Shortest first, similar lengths together (little padding); a record over the budget is folded alone.
    """
    lengths = [folded_length(record) for record in records]
    return [[records[i] for i in batch] for batch in plan_batches(lengths, max_tokens)]
