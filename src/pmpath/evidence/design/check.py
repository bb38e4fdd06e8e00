"""Element 2: does the product act on the patient's alteration itself? Sequence checks of a
guide (nuclease, base editor, prime editor) or an oligonucleotide (ASO, siRNA) against the
patient allele and the wild-type allele.

What it computes (:func:`check_design`):

- guides, on either strand: the best ungapped site of the protospacer in the patient allele
  around the variant (mismatch count), the PAM found next to it and whether it fits the
  editor's IUPAC pattern, where the variant sits in the protospacer (position 1 = the PAM-distal
  end: the 5' end for 3'-PAM editors, the 3' end for 5'-PAM Cas12a), whether it lies in the
  editor's window, whether the conversion restores the reference base (``corrects_variant``),
  every other editable base in the window (bystander) with its protein consequence from the
  transcript model (synonymous, missense with the amino-acid change, nonsense, ...), and
  whether the same guide also matches the wild-type allele with a PAM (heterozygous patients);
- nucleases: the distance from the cut (between positions ``cut_after`` and ``cut_after + 1``)
  to the variant;
- prime editing (Anzalone et al., Nature 2019;576:149): the primer-binding site (PBS) is the
  reverse complement of the nicked protospacer strand 5' of the nick, the reverse-transcription
  template (RTT) is the reverse complement of the wild-type (corrected) sequence 3' of the nick
  and spans the variant, with the homology left 3' of the edit, and both lengths lie in the
  editor's ranges;
- ASO and siRNA: complementarity to the patient pre-mRNA (introns included) or mRNA, whether the
  site covers the variant, mismatches to the mutant versus the best wild-type site (allele
  selectivity), length, GC content, GGGG and CpG motifs, and overlap with splice sites
  (5' site: last 3 exonic + first 6 intronic nt; 3' site: last 40 intronic + first exonic nt),
  and the guide-strand position that pairs with the variant (central positions 9-12 favour allele
  selectivity of siRNAs; Schwarz et al., PLoS Genet 2006).

``targets_alteration`` is True only when every required check passes; ``reasons`` lists every
check, passed or failed (``pass:``, ``fail:``, ``note:``).

Assumptions: the variant is one HGVS description on the transcript model; base editors convert
one base on the protospacer strand (editors.yaml); the correction is a return to the reference
allele. Ungapped matching only (bulges are the off-target search's business).

Heavy lifting: the transcript mapping, reference checks and protein consequences of
:mod:`pmpath.evidence.variants.transcript` (pyfaidx, Biopython); the scanning here is hand-written
because no permissively licensed library checks a given guide against a patient allele
(CRISPOR, PrimeDesign, BE-Designer are GPL/AGPL or services).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.design.editors import EditorProfile, iupac_regex
from pmpath.evidence.variants.hgvs import AMINO_ACIDS, HgvsVariant, parse_hgvs
from pmpath.evidence.variants.transcript import (
    GenomicVariant,
    Reference,
    TranscriptModel,
    map_variant,
    spliced_mrna,
    translate,
)

Strand = Literal["+", "-"]
CITATIONS = (
    "Komor AC et al. Nature 2016;533:420-424; Gaudelli NM et al. Nature 2017;551:464-471 "
    "(base-editor windows)",
    "Anzalone AV et al. Nature 2019;576:149-157 (pegRNA geometry)",
)

MAX_SITE_MISMATCHES = 6
"""A guide whose best site near the variant has more mismatches is reported as not found."""


class Bystander(FrozenModel):
    """Another editable base in the window and what editing it does."""

    position: int = Field(description="protospacer position (1 = PAM-distal end)")
    genomic_position: int | None
    base_change: str = Field(description="on the protospacer strand, e.g. A>G")
    genomic_change: str = Field(description="on the genome + strand, e.g. T>C")
    c_position: str | None = Field(description="HGVS c. position, e.g. 99 or 40+3")
    consequence: str
    protein_change: str | None = Field(description="e.g. p.(Phe33Leu); None if non-coding")


class PrimeEditCheck(FrozenModel):
    """pegRNA extension checks."""

    pbs_length_nt: int
    pbs_length_ok: bool
    pbs_complementary: bool
    rt_template_length_nt: int
    rt_template_length_ok: bool
    rt_template_encodes_correction: bool
    homology_3prime_of_edit_nt: int | None
    nick_to_variant_nt: int | None


class OligoCheck(FrozenModel):
    """ASO or siRNA guide-strand checks."""

    modality: Literal["aso", "sirna"]
    sequence: str
    length_nt: int
    length_ok: bool
    target: Literal["pre-mRNA", "mRNA"] | None
    mismatches_to_mutant: int | None
    mismatches_to_wild_type: int | None
    covers_variant: bool
    variant_position: int | None = Field(
        description="position of the variant in the oligo, from its 5' end (siRNA guide position)"
    )
    allele_selective: bool
    gc_fraction: float
    gc_ok: bool
    has_gggg: bool
    cpg_count: int
    splice_sites_overlapped: list[str]


class DesignCheck(AnalysisResult):
    """Element 2 sequence checks of one product component against the patient allele."""

    variant: str
    genomic_variant: str
    editor: str | None
    editor_kind: str | None
    guide: str | None
    strand: Strand | None = Field(description="genome strand of the protospacer")
    protospacer_start: int | None = Field(description="lowest genomic coordinate")
    protospacer_end: int | None
    protospacer_mismatches: int | None
    pam: str | None
    pam_expected: str | None
    pam_ok: bool
    target_position: int | None
    window: tuple[int, int] | None
    in_window: bool
    corrects_variant: bool
    bystanders: list[Bystander]
    matches_wild_type: bool
    wild_type_mismatches: int | None
    cut_site_distance_nt: int | None
    intended_base: str | None = Field(
        description="base editors: transcript-strand base to make; None = restore the reference"
    )
    prime_editing: PrimeEditCheck | None
    oligo: OligoCheck | None
    targets_alteration: bool
    reasons: list[str]

    def summary_table(self) -> list[SummaryRow]:
        """One row: the component, where it sits and whether it targets the alteration."""
        return [
            {
                "variant": self.variant,
                "editor": self.editor,
                "guide": self.guide,
                "protospacer_mismatches": self.protospacer_mismatches,
                "pam_ok": self.pam_ok,
                "in_window": self.in_window,
                "bystanders": len(self.bystanders),
                "matches_wild_type": self.matches_wild_type,
                "targets_alteration": self.targets_alteration,
            }
        ]


def _clean(seq: str, what: str) -> str:
    out = seq.strip().upper().replace("U", "T")
    if not out or re.search(r"[^ACGT]", out):
        raise InvalidInputError(f"{what} {seq!r} must be DNA/RNA letters A, C, G, T/U only")
    return out


def _mismatches(a: str, b: str) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


class _Allele:
    """A window of one allele, + strand, with each base's genomic position (None: inserted)."""

    def __init__(self, seq: str, positions: list[int | None]) -> None:
        self.seq = seq
        self.positions = positions

    def oriented(self, strand: Strand) -> tuple[str, list[int | None]]:
        if strand == "+":
            return self.seq, self.positions
        return reverse_complement(self.seq), self.positions[::-1]


