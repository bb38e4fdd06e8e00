"""Demo step for Element 4 (target engagement): quantify editing in simulated amplicon reads.

The data are synthetic and generated deterministically (fixed seeds) into the workspace's
``demo-data/editing/`` folder: a 250-bp amplicon built around the demo product's guide spacer
(read from the product at run time, followed by a TGG PAM, between random flanks), treated reads
(cells edited by the demo's adenine base editor: 45% intended edit, 5% intended plus bystander,
3% bystander only, 4% indels at the nick, the rest unedited) and untreated control reads, both
2,000 single-end reads with 0.1-0.5% substitution errors (plain FASTQ, so the files and their
digests are the same on every run). The quantification (ABE8e profile, activity window 3-9,
target = the editor-convertible base of the window nearest protospacer position 6) is stored as
``editing_quantification`` evidence for element 4 on the demo case; the report files are written
to ``demo-data/editing/report/``.
"""

from __future__ import annotations

import random
from pathlib import Path

from pmpath.domain.enums import Element, EvidenceKind, SequenceKind
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.editing.geometry import EditSpec
from pmpath.evidence.editing.quantify import quantify_editing
from pmpath.evidence.editing.report import summary_dict, write_report
from pmpath.evidence.editing.results import CATEGORIES
from pmpath.evidence.editing.simulate import simulate_amplicon_reads
from pmpath.services.demo import DemoContext, DemoSection
from pmpath.services.evidence import record_evidence

SEED = 20240302
EDITOR = "ABE8e"
READS = 2000


def _amplicon(spacer: str) -> str:
    rng = random.Random(SEED)
    left = "".join(rng.choice("ACGT") for _ in range(100))
    right = "".join(rng.choice("ACGT") for _ in range(250 - 100 - len(spacer) - 3))
    return left + spacer + "TGG" + right


def _target(spacer: str, window: tuple[int, int], source: str) -> int | None:
    positions = [p for p in range(window[0], window[1] + 1) if spacer[p - 1] == source]
    return min(positions, key=lambda p: (abs(p - 6), p)) if positions else None


def _write_reads(
    folder: Path, amplicon: str, spec: EditSpec, *, with_edits: bool = True, seed_offset: int = 0
) -> tuple[Path, Path]:
    start = 100
    cut = start + (spec.cut_after or 17)

    def convert(sequence: str, position: int) -> str:
        index = start + position - 1
        return sequence[:index] + "G" + sequence[index + 1 :]

    treated: list[tuple[str, str, int]] = [("unmodified", amplicon, 0)]
    if spec.target_position is not None:
        edited = convert(amplicon, spec.target_position)
        first, last = spec.activity_window or (3, 9)
        others = [
            p
            for p in range(first, last + 1)
            if amplicon[start + p - 1] == "A" and p != spec.target_position
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
    """Simulate treated and control amplicon reads for the demo product, quantify them, store
    the result as element-4 evidence on the demo case; return the rows to print."""
    spacers = [
        s.sequence_5_to_3
        for s in context.product.bespoke_sequences
        if s.kind == SequenceKind.GUIDE_RNA_SPACER
    ]
    title = "Element 4: editing quantification (simulated amplicon reads)"
    if not spacers:
        return DemoSection(title, ["measure", "value"], [["guide", "the product has no spacer"]])
    spacer = spacers[0].upper().replace("U", "T")
    profile = load_editor(EDITOR)
    window = profile.window or (3, 9)
    source = (profile.conversion or "A>G")[0]
    target = _target(spacer, window, source)
    spec = EditSpec(
        mode="base-editor" if target is not None else "nuclease",
        pam_length=len(profile.pam),
        pam_side=profile.pam_side,
        cut_after=profile.cut_after,
        conversion=profile.conversion if target is not None else None,
        activity_window=window if target is not None else None,
        target_position=target,
    )
    folder = context.data_dir("editing")
    amplicon = _amplicon(spacer)
    treated, control = _write_reads(
        folder, amplicon, spec, with_edits=context.responder, seed_offset=context.seed_offset
    )
    parameters: dict[str, object] = {
        "mode": spec.mode,
        "editor": EDITOR,
        "conversion": spec.conversion,
        "activity_window": list(window) if target is not None else None,
        "target_position": target,
        "window_flank": spec.window_flank,
        "guide": spacer,
        "amplicons": [{"name": "demo-on-target", "sequence": amplicon}],
        "min_base_quality": 20,
        "min_mean_quality": 0.0,
    }
    result = quantify_editing(
        amplicons=[("demo-on-target", amplicon)],
        guide=spacer,
        spec=spec,
        r1=treated,
        control_r1=control,
        parameters=parameters,
    )
    write_report(result, folder / "report")
    item, _ = record_evidence(
        context.store,
        actor=context.actor,
        case_id=context.case.id,
        kind=EvidenceKind.EDITING_QUANTIFICATION,
        element=Element.TARGET_ENGAGEMENT,
        input_digests=result.input_sha256,
        parameters=parameters,
        result=summary_dict(result),
    )
    assert result.control is not None and result.net is not None
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
    rows.append(["evidence", item.id, f"element {Element.TARGET_ENGAGEMENT.number}", ""])
    return DemoSection(title, ["measure", "treated", "control", "net"], rows)
