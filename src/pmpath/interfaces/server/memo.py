"""What the server reads again only when the audit log has moved.

Every change to any record appends one audit event, so while the audit head (its last sequence
number and hash, one row) stays where it was, nothing read from the records can have changed.
A request reads the head once (:func:`request_head`, kept on ``request.state``) and reuses what
earlier requests read at that same head:

- the login session and its user behind a token (:func:`session_user`); whether it is still
  open, unexpired, of an active user and the token's hash is checked on every request against
  the kept records, so only the reading is saved;
- whether a user may see a record (:func:`require_visible`): the user's organization, the
  record's platform and the platform's shares;
- the views that are costly to build (the case board and the assessment: ``cached``).

A write anywhere moves the head, and the next request reads again. What is read while a write
lands is kept under the head read *before* it, so it is read again next time (never served
stale). A view also keeps its scope (the ids of the platform's products, cases, evidence and
assessments it was read from): when the head has moved, the events since are read (their
type, id and the platform, product, case or signed record their images name) and, if none of
them touches the scope, the view is served and kept at the new head. So a review on one
platform does not make every other platform's views be built again.

On a cache hit a request costs one query on the one-row head table plus the session's checks,
instead of eight to fifty queries.

No caching library keys entries on a database's change counter; this is a dictionary and a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from fastapi import Request

from pmpath.adapters.store import Reader, Store
from pmpath.domain.errors import NotFoundError
from pmpath.domain.models import Assessment, Case, EvidenceItem, LoginSession, Product, User
from pmpath.services import organizations

T = TypeVar("T")
Head = tuple[int, str] | None

CACHED_VIEWS = 256
"""Views kept (case boards and assessments, each a few hundred kilobytes at most)."""
CACHED_FACTS = 8192
"""Sessions and visibility answers kept (each a few hundred bytes)."""


class ViewCache:
    """The last ``size`` entries, each with the audit head it was read at (thread-safe)."""

    def __init__(self, size: int = CACHED_VIEWS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._views: OrderedDict[tuple[str, ...], tuple[Head, Any, Scope | None]] = OrderedDict()
        self._building: dict[tuple[str, ...], threading.Lock] = {}

    def building(self, key: tuple[str, ...]) -> threading.Lock:
        """Return the lock held while ``key``'s entry is built, so that many requests arriving
        together build it once (the others wait, then find it)."""
        with self._lock:
            return self._building.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, ...], head: Head) -> Any | None:
        """Return the entry kept for ``key`` if it was read at ``head``, else None."""
        if head is None:
            return None
        with self._lock:
            kept = self._views.get(key)
            if kept is None or kept[0] != head:
                return None
            self._views.move_to_end(key)
            return kept[1]

    def kept(self, key: tuple[str, ...]) -> tuple[Head, Any, Scope | None] | None:
        """Return what is kept for ``key`` (its head, the entry and its scope), if anything."""
        with self._lock:
            return self._views.get(key)

    def put(self, key: tuple[str, ...], head: Head, view: Any, scope: Scope | None = None) -> None:
        """Keep ``view`` for ``key`` as read at ``head``, read from the records of ``scope``
        (None: from anything); the oldest entry goes beyond size."""
        with self._lock:
            self._views[key] = (head, view, scope)
            self._views.move_to_end(key)
            while len(self._views) > self.size:
                gone, _ = self._views.popitem(last=False)
                self._building.pop(gone, None)


def audit_head(store: Store) -> Head:
    """Return the audit log's head (last sequence number and hash); None if it is missing."""
    with Reader(store) as reader:
        return reader.audit_head()


_caches_lock = threading.Lock()


def _cache_of(app: Any, name: str, size: int) -> ViewCache:
    state = app.state
    with _caches_lock:
        cache = getattr(state, name, None)
        if not isinstance(cache, ViewCache):
            cache = ViewCache(size)
            setattr(state, name, cache)
        return cache


def views_of(app: Any) -> ViewCache:
    """Return the application's cache of views (made on first use, kept on ``app.state``)."""
    return _cache_of(app, "pmpath_views", CACHED_VIEWS)


def facts_of(app: Any) -> ViewCache:
    """Return the application's cache of sessions and visibility answers."""
    return _cache_of(app, "pmpath_facts", CACHED_FACTS)


def request_head(request: Request, store: Store) -> Head:
    """Return the audit head as this request first read it (read once per request)."""
    state = request.state
    if not hasattr(state, "pmpath_head"):
        state.pmpath_head = audit_head(store)
    head: Head = state.pmpath_head
    return head


UNRELATED_TYPES = frozenset(
    {"session", "credential", "checkpoint", "job", "organization", "platform_share"}
)
"""Records no view is read from: sign-ins, passwords, checkpoints, analysis jobs (their evidence
is its own record), organizations and shares (who may see a record is checked on every
request, not kept in a view)."""
SCOPED_TYPES = frozenset(
    {"platform", "product", "case", "evidence", "assessment", "adverse_event", "custody"}
    | {"signature"}
)
"""Records that belong to one platform, by their id or by the platform, product, case or
signed record they name. A change to a record of any other type (a user, a patient, a batch,
a monitoring run, ...) is taken to touch every view."""
SCOPE_FIELDS = ("platform_id", "product_id", "case_id", "record_id")
REVALIDATE_AT_MOST = 500
"""Events read to keep a view valid; beyond, the view is built again."""