def _alleles(
    mapped: GenomicVariant, reference: Reference, flank: int
) -> tuple[_Allele, _Allele, int]:
    length = reference.length(mapped.chrom)
    low = max(1, min(mapped.start, mapped.end) - flank)
    high = min(length, max(mapped.start, mapped.end) + flank)
    wt_seq = reference.fetch(mapped.chrom, low, high)
    positions: list[int | None] = list(range(low, high + 1))
    i, j = mapped.start - low, mapped.end - low + 1
    pt_seq = wt_seq[:i] + mapped.alt + wt_seq[j:]
    pt_positions = positions[:i] + [None] * len(mapped.alt) + positions[j:]
    return _Allele(wt_seq, positions), _Allele(pt_seq, pt_positions), low


def _variant_marks(mapped: GenomicVariant, positions: list[int | None]) -> set[int]:
    """Indices (in ``positions``) of the patient allele's changed bases (or insertion flanks)."""
    marks = {k for k, g in enumerate(positions) if g is None}
    if mapped.end >= mapped.start:
        marks |= {
            k for k, g in enumerate(positions) if g is not None and mapped.start <= g <= mapped.end
        }
    if not marks:  # a deletion: mark the two bases flanking the junction
        marks = {
            k
            for k, g in enumerate(positions)
            if g is not None and g in (mapped.start - 1, mapped.end + 1)
        }
    return marks


