"""A job's files in the data folder, and what is made from them on request.

Layout of ``DIR/jobs/<job id>/``:

- ``input.fasta``: the validated records (written before the job is queued).
- ``work-<attempt>/``: the folder an attempt folds into (``remyfold predict``'s layout).
- ``result/``: the finished job, renamed from its work folder in one atomic step inside the
  transaction that marks the job done: ``summary.tsv`` and ``<id>.pdb``/``.cif``/``.json`` per
  record; ``report.html`` (:func:`remyfold.report.build_report`) is added on first request.

A zip of all results is made on request, in memory. Comparisons with an uploaded reference use
:func:`remyfold.metrics.compare_structures` (``remyfold compare``).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.atomic import write_text_atomic
from remyfold.io.prediction_folder import SUMMARY_NAME, PredictionFolder
from remyfold.serve.config import ServeConfig
from remyfold.serve.errors import NotFound, RequestError

INPUT_NAME = "input.fasta"
RESULT_NAME = "result"
REPORT_NAME = "report.html"
FORMATS = {"pdb": ("pdb", "chemical/x-pdb"), "cif": ("cif", "chemical/x-mmcif"), "json": ("json", "application/json")}
_report_lock = threading.Lock()


def job_dir(config: ServeConfig, job_id: str) -> Path:
    return config.jobs_dir / job_id


def result_dir(config: ServeConfig, job_id: str) -> Path:
    return job_dir(config, job_id) / RESULT_NAME


def write_input(config: ServeConfig, job_id: str, fasta: str) -> None:
    """Write the job's ``input.fasta`` atomically (before the job is queued)."""
    write_text_atomic(job_dir(config, job_id) / INPUT_NAME, fasta)


def remove_job_files(config: ServeConfig, job_id: str) -> None:
    shutil.rmtree(job_dir(config, job_id), ignore_errors=True)


def record_rows(folder: Path) -> list[dict]:
    """The records of a finished job (``summary.tsv``): id, status, length, chains, scores, error;
    complexes also get their chain-pair scores from ``<id>.json`` (:func:`complex_scores`)."""
    keys = ("id", "status", "length", "chains", "mean_plddt", "ptm", "seconds", "error")
    return [{**{key: getattr(result, key) for key in keys}, **complex_scores(folder, result.id, result.iptm)}
            for result in PredictionFolder(folder).results()]  # fmt: skip


#: The complex scores of a record (``<id>.json`` keys; ``None`` for a single chain).
COMPLEX_KEYS = ("iptm", "ranking_confidence", "actifptm", "chain_pair_iptm", "chain_pair_pae_min")


def complex_scores(folder: Path, record_id: str, iptm: float | None) -> dict:
    """:data:`COMPLEX_KEYS` of one record: read from its JSON only when ``summary.tsv`` gives it an ipTM
    (a complex), all ``None`` otherwise."""
    scores = dict.fromkeys(COMPLEX_KEYS)
    path = folder / f"{record_id}.json"
    if iptm is None or not path.is_file():
        return scores
    try:
        data = PredictionFolder(folder).read_json(record_id)
    except InputError:
        return scores | {"iptm": iptm}
    return {key: data.get(key) for key in COMPLEX_KEYS}


def record_file(folder: Path, record_id: str, fmt: str) -> Path:
    """``<id>.<fmt>`` of a finished record; :class:`NotFound` for an unknown record or format."""
    if fmt not in FORMATS:
        raise NotFound(f"format {fmt!r} (choose {', '.join(FORMATS)})")
    known = {row["id"]: row["status"] for row in record_rows(folder)}
    if known.get(record_id) != "ok":
        raise NotFound(f"finished record {record_id!r}")
    path = PredictionFolder(folder).file(record_id, f".{FORMATS[fmt][0]}")
    if not path.is_file():
        raise NotFound(f"{path.name}")
    return path


def zip_bytes(folder: Path, job_id: str) -> bytes:
    """A zip of ``summary.tsv`` and every record's PDB, mmCIF and JSON, under ``<job id>/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        prediction = PredictionFolder(folder)
        archive.write(prediction.summary_path, f"{job_id}/{SUMMARY_NAME}")
        for row in prediction.results():
            if row.status != "ok":
                continue
            for suffix, _ in FORMATS.values():
                path = prediction.file(row.id, f".{suffix}")
                if path.is_file():
                    archive.write(path, f"{job_id}/{path.name}")
    return buffer.getvalue()


def report_path(folder: Path, title: str) -> Path:
    """The job's ``report.html`` (3D view, pLDDT plot, PAE heatmap) titled ``title`` (the job's name,
    never the server's paths), built on first use."""
    path = folder / REPORT_NAME
    with _report_lock:
        if not path.is_file():
            from remyfold.report import build_report

            try:
                build_report(folder, output=path, title=title)
            except InputError as err:
                raise RequestError(409, f"no report for this job: {err}") from None
    return path


def compare_with_reference(folder: Path, record_id: str, reference: bytes, filename: str, chains: str | None) -> dict:
    """``remyfold compare --json`` of a finished record against an uploaded reference structure
    (``reference``: its bytes, already unpacked by :func:`~remyfold.serve.submission.unpack_upload`)."""
    from remyfold.metrics import RESULT_KEYS, compare_structures

    model = record_file(folder, record_id, "pdb")
    stem = filename.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".xz")
    suffix = ".cif" if stem.endswith((".cif", ".mmcif")) else ".pdb"
    with tempfile.TemporaryDirectory(prefix="remyfold-compare-") as tmp:
        path = Path(tmp) / f"reference{suffix}"
        path.write_bytes(reference)
        try:
            result = compare_structures(model, path, chains=chains or None)
        except InputError as err:
            # Name the upload, not the temporary path, in the message.
            raise RequestError(422, str(err).replace(str(path), f"the reference {filename!r}")) from None
        except (ValueError, RuntimeError) as err:
            raise RequestError(422, f"cannot compare with the reference {filename!r}: {err}") from None
    result["model"] = f"{record_id}.pdb"
    result["reference"] = filename
    return {**{key: result[key] for key in RESULT_KEYS}, **{k: v for k, v in result.items() if k not in RESULT_KEYS}}
