"""End to end in a real headless Chromium (Debian's, driven by Playwright for Python): log in,
open the demo platform, open its case, see the five-element board, accept the pending evidence,
sign the assessment, find the signature in the audit trail, and fail (404) to open the other
sponsor's platform. Screenshots of every page go to ``test-artifacts/browser/``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.server.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.server.web.sample import DEMO_CASE, DEMO_PLATFORM, OTHER_CASE, OTHER_PLATFORM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh"
)

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_review_sign_and_audit_in_a_browser(live_server: LiveServer, browser: Browser) -> None:
    sample = live_server.sample
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = live_server.url

    # Log in: the login page has labelled fields, a CSP without scripts, a strict cookie.
    response = page.goto(f"{base}/platforms")
    assert response is not None
    assert page.url.startswith(f"{base}/login")
    assert "default-src 'none'" in (response.headers.get("content-security-policy") or "")
    _shot(page, "01-login")
    page.get_by_label("User name").fill(sample.qa)
    page.get_by_label("Password").fill(sample.passwords[sample.qa])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Platforms")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "pmpath_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    expect(page.get_by_role("link", name=DEMO_PLATFORM)).to_be_visible()
    expect(page.get_by_text(OTHER_PLATFORM)).to_have_count(0)
    _shot(page, "02-platforms")

    # The demo platform: its treated patients on a timeline and the recommendation.
    page.get_by_role("link", name=DEMO_PLATFORM).click()
    expect(page.get_by_role("heading", name=re.compile("^Recommendation"))).to_be_visible()
    expect(page.locator("svg.timeline circle")).to_have_count(1)
    _shot(page, "03-platform")

    # The case: the five-element board, one item pending review.
    page.locator("table").get_by_role("link", name=DEMO_CASE).click()
    expect(page.get_by_role("heading", name=f"Case {DEMO_CASE}")).to_be_visible()
    board = page.locator("table.board").first
    expect(board.locator("tbody tr")).to_have_count(5)
    expect(board).to_contain_text("5 Clinical improvement")
    expect(page.get_by_role("heading", name="Evidence pending review (1)")).to_be_visible()
    _shot(page, "04-case")

    # Accept the pending item: password again (the review is a signature).
    pending_id = sample.pending_evidence_id
    form = page.locator(f"form[action='/evidence/{pending_id}/review']")
    form.get_by_label("Decision").select_option("accept")
    form.get_by_label("Reason").fill("re-run checked against the first classification")
    form.get_by_label("Your password").fill(sample.passwords[sample.qa])
    form.get_by_role("button", name="Record review").click()
    expect(page.get_by_role("status")).to_contain_text("Evidence accepted")
    expect(page.get_by_role("heading", name="Evidence pending review (0)")).to_be_visible()
    _shot(page, "05-case-after-review")

    # An evidence page with its figures (editing outcomes, profile, allele table).
    editing_row = page.locator("tr", has_text="editing quantification").first
    editing_row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Editing quantification")).to_be_visible()
    expect(page.locator("table.alleles tbody tr").first).to_be_visible()
    figures = page.locator("figure img")
    expect(figures).to_have_count(3)
    for index in range(3):
        figures.nth(index).scroll_into_view_if_needed()
        width = figures.nth(index).evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 0, f"figure {index} did not load"
    _shot(page, "06-evidence-editing")

    # Off-target sites with their follow-up, and a treated patient against natural history.
    for kind, heading, shot in (
        ("offtarget search", "Off-target sites", "06b-evidence-offtarget"),
        ("offtarget confirmation", "Off-target follow-up", "06c-evidence-followup"),
        ("clinical response", "Treated patient against the natural history", "06d-evidence-nh"),
    ):
        page.goto(f"{base}/cases/{DEMO_CASE}")
        page.locator("tr", has_text=kind).first.get_by_role("link").first.click()
        expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
        _shot(page, shot)
    expect(page.locator("figure img").first).to_be_visible()

    # Sign the assessment: meaning chosen, password again.
    page.goto(f"{base}/cases/{DEMO_CASE}")
    sign_form = page.locator(f"form[action='/cases/{DEMO_CASE}/sign']")
    sign_form.get_by_label("Meaning of your signature").select_option("reviewed")
    sign_form.get_by_label("Reason").fill("board read in full")
    sign_form.get_by_label("Your password").fill(sample.passwords[sample.qa])
    sign_form.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("status")).to_contain_text("Assessment signed")
    signed = page.locator("table", has_text="verification")
    expect(signed).to_contain_text("Quinn Sponsor-QA")
    expect(signed).to_contain_text("valid")
    _shot(page, "07-case-signed")

    # The signature in the assessment's audit trail.
    page.get_by_role("link", name="Audit trail of this assessment").click()
    expect(
        page.get_by_role("heading", name=re.compile("^Audit trail of assessment:"))
    ).to_be_visible()
    signature_rows = page.locator("table.audit tr.event-signature")
    expect(signature_rows).to_have_count(1)
    expect(signature_rows.first).to_contain_text("reviewed by Quinn Sponsor-QA")
    expect(signature_rows.first).to_contain_text("board read in full")
    _shot(page, "08-audit-trail")

    # The other sponsor's platform: a 404 page that names no id.
    response = page.goto(f"{base}/platforms/{OTHER_PLATFORM}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert OTHER_PLATFORM not in page.locator("main").inner_text()
    _shot(page, "09-other-sponsor-404")
    response = page.goto(f"{base}/cases/{OTHER_CASE}")
    assert response is not None
    assert response.status == 404
    assert OTHER_CASE not in page.locator("main").inner_text()
    context.close()