def _best_site(
    guide: str, allele: _Allele, marks: set[int] | None
) -> tuple[Strand, int, int] | None:
    """Return (strand, start index in the oriented sequence, mismatches) of the best site."""
    best: tuple[int, int, Strand, int] | None = None
    size = len(guide)
    strands: tuple[Strand, Strand] = ("+", "-")
    for strand in strands:
        seq, _ = allele.oriented(strand)
        n = len(seq)
        for start in range(0, n - size + 1):
            mm = _mismatches(guide, seq[start : start + size])
            if mm > MAX_SITE_MISMATCHES:
                continue
            if marks is not None:
                oriented_marks = marks if strand == "+" else {n - 1 - k for k in marks}
                centre = sum(oriented_marks) / len(oriented_marks)
                distance = int(abs(start + size / 2 - centre))
            else:
                distance = 0
            key = (mm, distance, strand, start)
            if best is None or key[:2] < best[:2]:
                best = key
    if best is None:
        return None
    return best[2], best[3], best[0]


def _pam(seq: str, start: int, editor: EditorProfile) -> tuple[str | None, bool]:
    size = editor.protospacer_length
    width = len(editor.pam)
    if editor.pam_side == "3prime":
        lo, hi = start + size, start + size + width
    else:
        lo, hi = start - width, start
    if lo < 0 or hi > len(seq):
        return None, False
    found = seq[lo:hi]
    return found, re.fullmatch(iupac_regex(editor.pam), found) is not None


def _position(index: int, size: int, editor: EditorProfile) -> int:
    """Return the protospacer position (PAM-distal end = 1) of 0-based ``index`` from the
    protospacer's 5' end: the 5' end is PAM-distal for 3'-PAM editors, the 3' end for 5'-PAM
    editors (Cas12a)."""
    return index + 1 if editor.pam_side == "3prime" else size - index


def _complement(base: str) -> str:
    return reverse_complement(base)


def _codon_effect(
    transcript: TranscriptModel,
    reference: Reference,
    overrides: dict[int, str],
    g: int,
    new_plus: str,
) -> tuple[str | None, str, str | None]:
    """Return (c. position, consequence, protein change) of changing genomic ``g`` to
    ``new_plus`` on an allele = reference + ``overrides`` (+ strand bases)."""
    try:
        c = transcript.g_to_c(g)
    except InvalidInputError:
        return None, "intergenic", None
    if c.offset:
        kind = "splice_site" if abs(c.offset) <= 2 else "intronic"
        return str(c), kind, None
    if c.utr3:
        return str(c), "3_prime_utr", None
    if c.base < 0:
        return str(c), "5_prime_utr", None
    codon_number, _ = transcript.codon_of(c.base)
    first = 3 * (codon_number - 1) + 1
    genomic = [transcript.c_to_g(c.model_copy(update={"base": first + k})) for k in range(3)]

    def codon(extra: dict[int, str]) -> str:
        bases = []
        for pos in genomic:
            base = (
                extra.get(pos) or overrides.get(pos) or reference.fetch(transcript.chrom, pos, pos)
            )
            bases.append(base if transcript.strand == "+" else _complement(base))
        return "".join(bases)

    before, after = translate(codon({})), translate(codon({g: new_plus}))
    ref3, alt3 = AMINO_ACIDS[before], AMINO_ACIDS[after]
    if before == after:
        return str(c), "synonymous", f"p.({ref3}{codon_number}=)"
    if after == "*":
        kind = "nonsense"
    elif before == "*":
        kind = "stop_lost"
    elif codon_number == 1:
        kind = "start_lost"
    else:
        kind = "missense"
    return str(c), kind, f"p.({ref3}{codon_number}{alt3})"


