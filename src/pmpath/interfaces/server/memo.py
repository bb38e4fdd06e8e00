"""What the server reads again only when the audit log has moved, and then only what moved.

Every change to any record appends one audit event, so while the audit head (its last sequence
number and hash, one row) stays where it was, nothing read from the records can have changed.
A request reads the head once (:func:`request_head`, kept on ``request.state``) and reuses what
earlier requests read:

- the login session and its user behind a token (:func:`session_user`); whether it is still
  open, unexpired, of an active user and the token's hash is checked on every request against
  the kept records, so only the reading is saved;
- whether a user may see a record (:func:`require_visible`): the user's organization, the
  record's platform and the platform's shares;
- the views that are costly to build (the case board and the assessment: :func:`cached`).

Each kept entry has a scope: the ids of the records it was read from (a session and its user;
a record and its viewer; a platform's products, cases, evidence and assessments), and the
record types whose changes can touch it only through those ids. All the entries of a cache are
valid at one head. When a request reads a newer head, the events since are read once for the
process (their type, id and the platform, product, case or signed record their images name),
the entries they touch are dropped and the others are kept at the new head
(:meth:`ViewCache.advance`). So a review on one platform does not make another platform's
views, nor anyone's session or visibility answer, be read again. An entry read while a write
lands is kept under the head read *before* it: if the write touches it, the next advance
drops it (never served stale).

On a hit a request costs one query on the one-row head table, plus one on the events for the
first request after a write, instead of eight to fifty queries.

No caching library keys entries on a database's change counter; this is a dictionary and a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    """The last ``size`` entries, all valid at one audit head, each with its scope
    (thread-safe).

    When a request reads a newer head, :meth:`advance` reads the events since (one query for
    the process, not one per entry) and drops the entries they touch; the others are kept at
    the new head. The last PASSED_KEPT events passed are kept, so that an entry read at a
    head the cache has since passed can still be kept if none of them touches it."""

    def __init__(self, size: int = CACHED_VIEWS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._advancing = threading.Lock()
        self._head: Head = None
        self._views: OrderedDict[tuple[str, ...], tuple[Any, Scope | None]] = OrderedDict()
        self._building: dict[tuple[str, ...], threading.Lock] = {}
        self._built: dict[tuple[str, ...], tuple[Head, Any]] = {}
        """The last entry built per key, with the head read before it was built."""
        self._passed: list[Passed] = []
        """The events passed since head ``_passed_from``, oldest first."""
        self._passed_from: Head = None

    @property
    def head(self) -> Head:
        """The audit head every kept entry is valid at (None before the first request)."""
        return self._head

    def building(self, key: tuple[str, ...]) -> threading.Lock:
        """Return the lock held while ``key``'s entry is built, so that many requests arriving
        together build it once (the others wait, then find it)."""
        with self._lock:
            return self._building.setdefault(key, threading.Lock())

    def advance(self, store: Store, now: Head, read: EventsRead | None = None) -> Head:
        """Bring the cache to head ``now`` and return the head to read at: drop every entry
        an event since touches (every entry, if the log does not run unbroken from the kept
        head to ``now``). A head older than the kept one was read before another request
        moved the cache on: the head is read again (and if the log itself went back, the
        cache is emptied). ``read`` keeps the events read, for another cache to advance with."""
        if now is None:
            return None
        if now == self._head:
            return now
        kept, reread = self._head, False
        if kept is not None and now[0] <= kept[0]:
            now, reread = audit_head(store), True  # never older than ``kept``, unless rewritten
            if now is None or now == self._head:
                return now
        with self._advancing:  # one thread reads the events; the others wait for it
            kept = self._head
            if now == kept:
                return now
            if kept is not None and now[0] <= kept[0] and not reread:
                return kept  # moved on by another request meanwhile: newer than this head
            newer = kept is not None and now[0] > kept[0]
            events = None
            if newer and kept is not None:
                read = {} if read is None else read
                if (kept, now) not in read:
                    read[(kept, now)] = _events_between(store, kept, now)
                events = read[(kept, now)]
            with self._lock:
                passed = None if events is None else [event for _, _, event in events]
                for key in list(self._views):
                    scope = self._views[key][1]
                    if passed is None or scope is None or scope.touched(passed):
                        del self._views[key]
                        self._building.pop(key, None)
                self._pass(now, events)
                self._head = now
        return now

    def _pass(self, now: tuple[int, str], events: list[Passed] | None) -> None:
        """Record ``events`` as passed on the way to ``now`` (None: the way is not known, so
        the record starts again at ``now``), keeping the last PASSED_KEPT (lock held)."""
        if events is None or self._passed_from is None:
            self._passed, self._passed_from = [], now
            return
        self._passed.extend(events)
        if len(self._passed) > PASSED_KEPT:
            dropped = self._passed[-PASSED_KEPT - 1]
            self._passed_from = (dropped[0], dropped[1])
            del self._passed[:-PASSED_KEPT]

    def _passed_since(self, head: tuple[int, str]) -> list[Event] | None:
        """Return the events passed after ``head`` (an older head), None if they are not all
        recorded or ``head`` is not on the recorded way (lock held)."""
        start = self._passed_from
        if start is None or head[0] < start[0]:
            return None
        if head == start:
            return [event for _, _, event in self._passed]
        at = head[0] - start[0] - 1  # the events are consecutive from ``start``
        if at >= len(self._passed) or self._passed[at][:2] != head:
            return None
        return [event for _, _, event in self._passed[at + 1 :]]

    def get(self, key: tuple[str, ...], head: Head) -> Any | None:
        """Return the entry kept for ``key`` if the cache is at ``head`` or later, else None."""
        with self._lock:
            kept = self._views.get(key)
            if kept is None or not _at_or_after(self._head, head):
                return None
            self._views.move_to_end(key)
            return kept[0]

    def built_since(self, key: tuple[str, ...], head: Head) -> Any | None:
        """Return the last entry built for ``key`` if it was read after ``head`` or a later
        head, kept or not: a request that read ``head`` and waited while another built it may
        answer with it (it is as new as the request), instead of building it again when a
        write meanwhile kept it out of the cache."""
        with self._lock:
            built = self._built.get(key)
            if built is None or not _at_or_after(built[0], head):
                return None
            return built[1]

    def put(self, key: tuple[str, ...], head: Head, view: Any, scope: Scope | None = None) -> None:
        """Keep ``view`` for ``key``, read after head ``head`` from the records of ``scope``
        (None: from anything). Read at a head the cache has since passed, it is kept only if
        none of the events passed after that head touches it (it may lack their changes).
        The oldest entry goes beyond size."""
        with self._lock:
            self._built[key] = (head, view)
            while len(self._built) > self.size:
                del self._built[next(iter(self._built))]
            if head is None or self._head is None or head[0] > self._head[0]:
                return
            if head != self._head:
                passed = self._passed_since(head)
                if passed is None or scope is None or scope.touched(passed):
                    return
            self._views[key] = (view, scope)
            self._views.move_to_end(key)
            while len(self._views) > self.size:
                gone, _ = self._views.popitem(last=False)
                self._building.pop(gone, None)


def _at_or_after(head: Head, than: Head) -> bool:
    """Return True if ``head`` is ``than`` or a later head (False if either is None)."""
    if head is None or than is None:
        return False
    return head == than or head[0] > than[0]


Event = tuple[str, str, frozenset[str]]
"""An audit event as the cache reads it: entity type, entity id and the ids its images name."""
Passed = tuple[int, str, Event]
"""An event with its sequence number and hash (the head right after it)."""
EventsRead = dict[tuple[tuple[int, str], tuple[int, str]], list[Passed] | None]
"""The events read between two heads (None: too many, or the log does not run unbroken)."""


def _events_between(store: Store, kept: Head, now: Head) -> list[Passed] | None:
    """Return the events after head ``kept`` up to head ``now``; None if there are more than
    REVALIDATE_AT_MOST, or the log does not run unbroken from one head to the other."""
    if kept is None or now is None or now[0] <= kept[0] or now[0] - kept[0] > REVALIDATE_AT_MOST:
        return None
    with Reader(store) as reader:
        rows = reader.changes_since(kept[0], SCOPE_FIELDS, now[0] - kept[0])
    if len(rows) != now[0] - kept[0] or rows[0][1] != kept[1] or rows[-1][2] != now[1]:
        return None  # the log was rewritten or moved again meanwhile
    return [(seq, hash_, (kind, rid, named)) for seq, _, hash_, kind, rid, named in rows]


def audit_head(store: Store) -> Head:
    """Return the audit log's head (last sequence number and hash); None if it is missing."""
    return store.read_audit_head()


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
    """Return the audit head this request reads at (read once per request) and bring the
    application's caches to it."""
    state = request.state
    if not hasattr(state, "pmpath_head"):
        read: EventsRead = {}
        head = audit_head(store)
        head = facts_of(request.app).advance(store, head, read)
        state.pmpath_head = views_of(request.app).advance(store, head, read)
    found: Head = state.pmpath_head
    return found


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
SCOPE_UNREAD = UNRELATED_TYPES | {"adverse_event", "signature"}
"""Records whose changes never change which ids a platform's scope holds."""
REVALIDATE_AT_MOST = 500
"""Events read to keep a view valid; beyond, the view is built again."""
PASSED_KEPT = 1000
"""Events a cache remembers having passed (about 100 bytes each)."""


