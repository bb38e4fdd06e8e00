"""``/auth``: the OAuth2 password flow. A token is a pmpath login session (the lockout rules
of ``pmpath login`` apply: failures are audited, delayed and lock the account)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from pmpath.adapters.store import Reader
from pmpath.domain.models import LoginSession
from pmpath.interfaces.server.api.schemas import Token, WhoAmI
from pmpath.interfaces.server.deps import ApiUser, StoreDep, access_token, bearer_token
from pmpath.services import sessions
from pmpath.services.users import permissions_of

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def token(
    store: StoreDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
) -> Token:
    """Sign in with user name and password; return a bearer token that expires with the
    session (the workspace's ``session_hours``)."""
    opened = sessions.login(store, username=username, password=password)
    with Reader(store, privileged=True) as reader:
        session = reader.require(LoginSession, opened.session_id)
    return Token(
        access_token=access_token(opened.session_id, opened.token),
        expires_at=session.expires_at,
    )


@router.get("/me", response_model=WhoAmI)
def me(store: StoreDep, user: ApiUser) -> WhoAmI:
    """Who the token belongs to: roles, permissions, organization."""
    with Reader(store) as reader:
        granted = sorted(permissions_of(reader, user))
    return WhoAmI.model_validate({**user.model_dump(mode="json"), "permissions": granted})


@router.post("/logout", status_code=204)
def logout(store: StoreDep, user: ApiUser, raw: Annotated[str, Depends(bearer_token)]) -> None:
    """End the token's session."""
    del user  # authenticated first: an ended or unknown session is 401
    session_id, _, secret = raw.partition(".")
    sessions.logout(store, sessions.SessionToken(session_id=session_id, token=secret, username=""))
