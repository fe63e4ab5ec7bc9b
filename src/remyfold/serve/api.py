"""The REST API (``/api/v1``, the ESM Atlas compatible ``/foldSequence/v1/pdb/``, ``/health``).

Every route but ``/health`` needs ``Authorization: Bearer <token>`` (or a browser session
cookie, with ``X-CSRF-Token`` on state-changing requests); ``/health`` tells an anonymous caller
only that the server lives. A user sees only their own jobs; another user's job answers 404 as
if it did not exist; an admin sees every job. Every job names the weights (name, revision) it
was submitted for. Errors are JSON ``{"detail": "one line"}`` with a 4xx status (a 503 from the
Atlas endpoint when its fold is not done in time).
"""

from __future__ import annotations

import asyncio
import pathlib
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from remyfold.serve import results
from remyfold.serve.auth import Identity, identify_quietly
from remyfold.serve.deps import Context, caller, context, queue_job, require_done
from remyfold.serve.store import Job
from remyfold.serve.submission import decode_upload, parse_sequence, parse_submission, unpack_upload

REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")  # fmt: skip
#: Seconds a client of the Atlas endpoint is asked to wait before polling again.
ATLAS_RETRY_AFTER_S = 30
JobId = Annotated[str, Path(description="job id", max_length=64)]
RecordId = Annotated[str, Path(description="record id (first word of its FASTA header)", max_length=512)]
Recycles = Annotated[int | None, Field(ge=0, description="recycles (N means N+1 trunk passes); default: the model's")]


class JobRequest(BaseModel):
    """A job: FASTA text with one or more records (chains of a complex separated by ':')."""

    fasta: str = Field(description="FASTA text, e.g. '>GPR17\\nMNGLEV...'; a complex: '>pair\\nMKV...:GSH...'")
    num_recycles: Recycles = None
    name: str = Field("", max_length=200, description="a name to show in job lists (default: first record id)")


class Progress(BaseModel):
    records_done: int
    records: int


class Weights(BaseModel):
    name: str = Field(description="the weights the job was submitted for (hub id or folder name)")
    revision: str = Field(description="their revision: hub commit, or local-<hash> of a folder's content")


class JobOut(BaseModel):
    id: str
    name: str
    user: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    reason: str = Field(description="one-line reason when failed")
    num_recycles: int | None
    progress: Progress
    residues: int = Field(description="residues over all records and chains")
    weights: Weights
    created_at: float = Field(description="Unix time (s) of submission")
    started_at: float | None = Field(description="Unix time (s) the latest attempt started")
    finished_at: float | None = Field(description="Unix time (s) the job ended")


class RecordOut(BaseModel):
    id: str
    status: str = Field(description="ok or failed")
    length: int
    chains: str
    mean_plddt: float | None = Field(description="mean pLDDT (Cα)")
    ptm: float | None
    seconds: float | None
    error: str
    iptm: float | None = Field(None, description="interface pTM (AlphaFold-Multimer); null for a single chain")
    ranking_confidence: float | None = Field(None, description="0.8·ipTM + 0.2·pTM; null for a single chain")
    actifptm: float | None = Field(None, description="ipTM weighted by predicted contacts; null for a single chain")
    chain_pair_iptm: list[list[float]] | None = Field(
        None, description="[C][C] ipTM per chain pair, each chain's pTM on the diagonal; null for a single chain")
    chain_pair_pae_min: list[list[float]] | None = Field(
        None, description="[C][C] lowest PAE (Å), rows: the chain aligned on; null for a single chain")


class JobDetail(JobOut):
    records: list[RecordOut] = Field(description="per-record results once the job is done")
    links: dict[str, str]


def job_links(job_id: str) -> dict[str, str]:
    base = f"/api/v1/jobs/{job_id}"
    return {"self": base, "zip": f"{base}/results.zip", "report": f"{base}/report", "page": f"/jobs/{job_id}"}


def job_detail(ctx: Context, job) -> dict:
    rows = results.record_rows(results.result_dir(ctx.config, job.id)) if job.state == "done" else []
    return {**job.public(), "records": rows, "links": job_links(job.id)}


router = APIRouter()
Caller = Annotated[Identity, Depends(caller)]