@dataclass(frozen=True)
class Scope:
    """The records an entry was read from, by id: for a view one platform, its products and
    cases, and the evidence and assessments of those cases."""

    ids: frozenset[str]
    unread_types: frozenset[str] = UNRELATED_TYPES
    """Record types whose changes never touch the entry (a case board: also adverse events)."""
    scoped_types: frozenset[str] | None = SCOPED_TYPES
    """Record types a change of which touches the entry only through the ids it names; a
    change to a record of any other type touches every entry (None: every type is scoped)."""
    by_name: bool = True
    """Whether a change to a scoped record touches the entry when its images name one of the
    ids (an adverse event naming a case touches the case's views); False: only its own id
    does (an adverse event on a case does not change who may see the case)."""

    def touched_by(self, entity_type: str, entity_id: str, named: frozenset[str]) -> bool:
        """Return True if an event on ``entity_type:entity_id`` whose images name ``named``
        (platform, product, case or signed record ids) may change what the entry holds."""
        if entity_type in self.unread_types:
            return False
        if entity_id in self.ids or (self.by_name and not named.isdisjoint(self.ids)):
            return True
        return self.scoped_types is not None and entity_type not in self.scoped_types

    def touched(self, events: list[Event]) -> bool:
        """Return True if any of ``events`` touches the entry."""
        return any(self.touched_by(kind, rid, named) for kind, rid, named in events)


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
    unread = UNRELATED_TYPES | {"adverse_event"}
    return Scope(frozenset([case_id, *records]), unread_types=unread)


