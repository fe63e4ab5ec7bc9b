"""Accounts, API tokens, browser sessions and CSRF protection.

- API tokens: ``rft_`` + 32 random bytes (URL-safe base64) from :mod:`secrets`. Only the
  SHA-256 of a token is stored (a high-entropy secret needs no slow hash); a request's token is
  hashed, looked up, and the hashes compared with :func:`hmac.compare_digest`.
- Browser: ``POST /login`` with a token opens a session. The cookie holds a random session id
  (only its hash is stored) and is ``HttpOnly``, ``SameSite=Strict``, ``Path=/`` and, unless
  ``--insecure-cookies``, ``Secure``. Each session has a CSRF token (synchronizer pattern):
  forms carry it in a hidden field, scripts in the ``X-CSRF-Token`` header; every state-changing
  request authenticated by the cookie must present it. The login form itself is protected by a
  double-submit cookie.
- Requests with an ``Authorization: Bearer`` header need no CSRF token (browsers never add it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request

from remyfold.serve.config import ServeConfig
from remyfold.serve.errors import RequestError, ServeError
from remyfold.serve.store import Store, User

TOKEN_PREFIX = "rft_"
SESSION_COOKIE = "remyfold_session"
LOGIN_CSRF_COOKIE = "remyfold_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_FAILURE = ("missing or wrong CSRF token: the request did not come from this server's own page; "
                "reload the page and try again")  # fmt: skip
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class Identity:
    """Who made a request: the user, and the session's CSRF token when it came by cookie."""

    user: User
    csrf: str | None = None

    @property
    def by_cookie(self) -> bool:
        return self.csrf is not None


def new_secret() -> str:
    """32 random bytes, URL-safe base64."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a token or session id (what the store keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add_user(store: Store, name: str, *, admin: bool = False) -> tuple[User, str]:
    """Create a user and return it with its new API token (shown once, stored hashed)."""
    check_user_name(name)
    token = TOKEN_PREFIX + new_secret()
    try:
        user = store.add_user(name, hash_secret(token), admin=admin)
    except RequestError as err:
        raise ServeError(f"{err.message}; choose another name") from None
    return user, token


#: Prefix of the stored token hash of a revoked account (no token hashes to it: SHA-256 hex has no '-').
REVOKED_PREFIX = "revoked-"


def check_user_name(name: str) -> None:
    """Raise a one-line :class:`ServeError` unless ``name`` is an allowed user name."""
    if not _USER_NAME.match(name):
        raise ServeError(
            f"user name {name!r} is not allowed; use up to 64 letters, digits and . _ @ - (starting with a letter or digit)"
        )


def rotate_token(store: Store, name: str) -> tuple[User, str]:
    """Give ``name`` a new API token (the old one and every browser session stop working); the new token."""
    token = TOKEN_PREFIX + new_secret()
    return _set_hash(store, name, hash_secret(token)), token


def revoke(store: Store, name: str) -> int:
    """Lock ``name`` out (token and sessions stop working) and cancel their queued and running jobs;
    their finished results stay for the admin. Returns how many jobs were cancelled.
    ``rotate-token`` gives the account a working token again."""
    user = _set_hash(store, name, REVOKED_PREFIX + secrets.token_hex(28))
    return store.cancel_all(user)


def list_users(store: Store) -> list[dict]:
    """Every account: ``name``, ``role`` (admin/user), ``state`` (active/revoked), ``jobs``, ``created_at``."""
    return [{"name": row["name"], "role": "admin" if row["is_admin"] else "user",
             "state": "revoked" if row["token_hash"].startswith(REVOKED_PREFIX) else "active",
             "jobs": row["jobs"], "created_at": row["created_at"]} for row in store.user_list()]  # fmt: skip


def _set_hash(store: Store, name: str, token_hash: str) -> User:
    try:
        return store.set_token_hash(name, token_hash)
    except RequestError:
        raise ServeError(f"no user {name!r}; see the accounts with: remyfold serve users --data DIR") from None


def user_for_token(store: Store, token: str) -> User | None:
    """The user owning ``token``, or ``None``."""
    wanted = hash_secret(token)
    found = store.user_by_token_hash(wanted)
    if found is None or not hmac.compare_digest(found[1], wanted):
        return None
    return found[0]


def open_session(store: Store, user: User, config: ServeConfig) -> str:
    """Start a browser session; return the cookie value."""
    session_id = new_secret()
    store.add_session(hash_secret(session_id), user, new_secret(), time.time() + config.session_hours * 3600)
    return session_id


def identify(request: Request, store: Store) -> Identity | None:
    """The identity of a request (Bearer token first, then session cookie), or ``None``.

    Raises :class:`RequestError` (401) for a malformed or wrong ``Authorization`` header: a
    client that sends a token should learn that it is wrong, not be treated as anonymous.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestError(401, "the Authorization header must be 'Bearer <token>'")
        user = user_for_token(store, token.strip())
        if user is None:
            raise RequestError(401, "invalid token; ask the server's admin for a token (remyfold serve add-user)")
        return Identity(user)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        wanted = hash_secret(cookie)
        found = store.session(wanted)
        if found is not None and hmac.compare_digest(found[2], wanted):
            return Identity(found[0], csrf=found[1])
    return None


def identify_quietly(request: Request, store: Store) -> Identity | None:
    """:func:`identify`, with a wrong ``Authorization`` header counted as no identity (for pages)."""
    try:
        return identify(request, store)
    except RequestError:
        return None


def require_identity(request: Request, store: Store) -> Identity:
    """:func:`identify`, answering 401 when the request carries no credentials at all."""
    identity = identify(request, store)
    if identity is None:
        raise RequestError(401, "authentication needed: send 'Authorization: Bearer <token>' or log in at /login")
    return identity


def check_csrf(identity: Identity, method: str, presented: str | None) -> None:
    """For a cookie-authenticated state-changing request, the CSRF token must match (403 otherwise)."""
    if not identity.by_cookie or method in SAFE_METHODS:
        return
    if not presented or not hmac.compare_digest(presented.encode(), identity.csrf.encode()):
        raise RequestError(403, CSRF_FAILURE)


class LoginFormExpired(RequestError):
    """The login form's cookie is gone (it lives an hour): the form is shown again, not a CSRF error."""

    def __init__(self):
        super().__init__(403, "The login form expired (it is valid for an hour); paste your token again.")


def check_login_csrf(request: Request, presented: str) -> None:
    """The login form's double-submit check: the form field must equal the login CSRF cookie.

    No cookie: :class:`LoginFormExpired`. A cookie that does not match the form: a CSRF failure (403).
    """
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie:
        raise LoginFormExpired()
    if not presented or not hmac.compare_digest(cookie.encode(), presented.encode()):
        raise RequestError(403, CSRF_FAILURE)


def cookie_options(config: ServeConfig) -> dict:
    """Attributes of every cookie the server sets."""
    return {"httponly": True, "samesite": "strict", "secure": config.secure_cookies, "path": "/"}
