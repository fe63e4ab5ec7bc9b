"""The FastAPI application (:func:`create_app`) and the server process (:func:`run_server`).

:func:`run_server` takes the data folder's lock (one server per folder), opens the job store,
puts jobs left ``running`` by a killed server back in the queue, starts one worker process per
device (:class:`~remyfold.serve.supervisor.WorkerPool`) and serves the app with uvicorn until
SIGINT/SIGTERM; then it stops the workers.

Middleware (pure ASGI): :class:`BodyLimit` answers 413 to a request body over the limit
(declared or streamed); :class:`SecurityHeaders` adds ``nosniff``, a same-origin framing rule,
a strict Content-Security-Policy (pages may load only the server's own scripts) and
``Cache-Control: no-store`` (results are private).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from remyfold._version import __version__
from remyfold.serve.config import ServeConfig
from remyfold.serve.deps import Context
from remyfold.serve.errors import RequestError, ServeError
from remyfold.serve.store import Store

log = logging.getLogger("remyfold.serve")
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; frame-src 'self'; frame-ancestors 'self'; "
            "base-uri 'none'; form-action 'self'")  # fmt: skip
DESCRIPTION = """Fold proteins on this lab's server.

Authenticate with `Authorization: Bearer <token>` (tokens come from `remyfold serve add-user`).
Submit FASTA (`POST /api/v1/jobs`, or a file to `/api/v1/jobs/upload`), poll `GET /api/v1/jobs/{id}`,
then download PDB / mmCIF / JSON, a zip of all, or the report page. `POST /foldSequence/v1/pdb/` is the
ESM Atlas API: the sequence as the body, the PDB text back. Errors are `{"detail": "..."}` with a 4xx status.
"""


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body over the limit of {limit} bytes; send less (split the job)")


#: Paths answered in JSON whatever the client accepts (the API); other paths answer a browser in HTML.
API_PREFIXES = ("/api/", "/foldSequence/", "/health", "/openapi.json")


def wants_html(path: str, accept: str) -> bool:
    """Whether an error for this request should be an HTML page: a browser (Accept: text/html) off the API."""
    return "text/html" in accept and not path.startswith(API_PREFIXES)


def error_response(request: Request, status: int, message: str, headers: dict | None = None):
    """The error as an HTML page for a browser, else as JSON ``{"detail": message}``."""
    if wants_html(request.url.path, request.headers.get("accept", "")):
        from remyfold.serve import ui

        response = ui.error_page(request, status, message)
        response.headers.update(headers or {})
        return response
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (by Content-Length, or while streaming)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            error = BodyTooLarge(self.limit)
            response = error_response(Request(scope), 413, error.detail, {"Connection": "close"})
            return await response(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeaders:
    """Add the security headers to every response that has not set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                         (b"referrer-policy", b"same-origin"), (b"content-security-policy", PAGE_CSP.encode()),
                         (b"cache-control", b"public, max-age=3600" if static else b"no-store")]  # fmt: skip
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(config: ServeConfig, store: Store, pool=None) -> FastAPI:
    """The app serving ``store`` (routes in :mod:`.api` and :mod:`.ui`)."""
    from remyfold.serve import api, ui

    app = FastAPI(title="remyfold serve", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None)  # fmt: skip
    app.state.context = Context(config, store, pool)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=config.limits.max_request_bytes)
    app.mount("/static", StaticFiles(directory=str(resources.files("remyfold.serve") / "static")), name="static")
    app.include_router(api.router)
    app.include_router(ui.router)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, err: RequestError):
        headers = {"WWW-Authenticate": 'Bearer realm="remyfold"'} if err.status == 401 else None
        return await run_in_threadpool(error_response, request, err.status, err.message, headers)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, err: BodyTooLarge):
        return await run_in_threadpool(error_response, request, 413, err.detail, {"Connection": "close"})

    @app.exception_handler(ui.LoginRequired)
    async def login_required(request: Request, err: ui.LoginRequired):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in err.errors()[:5])
        return await run_in_threadpool(error_response, request, 422, f"invalid request: {problems}")

    return app