def case_scope(store: Store, case_id: str) -> Scope:
    """Return the scope of a view of case ``case_id`` with what it inherits: its platform's
    (the platform decision reads every case of the platform and their adverse events)."""
    with Reader(store) as reader:
        case = reader.require(Case, case_id)
        platform_id = reader.require(Product, case.product_id).platform_id
    return platform_scope(store, platform_id)


def kept_case_scope(cache: ViewCache, store: Store, case_id: str, head: Head) -> Scope:
    """Return :func:`case_scope` of ``case_id`` as kept in ``cache`` at ``head`` or later: the
    ids change only with a new product, case, evidence item or assessment on the platform (an
    adverse event or a signature adds none), so it outlives the writes that rebuild the views
    it is the scope of (six queries fewer for each rebuild)."""
    key = ("scope", case_id)
    hit = cache.get(key, head)
    if hit is not None:
        return cast(Scope, hit)
    fresh = cache.advance(store, audit_head(store))
    found = case_scope(store, case_id)
    cache.put(key, fresh, found, Scope(found.ids, unread_types=SCOPE_UNREAD))
    return found


def inherited_scope(cache: ViewCache, store: Store, case_id: str, head: Head) -> Scope:
    """Return the scope of what case ``case_id`` inherits from its platform, and of the API's
    assessment (that with the case's own board): :func:`kept_case_scope` with adverse events
    unread. What a case inherits is read from the platform's patients and their outcomes, never
    from its pooled safety (``pathway.platform.inherited_evidence``), and the board reads no
    adverse event: an adverse event anywhere on the platform leaves both as they are."""
    found = kept_case_scope(cache, store, case_id, head)
    return replace(found, unread_types=found.unread_types | {"adverse_event"})


