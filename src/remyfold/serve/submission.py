"""Turn what a client sends (FASTA text, an uploaded file, a bare sequence) into a checked job.

The records follow exactly the rules of ``remyfold predict`` (:func:`remyfold.sequence.parse_fasta_text`:
ids, letters, ``:`` between the chains of a complex, a trailing ``*``); on top come the server's
:class:`~remyfold.serve.config.Limits` (records per job, residues per record, recycles). Every
problem is a :class:`~remyfold.serve.errors.RequestError` with status 422 and one line.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from dataclasses import dataclass

from remyfold.errors import InputError
from remyfold.sequence import MAX_ID_BYTES, FastaRecord, id_problem, parse_fasta_text  # noqa: F401 - the id limit
from remyfold.sequence import shown_id as shorten
from remyfold.serve.config import Limits
from remyfold.serve.errors import RequestError

#: Bytes unpacked at a time (the most an upload holds in memory beyond the limit).
UNPACK_CHUNK = 1 << 20
#: Most memory the xz decoder may take (xz -9 needs 65 MiB; a file may ask for far more).
XZ_MEMORY_LIMIT = 80 << 20
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


def _file_chunks(opener):
    """Pieces of a packed upload unpacked by ``opener`` (``gzip.open``, ``bz2.open``): their window is small."""

    def chunks(data: bytes):
        with opener(io.BytesIO(data)) as handle:
            while chunk := handle.read(UNPACK_CHUNK):
                yield chunk

    return chunks


def _xz_chunks(data: bytes):
    """Pieces of an xz upload, every stream; the decoder's memory (the dictionary the file asks
    for) is capped at :data:`XZ_MEMORY_LIMIT`."""
    while data:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMORY_LIMIT)
        yield decoder.decompress(data, UNPACK_CHUNK)
        while not decoder.eof:
            if decoder.needs_input:
                raise EOFError("the xz stream ends early")
            yield decoder.decompress(b"", UNPACK_CHUNK)
        data = decoder.unused_data.lstrip(b"\0")  # stream padding, then maybe another stream


#: Packed uploads, by their magic bytes: (format name, pieces of the unpacked data).
PACKED = {b"\x1f\x8b": ("gzip", _file_chunks(gzip.open)), b"BZh": ("bzip2", _file_chunks(bz2.open)),
          b"\xfd7zXZ\x00": ("xz", _xz_chunks)}  # fmt: skip


def unpack_upload(data: bytes, limit: int, what: str) -> bytes:
    """``data``, unpacked when gzip, bzip2 or xz (recognised by magic bytes), at most ``limit`` bytes.

    Unpacks as a stream, one :data:`UNPACK_CHUNK` at a time, and stops once past ``limit``, so a
    small "bomb" that unpacks to gigabytes costs about ``limit`` bytes of memory (twice that for the
    final copy of an accepted file): 413 beyond the limit, 422 for a damaged file.
    """
    too_large = RequestError(413, f"{what} is (or unpacks to) more than {limit} bytes, this server's limit; send less")
    for magic, (kind, chunks) in PACKED.items():
        if data.startswith(magic):
            unpacked = bytearray()
            try:
                for chunk in chunks(data):
                    unpacked += chunk
                    if len(unpacked) > limit:
                        raise too_large
            except lzma.LZMAError as err:
                if "memory" in str(err).lower():
                    raise RequestError(413, f"{what}: its xz settings need more than {XZ_MEMORY_LIMIT >> 20} MiB "
                                            "to unpack; pack it with xz -6 or gzip") from None  # fmt: skip
                raise RequestError(422, f"{what} is a damaged {kind} file; upload it again") from None
            except (OSError, EOFError, ValueError, zlib.error):
                raise RequestError(422, f"{what} is a damaged {kind} file; upload it again") from None
            return bytes(unpacked)
    if len(data) > limit:
        raise too_large
    return data


def decode_upload(data: bytes, limits: Limits) -> str:
    """Text of an uploaded FASTA file (plain, gzip, bzip2 or xz), bounded in its unpacked size."""
    data = unpack_upload(data, limits.max_request_bytes, "the uploaded file")
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
        check_record_id(record)
        if record.length > limits.max_residues:
            raise RequestError(
                422, f"{SOURCE} line {record.line}, record '{record.id}': {record.length} residues, over this server's "
                     f"limit of {limits.max_residues} per record; shorten it"
            )  # fmt: skip
    name = " ".join(name.split())[:200] or shorten(records[0].id) + (f" +{len(records) - 1}" if len(records) > 1 else "")
    return Submission(records, num_recycles, name)


def check_record_id(record: FastaRecord) -> None:
    """422 unless the record's id can name its output files (:func:`remyfold.sequence.id_problem`)."""
    problem = id_problem(record.id)
    if problem is not None:
        raise RequestError(422, f"{SOURCE} line {record.line}, record '{shorten(record.id)}': {problem}")


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