@router.get("/health", tags=["server"], summary="Liveness (no token needed); workers and queue for a signed-in caller")
def health(request: Request) -> dict:
    ctx = context(request)
    workers = ctx.store.workers()
    ready = bool(workers) and all(w["state"] in ("ready", "busy") for w in workers)
    if identify_quietly(request, ctx.store) is None:
        return {"status": "ok", "ready": ready}
    alive = ctx.pool.alive() if ctx.pool is not None else 0
    shown = [{k: w[k] for k in ("name", "device", "state", "detail")} for w in workers]
    return {"status": "ok", "ready": ready, "workers_alive": alive, "workers": shown,
            "queued": ctx.store.queue_length(),
            "weights": {"name": ctx.config.weights_name, "revision": ctx.config.weights_revision}}  # fmt: skip


@router.post("/api/v1/jobs", tags=["jobs"], status_code=201, response_model=JobOut, summary="Submit FASTA text")
def submit_json(request: Request, body: JobRequest, who: Caller) -> dict:
    ctx = context(request)
    submission = parse_submission(body.fasta, ctx.config.limits, num_recycles=body.num_recycles, name=body.name)
    return queue_job(ctx, who, submission).public()


@router.post("/api/v1/jobs/upload", tags=["jobs"], status_code=201, response_model=JobOut,
             summary="Submit a FASTA file (plain or gzip)")  # fmt: skip
async def submit_file(request: Request, who: Caller, file: Annotated[UploadFile, File(description="FASTA file")],
                      num_recycles: Annotated[int | None, Form(ge=0)] = None,
                      name: Annotated[str, Form(max_length=200)] = "") -> dict:  # fmt: skip
    ctx = context(request)
    text = decode_upload(await file.read(), ctx.config.limits)
    submission = parse_submission(text, ctx.config.limits, num_recycles=num_recycles, name=name or file.filename or "")
    job = await run_in_threadpool(queue_job, ctx, who, submission)
    return job.public()


@router.get("/api/v1/jobs", tags=["jobs"], response_model=list[JobOut], summary="List my jobs (admin: all)")
def list_jobs(request: Request, who: Caller,
              limit: Annotated[int, Query(ge=1, le=1000, description="newest jobs first")] = 200) -> list[dict]:  # fmt: skip
    return [job.public() for job in context(request).store.jobs(who.user, limit=limit)]


@router.get("/api/v1/jobs/{job_id}", tags=["jobs"], response_model=JobDetail, summary="Status, progress, records")
def job_status(request: Request, job_id: JobId, who: Caller) -> dict:
    ctx = context(request)
    return job_detail(ctx, ctx.store.job(who.user, job_id))


@router.post("/api/v1/jobs/{job_id}/cancel", tags=["jobs"], response_model=JobOut, summary="Cancel a job")
def cancel_job(request: Request, job_id: JobId, who: Caller) -> dict:
    return context(request).store.cancel(who.user, job_id).public()


def _done_job_dir(request: Request, job_id: str, who: Identity) -> tuple[Job, pathlib.Path]:
    """The caller's job (409 unless done) and its result folder."""
    ctx = context(request)
    job = ctx.store.job(who.user, job_id)
    require_done(job)
    return job, results.result_dir(ctx.config, job.id)


@router.get("/api/v1/jobs/{job_id}/records/{record_id}/{fmt}", tags=["results"],
            summary="One record's structure (pdb, cif) or scores (json)",
            responses={200: {"content": {"chemical/x-pdb": {}, "chemical/x-mmcif": {}, "application/json": {}}}})  # fmt: skip
def record_file(request: Request, job_id: JobId, record_id: RecordId, fmt: Literal["pdb", "cif", "json"],
                who: Caller) -> FileResponse:  # fmt: skip
    path = results.record_file(_done_job_dir(request, job_id, who)[1], record_id, fmt)
    return FileResponse(path, media_type=results.FORMATS[fmt][1], filename=path.name)


@router.get("/api/v1/jobs/{job_id}/results.zip", tags=["results"], summary="Every result of a job as a zip",
            responses={200: {"content": {"application/zip": {}}}})  # fmt: skip
def results_zip(request: Request, job_id: JobId, who: Caller) -> Response:
    job, directory = _done_job_dir(request, job_id, who)
    data = results.zip_bytes(directory, job.id)
    headers = {"Content-Disposition": f'attachment; filename="remyfold-{job.id}.zip"'}
    return Response(data, media_type="application/zip", headers=headers)


@router.get("/api/v1/jobs/{job_id}/report", tags=["results"], summary="Report page: 3D view, pLDDT, PAE",
            responses={200: {"content": {"text/html": {}}}})  # fmt: skip
