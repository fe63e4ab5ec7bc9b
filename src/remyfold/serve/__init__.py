"""``remyfold serve``: a folding server for a lab — durable job queue, REST API, browser UI, accounts.

Layout (one concept per module):

- :mod:`.config`: :class:`ServeConfig`, the server's typed settings and limits.
- :mod:`.store`: the job store, SQLite in the data folder through SQLAlchemy (users, sessions,
  jobs, events, workers); claiming and finishing jobs are transactions.
- :mod:`.submission`: FASTA text → validated records (the ``predict`` rules) under the limits.
- :mod:`.worker`: one process per device; the predict pipeline's local executor loads the model
  once and folds claimed jobs; a cancel stops a fold at the engine's next stage.
- :mod:`.results`: a finished job's files: downloads, zip, report page, comparison.
- :mod:`.auth`: tokens, browser sessions, CSRF; revoking and rotating tokens.
- :mod:`.api` / :mod:`.ui`: the REST routes and the server-rendered pages.
- :mod:`.app`: the FastAPI app factory and :func:`~remyfold.serve.app.run_server` (uvicorn + workers).

The engine is reached only through :mod:`remyfold.pipeline` / :class:`remyfold.api.Folder`.
Everything here needs the ``serve`` extra (``pip install 'remyfold[serve]'``); see
:func:`require_extra`.
"""

from __future__ import annotations

import importlib.util

from remyfold.serve.errors import ServeError

#: Distributions of the ``serve`` extra, by import name.
EXTRA_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "jinja2", "multipart")


def require_extra() -> None:
    """Raise a one-line :class:`ServeError` naming the extra when one of its packages is missing."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ServeError(
            f"remyfold serve needs the 'serve' extra ({', '.join(missing)} missing); "
            "install it with: pip install 'remyfold[serve]'"
        )
