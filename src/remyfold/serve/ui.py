"""The browser UI: server-rendered Jinja2 pages (no CDN, no inline scripts).

Pages: ``/login`` (token → session cookie), ``/`` (submit by paste or upload, and the job list,
refreshed by ``static/ui.js`` from the JSON API), ``/jobs/<id>`` (status with progress; once done
the downloads and the job's report — 3D view, pLDDT plot, PAE heatmap — in a frame), ``/docs``
(Swagger UI of the API, vendored from npm). Every form carries the session's CSRF token.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from remyfold._version import __version__
from remyfold.serve import auth, results
from remyfold.serve.deps import context, queue_job
from remyfold.serve.errors import RequestError
from remyfold.serve.submission import decode_upload, parse_submission

PACKAGE = resources.files("remyfold.serve")
_env = Environment(loader=FileSystemLoader(str(PACKAGE / "templates")), autoescape=select_autoescape(default=True))
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """A page was asked for without a session: the app answers with a redirect to ``/login``."""


def page_identity(request: Request) -> auth.Identity:
    """The caller of a page; :class:`LoginRequired` without (valid) credentials."""
    identity = auth.identify_quietly(request, context(request).store)
    if identity is None:
        raise LoginRequired()
    return identity


Viewer = Annotated[auth.Identity, Depends(page_identity)]


def render(name: str, status_code: int = 200, **values) -> HTMLResponse:
    html = _env.get_template(name).render(version=__version__, **values)
    return HTMLResponse(html, status_code=status_code)


#: Titles of the error pages, by status.
ERROR_TITLES = {400: "Bad request", 401: "Log in first", 403: "Request refused", 404: "Not found",
                409: "Not ready", 413: "Too large", 422: "Cannot use this input", 429: "Too many jobs"}  # fmt: skip


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML page of an error, for a browser (the API answers JSON)."""
    who = auth.identify_quietly(request, context(request).store)
    return render("error.html", status, user=who.user if who else None, csrf_token=(who.csrf or "") if who else "",
                  title=ERROR_TITLES.get(status, "Error"), message=message)  # fmt: skip


@router.get("/login")
def login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    if auth.identify_quietly(request, context(request).store) is not None:
        return RedirectResponse("/", status_code=303)
    csrf = auth.new_secret()
    response = render("login.html", status_code, csrf_token=csrf, error=error)
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, csrf, max_age=3600, **auth.cookie_options(context(request).config))
    return response


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=200)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:  # fmt: skip
    ctx = context(request)
    try:
        auth.check_login_csrf(request, csrf_token)
    except auth.LoginFormExpired as err:
        return login_page(request, error=err.message, status_code=err.status)
    user = auth.user_for_token(ctx.store, token.strip()) if token.strip() else None
    if user is None:
        return login_page(request, error="That token is not valid. Ask the server's admin for one.", status_code=401)
    response = RedirectResponse("/", status_code=303)
    options = auth.cookie_options(ctx.config)
    response.set_cookie(auth.SESSION_COOKIE, auth.open_session(ctx.store, user, ctx.config),
                        max_age=int(ctx.config.session_hours * 3600), **options)  # fmt: skip
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, **options)
    return response


@router.post("/logout")
def logout(request: Request, who: Viewer, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    auth.check_csrf(who, "POST", csrf_token)
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        context(request).store.delete_session(auth.hash_secret(cookie))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, **auth.cookie_options(context(request).config))
    return response


def jobs_page(request: Request, who: auth.Identity, *, error: str = "", status_code: int = 200, form=None):
    ctx = context(request)
    return render("jobs.html", status_code, user=who.user, csrf_token=who.csrf or "", error=error,
                  jobs=[job.public() for job in ctx.store.jobs(who.user)], limits=ctx.config.limits,
                  form=form or {})  # fmt: skip


@router.get("/")
def home(request: Request, who: Viewer) -> Response:
    return jobs_page(request, who)


@router.post("/submit")
async def submit(request: Request, who: Viewer, fasta: Annotated[str, Form()] = "",
                 file: Annotated[UploadFile | None, File()] = None, num_recycles: Annotated[str, Form()] = "",
                 name: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    ctx = context(request)
    auth.check_csrf(who, "POST", csrf_token)
    form = {"fasta": fasta, "num_recycles": num_recycles, "name": name}
    try:
        recycles = _recycles(num_recycles)
        data = await file.read() if file is not None else b""
        if data and fasta.strip():
            raise RequestError(422, "both a file and pasted FASTA were given; clear the text box or remove the "
                                    "file, and submit again")  # fmt: skip
        text = decode_upload(data, ctx.config.limits) if data else fasta
        submission = parse_submission(text, ctx.config.limits, num_recycles=recycles, name=name)
        job = await run_in_threadpool(queue_job, ctx, who, submission)
    except RequestError as err:
        return await run_in_threadpool(jobs_page, request, who, error=err.message, status_code=err.status, form=form)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _recycles(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise RequestError(422, f"recycles {text!r} is not a whole number; leave it empty for the default") from None


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, who: Viewer) -> Response:
    ctx = context(request)
    try:
        job = ctx.store.job(who.user, job_id)
    except RequestError as err:
        return error_page(request, err.status, err.message)
    rows = results.record_rows(results.result_dir(ctx.config, job.id)) if job.state == "done" else []
    return render("job.html", user=who.user, csrf_token=who.csrf or "", job=job.public(), records=rows)


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str, who: Viewer, csrf_token: Annotated[str, Form()] = "") -> Response:
    auth.check_csrf(who, "POST", csrf_token)
    context(request).store.cancel(who.user, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/docs")
def docs(request: Request, who: Viewer) -> Response:
    installed = (PACKAGE / "static" / "vendor" / "swagger-ui-bundle.js").is_file()
    return render("docs.html", user=who.user, csrf_token=who.csrf or "", installed=installed)


@router.get("/openapi.json")
def openapi(request: Request) -> Response:
    auth.require_identity(request, context(request).store)
    return JSONResponse(request.app.openapi())
