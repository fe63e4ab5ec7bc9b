"""Who a request is, in process (no server): Bearer tokens, session cookies, CSRF, cookie attributes.

Requests are starlette ``Request`` objects made from an ASGI scope, the store a real SQLite
store in a temporary folder, so each rule of :mod:`remyfold.serve.auth` is checked on its own:
the status a wrong credential gets (401 / 403), that an identity by token carries no CSRF
token and one by cookie carries the session's, and how long a session lives.
"""

from __future__ import annotations

import dataclasses

import pytest
from starlette.requests import Request

from remyfold.serve import auth
from remyfold.serve.config import ServeConfig
from remyfold.serve.errors import RequestError
from remyfold.serve.store import Store


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "db.sqlite")


def request(authorization: str | None = None, cookies: dict[str, str] | None = None) -> Request:
    """A GET request with these headers."""
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


def test_a_new_user_is_not_an_admin_unless_asked(store):
    user, _ = auth.add_user(store, "alice")
    admin, _ = auth.add_user(store, "root", admin=True)
    assert (user.is_admin, admin.is_admin) == (False, True)
    with pytest.raises(TypeError):  # admin only by name: a stray positional True makes no admin
        auth.add_user(store, "eve", True)


def test_a_bearer_token_identifies_its_user_without_a_csrf_token(store):
    user, token = auth.add_user(store, "alice")
    identity = auth.identify(request(f"Bearer {token}"), store)
    assert identity.user == user and identity.csrf is None and not identity.by_cookie
    assert auth.identify(request(), store) is None  # no credentials: anonymous
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.user = None


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Bearer", "Token rft_x"])
def test_a_malformed_authorization_header_is_401(store, header):
    with pytest.raises(RequestError, match="must be 'Bearer <token>'") as err:
        auth.identify(request(header), store)
    assert err.value.status == 401
    assert auth.identify_quietly(request(header), store) is None


def test_a_wrong_token_is_401_even_with_a_valid_session_cookie(store, tmp_path):
    user, _ = auth.add_user(store, "alice")
    cookie = auth.open_session(store, user, ServeConfig(data_dir=tmp_path))
    with pytest.raises(RequestError, match="invalid token") as err:
        auth.identify(request("Bearer rft_wrong", {auth.SESSION_COOKIE: cookie}), store)
    assert err.value.status == 401


def test_a_session_cookie_identifies_its_user_with_the_sessions_csrf_token(store, tmp_path, monkeypatch):
    user, _ = auth.add_user(store, "alice")
    now = auth.time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now)
    cookie = auth.open_session(store, user, ServeConfig(data_dir=tmp_path, session_hours=2.0))
    with store.engine.connect() as conn:
        expires, csrf = conn.exec_driver_sql("SELECT expires_at, csrf FROM sessions").one()
    assert expires == now + 7200.0  # 2 hours from "now"
    identity = auth.identify(request(cookies={auth.SESSION_COOKIE: cookie}), store)
    assert identity.user == user and identity.csrf == csrf and identity.by_cookie
    assert auth.identify(request(cookies={auth.SESSION_COOKIE: cookie + "x"}), store) is None
    assert auth.identify(request(cookies={auth.SESSION_COOKIE: ""}), store) is None


def test_no_credentials_is_401_where_an_identity_is_required(store):
    with pytest.raises(RequestError, match="authentication needed") as err:
        auth.require_identity(request(), store)
    assert err.value.status == 401
    user, token = auth.add_user(store, "alice")
    assert auth.require_identity(request(f"Bearer {token}"), store).user == user


def test_csrf_is_checked_only_for_cookie_requests_that_change_state(store):
    user, _ = auth.add_user(store, "alice")
    by_token, by_cookie = auth.Identity(user), auth.Identity(user, csrf="s3cret")
    auth.check_csrf(by_token, "POST", None)  # Bearer requests need none
    for method in auth.SAFE_METHODS:
        auth.check_csrf(by_cookie, method, None)
    auth.check_csrf(by_cookie, "POST", "s3cret")
    for presented in (None, "", "s3creT", "s3cret "):
        with pytest.raises(RequestError, match="CSRF") as err:
            auth.check_csrf(by_cookie, "DELETE", presented)
        assert err.value.status == 403


def test_the_login_form_needs_its_double_submit_cookie():
    with pytest.raises(auth.LoginFormExpired) as err:
        auth.check_login_csrf(request(), "abc")
    assert err.value.status == 403
    auth.check_login_csrf(request(cookies={auth.LOGIN_CSRF_COOKIE: "abc"}), "abc")
    for presented in ("", "abd"):
        with pytest.raises(RequestError, match="CSRF") as err:
            auth.check_login_csrf(request(cookies={auth.LOGIN_CSRF_COOKIE: "abc"}), presented)
        assert err.value.status == 403 and not isinstance(err.value, auth.LoginFormExpired)


@pytest.mark.parametrize("secure", [True, False])
def test_cookie_options(tmp_path, secure):
    options = auth.cookie_options(ServeConfig(data_dir=tmp_path, secure_cookies=secure))
    assert options == {"httponly": True, "samesite": "strict", "secure": secure, "path": "/"}


def test_a_token_is_the_prefix_and_32_random_bytes(store):
    import base64

    _, token = auth.add_user(store, "alice")
    secret = token.removeprefix(auth.TOKEN_PREFIX)
    assert token.startswith("rft_") and len(base64.urlsafe_b64decode(secret + "=")) == 32


def test_rotate_token_replaces_the_token_and_revoke_locks_the_account_out(store):
    user, old = auth.add_user(store, "alice")
    same, new = auth.rotate_token(store, "alice")
    assert same == user and new.startswith(auth.TOKEN_PREFIX) and new != old
    assert auth.user_for_token(store, old) is None and auth.user_for_token(store, new) == user
    assert auth.revoke(store, "alice") == 0  # no job to cancel
    assert auth.user_for_token(store, new) is None
    [row] = auth.list_users(store)
    assert (row["name"], row["role"], row["state"]) == ("alice", "user", "revoked")
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM users").scalar_one()
    assert stored.startswith(auth.REVOKED_PREFIX) and len(stored) == len(auth.REVOKED_PREFIX) + 56
    with pytest.raises(auth.ServeError, match="no user 'bob'"):
        auth.revoke(store, "bob")
