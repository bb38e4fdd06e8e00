"""What every route depends on: the workspace's store, the server's settings and, for the API,
the user behind the bearer token.

One :class:`~pmpath.adapters.store.Store` per application lives on ``app.state.store`` (its
engine pools connections for every request); :func:`bearer_user` resolves an
``Authorization: Bearer`` token (a pmpath login session, :mod:`pmpath.services.sessions`)
against the database on every request (the session as read at the request's audit head,
:mod:`.memo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from pmpath.adapters.store import Store
from pmpath.domain.models import User
from pmpath.services.workspace import Workspace

TOKEN_URL = "/api/v1/auth/token"


@dataclass(frozen=True)
class ServerSettings:
    """The server's configuration: its workspace, where analysis inputs may come from
    (``data_dir``, read-only; uploads under ``uploads_dir``), the upload size limit and when
    this server started (jobs left running by an earlier start are queued again)."""

    workspace: Workspace
    uploads_dir: Path
    max_upload_bytes: int
    started_at: datetime
    data_dir: Path | None = None


def get_store(request: Request) -> Store:
    """Return the application's store (one per app, on ``app.state.store``)."""
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> ServerSettings:
    """Return the application's :class:`ServerSettings`."""
    settings: ServerSettings = request.app.state.settings
    return settings


_oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

UNAUTHENTICATED = f"not authenticated: get a bearer token from POST {TOKEN_URL}"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def access_token(session_id: str, token: str) -> str:
    """Return the bearer token the API hands out for a login session: ``SESSION_ID.TOKEN``."""
    return f"{session_id}.{token}"


def bearer_user(request: Request, token: Annotated[str | None, Depends(_oauth2)] = None) -> User:
    """Return the active user whose open, unexpired session the bearer token is; 401 if none."""
    return user_of_token(request, token)


async def _raw_token(token: Annotated[str | None, Depends(_oauth2)] = None) -> str | None:
    """The bearer token as sent (``async``: read without a thread; checked by
    :func:`user_of_token` where the route reads the database)."""
    return token


def user_of_token(request: Request, token: str | None) -> User:
    """Return the active user whose open, unexpired session ``token`` is; 401 if none (what
    :func:`bearer_user` checks, for a route that reads the database in one thread)."""
    from pmpath.interfaces.server.memo import session_user
    from pmpath.services.sessions import NotLoggedInError, SessionToken, use_session

    if not token:
        raise _unauthorized(UNAUTHENTICATED)
    session_id, _, secret = token.partition(".")
    if not session_id or not secret:
        raise _unauthorized("invalid bearer token: get a new one from POST " + TOKEN_URL)
    try:
        store = get_store(request)
        session, user = session_user(request, store, session_id)
        token_of = SessionToken(session_id=session_id, token=secret, username="")
        return use_session(store, session, user, token_of, datetime.now(UTC))
    except NotLoggedInError as exc:
        message = str(exc).replace("run pmpath login USER", f"get a new token from {TOKEN_URL}")
        raise _unauthorized(message) from None


def bearer_token(token: Annotated[str | None, Depends(_oauth2)] = None) -> str:
    """Return the raw bearer token of the request; 401 if there is none."""
    if not token:
        raise _unauthorized(UNAUTHENTICATED)
    return token


async def _store_dependency(request: Request) -> Store:
    """:func:`get_store` as a dependency (``async``: no thread hop for an attribute read)."""
    return get_store(request)


async def _settings_dependency(request: Request) -> ServerSettings:
    """:func:`get_settings` as a dependency (``async``, as above)."""
    return get_settings(request)


StoreDep = Annotated[Store, Depends(_store_dependency)]
SettingsDep = Annotated[ServerSettings, Depends(_settings_dependency)]
ApiUser = Annotated[User, Depends(bearer_user)]
ApiToken = Annotated[str | None, Depends(_raw_token)]
"""The bearer token of a route that checks it itself with :func:`user_of_token`."""
