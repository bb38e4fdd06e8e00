"""How long does the manufacturing workflow take, command by command, as a user runs it? And the
manufacturing demo hook for N cases?

1. Makes a workspace with `pmpath demo` (its platform, patient, product and case), adds a QA
   user, then runs each command of a batch's life as its own `pmpath` process (start-up
   included): spec load, batch create, results from CSV, release, coa, coi label, coi scan, three
   custody events, the bedside administration (decoding the label PNG), coi verify, audit verify.
   Prints the wall time of each.
2. Times `run_manufacturing_demo` in-process for ``--cases`` cases (one batch each to
   administration, plus the held-back batch), after a warm-up import of matplotlib as
   `pmpath demo` has done by then.

    .venv/bin/python bench/cmc_workflow.py [--cases 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from pmpath.adapters.store import Reader, Store, UnitOfWork
from pmpath.domain.enums import SequenceKind, Sex, Zygosity
from pmpath.domain.models import (
    BespokeSequence,
    Case,
    Disease,
    Patient,
    Platform,
    Product,
    Variant,
    new_pseudonym,
)
from pmpath.services.users import ensure_builtin_roles

PASSWORD = "quality assured password"
GUIDE = "TTCCTAAGCTCCCGTTTGTC"
PMPATH = str(Path(sys.executable).with_name("pmpath"))


def _records(store: Store, n_cases: int) -> list[tuple[str, str, str]]:
    """A platform and disease, then ``n_cases`` patients each with a product and a case."""
    from pmpath.domain.enums import Delivery, Inheritance, Modality, Route

    platform = Platform(
        id="PLAT-BENCH", name="bench ABE-LNP", sponsor="bench", modality=Modality.BASE_EDITOR,
        delivery=Delivery.LNP, route=Route.INTRAVENOUS,
    )  # fmt: skip
    disease = Disease(
        id="DIS-BENCH", name="CPS1 deficiency", gene_symbol="CPS1",
        inheritance=Inheritance.AUTOSOMAL_RECESSIVE,
    )  # fmt: skip
    cases: list[tuple[str, str, str]] = []
    with UnitOfWork(store, actor="bench", reason="bench records") as uow:
        ensure_builtin_roles(uow)
        uow.add(platform)
        uow.add(disease)
        for i in range(n_cases):
            patient = Patient(
                id=new_pseudonym(),
                disease_id=disease.id,
                sex=Sex.FEMALE,
                birth_date_shifted=date(2025, 1, 1),
                genotype=[
                    Variant(
                        gene_symbol="CPS1",
                        hgvs="NM_001875.5:c.1003C>T",
                        zygosity=Zygosity.HOMOZYGOUS,
                    )
                ],
            )
            product = Product(
                id=f"PROD-BENCH-{i}",
                platform_id=platform.id,
                name=f"bench product {i}",
                target_gene="CPS1",
                target_variant_hgvs="NM_001875.5:c.1003C>T",
                bespoke_sequences=[
                    BespokeSequence(
                        name="spacer", kind=SequenceKind.GUIDE_RNA_SPACER, sequence_5_to_3=GUIDE
                    )
                ],
            )
            case = Case(id=f"CASE-BENCH-{i}", patient_id=patient.id, product_id=product.id)
            for record in (patient, product, case):
                uow.add(record)
            cases.append((case.id, patient.id, product.id))
        uow.commit()
    return cases


def _pmpath(workspace: Path, *argv: str, stdin: str = "") -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [PMPATH, *argv, "-w", str(workspace)],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pmpath {' '.join(argv)} failed: {done.stderr.strip()}")
    return elapsed, done.stdout


def workflow(folder: Path) -> None:
    workspace = folder / "ws"
    elapsed, _ = _pmpath(workspace, "demo")
    print(f"pmpath demo (the records the workflow starts from): {elapsed:.1f} s")
    patient, product = _demo_case(workspace)
    rows: list[tuple[str, float]] = []

    def step(name: str, *argv: str, stdin: str = "") -> str:
        elapsed, out = _pmpath(workspace, *argv, stdin=stdin)
        rows.append((name, elapsed))
        return out

    step(
        "user add (argon2 + key)", "user", "add", "quinn", "--name", "Quinn QA", "--role",
        "sponsor_qa", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    step("spec load", "spec", "load", "PLAT-UCD-ABE", "--from", "lnp-editor-2026.1")
    record = folder / "record.yaml"
    record.write_text(
        "lot_number: DP-1\nmanufactured_on: 2026-11-28\nsite: GMP suite\nmaterials:\n"
        "  - {name: guide RNA, component: bespoke, lot_number: G-1}\nsteps:\n"
        "  - {name: fill, operator: op, started_at: '2026-11-28T08:00:00Z',"
        " completed_at: '2026-11-28T09:00:00Z'}\n"
    )
    out = step(
        "batch create", "batch", "create", product, "--patient", patient, "--record", str(record)
    )
    batch = out.split()[1]
    results = folder / "results.csv"
    from pmpath.services.cmc import _DEMO_PASSING

    with results.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["test", "result"])
        spec_tests = [
            "appearance", "editor_mrna_identity", "mrna_purity_percent", "mrna_integrity_percent",
            "potency_editing_percent", "sterility", "endotoxin_eu_per_kg", "particle_size_nm",
            "polydispersity_index", "encapsulation_percent", "residual_ethanol_ppm",
            "guide_purity_percent",
        ]  # fmt: skip
        writer.writerows([t, _DEMO_PASSING[t]] for t in spec_tests)
        writer.writerow(["guide_identity", _guide_of(workspace, product)])
    step("batch results --csv (13 tests)", "batch", "results", batch, "--csv", str(results))
    step("batch release (signature)", "batch", "release", batch, "--user", "quinn",
         "--password-stdin", stdin=PASSWORD)  # fmt: skip
    step("batch coa (JSON + PDF)", "batch", "coa", batch, "--out", str(folder / "coa"))
    label = folder / "label.png"
    step("coi label (PNG)", "coi", "label", batch, "--out", str(label))
    step("coi scan (zxing-cpp)", "coi", "scan", str(label))
    for event in ("shipped", "received", "thawed"):
        step(f"coi record {event}", "coi", "record", batch, event, "--place", "site")
    step("coi record administered (decode label)", "coi", "record", batch, "administered",
         "--place", "ward", "--label-image", str(label), "--scan-patient", patient)  # fmt: skip
    step("coi verify", "coi", "verify", batch)
    step("audit verify", "audit", "verify")
    width = max(len(n) for n, _ in rows)
    print("pmpath commands, one process each (start-up included):")
    for name, elapsed in rows:
        print(f"  {name:<{width}}  {elapsed:6.2f} s")
    print(f"  {'total':<{width}}  {sum(e for _, e in rows):6.2f} s")


def _demo_case(workspace: Path) -> tuple[str, str]:
    """The patient and product of the demo's case."""
    store = Store(f"sqlite:///{workspace / 'pmpath.sqlite'}", secret_key=bytes(32))
    try:
        with Reader(store) as reader:
            case = reader.require(Case, "CASE-DEMO-0001")
        return case.patient_id, case.product_id
    finally:
        store.dispose()