def cached(
    cache: ViewCache,
    store: Store,
    key: tuple[str, ...],
    build: Callable[[], T],
    head: Head | None = None,
    scope: Callable[[], Scope] | None = None,
) -> T:
    """Return the entry kept for ``key`` if the cache is at this request's head (``head``, if
    the request read it already) or later, else ``build()`` it (once for the requests arriving
    together) and keep it, with its ``scope`` (what it is read from, made before it is built;
    None: anything), at the head read before.

    A kept entry outlives writes: each time the cache moves to a newer head it drops only the
    entries that the events since touch (:meth:`ViewCache.advance`)."""
    now = head if head is not None else cache.advance(store, audit_head(store))
    hit = cache.get(key, now)
    if hit is not None:
        return cast(T, hit)
    with cache.building(key):
        fresh = cache.advance(store, audit_head(store))  # another request may have built it
        hit = cache.get(key, fresh)
        if hit is None:
            hit = cache.built_since(key, now)
        if hit is not None:
            return cast(T, hit)
        read_from = scope() if scope is not None else None
        view = build()
        cache.put(key, fresh, view, read_from)
    return view


VISIBILITY_UNREAD = frozenset({"session", "credential", "checkpoint", "job"})
"""Records whose changes never change who may see what."""
VISIBILITY_SCOPED = frozenset({"evidence", "assessment", "adverse_event", "signature"})
"""Records that hang from one case or record and change who may see only themselves; a change
to any other record (a user, an organization, a share, a platform, product, case, patient,
batch, ...) is taken to change who may see anything."""


def _remembered(
    request: Request,
    store: Store,
    key: tuple[str, ...],
    read: Callable[[], T],
    scope: Callable[[T], Scope],
) -> T:
    """Return ``read()`` as kept at this request's head or later, reading it (unlocked: it is
    cheap) when it is not kept, and keeping it with ``scope(value)``."""
    head = request_head(request, store)
    cache = facts_of(request.app)
    found = cache.get(key, head)
    if found is not None:
        return cast(T, found[0])
    value = read()
    cache.put(key, head, (value,), scope(value))
    return value


def session_user(
    request: Request, store: Store, session_id: str
) -> tuple[LoginSession | None, User | None]:
    """Return the login session ``session_id`` and its user (either None if missing), as
    stored at this request's audit head or later (kept until a change to the session or the
    user). The caller checks the token and the session's state."""

    def read() -> tuple[LoginSession | None, User | None]:
        with Reader(store, privileged=True) as reader:
            session = reader.get(LoginSession, session_id)
            user = None if session is None else reader.get(User, session.user_id)
        return session, user

    def scope(found: tuple[LoginSession | None, User | None]) -> Scope:
        ids = {session_id} | ({found[0].user_id} if found[0] is not None else set())
        return Scope(frozenset(ids), unread_types=frozenset(), scoped_types=None)

    return _remembered(request, store, ("session", session_id), read, scope)


def require_visible(
    request: Request, store: Store, user_id: str, type_name: str, record_id: str
) -> None:
    """Raise ``NotFoundError("no TYPE ID")`` unless the record exists and ``user_id`` may see
    it (``organizations.is_visible``, as stored at this request's audit head or later; kept
    until a change to the record, the user, or a record that is not one case's own)."""

    def read() -> bool:
        with Reader(store) as reader:
            return organizations.is_visible(reader, user_id, type_name, record_id)

    def scope(_: bool) -> Scope:
        ids = frozenset({record_id, user_id})
        return Scope(
            ids, unread_types=VISIBILITY_UNREAD, scoped_types=VISIBILITY_SCOPED, by_name=False
        )

    key = ("visible", user_id, type_name, record_id)
    if not _remembered(request, store, key, read, scope):
        raise NotFoundError(f"no {type_name} {record_id}")
