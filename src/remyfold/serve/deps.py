"""What every route needs: the server's :class:`Context` and the caller's identity (FastAPI dependencies)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from remyfold.serve.auth import CSRF_HEADER, Identity, check_csrf, require_identity
from remyfold.serve.config import ServeConfig
from remyfold.serve.errors import RequestError
from remyfold.serve.results import remove_job_files, write_input
from remyfold.serve.store import Job, Store
from remyfold.serve.submission import Submission

#: Documents the Bearer scheme in the OpenAPI spec (the check itself is :func:`caller`).
bearer_scheme = HTTPBearer(auto_error=False, description="API token from `remyfold serve add-user`")


@dataclass
class Context:
    """The server's configuration, job store and worker pool (``None`` in an app without workers)."""

    config: ServeConfig
    store: Store
    pool: object | None = None


def context(request: Request) -> Context:
    return request.app.state.context


def caller(request: Request, _bearer=Depends(bearer_scheme)) -> Identity:
    """The authenticated caller (401 without valid credentials). Cookie callers of state-changing
    API requests must send the session's CSRF token in ``X-CSRF-Token``."""
    identity = require_identity(request, context(request).store)
    check_csrf(identity, request.method, request.headers.get(CSRF_HEADER))
    return identity


def new_job_id() -> str:
    """A random public job id (unguessable, so ids reveal nothing about other jobs)."""
    return secrets.token_hex(10)


def queue_job(ctx: Context, identity: Identity, submission: Submission) -> Job:
    """Write the job's input, then queue it for the server's weights (429 when the user has too many jobs waiting)."""
    job_id = new_job_id()
    write_input(ctx.config, job_id, submission.fasta())
    try:
        return ctx.store.submit(
            identity.user, job_id, name=submission.name, n_records=len(submission.records),
            n_residues=submission.n_residues, num_recycles=submission.num_recycles,
            max_active=ctx.config.limits.max_queued_jobs,
            weights=(ctx.config.weights_name, ctx.config.weights_revision),
        )  # fmt: skip
    except RequestError:
        remove_job_files(ctx.config, job_id)
        raise


def require_done(job: Job) -> None:
    """409 unless the job finished with results."""
    if job.state != "done":
        detail = f": {job.reason}" if job.reason else ""
        raise RequestError(409, f"job {job.id} is {job.state}{detail}; results exist only for done jobs")
