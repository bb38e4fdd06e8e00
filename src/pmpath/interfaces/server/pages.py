"""The web pages: server-rendered Jinja2 over the same services as the CLI and the API.

Login; the platforms of the user's organization; a platform (its consecutive treated cases on a
timeline, the recommendation and what is missing); a case (the five-element board with its
rationale and what is missing, the evidence pending review with accept and reject forms, the
policy switch with the difference, signing the assessment); an evidence item with its figures;
the audit trail of any record; the progress of a background job.

Thin: each handler checks who is logged in (``pages_session``), asks the organizations service
whether the record is visible to them (another organization's record answers the same 404 page as
a missing one, naming no id), calls one service and renders. Bad input answers one clear 4xx page
and changes nothing; no page runs a script (``Content-Security-Policy: default-src 'none'``).
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from pmpath.domain.enums import Element, EvidenceStatus, SignatureMeaning
from pmpath.domain.errors import (
    AuthenticationError,
    BusyError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PmpathError,
)
from pmpath.domain.models import EvidenceItem, Platform
from pmpath.domain.teams import FINISHED_STATES
from pmpath.interfaces.server import pages_figures
from pmpath.interfaces.server.deps import get_store
from pmpath.interfaces.server.memo import (
    ViewCache,
    board_scope,
    cached,
    request_head,
    require_visible,
    views_of,
)
from pmpath.interfaces.server.pages_session import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    Viewer,
    check_csrf,
    check_login_csrf,
    clear_session_cookie,
    new_login_csrf,
    set_login_csrf_cookie,
    set_session_cookie,
    token_from_cookie,
    viewer,
    with_security_headers,
)
from pmpath.interfaces.server.pages_views import case_view
from pmpath.pathway.policy import Policy
from pmpath.services import analyses, assessment, organizations, sessions
from pmpath.services.audit import audit_log
from pmpath.services.review import review_evidence
from pmpath.services.signatures import sign, verify_signatures

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_FILES = {"pages.css": "text/css; charset=utf-8"}
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False)

ELEMENT_TITLES = {
    Element.MOLECULAR_ABNORMALITY: "1 Molecular abnormality",
    Element.TARGETS_ALTERATION: "2 Targets the alteration",
    Element.NATURAL_HISTORY: "3 Natural history",
    Element.TARGET_ENGAGEMENT: "4 Target engagement",
    Element.CLINICAL_IMPROVEMENT: "5 Clinical improvement",
}

DONE_MESSAGES = {
    "accepted": "Evidence accepted: it counts toward its element now.",
    "rejected": "Evidence rejected: it will not count.",
    "signed": "Assessment signed.",
}

NOT_FOUND = (
    "There is no such record, or it belongs to an organization whose records you do not see."
)

_REVIEW_STATUSES = {
    "accept": EvidenceStatus.ACCEPTED,
    "reject": EvidenceStatus.REJECTED,
}


# --- rendering and errors ----------------------------------------------------------------------


def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    who: Viewer | None = None,
) -> Response:
    values = {
        "user": None if who is None else who.user,
        "csrf": "" if who is None else who.csrf,
        "csrf_field": CSRF_FIELD,
        "titles": ELEMENT_TITLES,
        **context,
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    return with_security_headers(response)


def _error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    who = None
    with contextlib.suppress(LoginRequired, PmpathError):
        who = viewer(request)
    context = {"title": title, "message": message, "status_code": status_code}
    return _render(request, "error.html", context, status_code=status_code, who=who)


def _redirect(url: str) -> Response:
    return with_security_headers(RedirectResponse(url, status_code=303))


def html_page(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Answer a page handler's errors as pages: login redirect, 400, 403, 404, 409, 503."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return handler(*args, **kwargs)
        except LoginRequired:
            target = request.url.path if request.method == "GET" else "/"
            return _redirect(f"/login?next={quote(target, safe='/')}")
        except NotFoundError:
            return _error_page(request, 404, "Not found", NOT_FOUND)
        except (PermissionDeniedError, AuthenticationError) as exc:
            return _error_page(request, 403, "Not allowed", str(exc))
        except ConflictError as exc:
            return _error_page(request, 409, "Changed meanwhile", str(exc))
        except BusyError as exc:
            return _error_page(request, 503, "Busy", str(exc))
        except (InvalidInputError, PmpathError) as exc:
            return _error_page(request, 400, "Not done", str(exc))

    return wrapper


def _policy(name: str) -> Policy:
    """Return a shipped policy by name (never a file path from a page); default without one."""
    if name and name not in _shipped():
        raise InvalidInputError(f"no policy {name!r}: choose one of {', '.join(_shipped())}")
    return _shipped_policy(name or None)


@functools.cache
def _shipped() -> tuple[str, ...]:
    return tuple(assessment.shipped_policies())


@functools.cache
def _shipped_policy(name: str | None) -> Policy:
    """A shipped policy, parsed and bound once per process (the files ship with pmpath and do
    not change while it runs; parsing one costs about 0.1 s)."""
    return assessment.load_policy(name)


# --- static files, login, logout -------------------------------------------------------------


@router.get("/static/{name}")
def static_file(request: Request, name: str) -> Response:
    """Serve the pages' stylesheet (only the files listed in STATIC_FILES)."""
    if name not in STATIC_FILES:
        return _error_page(request, 404, "Not found", "There is no such file.")
    response = Response((STATIC / name).read_bytes(), media_type=STATIC_FILES[name])
    with_security_headers(response)
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def _safe_next(target: str) -> str:
    """Return ``target`` if it is a path on this server, else the platform list."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/platforms"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/platforms") -> Response:
    """The login form (with a fresh double-submit CSRF token)."""
    return _login_page(request, _safe_next(next), "", 200)


def _login_page(request: Request, target: str, message: str, status_code: int) -> Response:
    token = new_login_csrf()
    context = {"login_csrf": token, "next": target, "message": message}
    response = _render(request, "login.html", context, status_code=status_code)
    set_login_csrf_cookie(response, request, token)
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/platforms",
) -> Response:
    """Check the password (the CLI's rules: throttled, locking, audited), open a session."""
    target = _safe_next(next)
    if not request.cookies.get(LOGIN_CSRF_COOKIE) or not csrf_token:
        return _login_page(request, target, "The form expired: log in again.", 403)
    try:
        check_login_csrf(request, csrf_token)
        if not username.strip() or not password:
            raise InvalidInputError("give your user name and password")
        token = sessions.login(get_store(request), username=username.strip(), password=password)
    except InvalidInputError as exc:
        return _login_page(request, target, str(exc), 400)
    except (PermissionDeniedError, AuthenticationError) as exc:
        return _login_page(request, target, str(exc), 401)
    except PmpathError as exc:
        return _login_page(request, target, str(exc), 400)
    response = _redirect(target)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout")
@html_page
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the login session (revoked in the database) and drop the cookie."""
    who = viewer(request)
    check_csrf(who, csrf_token)
    sessions.logout(who.store, who.token)
    response = _redirect("/login")
    clear_session_cookie(response, request)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """The platform list when logged in, else the login form."""
    if token_from_cookie(request.cookies.get(SESSION_COOKIE)) is None:
        return _redirect("/login")
    return _redirect("/platforms")


# --- platforms ---------------------------------------------------------------------------------


@router.get("/platforms", response_class=HTMLResponse)
@html_page
def platform_list(request: Request) -> Response:
    """The platforms the user's organization owns or was shared."""
    who = viewer(request)
    platforms = organizations.visible_platforms(who.store, who.user.id)
    return _render(request, "platforms.html", {"platforms": platforms}, who=who)


@router.get("/platforms/{platform_id}", response_class=HTMLResponse)
@html_page
def platform_page(request: Request, platform_id: str, policy: str = "") -> Response:
    """A platform: its consecutive treated patients on a timeline and the recommendation."""
    who = viewer(request)
    record = organizations.get_visible(who.store, who.user.id, Platform, platform_id)
    chosen = _policy(policy)
    decision = assessment.assess_platform(who.store, platform_id, chosen)
    context = {
        "platform": record,
        "decision": decision,
        "timeline": _timeline(decision.patients),
        "policies": _shipped(),
        "policy": chosen.policy_id,
    }
    return _render(request, "platform.html", context, who=who)


def _timeline(patients: list[Any]) -> dict[str, Any]:
    """Place each treated patient on a horizontal date axis (inline SVG coordinates)."""
    width, left, right = 1000, 40, 40
    dated = [p for p in patients if p.treatment_date_shifted is not None]
    if not dated:
        return {"width": width, "points": [], "ticks": []}
    first: date = min(p.treatment_date_shifted for p in dated)
    last: date = max(p.treatment_date_shifted for p in dated)
    span = max((last - first).days, 1)
    points = []
    for p in patients:
        if p.treatment_date_shifted is None:
            continue
        x = left + (width - left - right) * (p.treatment_date_shifted - first).days / span
        if len(dated) == 1:
            x = width / 2
        points.append({"x": round(x, 1), "patient": p})
    ticks = [{"x": points[0]["x"], "label": first.isoformat()}]
    if len(dated) > 1:
        ticks.append({"x": points[-1]["x"], "label": last.isoformat()})
    return {"width": width, "points": points, "ticks": ticks}


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases/{case_id}", response_class=HTMLResponse)
@html_page
def case_page(
    request: Request, case_id: str, policy: str = "", diff: str = "", done: str = ""
) -> Response:
    """The five-element board of a case under a policy, with pending evidence and signing."""
    who = viewer(request)
    require_visible(request, who.store, who.user.id, "case", case_id)
    chosen = _policy(policy)
    head = request_head(request, who.store)
    cache = _views(request)

    def page(csrf: str) -> str:
        view = case_view(cache, who.store, case_id, chosen, actor=who.user.id, head=head)
        board = view.board
        differences: list[dict[str, Any]] = []
        other = None
        if diff:
            other = _policy(diff)
            compared = assessment.preview(who.store, case_id, other)
            differences = _differences(board.decision.elements, compared.elements)
        context = {
            "case": view.case,
            "board": board,
            "evidence": view.evidence,
            "policies": _shipped(),
            "policy": chosen.policy_id,
            "policy_version": board.assessment.policy_version,
            "diff": other.policy_id if other is not None else "",
            "differences": differences,
            "signatures": view.signatures,
            "meanings": [m.value for m in SignatureMeaning if m is not SignatureMeaning.RELEASED],
            "message": DONE_MESSAGES.get(done, ""),
        }
        return _page_text(request, "case.html", context, who=who, csrf=csrf)

    if diff:  # a comparison is read afresh each time
        return _html(page(who.csrf))
    # the page as this viewer sees it, kept with a mark where the session's CSRF token goes
    shown = done if done in DONE_MESSAGES else ""
    key = ("case-page", case_id, chosen.policy_id, who.user.id, shown)
    scope = partial(board_scope, who.store, case_id)
    text = cached(cache, who.store, key, partial(page, CSRF_MARK), head, scope)
    return _html(text.replace(CSRF_MARK, who.csrf))


CSRF_MARK = "csrf-" + secrets.token_hex(16)
"""What a kept page holds where the viewer's CSRF token goes (random per process, so no text
of a record can be taken for it)."""


def _page_text(
    request: Request, template: str, context: dict[str, Any], *, who: Viewer, csrf: str
) -> str:
    """Return ``template`` rendered as :func:`_render` would, with ``csrf`` as the token."""
    values = {
        "request": request,
        "user": who.user,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "titles": ELEMENT_TITLES,
        **context,
    }
    return templates.get_template(template).render(values)


def _html(text: str) -> Response:
    return with_security_headers(HTMLResponse(text))


def _views(request: Request) -> ViewCache:
    """The application's cache of case views."""
    return views_of(request.app)


def _differences(ours: list[Any], theirs: list[Any]) -> list[dict[str, Any]]:
    by_element = {d.element: d for d in theirs}
    rows = []
    for mine in ours:
        other = by_element.get(mine.element)
        if other is not None and other.status != mine.status:
            rows.append({"element": mine.element, "this": mine, "other": other})
    return rows


@router.post("/cases/{case_id}/sign")
@html_page
def sign_assessment(
    request: Request,
    case_id: str,
    policy: Annotated[str, Form()] = "",
    meaning: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Sign the case's current assessment (password again, meaning chosen)."""
    who = viewer(request)
    check_csrf(who, csrf_token)
    organizations.require_visible(who.store, who.user.id, "case", case_id)
    try:
        chosen_meaning = SignatureMeaning(meaning)
    except ValueError:
        allowed = ", ".join(m.value for m in SignatureMeaning)
        raise InvalidInputError(f"choose a meaning: one of {allowed}") from None
    if not password:
        raise InvalidInputError("give your password again to sign")
    chosen = _policy(policy)
    board = assessment.assess(who.store, case_id, chosen, actor=who.user.id)
    sign(
        who.store,
        username=who.user.id,
        password=password,
        record_ref=f"assessment:{board.assessment.id}",
        meaning=chosen_meaning,
        reason=reason.strip(),
    )
    return _redirect(_case_url(case_id, policy, "signed"))


def _case_url(case_id: str, policy: str, done: str) -> str:
    query = f"done={done}" + (f"&policy={quote(policy)}" if policy else "")
    return f"/cases/{quote(case_id)}?{query}"


# --- evidence ----------------------------------------------------------------------------------


@router.get("/evidence/{evidence_id}", response_class=HTMLResponse)
@html_page
def evidence_page(request: Request, evidence_id: str) -> Response:
    """An evidence item: its result, figures, provenance and review status."""
    who = viewer(request)
    organizations.require_visible(who.store, who.user.id, "evidence", evidence_id)
    item = analyses.get_evidence(who.store, evidence_id)
    context = {
        "item": item,
        "result": item.result,
        "figures": [
            {"name": name, "alt": pages_figures.describe(name)}
            for name in pages_figures.figures(item)
        ],
        "pending": item.status is EvidenceStatus.RECORDED,
        "review_signatures": verify_signatures(who.store, f"evidence:{item.id}"),
    }
    return _render(request, "evidence.html", context, who=who)


@router.get("/evidence/{evidence_id}/figures/{name}.png")
@html_page
def evidence_figure(request: Request, evidence_id: str, name: str) -> Response:
    """One figure of an evidence item, drawn by the reports layer, as PNG."""
    who = viewer(request)
    organizations.require_visible(who.store, who.user.id, "evidence", evidence_id)
    item = analyses.get_evidence(who.store, evidence_id)
    png = pages_figures.figures(item).get(name)
    if png is None:
        raise NotFoundError("no such figure")
    response = Response(png, media_type="image/png")
    with_security_headers(response)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@router.post("/evidence/{evidence_id}/review")
@html_page
def review(
    request: Request,
    evidence_id: str,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Accept or reject evidence pending review (reason; password again: a signature)."""
    who = viewer(request)
    check_csrf(who, csrf_token)
    organizations.require_visible(who.store, who.user.id, "evidence", evidence_id)
    status = _REVIEW_STATUSES.get(decision)
    if status is None:
        raise InvalidInputError("choose accept or reject")
    if not password:
        raise InvalidInputError("give your password again to review evidence")
    outcome = review_evidence(
        who.store,
        username=who.user.id,
        password=password,
        evidence_id=evidence_id,
        status=status,
        reason=reason,
    )
    item: EvidenceItem = outcome.evidence
    if back == "evidence":
        return _redirect(f"/evidence/{quote(item.id)}")
    return _redirect(_case_url(item.case_id, "", status.value))


# --- audit trail -------------------------------------------------------------------------------


@router.get("/audit/{type_name}/{record_id}", response_class=HTMLResponse)
@html_page
def audit_trail(request: Request, type_name: str, record_id: str) -> Response:
    """Every audit event of a record, with the events of the signatures made on it."""
    who = viewer(request)
    organizations.require_visible(who.store, who.user.id, type_name, record_id)
    ref = f"{type_name}:{record_id}"
    events = audit_log(who.store, ref)
    checks = verify_signatures(who.store, ref)
    for check in checks:
        events.extend(audit_log(who.store, f"signature:{check.signature.id}"))
    events.sort(key=lambda e: e.seq)
    context = {"ref": ref, "events": events, "signatures": checks}
    return _render(request, "audit.html", context, who=who)


# --- jobs --------------------------------------------------------------------------------------


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
@html_page
def job_page(request: Request, job_id: str) -> Response:
    """A background job's state and progress; the page refreshes itself until it ends."""
    from pmpath.services import jobs

    who = viewer(request)
    job = jobs.get_job(who.store, job_id, user_id=who.user.id)
    context = {"job": job, "finished": job.state in FINISHED_STATES}
    return _render(request, "job.html", context, who=who)