def check_design(
    *,
    transcript: TranscriptModel,
    reference: Reference,
    variant: str | HgvsVariant,
    editor: EditorProfile | None = None,
    guide: str | None = None,
    peg_rt: str | None = None,
    peg_pbs: str | None = None,
    aso: str | None = None,
    sirna: str | None = None,
    flank_nt: int = 80,
    max_cut_distance_nt: int = 10,
    intended_base: str | None = None,
) -> DesignCheck:
    """Return the Element 2 sequence checks of a guide (with ``editor``) or an ASO/siRNA.

    Basis: the module docstring (PAM/window geometry of editors.yaml; Anzalone 2019 for pegRNA
    geometry). ``intended_base`` (transcript strand) is the base a base editor should make at
    the variant when the aim is not to restore the reference. InvalidInputError for an
    unparseable variant, a wrong reference base, missing or conflicting arguments, or
    sequences that are not nucleotides.
    """
    parsed = parse_hgvs(variant) if isinstance(variant, str) else variant
    mapped = map_variant(parsed, transcript, reference)
    oligo_seq = aso or sirna
    if aso and sirna:
        raise InvalidInputError("give either an ASO or an siRNA, not both")
    if oligo_seq is None and (guide is None or editor is None):
        raise InvalidInputError("a design check needs an editor and a guide, or an ASO or siRNA")
    if (peg_rt is None) != (peg_pbs is None):
        raise InvalidInputError("prime editing needs both the RT template and the PBS")
    if peg_rt is not None and editor is not None and editor.kind != "prime_editor":
        raise InvalidInputError(f"a pegRNA extension needs a prime editor, not {editor.name}")
    if flank_nt < 40:
        raise InvalidInputError("flank_nt must be >= 40")
    intended_plus = None
    if intended_base is not None:
        intended = _clean(intended_base, "intended base")
        if len(intended) != 1:
            raise InvalidInputError(f"intended base {intended_base!r} must be one base")
        intended_plus = intended if transcript.strand == "+" else _complement(intended)
    wt, pt, _ = _alleles(mapped, reference, flank_nt)
    marks = _variant_marks(mapped, pt.positions)
    reasons: list[str] = []
    result: dict[str, object] = {
        "variant": parsed.text,
        "genomic_variant": mapped.hgvs_g,
        "editor": editor.name if editor else None,
        "editor_kind": editor.kind if editor else None,
        "guide": None,
        "strand": None,
        "protospacer_start": None,
        "protospacer_end": None,
        "protospacer_mismatches": None,
        "pam": None,
        "pam_expected": editor.pam if editor else None,
        "pam_ok": False,
        "target_position": None,
        "window": editor.window if editor else None,
        "in_window": False,
        "corrects_variant": False,
        "bystanders": [],
        "matches_wild_type": False,
        "wild_type_mismatches": None,
        "cut_site_distance_nt": None,
        "prime_editing": None,
        "oligo": None,
        "intended_base": intended_base.upper() if intended_base else None,
    }
    ok = True
    if guide is not None and editor is not None:
        ok = _check_guide(
            _clean(guide, "guide"), editor, mapped, transcript, reference, wt, pt, marks,
            result, reasons, peg_rt, peg_pbs, max_cut_distance_nt, intended_plus,
        )  # fmt: skip
    if oligo_seq is not None:
        modality: Literal["aso", "sirna"] = "aso" if aso else "sirna"
        oligo = _check_oligo(
            _clean(oligo_seq, modality), modality, mapped, transcript, reference, reasons
        )
        result["oligo"] = oligo
        ok = ok and oligo.mismatches_to_mutant == 0 and oligo.covers_variant and oligo.length_ok
    return DesignCheck(
        method="sequence checks against the patient allele and the wild type",
        citations=list(CITATIONS),
        targets_alteration=ok,
        reasons=reasons,
        **result,
    )