def run_server(config: ServeConfig) -> None:
    """Serve until interrupted: lock the data folder, requeue, start workers, run uvicorn."""
    import uvicorn

    from remyfold.serve.supervisor import WorkerPool

    store = open_data_dir(config.data_dir, create=True)
    lock = lock_data_dir(config)
    if config.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("listening on %s: tokens and results cross the network in clear text unless a TLS reverse "
                    "proxy is in front (see README)", config.host)  # fmt: skip
    try:
        check_listen(config.host, config.port)
        _requeue(store, config)
        pool = WorkerPool(config, store)
        pool.start()
        server = uvicorn.Server(uvicorn.Config(create_app(config, store, pool), host=config.host, port=config.port,
                                               log_level="info", timeout_graceful_shutdown=5))  # fmt: skip
        try:
            server.run()
        except SystemExit:
            raise ServeError(f"cannot listen on {config.host}:{config.port}; is the port in use? try --port") from None
        finally:
            pool.stop()
        if not server.started:
            raise ServeError(f"cannot listen on {config.host}:{config.port}; is the port in use? try --port")
    finally:
        os.close(lock)


def _requeue(store: Store, config: ServeConfig) -> None:
    """Put jobs of a killed server back in the queue; fail (and say so) those submitted for other weights."""
    requeued = store.requeue_running()
    if requeued:
        log.warning("%d job(s) left running by an earlier server were put back in the queue", requeued)
    other = store.fail_other_weights(config.weights_name, config.weights_revision)
    if other:
        log.warning("%d queued job(s) were submitted for other weights than %s (%s); they are marked failed, "
                    "not folded with these weights (restart with their --weights to keep them)",
                    other, config.weights_name, config.weights_revision)  # fmt: skip


def check_listen(host: str, port: int) -> None:
    """Raise a one-line :class:`ServeError` unless this machine can listen on ``host:port`` now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ServeError(f"--host {host}: not an address or a host name this machine knows; "
                         "give an address of this machine, e.g. 127.0.0.1") from None  # fmt: skip
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ServeError(f"cannot listen on {host}:{port}: the port is in use; stop what uses it or "
                                 "choose another --port") from None  # fmt: skip
            if err.errno == errno.EADDRNOTAVAIL:
                raise ServeError(f"--host {host}: not an address of this machine; give one of its addresses, "
                                 "e.g. 127.0.0.1") from None  # fmt: skip
            raise ServeError(f"cannot listen on {host}:{port} ({err.strerror}); try another --port") from None


def open_data_dir(data_dir, *, create: bool) -> Store:
    """The job store of ``data_dir``; the folder (made if ``create``) is private: 0700, files 0600.

    Sets this process's umask to 077, so every file the server writes later is private too.
    """
    os.umask(0o077)
    config = ServeConfig(data_dir=data_dir)
    if not create and not config.database.is_file():
        raise ServeError(f"--data {config.data_dir}: no remyfold serve data folder there (no {config.database.name}); "
                         "check the path, or create it with: remyfold serve add-user NAME --data DIR")  # fmt: skip
    try:
        fresh = not config.data_dir.exists()
        config.jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fresh or config.database.is_file():
            config.data_dir.chmod(0o700)
        for path in (config.jobs_dir, *config.data_dir.glob(f"{config.database.name}*")):
            path.chmod(0o700 if path.is_dir() else 0o600)
    except OSError as err:
        raise ServeError(f"--data {config.data_dir}: cannot use the folder ({err.strerror}); choose another") from None
    return Store(config.database)


def lock_data_dir(config: ServeConfig) -> int:
    """Lock the data folder (made if needed, 0700) for this server (released when the process dies)."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(config.data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise ServeError(f"--data {config.data_dir}: cannot use the folder ({err.strerror}); choose another") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ServeError(f"--data {config.data_dir} is used by another running remyfold serve; stop it first") from None
    return fd