@dataclass(frozen=True)
class Scope:
    """The records a view was read from: one platform, its products and cases, and the
    evidence and assessments of those cases (their ids)."""

    ids: frozenset[str]
    unread_types: frozenset[str] = frozenset()
    """Record types of the scope that the view does not read (a case board: adverse events)."""

    def touched_by(self, entity_type: str, entity_id: str, named: frozenset[str]) -> bool:
        """Return True if an event on ``entity_type:entity_id`` whose images name ``named``
        (platform, product, case or signed record ids) may change what the view shows."""
        if entity_type in UNRELATED_TYPES or entity_type in self.unread_types:
            return False
        if entity_type not in SCOPED_TYPES:
            return True
        return entity_id in self.ids or not named.isdisjoint(self.ids)


def platform_scope(store: Store, platform_id: str) -> Scope:
    """Return the scope of everything read from platform ``platform_id``: its products, their
    cases, and the cases' evidence and assessments (ids only)."""
    with Reader(store) as reader:
        products = [p.id for p in reader.find(Product, platform_id=platform_id)]
        cases = [c.id for p in products for c in reader.find(Case, product_id=p)]
        records = reader.ids_where(EvidenceItem, "case_id", cases) + reader.ids_where(
            Assessment, "case_id", cases
        )
    return Scope(frozenset([platform_id, *products, *cases, *records]))


def board_scope(store: Store, case_id: str) -> Scope:
    """Return the scope of case ``case_id``'s board alone (the case page): the case, its
    evidence and its assessments (with the signatures on them); it reads no adverse event."""
    with Reader(store) as reader:
        records = reader.ids_where(EvidenceItem, "case_id", [case_id]) + reader.ids_where(
            Assessment, "case_id", [case_id]
        )
    return Scope(frozenset([case_id, *records]), unread_types=frozenset({"adverse_event"}))


def case_scope(store: Store, case_id: str) -> Scope:
    """Return the scope of a view of case ``case_id`` with what it inherits: its platform's
    (the platform decision reads every case of the platform and their adverse events)."""
    with Reader(store) as reader:
        case = reader.require(Case, case_id)
        platform_id = reader.require(Product, case.product_id).platform_id
    return platform_scope(store, platform_id)


def _still_valid(store: Store, kept: Head, scope: Scope, now: Head) -> bool:
    """Return True if no event between ``kept`` and ``now`` touches ``scope``, and the log
    runs unbroken from one to the other."""
    if kept is None or now is None or now[0] <= kept[0] or now[0] - kept[0] > REVALIDATE_AT_MOST:
        return False
    with Reader(store) as reader:
        events = reader.changes_since(kept[0], SCOPE_FIELDS, now[0] - kept[0])
    if len(events) != now[0] - kept[0] or events[0][1] != kept[1] or events[-1][2] != now[1]:
        return False  # the log was rewritten or moved again meanwhile: build it again
    return not any(scope.touched_by(kind, rid, named) for _, _, _, kind, rid, named in events)


def cached(
    cache: ViewCache,
    store: Store,
    key: tuple[str, ...],
    build: Callable[[], T],
    head: Head | None = None,
    scope: Callable[[], Scope] | None = None,
) -> T:
    """Return the entry kept for ``key`` while the audit head has not moved (``head``, if this
    request read it already), else ``build()`` it (once for the requests arriving together)
    and keep it with the head read before.

    With ``scope`` (what the view is read from, made before it is built), an entry kept at an
    older head is still served when none of the events since touches its scope; it is then
    kept at the newer head."""
    now = head if head is not None else audit_head(store)
    hit = cache.get(key, now)
    if hit is not None:
        return cast(T, hit)
    kept = cache.kept(key)
    if kept is not None and kept[2] is not None and _still_valid(store, kept[0], kept[2], now):
        cache.put(key, now, kept[1], kept[2])
        return cast(T, kept[1])
    with cache.building(key):
        fresh = audit_head(store)  # again: another request may have built it meanwhile
        kept = cache.kept(key)
        if kept is not None and kept[0] is not None and kept[0] == fresh:
            return cast(T, kept[1])
        read_from = scope() if scope is not None else None
        view = build()
        cache.put(key, fresh, view, read_from)
    return view


def _remembered(request: Request, store: Store, key: tuple[str, ...], read: Callable[[], T]) -> T:
    """Return ``read()`` as kept at this request's head, reading it (unlocked: it is cheap)
    when it is not kept."""
    head = request_head(request, store)
    cache = facts_of(request.app)
    found = cache.get(key, head)
    if found is not None:
        return cast(T, found[0])
    value = read()
    cache.put(key, head, (value,))
    return value


def session_user(
    request: Request, store: Store, session_id: str
) -> tuple[LoginSession | None, User | None]:
    """Return the login session ``session_id`` and its user (either None if missing), as
    stored at this request's audit head. The caller checks the token and the session's state."""

    def read() -> tuple[LoginSession | None, User | None]:
        with Reader(store, privileged=True) as reader:
            session = reader.get(LoginSession, session_id)
            user = None if session is None else reader.get(User, session.user_id)
        return session, user

    return _remembered(request, store, ("session", session_id), read)


def require_visible(
    request: Request, store: Store, user_id: str, type_name: str, record_id: str
) -> None:
    """Raise ``NotFoundError("no TYPE ID")`` unless the record exists and ``user_id`` may see
    it (``organizations.is_visible``, as stored at this request's audit head)."""

    def read() -> bool:
        with Reader(store) as reader:
            return organizations.is_visible(reader, user_id, type_name, record_id)

    if not _remembered(request, store, ("visible", user_id, type_name, record_id), read):
        raise NotFoundError(f"no {type_name} {record_id}")