def _check_guide(
    guide: str,
    editor: EditorProfile,
    mapped: GenomicVariant,
    transcript: TranscriptModel,
    reference: Reference,
    wt: _Allele,
    pt: _Allele,
    marks: set[int],
    result: dict[str, object],
    reasons: list[str],
    peg_rt: str | None,
    peg_pbs: str | None,
    max_cut_distance_nt: int,
    intended_plus: str | None,
) -> bool:
    result["guide"] = guide
    size = len(guide)
    ok = True
    if size != editor.protospacer_length:
        reasons.append(
            f"note: guide is {size} nt; {editor.name} protospacers are "
            f"{editor.protospacer_length} nt (positions and window use the guide's length)"
        )
    site = _best_site(guide, pt, marks)
    if site is None:
        reasons.append(
            f"fail: the guide matches no site within {MAX_SITE_MISMATCHES} mismatches near the "
            "variant in the patient allele"
        )
        return False
    strand, start, mismatches = site
    seq, positions = pt.oriented(strand)
    span = [g for g in positions[start : start + size] if g is not None]
    result.update(
        strand=strand,
        protospacer_mismatches=mismatches,
        protospacer_start=min(span) if span else None,
        protospacer_end=max(span) if span else None,
    )
    if mismatches == 0:
        reasons.append(f"pass: protospacer matches the patient allele ({strand} strand)")
    else:
        ok = False
        reasons.append(f"fail: protospacer has {mismatches} mismatch(es) to the patient allele")
    pam, pam_ok = _pam(seq, start, editor)
    result.update(pam=pam, pam_ok=pam_ok)
    if pam_ok:
        reasons.append(f"pass: PAM {pam} fits {editor.name} {editor.pam}")
    else:
        ok = False
        reasons.append(f"fail: PAM {pam or '(none)'} does not fit {editor.name} {editor.pam}")
    oriented_marks = sorted(marks if strand == "+" else {len(seq) - 1 - k for k in marks})
    inside = [
        _position(k - start, size, editor) for k in oriented_marks if start <= k < start + size
    ]
    target = min(inside) if inside else None
    result["target_position"] = target
    # wild-type allele: best site of the same guide, and whether it has a PAM
    wt_site = _best_site(guide, wt, None)
    if wt_site is not None:
        wt_seq, _ = wt.oriented(wt_site[0])
        _, wt_pam_ok = _pam(wt_seq, wt_site[1], editor)
        result["wild_type_mismatches"] = wt_site[2]
        result["matches_wild_type"] = wt_site[2] == 0 and wt_pam_ok
    reasons.append(
        "note: the guide also matches the wild-type allele with a PAM"
        if result["matches_wild_type"]
        else "note: the guide does not match the wild-type allele perfectly with a PAM "
        f"(best site {result['wild_type_mismatches']} mismatch(es))"
    )
    if editor.kind == "base_editor":
        ok = _base_editor(editor, mapped, transcript, reference, seq, positions, start, size,
                          strand, target, result, reasons, intended_plus) and ok  # fmt: skip
    elif editor.kind == "nuclease":
        ok = (
            _nuclease(editor, mapped, positions, start, result, reasons, max_cut_distance_nt) and ok
        )
    else:
        ok = _prime(editor, wt, strand, seq, positions, start, oriented_marks, peg_rt, peg_pbs,
                    result, reasons) and ok  # fmt: skip
    return ok