def _guide_of(workspace: Path, product_id: str) -> str:
    store = Store(f"sqlite:///{workspace / 'pmpath.sqlite'}", secret_key=bytes(32))
    try:
        with Reader(store) as reader:
            return reader.require(Product, product_id).bespoke_sequences[0].sequence_5_to_3
    finally:
        store.dispose()


def demo_hook(folder: Path, n_cases: int) -> None:
    import matplotlib.figure  # noqa: F401  (pmpath demo has imported it by then)

    from pmpath.services import users
    from pmpath.services.cmc import run_manufacturing_demo

    store = Store(f"sqlite:///{folder / 'hook.sqlite'}", secret_key=bytes(32))
    try:
        store.upgrade()
        cases = _records(store, n_cases)
        actor = "bench"
        if hasattr(users, "create_first_admin"):  # users are added by an admin
            users.create_first_admin(store, username="ada", display_name="Ada", password=PASSWORD)
            actor = "ada"
        users.add_user(
            store, actor=actor, username="quinn", display_name="Quinn QA",
            roles=["sponsor_qa"], password=PASSWORD,
        )  # fmt: skip
        start = time.perf_counter()
        lines = run_manufacturing_demo(
            store, actor="bench", qa_user="quinn", qa_password=PASSWORD, cases=cases,
            work_dir=folder / "demo-files",
        )  # fmt: skip
        elapsed = time.perf_counter() - start
    finally:
        store.dispose()
    print(f"run_manufacturing_demo, {n_cases} cases + 1 held-back batch: {elapsed:.2f} s")
    for line in lines:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5)
    parser.add_argument("--hook-only", action="store_true", help="skip the CLI workflow")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo_hook(Path(tmp), args.cases)
        if not args.hook_only:
            workflow(Path(tmp))


if __name__ == "__main__":
    main()
