"""The idle timeout of login sessions (NIST SP 800-63B AAL2: 30 minutes without use): each use
within the timeout keeps a session alive, a session unused for the timeout ends, and keeping it
alive costs one audited write in a few minutes, not one per use."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from pmpath.adapters.store import Reader, Store
from pmpath.domain.models import LoginSession
from pmpath.domain.security import SignInSettings
from pmpath.services.sessions import NotLoggedInError, current_user, login
from pmpath.services.users import create_first_admin

PASSWORD = "correct horse battery"


def _events(store: Store, session_id: str) -> list[str]:
    with Reader(store, privileged=True) as reader:
        return [e.reason for e in reader.audit_events("session", session_id)]


@pytest.fixture
def ada(store: Store) -> Store:
    create_first_admin(store, username="ada", display_name="Ada", password=PASSWORD)
    return store


def test_each_use_within_the_idle_timeout_keeps_the_session_alive(ada: Store) -> None:
    token = login(ada, username="ada", password=PASSWORD)
    with Reader(ada, privileged=True) as reader:
        created = reader.require(LoginSession, token.session_id).created_at
    # used every 20 minutes for two hours: never 30 minutes idle, so never ended
    for minutes in range(20, 121, 20):
        assert current_user(ada, token, now=created + timedelta(minutes=minutes)).id == "ada"
    with Reader(ada, privileged=True) as reader:
        session = reader.require(LoginSession, token.session_id)
    assert session.last_used_at == created + timedelta(minutes=120)
    assert _events(ada, token.session_id) == ["signed in"] + ["session in use"] * 6
    # 30 minutes after that last use, it has ended, and says why
    with pytest.raises(NotLoggedInError, match=r"^session idle for 30 minutes: not logged in"):
        current_user(ada, token, now=created + timedelta(minutes=150))
    # a use just before the timeout would still have been in time
    assert current_user(ada, token, now=created + timedelta(minutes=149, seconds=59)).id == "ada"


def test_uses_close_together_write_the_session_once(ada: Store) -> None:
    token = login(ada, username="ada", password=PASSWORD)
    with Reader(ada, privileged=True) as reader:
        created = reader.require(LoginSession, token.session_id).created_at
    # a tenth of 30 minutes is 3 minutes: uses at 1-2.5 minutes write nothing, 3.5 writes once
    for seconds in (60, 90, 120, 150):
        current_user(ada, token, now=created + timedelta(seconds=seconds))
    assert _events(ada, token.session_id) == ["signed in"]
    for seconds in (210, 220, 230):
        current_user(ada, token, now=created + timedelta(seconds=seconds))
    assert _events(ada, token.session_id) == ["signed in", "session in use"]


def test_an_idle_timeout_of_zero_keeps_only_the_absolute_expiry(ada: Store) -> None:
    ada.sign_in = dataclasses.replace(SignInSettings(), session_idle_minutes=0)
    token = login(ada, username="ada", password=PASSWORD)
    with Reader(ada, privileged=True) as reader:
        created = reader.require(LoginSession, token.session_id).created_at
    assert current_user(ada, token, now=created + timedelta(hours=11)).id == "ada"
    assert _events(ada, token.session_id) == ["signed in"]
    with pytest.raises(NotLoggedInError, match=r"^session expired"):
        current_user(ada, token, now=created + timedelta(hours=12))