def _base_editor(
    editor: EditorProfile,
    mapped: GenomicVariant,
    transcript: TranscriptModel,
    reference: Reference,
    seq: str,
    positions: list[int | None],
    start: int,
    size: int,
    strand: Strand,
    target: int | None,
    result: dict[str, object],
    reasons: list[str],
    intended_plus: str | None,
) -> bool:
    assert editor.conversion is not None and editor.window is not None
    source, product = editor.conversion.split(">")
    low, high = editor.window
    ok = True
    if target is None:
        reasons.append("fail: the variant is not inside the protospacer")
        return False
    in_window = low <= target <= high
    result["in_window"] = in_window
    reasons.append(
        f"{'pass' if in_window else 'fail'}: target at protospacer position {target} is "
        f"{'inside' if in_window else 'outside'} the {editor.name} window {low}-{high}"
    )
    ok = in_window
    corrects = False
    if len(mapped.ref) == 1 and len(mapped.alt) == 1:
        index = target - 1 if editor.pam_side == "3prime" else size - target
        patient_base = seq[start + index]
        desired_plus = intended_plus or mapped.ref
        desired = desired_plus if strand == "+" else _complement(desired_plus)
        corrects = patient_base == source and desired == product
        aim = "the intended base" if intended_plus else "the reference base"
        reasons.append(
            f"{'pass' if corrects else 'fail'}: {editor.conversion} on the protospacer strand "
            f"turns the patient {patient_base} into {product}; {aim} is {desired}"
        )
    else:
        reasons.append("fail: a base editor corrects single-base substitutions only")
    result["corrects_variant"] = corrects
    ok = ok and corrects
    overrides: dict[int, str] = {}
    if corrects:
        overrides[mapped.start] = intended_plus or mapped.ref
    else:
        overrides[mapped.start] = mapped.alt if len(mapped.alt) == 1 else mapped.ref
    bystanders: list[Bystander] = []
    for p in range(low, high + 1):
        if p == target or p > size:
            continue
        k = start + (p - 1 if editor.pam_side == "3prime" else size - p)
        if seq[k] != source:
            continue
        g = positions[k]
        plus_change = (
            f"{source}>{product}"
            if strand == "+"
            else f"{_complement(source)}>{_complement(product)}"
        )
        if g is None:
            bystanders.append(Bystander(position=p, genomic_position=None,
                base_change=f"{source}>{product}", genomic_change=plus_change,
                c_position=None, consequence="inserted_base", protein_change=None))  # fmt: skip
            continue
        new_plus = product if strand == "+" else _complement(product)
        c_pos, consequence, protein = _codon_effect(transcript, reference, overrides, g, new_plus)
        bystanders.append(
            Bystander(
                position=p,
                genomic_position=g,
                base_change=f"{source}>{product}",
                genomic_change=plus_change,
                c_position=c_pos,
                consequence=consequence,
                protein_change=protein,
            )
        )
    result["bystanders"] = bystanders
    if bystanders:
        listed = ", ".join(
            f"{b.base_change} at {b.position} ({b.consequence}"
            + (f" {b.protein_change}" if b.protein_change else "")
            + ")"
            for b in bystanders
        )
        reasons.append(f"note: bystanders in the window: {listed}")
        if any(b.consequence in ("nonsense", "splice_site", "start_lost") for b in bystanders):
            reasons.append("note: a bystander edit is predicted to disrupt the protein")
    else:
        reasons.append("pass: no bystander base in the window")
    return ok


def _cut_distance(cut_left: int, cut_right: int, low: int, high: int) -> int:
    if high <= cut_left:
        return cut_left - high
    if low >= cut_right:
        return low - cut_right
    return 0


def _nuclease(
    editor: EditorProfile,
    mapped: GenomicVariant,
    positions: list[int | None],
    start: int,
    result: dict[str, object],
    reasons: list[str],
    max_cut_distance_nt: int,
) -> bool:
    a = positions[start + editor.cut_after - 1]
    b = positions[start + editor.cut_after]
    if a is None or b is None:
        result["cut_site_distance_nt"] = 0
        reasons.append("pass: the cut lies inside the inserted bases")
        return True
    cut_left, cut_right = min(a, b), max(a, b)
    low, high = min(mapped.start, mapped.end), max(mapped.start, mapped.end)
    distance = _cut_distance(cut_left, cut_right, low, high)
    result["cut_site_distance_nt"] = distance
    ok = distance <= max_cut_distance_nt
    reasons.append(
        f"{'pass' if ok else 'fail'}: the cut between {cut_left} and {cut_right} is {distance} nt "
        f"from the variant (limit {max_cut_distance_nt} nt)"
    )
    return ok


