"""Turn what a client sends (FASTA text, an uploaded file, a bare sequence) into a checked job.

The records follow exactly the rules of ``remyfold predict`` (:func:`remyfold.sequence.parse_fasta_text`:
ids, letters, ``:`` between the chains of a complex, a trailing ``*``); on top come the server's
:class:`~remyfold.serve.config.Limits` (records per job, residues per record, recycles). Every
problem is a :class:`~remyfold.serve.errors.RequestError` with status 422 and one line.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass

from remyfold.errors import InputError
from remyfold.sequence import FastaRecord, parse_fasta_text
from remyfold.serve.config import Limits
from remyfold.serve.errors import RequestError

_GZIP_MAGIC = b"\x1f\x8b"
#: How the input is named in error messages.
SOURCE = "input"
#: The record id of a bare sequence (``POST /foldSequence/v1/pdb/``).
SEQUENCE_ID = "sequence"
_NO_LENGTH_LIMIT = 1 << 62  # the server applies its own residue limit, with its own message


@dataclass(frozen=True)
class Submission:
    """A validated job: its records, recycles (``None``: the model's default) and display name."""

    records: list[FastaRecord]
    num_recycles: int | None
    name: str

    @property
    def n_residues(self) -> int:
        return sum(record.length for record in self.records)

    def fasta(self) -> str:
        """The records as canonical FASTA text (what the worker reads back)."""
        return "".join(f">{record.id}\n{record.sequence}\n" for record in self.records)


def decode_upload(data: bytes, limits: Limits) -> str:
    """Text of an uploaded FASTA file: gzip is recognised by its magic bytes, bounded in size."""
    if data[:2] == _GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(limits.max_request_bytes + 1)
        except (OSError, EOFError, zlib.error):
            raise RequestError(422, "the uploaded file is a damaged gzip file; upload the FASTA file again") from None
        if len(data) > limits.max_request_bytes:
            raise RequestError(413, f"the uploaded file unpacks to more than {limits.max_request_bytes} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestError(422, "the uploaded file is not a FASTA file (binary content); upload a text FASTA file") from None


def parse_submission(text: str, limits: Limits, *, num_recycles: int | None = None, name: str = "") -> Submission:
    """Validate FASTA ``text`` and the options against ``limits``."""
    check_recycles(num_recycles, limits)
    if not text.strip():
        raise RequestError(422, "no FASTA given; paste or upload records like '>ID' then the sequence")
    try:
        records = parse_fasta_text(text, SOURCE, max_length=_NO_LENGTH_LIMIT)
    except InputError as err:
        raise RequestError(422, str(err)) from None
    if len(records) > limits.max_records:
        raise RequestError(
            422, f"{len(records)} records, over the limit of {limits.max_records} per job; split them into several jobs"
        )
    for record in records:
        if record.length > limits.max_residues:
            raise RequestError(
                422, f"{SOURCE} line {record.line}, record '{record.id}': {record.length} residues, over this server's "
                     f"limit of {limits.max_residues} per record; shorten it"
            )  # fmt: skip
    name = " ".join(name.split())[:200] or records[0].id + (f" +{len(records) - 1}" if len(records) > 1 else "")
    return Submission(records, num_recycles, name)


def parse_sequence(body: bytes, limits: Limits, *, num_recycles: int | None = None) -> Submission:
    """A bare sequence (ESM Atlas style request body), or one FASTA record, as a one-record job."""
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise RequestError(422, "the request body is not text; send the sequence as plain text") from None
    if not text.startswith(">"):
        text = f">{SEQUENCE_ID}\n{text}\n"
    submission = parse_submission(text, limits, num_recycles=num_recycles)
    if len(submission.records) != 1:
        raise RequestError(422, f"{len(submission.records)} records; this endpoint folds one sequence per request")
    return submission


def check_recycles(num_recycles: int | None, limits: Limits) -> None:
    """``num_recycles`` must be ``None`` (the model's default) or within ``0..max_recycles``."""
    if num_recycles is not None and not 0 <= num_recycles <= limits.max_recycles:
        raise RequestError(422, f"num_recycles {num_recycles}: choose from 0 to {limits.max_recycles}")