def report(request: Request, job_id: JobId, who: Caller) -> FileResponse:
    job, directory = _done_job_dir(request, job_id, who)
    path = results.report_path(directory, job.name)
    return FileResponse(path, media_type="text/html", headers={"Content-Security-Policy": REPORT_CSP})


@router.post("/api/v1/jobs/{job_id}/records/{record_id}/compare", tags=["results"],
             summary="Score a record against an uploaded reference structure (remyfold compare)")  # fmt: skip
async def compare(request: Request, job_id: JobId, record_id: RecordId, who: Caller,
                  reference: Annotated[UploadFile, File(description="reference PDB or mmCIF (optionally .gz)")],
                  chains: Annotated[str, Form(max_length=200, description="reference chains, e.g. A or A,B")] = "",
                  ) -> dict:  # fmt: skip
    ctx = context(request)
    data = unpack_upload(await reference.read(), ctx.config.limits.max_reference_bytes, "the reference structure")
    job = await run_in_threadpool(ctx.store.job, who.user, job_id)
    require_done(job)
    folder = results.result_dir(ctx.config, job.id)
    return await run_in_threadpool(results.compare_with_reference, folder, record_id, data,
                                   reference.filename or "reference", chains)  # fmt: skip


SEQUENCE_BODY = {"requestBody": {"required": True, "description": "the sequence (one letter per residue; ':' between chains)",
                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}  # fmt: skip


@router.post("/foldSequence/v1/pdb/", tags=["ESM Atlas compatible"], response_class=PlainTextResponse,
             summary="Fold one sequence (request body), answer its PDB (ESM Atlas API)", openapi_extra=SEQUENCE_BODY,
             responses={200: {"content": {"text/plain": {}}},
                        202: {"description": "still folding (only with Accept: application/json or ?pending=202); "
                                             "poll links.self"},
                        503: {"description": "still folding after --atlas-wait; Location names the job, "
                                             "Retry-After says when to ask again"}})  # fmt: skip
async def fold_sequence(request: Request, who: Caller,
                        num_recycles: Annotated[int | None, Query(ge=0)] = None,
                        pending: Annotated[Literal["503", "202"], Query(
                            description="status of the answer when the fold is not done in time: 503 (default: an "
                                        "error `curl -f` catches) or 202 (the job as JSON)")] = "503",
                        ) -> Response:  # fmt: skip
    ctx = context(request)
    submission = parse_sequence(await request.body(), ctx.config.limits, num_recycles=num_recycles)
    job = await run_in_threadpool(queue_job, ctx, who, submission)
    job = await _wait_for_job(request, ctx, who, job)
    record_id = submission.records[0].id
    if job.state == "done":
        folder = results.result_dir(ctx.config, job.id)
        path = await run_in_threadpool(results.record_file, folder, record_id, "pdb")
        return PlainTextResponse(path.read_text(encoding="utf-8"))
    if job.state in ("queued", "running"):
        links = {**job_links(job.id), "pdb": f"/api/v1/jobs/{job.id}/records/{record_id}/pdb"}
        headers = {"Location": links["self"], "Retry-After": str(ATLAS_RETRY_AFTER_S)}
        if pending == "202" or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({**job.public(), "links": links}, status_code=202, headers=headers)
        detail = (f"job {job.id} is still {job.state} after {ctx.config.atlas_wait_s:g} s; fetch {links['pdb']} "
                  f"once {links['self']} says done (ask again in {ATLAS_RETRY_AFTER_S} s)")  # fmt: skip
        return JSONResponse({"detail": detail, "job": job.public(), "links": links}, status_code=503, headers=headers)
    detail = f"job {job.id} {job.state}" + (f": {job.reason}" if job.reason else "")
    return JSONResponse({"detail": detail, "job": job.public()}, status_code=422 if job.state == "failed" else 409)


async def _wait_for_job(request: Request, ctx: Context, who: Identity, job: Job) -> Job:
    """Poll ``job`` until it ends or ``--atlas-wait`` passes; cancel it if the client leaves while it is queued."""
    deadline = time.monotonic() + ctx.config.atlas_wait_s
    while job.state in ("queued", "running") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if job.state == "queued" and await request.is_disconnected():
            return await run_in_threadpool(ctx.store.cancel, who.user, job.id)
        job = await run_in_threadpool(ctx.store.job, who.user, job.id)
    return job