def _prime(
    editor: EditorProfile,
    wt: _Allele,
    strand: Strand,
    seq: str,
    positions: list[int | None],
    start: int,
    oriented_marks: list[int],
    peg_rt: str | None,
    peg_pbs: str | None,
    result: dict[str, object],
    reasons: list[str],
) -> bool:
    if peg_rt is None or peg_pbs is None:
        reasons.append("fail: prime editing needs the RT template and the PBS")
        return False
    rtt, pbs = _clean(peg_rt, "RT template"), _clean(peg_pbs, "PBS")
    assert editor.pbs_length is not None and editor.rt_template_length is not None
    nick = start + editor.cut_after  # index of the first base 3' of the nick
    wt_seq, _ = wt.oriented(strand)
    pbs_site = seq[max(0, nick - len(pbs)) : nick]
    pbs_ok = reverse_complement(pbs) == pbs_site
    first_mark = oriented_marks[0] if oriented_marks else None
    before_variant = first_mark is not None and first_mark >= nick
    wanted = wt_seq[nick : nick + len(rtt)] if before_variant else ""
    encodes = (
        before_variant
        and reverse_complement(rtt) == wanted
        and seq[nick : nick + len(rtt)] != wanted
    )
    homology = None
    if before_variant and first_mark is not None:
        edit_end = max(k for k in oriented_marks) - nick + 1
        homology = len(rtt) - edit_end
    pbs_low, pbs_high = editor.pbs_length
    rt_low, rt_high = editor.rt_template_length
    check = PrimeEditCheck(
        pbs_length_nt=len(pbs),
        pbs_length_ok=pbs_low <= len(pbs) <= pbs_high,
        pbs_complementary=pbs_ok,
        rt_template_length_nt=len(rtt),
        rt_template_length_ok=rt_low <= len(rtt) <= rt_high,
        rt_template_encodes_correction=encodes,
        homology_3prime_of_edit_nt=homology,
        nick_to_variant_nt=(first_mark - nick + 1)
        if before_variant and first_mark is not None
        else None,
    )
    result["prime_editing"] = check
    result["corrects_variant"] = encodes
    flags = [
        (check.pbs_complementary, "PBS is complementary to the nicked strand 5' of the nick"),
        (check.pbs_length_ok, f"PBS length {len(pbs)} nt in {pbs_low}-{pbs_high}"),
        (encodes, "RT template encodes the wild-type sequence across the variant"),
        (check.rt_template_length_ok, f"RT template length {len(rtt)} nt in {rt_low}-{rt_high}"),
    ]
    for passed, text in flags:
        reasons.append(f"{'pass' if passed else 'fail'}: {text}")
    if homology is not None:
        reasons.append(f"note: {homology} nt of homology 3' of the edit in the RT template")
    return all(p for p, _ in flags)


def _splice_regions(transcript: TranscriptModel) -> list[tuple[str, int, int]]:
    """Return (label, low, high) genomic intervals of the 5' and 3' splice sites."""
    regions: list[tuple[str, int, int]] = []
    exons = transcript.ordered_exons
    plus = transcript.strand == "+"
    for number in range(1, len(exons) + 1):
        exon = exons[number - 1]
        if number < len(exons):  # donor at the exon's 3' end
            if plus:
                regions.append((f"5' splice site of exon {number}", exon.end - 2, exon.end + 6))
            else:
                regions.append((f"5' splice site of exon {number}", exon.start - 6, exon.start + 2))
        if number > 1:  # acceptor at the exon's 5' end
            if plus:
                regions.append((f"3' splice site of exon {number}", exon.start - 40, exon.start))
            else:
                regions.append((f"3' splice site of exon {number}", exon.end, exon.end + 40))
    return regions


