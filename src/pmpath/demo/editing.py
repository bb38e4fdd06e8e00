"""Demo step for element 4 (target engagement): quantify editing in simulated amplicon reads.

The data are synthetic and generated deterministically (fixed seeds) into the case's ``editing``
folder: a 250-bp amplicon built around the product's guide spacer (read from the product at run
time, followed by a TGG PAM, between random flanks), treated reads (cells edited by the
platform's adenine base editor: 45% intended edit, 5% intended plus bystander, 3% bystander only,
4% indels at the nick, the rest unedited; a patient without benefit has treated reads like
control) and untreated control reads, both 2,000 single-end reads with 0.1-0.5% substitution
errors. The quantification (ABE8e profile, target = the editor-convertible base of the window
nearest protospacer position 6) is a typed request stored as ``editing_quantification``
evidence; the demo case's report is written to its folder's ``report/``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pmpath.demo.app import DemoContext, DemoSection
from pmpath.demo.records import CASE_ID, EDITOR
from pmpath.domain.enums import Element, SequenceKind
from pmpath.domain.requests.editing import AmpliconRecord, EditingQuantificationRequest
from pmpath.reports.editing import write_report
from pmpath.simulate.amplicon import simulate_amplicon_reads

SEED = 20240302
READS = 2000
WINDOW = (3, 9)  # ABE8e activity window (editors.yaml: about 3-9, peak 4-8)
CUT_AFTER = 17  # the nick: between protospacer positions 17 and 18
CATEGORIES = ("indel", "intended_edit", "bystander_only", "unmodified")


def _amplicon(spacer: str) -> str:
    rng = random.Random(SEED)
    left = "".join(rng.choice("ACGT") for _ in range(100))
    right = "".join(rng.choice("ACGT") for _ in range(250 - 100 - len(spacer) - 3))
    return left + spacer + "TGG" + right


def _target(spacer: str) -> int | None:
    positions = [p for p in range(WINDOW[0], WINDOW[1] + 1) if spacer[p - 1] == "A"]
    return min(positions, key=lambda p: (abs(p - 6), p)) if positions else None


def _write_reads(
    folder: Path, amplicon: str, target: int | None, *, with_edits: bool, seed_offset: int
) -> tuple[Path, Path]:
    start = 100
    cut = start + CUT_AFTER

    def convert(sequence: str, position: int) -> str:
        index = start + position - 1
        return sequence[:index] + "G" + sequence[index + 1 :]

    treated: list[tuple[str, str, int]] = [("unmodified", amplicon, 0)]
    if target is not None:
        edited = convert(amplicon, target)
        others = [
            p
            for p in range(WINDOW[0], WINDOW[1] + 1)
            if amplicon[start + p - 1] == "A" and p != target
        ]
        treated.append(("intended_edit", edited, 900))
        if others:
            treated.append(("intended_edit", convert(edited, others[0]), 100))
            treated.append(("bystander_only", convert(amplicon, others[0]), 60))
    treated.append(("indel", amplicon[: cut - 1] + amplicon[cut:], 40))
    treated.append(("indel", amplicon[:cut] + "T" + amplicon[cut:], 20))
    treated.append(("indel", amplicon[: cut - 10] + amplicon[cut + 10 :], 20))
    if not with_edits:  # a patient in whom the product did not edit: treated reads like control
        treated = [("unmodified", amplicon, 0)]
    treated[0] = ("unmodified", amplicon, READS - sum(k for _, _, k in treated))
    treated_path = folder / "treated.fastq"
    control_path = folder / "control.fastq"
    simulate_amplicon_reads(treated_path, None, treated, seed=SEED + 1 + seed_offset)
    simulate_amplicon_reads(
        control_path, None, [("unmodified", amplicon, READS)], seed=SEED + 2 + seed_offset
    )
    return treated_path, control_path


def editing_step(context: DemoContext) -> DemoSection:
    """Simulate treated and control amplicon reads for the product, quantify them through the
    analysis service (element 4 evidence on the case); return the rows to print."""
    title = "Element 4: editing quantification (simulated amplicon reads)"
    spacers = [
        s.sequence_5_to_3
        for s in context.product.bespoke_sequences
        if s.kind == SequenceKind.GUIDE_RNA_SPACER
    ]
    if not spacers:
        return DemoSection(title, ["measure", "value"], [["guide", "the product has no spacer"]])
    spacer = spacers[0].upper().replace("U", "T")
    target = _target(spacer)
    folder = context.data_dir("editing")
    amplicon = _amplicon(spacer)
    treated, control = _write_reads(
        folder, amplicon, target, with_edits=context.responder, seed_offset=context.seed_offset
    )
    run = context.run(
        EditingQuantificationRequest(
            r1=treated,
            control_r1=control,
            amplicons=[AmpliconRecord(name="on-target", sequence=amplicon)],
            guide=spacer,
            editor=EDITOR,
            target_position=target,
        )
    )
    result: Any = run.result
    if context.case.id == CASE_ID:  # the report of the demo case (figures take seconds each)
        write_report(result, folder / "report")
    assert run.item is not None and result.control is not None and result.net is not None
    control_outcomes = result.control.on_target.outcomes
    rows = [
        [
            "reads aligned",
            f"{result.reads.aligned:,} of {result.reads.total:,}",
            f"{result.control.reads.aligned:,} of {result.control.reads.total:,}",
            "",
        ]
    ]
    for category in CATEGORIES:
        comparison = result.net.categories[category]
        rows.append(
            [
                category,
                f"{getattr(result.outcomes, category):.2%}",
                f"{getattr(control_outcomes, category):.2%}",
                f"{comparison.net_fraction:+.2%} (p {comparison.p_value:.2g})",
            ]
        )
    rows.append(
        [
            "intended_edit_clean",
            f"{result.intended_edit_clean:.2%}",
            f"{result.control.on_target.intended_edit_clean:.2%}",
            "",
        ]
    )
    rows.append(["guide · target", f"{spacer} + TGG", f"protospacer position {target}", ""])
    rows.append(["verdict", result.net.verdict, "", ""])
    rows.append(["evidence", run.item.id, f"element {Element.TARGET_ENGAGEMENT.number}", ""])
    return DemoSection(title, ["measure", "treated", "control", "net"], rows)
