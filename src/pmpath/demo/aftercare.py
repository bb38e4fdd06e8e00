"""Demo steps after the pathway decision: each patient's bespoke batch from manufacture to the
bedside, and the post-market monitoring run on real-world data.

- Manufacturing (:func:`pmpath.services.cmc.run_manufacturing_demo`): for every demo case a batch
  tested against the platform specification, released by the demo QA reviewer's signature, with
  its certificate of analysis and chain of custody up to a checked administration; one more batch
  held back by an out-of-specification result.
- Post-market (:func:`pmpath.services.surveillance.run_postmarket_demo`): a synthetic OMOP
  database with a planted safety signal, monitored once with the platform's example plan on
  DuckDB. A monitoring run is a dated event, so a second demo run shows the stored run instead of
  adding another.

The QA reviewer ``demo-qa`` signs releases; its random password is kept in the workspace file
``demo-qa.password`` (mode 0600) so that the demo can run again: a demo convenience, never for
real records.
"""

from __future__ import annotations

import os
import secrets

from pmpath.adapters.store import Reader
from pmpath.demo.app import DemoContext, DemoSection, context_for
from pmpath.demo.records import PATIENTS
from pmpath.domain.models import Case, User
from pmpath.domain.surveillance import MonitoringRun
from pmpath.services.cmc import run_manufacturing_demo
from pmpath.services.surveillance import run_postmarket_demo
from pmpath.services.users import add_user

QA_USER = "demo-qa"
QA_PASSWORD_FILE = "demo-qa.password"


def _qa_password(context: DemoContext) -> str:
    """Return the demo QA reviewer's password, creating the user (and the file) once."""
    path = context.workspace.path / QA_PASSWORD_FILE
    with Reader(context.store) as reader:
        exists = reader.get(User, QA_USER) is not None
    if exists and path.is_file():
        return path.read_text(encoding="ascii").strip()
    password = secrets.token_urlsafe(24)
    add_user(
        context.store,
        actor=context.actor,
        username=QA_USER,
        display_name="Demo QA Reviewer",
        roles=["sponsor_qa"],
        password=password,
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(password + "\n")
    return password


def manufacturing_step(context: DemoContext) -> DemoSection:
    """Make, release and administer each demo case's batch; return the lines as a section."""
    cases = []
    for demo in PATIENTS:
        with Reader(context.store) as reader:
            known = reader.get(Case, demo.case_id) is not None
        if known:
            other = context_for(context.store, context.actor, context.workspace, demo)
            cases.append((other.case.id, other.patient.id, other.product.id))
    lines = run_manufacturing_demo(
        context.store,
        actor=context.actor,
        qa_user=QA_USER,
        qa_password=_qa_password(context),
        cases=cases,
        work_dir=context.workspace.path / "demo-data" / "manufacturing",
    )
    return DemoSection(
        title="Manufacturing: one batch per patient, released by QA, chain of identity to the "
        "bedside (pmpath batch, pmpath coi)",
        columns=["record"],
        rows=[[line] for line in lines],
    )


def postmarket_step(context: DemoContext) -> DemoSection:
    """Run the monitoring plan once on a synthetic OMOP database; return the lines."""
    title = "Post-market monitoring on real-world data (pmpath surveil run)"
    with Reader(context.store) as reader:
        runs = reader.find(MonitoringRun)
    if runs:
        run = max(runs, key=lambda r: r.run_at)
        return DemoSection(
            title,
            ["record"],
            [[f"monitoring run {run.id} of plan {run.plan_name} already stored "
              f"({run.n_signals} signal(s), {run.n_looks} looks, last {run.last_look_date})"]],
        )  # fmt: skip
    lines = run_postmarket_demo(
        context.store,
        actor=context.actor,
        work_dir=context.workspace.path / "demo-data" / "postmarket",
    )
    return DemoSection(title, ["record"], [[line] for line in lines])