def _check_oligo(
    oligo: str,
    modality: Literal["aso", "sirna"],
    mapped: GenomicVariant,
    transcript: TranscriptModel,
    reference: Reference,
    reasons: list[str],
) -> OligoCheck:
    target = reverse_complement(oligo)
    size = len(target)
    wt, pt, _ = _alleles(mapped, reference, 150)
    marks = _variant_marks(mapped, pt.positions)
    pre_pt, pre_pos = pt.oriented(transcript.strand)
    pre_wt, _ = wt.oriented(transcript.strand)
    oriented_marks = marks if transcript.strand == "+" else {len(pre_pt) - 1 - k for k in marks}
    candidates: list[tuple[int, str, int, bool, list[int | None], set[int]]] = []
    for start in range(0, len(pre_pt) - size + 1):
        mm = _mismatches(target, pre_pt[start : start + size])
        covers = any(start <= k < start + size for k in oriented_marks)
        window = pre_pos[start : start + size]
        candidates.append((mm, "pre-mRNA", start, covers, window, oriented_marks))
    mrna_pt = spliced_mrna(transcript, reference, mapped)
    mrna_wt = spliced_mrna(transcript, reference, None)
    changed = {k for k in range(min(len(mrna_pt), len(mrna_wt))) if mrna_pt[k] != mrna_wt[k]}
    if len(mrna_pt) != len(mrna_wt):
        first = min(changed) if changed else min(len(mrna_pt), len(mrna_wt))
        changed = {first}
    for start in range(0, len(mrna_pt) - size + 1):
        mm = _mismatches(target, mrna_pt[start : start + size])
        covers = any(start <= k < start + size for k in changed)
        candidates.append((mm, "mRNA", start, covers, [], changed))
    candidates.sort(key=lambda c: (c[0], not c[3]))
    best = candidates[0] if candidates else None
    wt_best = min(
        (_mismatches(target, s[i : i + size]) for s in (pre_wt, mrna_wt)
         for i in range(0, len(s) - size + 1)),
        default=None,
    )  # fmt: skip
    low_ok, high_ok = (18, 25) if modality == "aso" else (19, 23)
    gc = round((oligo.count("G") + oligo.count("C")) / len(oligo), 4)
    overlapped: list[str] = []
    if best is not None and best[1] == "pre-mRNA":
        site = [g for g in best[4] if g is not None]
        if site:
            lo, hi = min(site), max(site)
            overlapped = [
                label for label, a, b in _splice_regions(transcript) if a <= hi and lo <= b
            ]
    mismatches = best[0] if best else None
    covers = bool(best and best[3])
    variant_position = None
    if best is not None and covers:
        # the oligo pairs antiparallel: target offset o (5'->3' on the RNA) is oligo position size-o
        offsets = [k - best[2] for k in best[5] if best[2] <= k < best[2] + size]
        variant_position = min(size - o for o in offsets)
    check = OligoCheck(
        modality=modality,
        sequence=oligo,
        length_nt=len(oligo),
        length_ok=low_ok <= len(oligo) <= high_ok,
        target=best[1] if best else None,
        mismatches_to_mutant=mismatches,
        mismatches_to_wild_type=wt_best,
        covers_variant=covers,
        variant_position=variant_position,
        allele_selective=bool(wt_best) and mismatches == 0,
        gc_fraction=gc,
        gc_ok=0.40 <= gc <= 0.60,
        has_gggg="GGGG" in oligo,
        cpg_count=oligo.count("CG"),
        splice_sites_overlapped=overlapped,
    )
    name = modality.upper() if modality == "aso" else "siRNA guide"
    reasons.append(
        f"{'pass' if mismatches == 0 else 'fail'}: {name} is complementary to the patient "
        f"{check.target} with {mismatches} mismatch(es)"
    )
    reasons.append(
        f"{'pass' if covers else 'fail'}: the target site "
        f"{'covers' if covers else 'does not cover'} the variant"
    )
    reasons.append(
        f"{'pass' if check.length_ok else 'fail'}: length {len(oligo)} nt in {low_ok}-{high_ok}"
    )
    reasons.append(
        f"note: {wt_best} mismatch(es) to the best wild-type site"
        + (" (allele-selective)" if check.allele_selective else " (not allele-selective)")
    )
    if modality == "sirna" and variant_position is not None:
        central = 9 <= variant_position <= 12
        reasons.append(
            f"note: the variant pairs with guide position {variant_position}"
            + (" (central: favours allele selectivity)" if central else " (not central 9-12)")
        )
    reasons.append(f"note: GC {gc:.0%} ({'within' if check.gc_ok else 'outside'} 40-60%)")
    if check.has_gggg:
        reasons.append("note: contains GGGG (G-quadruplex liability)")
    if check.cpg_count:
        reasons.append(f"note: {check.cpg_count} CpG motif(s) (immune-stimulation liability)")
    if overlapped:
        reasons.append("note: overlaps " + ", ".join(overlapped))
    return check
