"""The web pages' session: a login cookie, a CSRF token bound to it, the security headers.

The cookie holds the pmpath login session (``pmpath.services.sessions``: a 256-bit token stored
only as its sha256) as ``SESSION_ID.TOKEN``; it is ``HttpOnly`` (no script reads it),
``SameSite=Strict`` (no other site's page sends it) and ``Secure`` when the page was served over
https (or a TLS proxy says so in ``X-Forwarded-Proto``). Every request resolves the user from
it against the database (the session as stored at the request's audit head, :mod:`.memo`), so
a logout, an expiry, a password change or a disabled account ends the page session at once.

CSRF (OWASP ASVS 4.0 V4.2.2): every form that changes something carries a token equal to
HMAC-SHA256 keyed by the session token over the session id. It is bound to the login session,
unguessable without the cookie, and checked on every POST. The login form, before any session,
uses a double-submit token: a random value in a ``SameSite=Strict`` cookie and in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response

from pmpath.adapters.store import Store
from pmpath.domain.errors import PermissionDeniedError
from pmpath.domain.models import User
from pmpath.interfaces.server.deps import get_store
from pmpath.interfaces.server.memo import session_user
from pmpath.services.sessions import NotLoggedInError, SessionToken, use_session

SESSION_COOKIE = "pmpath_session"
LOGIN_CSRF_COOKIE = "pmpath_login_csrf"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""No script at all, styles and images from the server only, forms post back to it only."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid page session: the handler answers with a redirect to the login page."""


class CsrfError(PermissionDeniedError):
    """A form posted without the token of the session that showed it."""


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: the store, the logged-in user and their session token."""

    store: Store
    user: User
    token: SessionToken

    @property
    def csrf(self) -> str:
        """The CSRF token of this login session (the value of every form's hidden field)."""
        return csrf_token(self.token)


def csrf_token(token: SessionToken) -> str:
    """Return HMAC-SHA256(session token, session id) in hex: the session's CSRF token."""
    message = f"pmpath page csrf v1|{token.session_id}".encode()
    return hmac.new(token.token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def token_from_cookie(value: str | None) -> SessionToken | None:
    """Return the session token a cookie value holds, None if it holds none."""
    if not value:
        return None
    session_id, sep, token = value.partition(".")
    if not sep or not session_id or not token:
        return None
    return SessionToken(session_id=session_id, token=token, username="")


def viewer(request: Request) -> Viewer:
    """Return who is logged in on this request; LoginRequired when nobody is."""
    store = get_store(request)
    token = token_from_cookie(request.cookies.get(SESSION_COOKIE))
    if token is None:
        raise LoginRequired
    try:
        session, user_read = session_user(request, store, token.session_id)
        user = use_session(store, session, user_read, token, datetime.now(UTC))
    except NotLoggedInError:
        raise LoginRequired from None
    return Viewer(store=store, user=user, token=token)


def check_csrf(viewer: Viewer, posted: str) -> None:
    """Raise CsrfError unless ``posted`` is the viewer's session CSRF token."""
    if not posted or not hmac.compare_digest(posted.encode(), viewer.csrf.encode()):
        raise CsrfError("the form's security token is missing or expired: reload the page")


def new_login_csrf() -> str:
    """Return a fresh random token for the login form (double submit)."""
    return secrets.token_urlsafe(32)


def check_login_csrf(request: Request, posted: str) -> None:
    """Raise CsrfError unless the login form's token equals its cookie's."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not posted or not cookie or not hmac.compare_digest(posted.encode(), cookie.encode()):
        raise CsrfError("the login form's security token is missing or expired: reload the page")


def _secure(request: Request) -> bool:
    """True when the page reached the browser over https: directly, or through a TLS proxy
    that says so (``X-Forwarded-Proto: https``; trusting it can only make a cookie stricter)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_login_csrf_cookie(response: Response, request: Request, value: str) -> None:
    """Keep the login form's token in a strict, HttpOnly cookie scoped to /login."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def set_session_cookie(response: Response, request: Request, token: SessionToken) -> None:
    """Keep the session token in an HttpOnly, SameSite=Strict cookie (Secure over https)."""
    response.set_cookie(
        SESSION_COOKIE,
        f"{token.session_id}.{token.token}",
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def with_security_headers(response: Response) -> Response:
    """Add the Content-Security-Policy and the other security headers to ``response``."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
