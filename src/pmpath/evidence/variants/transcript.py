"""Transcript models, c. <-> genome mapping, reference checks and protein consequences.

What it computes:

- :class:`TranscriptModel` from a user's JSON or GFF3 file (exons as 1-based inclusive genomic
  intervals, strand, genomic CDS start/end including the stop codon);
- the genomic position of any c. position (coding, 5' UTR ``c.-k``, 3' UTR ``c.*k``, intronic
  ``c.p+d``/``c.p-d``) on either strand, and back (:meth:`TranscriptModel.c_to_g`,
  :meth:`TranscriptModel.g_to_c`);
- :func:`map_variant`: an HGVS c./n./g. variant as a genomic change (+ strand bases, VCF-like),
  after checking every stated reference base against the FASTA; a wrong base is a one-line
  error such as ``c.1003C>T: reference base at chr1:12345 is G, expected C``;
- :func:`protein_effect`: the variant's effect on the protein (synonymous, missense, nonsense,
  frameshift, in-frame, start or stop loss, splice site, intronic, UTR) by translating the
  reference and patient mRNA, with the premature stop codon's position and the
  nonsense-mediated decay (NMD) prediction of :func:`nmd_escape`.

Method: the HGVS coordinate rules (den Dunnen et al., Hum Mutat 2016;37:564): c.1 is the A of
the ATG, there is no c.0, c.-1 is the base before it, c.*1 the base after the stop codon,
c.p+d lies d bases into the intron after exonic c.p. NMD: a premature stop codon in the last
exon, or in the 3'-most 50 nt of the penultimate exon, escapes NMD (Nagy & Maquat 1998; the rule
of the ClinGen PVS1 tree, Abou Tayoun et al., Hum Mutat 2018;39:1517).

Assumptions: one transcript; exons do not overlap; the CDS lies within the exons and its length
is a multiple of 3. No HGVS 3' shifting: positions are taken as written.

Heavy lifting: ``pyfaidx`` (BSD-3) reads the indexed FASTA; Biopython translates codons (the
standard genetic code). The coordinate walk is hand-written: no light library maps c. positions
over a user-supplied transcript model without a UTA database.
"""

from __future__ import annotations

import itertools
import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.variants.hgvs import HgvsVariant, Position, parse_hgvs


def translate(seq: str) -> str:
    """Return the one-letter translation of ``seq`` (standard code, ``*`` for stops) up to its
    last whole codon, via Biopython."""
    from Bio.Seq import Seq

    whole = len(seq) - len(seq) % 3
    return str(Seq(seq[:whole]).translate())  # type: ignore[no-untyped-call]


class Exon(FrozenModel):
    """One exon: 1-based inclusive genomic interval."""

    start: int = Field(ge=1)
    end: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Exon:
        if self.end < self.start:
            raise ValueError(f"exon end {self.end} lies before its start {self.start}")
        return self


class TranscriptModel(FrozenModel):
    """A transcript: exons, strand and CDS on one chromosome (genomic, 1-based, inclusive)."""

    name: str = Field(min_length=1, description="e.g. NM_001875.5")
    gene: str | None = None
    chrom: str = Field(min_length=1)
    strand: Literal["+", "-"]
    exons: list[Exon] = Field(min_length=1)
    cds_start: int = Field(ge=1, description="lowest genomic coordinate of the CDS")
    cds_end: int = Field(ge=1, description="highest genomic coordinate of the CDS (stop incl.)")

    @model_validator(mode="after")
    def _consistent(self) -> TranscriptModel:
        ordered = sorted(self.exons, key=lambda e: e.start)
        for left, right in itertools.pairwise(ordered):
            if right.start <= left.end:
                raise ValueError(
                    f"exons {left.start}-{left.end} and {right.start}-{right.end} overlap"
                )
        if self.cds_end < self.cds_start:
            raise ValueError("cds_end lies before cds_start")
        for edge in (self.cds_start, self.cds_end):
            if not any(e.start <= edge <= e.end for e in self.exons):
                raise ValueError(f"CDS edge {edge} is not inside an exon")
        return self

    # --- transcript coordinates (n. = 1..length over the spliced exons, 5'->3') ------------

    @cached_property
    def ordered_exons(self) -> list[Exon]:
        """Return the exons in transcription order (descending coordinates on the - strand)."""
        return sorted(self.exons, key=lambda e: e.start, reverse=self.strand == "-")

    @cached_property
    def length(self) -> int:
        """Return the spliced transcript length in nt."""
        return sum(e.end - e.start + 1 for e in self.exons)

    def g_to_n(self, g: int) -> int | None:
        """Return the n. position of genomic ``g``, or None if ``g`` is not exonic."""
        n = 0
        for exon in self.ordered_exons:
            if exon.start <= g <= exon.end:
                return n + (g - exon.start + 1 if self.strand == "+" else exon.end - g + 1)
            n += exon.end - exon.start + 1
        return None

    def n_to_g(self, n: int) -> int:
        """Return the genomic position of transcript position ``n`` (1..length)."""
        if not 1 <= n <= self.length:
            raise InvalidInputError(
                f"{self.name}: transcript position {n} is outside 1..{self.length}"
            )
        for exon in self.ordered_exons:
            size = exon.end - exon.start + 1
            if n <= size:
                return exon.start + n - 1 if self.strand == "+" else exon.end - n + 1
            n -= size
        raise AssertionError("unreachable")  # pragma: no cover

    @cached_property
    def cds_n_start(self) -> int:
        """Return the n. position of c.1 (the A of the ATG)."""
        edge = self.cds_start if self.strand == "+" else self.cds_end
        n = self.g_to_n(edge)
        assert n is not None
        return n

    @cached_property
    def cds_n_end(self) -> int:
        """Return the n. position of the last base of the stop codon."""
        edge = self.cds_end if self.strand == "+" else self.cds_start
        n = self.g_to_n(edge)
        assert n is not None
        return n

    @property
    def cds_length(self) -> int:
        """Return the CDS length in nt (stop codon included)."""
        return self.cds_n_end - self.cds_n_start + 1

    def exon_number(self, n: int) -> int:
        """Return the 1-based exon number (transcription order) holding n. position ``n``."""
        for number, exon in enumerate(self.ordered_exons, start=1):
            size = exon.end - exon.start + 1
            if n <= size:
                return number
            n -= size
        raise InvalidInputError(f"{self.name}: transcript position outside the transcript")

    def exon_end_n(self, number: int) -> int:
        """Return the n. position of the 3' end of exon ``number`` (1-based)."""
        return sum(e.end - e.start + 1 for e in self.ordered_exons[:number])

    # --- c. coordinates ------------------------------------------------------------------------

    def c_to_n(self, pos: Position) -> int:
        """Return the n. position of the exonic anchor of c. position ``pos`` (offset ignored)."""
        if pos.utr3:
            n = self.cds_n_end + pos.base
        elif pos.base < 0:
            n = self.cds_n_start + pos.base
        else:
            n = self.cds_n_start + pos.base - 1
        if not 1 <= n <= self.length:
            raise InvalidInputError(f"{self.name}: c.{pos} lies outside the transcript")
        return n

    def n_to_c(self, n: int) -> Position:
        """Return the c. position of transcript position ``n``."""
        if n < self.cds_n_start:
            return Position(base=n - self.cds_n_start)
        if n > self.cds_n_end:
            return Position(base=n - self.cds_n_end, utr3=True)
        return Position(base=n - self.cds_n_start + 1)

    def c_to_g(self, pos: Position) -> int:
        """Return the genomic position of c. position ``pos`` (HGVS rules, both strands).

        The exonic anchor is mapped through the exons; an intronic offset then moves +d on the
        + strand and -d on the - strand, and must land outside every exon and next to the
        anchor's exon boundary.
        """
        n = self.c_to_n(pos)
        g = self.n_to_g(n)
        if pos.offset == 0:
            return g
        number = self.exon_number(n)
        exon = self.ordered_exons[number - 1]
        at_3prime_edge = n == self.exon_end_n(number)
        at_5prime_edge = n == self.exon_end_n(number - 1) + 1
        if (pos.offset > 0 and not at_3prime_edge) or (pos.offset < 0 and not at_5prime_edge):
            raise InvalidInputError(
                f"{self.name}: c.{pos}: the anchor is not at the {'3' if pos.offset > 0 else '5'}'"
                f" end of exon {number} ({exon.start}-{exon.end})"
            )
        g += pos.offset if self.strand == "+" else -pos.offset
        if any(e.start <= g <= e.end for e in self.exons):
            raise InvalidInputError(f"{self.name}: c.{pos} lands in an exon, not in an intron")
        return g

    def g_to_c(self, g: int) -> Position:
        """Return the c. position of genomic ``g`` (intronic positions relative to the nearest
        exon edge, the upstream one on a tie, as HGVS does)."""
        n = self.g_to_n(g)
        if n is not None:
            return self.n_to_c(n)
        best: tuple[int, int] | None = None  # (distance, signed offset), anchor n
        anchor_n = 0
        for number in range(1, len(self.ordered_exons)):
            exon = self.ordered_exons[number - 1]
            following = self.ordered_exons[number]
            if self.strand == "+":
                inside = exon.end < g < following.start
                after, before = g - exon.end, following.start - g
            else:
                inside = following.end < g < exon.start
                after, before = exon.start - g, g - following.end
            if inside:
                if after <= before:
                    best, anchor_n = (after, after), self.exon_end_n(number)
                else:
                    best, anchor_n = (before, -before), self.exon_end_n(number) + 1
        if best is None:
            raise InvalidInputError(f"{self.name}: genomic {self.chrom}:{g} is outside the gene")
        anchor = self.n_to_c(anchor_n)
        return anchor.model_copy(update={"offset": best[1]})

    def codon_of(self, c_base: int) -> tuple[int, int]:
        """Return (codon number, 1-based position in the codon) of coding c. ``c_base``."""
        return (c_base - 1) // 3 + 1, (c_base - 1) % 3 + 1


def load_transcript(path: Path, transcript_id: str | None = None) -> TranscriptModel:
    """Return the transcript model in ``path``: JSON (the fields of :class:`TranscriptModel`) or
    GFF3 (an mRNA/transcript feature with its exon and CDS children; ``transcript_id`` picks one
    when the file holds several). InvalidInputError/NotFoundError naming the file and record."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"transcript file {path} does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read transcript file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"transcript file {path} is not UTF-8 text (byte {exc.start}): not JSON or GFF3"
        ) from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}"
            ) from None
        try:
            return TranscriptModel.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "transcript"
            raise InvalidInputError(f"{path}: {where}: {first['msg']}") from None
    return _from_gff3(path, text, transcript_id)


def _from_gff3(path: Path, text: str, transcript_id: str | None) -> TranscriptModel:
    from pmpath.io.gff import read_annotation_file

    annotation = read_annotation_file(path, what="transcript file")
    transcripts: dict[str, dict[str, str]] = {}
    exons: dict[str, list[Exon]] = {}
    cds: dict[str, list[tuple[int, int]]] = {}
    for feature in annotation.features:
        attributes = feature.attributes
        if feature.type in ("mRNA", "transcript"):
            ident = feature.id or attributes.get("transcript_id")
            if not ident:
                raise InvalidInputError(f"{path}: line {feature.line}: {feature.type} has no ID")
            transcripts[ident] = {
                "chrom": feature.seqid,
                "strand": feature.strand,
                "name": attributes.get("Name", ident),
                "gene": attributes.get("gene", attributes.get("gene_name", "")),
            }
        elif feature.type in ("exon", "CDS"):
            if not feature.parents:
                raise InvalidInputError(
                    f"{path}: line {feature.line}: {feature.type} has no Parent"
                )
            for parent in feature.parents:
                if feature.type == "exon":
                    exons.setdefault(parent, []).append(Exon(start=feature.start, end=feature.end))
                else:
                    cds.setdefault(parent, []).append((feature.start, feature.end))
    if not transcripts:
        raise InvalidInputError(f"{path}: no mRNA or transcript feature (GFF3 or JSON expected)")
    if transcript_id is None:
        if len(transcripts) > 1:
            names = ", ".join(sorted(transcripts))
            raise InvalidInputError(f"{path}: several transcripts ({names}); choose one")
        transcript_id = next(iter(transcripts))
    chosen = next((k for k, v in transcripts.items() if transcript_id in (k, v["name"])), None)
    if chosen is None:
        raise NotFoundError(f"{path}: no transcript {transcript_id!r}")
    info = transcripts[chosen]
    if chosen not in cds:
        raise InvalidInputError(f"{path}: transcript {chosen} has no CDS features")
    try:
        return TranscriptModel(
            name=info["name"],
            gene=info["gene"] or None,
            chrom=info["chrom"],
            strand=info["strand"],
            exons=exons.get(chosen, []),
            cds_start=min(s for s, _ in cds[chosen]),
            cds_end=max(e for _, e in cds[chosen]),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "transcript"
        raise InvalidInputError(f"{path}: transcript {chosen}: {where}: {first['msg']}") from None


# --- reference genome ------------------------------------------------------------------------


class Reference:
    """A FASTA reference with random access (pyfaidx through :func:`pmpath.io.fasta.open_indexed`:
    an index next to the file is used, else one is kept in pmpath's cache, never written next to
    the user's file)."""

    def __init__(self, path: Path) -> None:
        """Open the FASTA at ``path``; NotFoundError if missing, InvalidInputError if malformed."""
        from pmpath.io.fasta import open_indexed

        self.path = path
        self._fasta: Any = open_indexed(path)

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Return bases ``start..end`` (1-based, inclusive, + strand, upper case) of ``chrom``."""
        if chrom not in self._fasta:
            raise InvalidInputError(f"reference FASTA {self.path} has no sequence {chrom!r}")
        length = len(self._fasta[chrom])
        if start < 1 or end > length or end < start:
            raise InvalidInputError(
                f"{chrom}:{start}-{end} is outside reference sequence {chrom} (1-{length})"
            )
        return str(self._fasta[chrom][start - 1 : end])

    def length(self, chrom: str) -> int:
        """Return the length of sequence ``chrom``; InvalidInputError if absent."""
        if chrom not in self._fasta:
            raise InvalidInputError(f"reference FASTA {self.path} has no sequence {chrom!r}")
        return len(self._fasta[chrom])

    def close(self) -> None:
        """Close the FASTA file."""
        self._fasta.close()


# --- variants on the genome --------------------------------------------------------------------


class GenomicVariant(FrozenModel):
    """A variant on the + strand of the genome: replace ``ref`` at ``start..end`` by ``alt``.

    An insertion has ``ref == ""`` and lies between ``start - 1`` and ``start`` (end =
    start - 1), so every kind is one replacement.
    """

    hgvs: str
    chrom: str
    start: int
    end: int
    ref: str
    alt: str
    strand: Literal["+", "-"] = Field(description="strand of the transcript")
    hgvs_g: str
    vcf_pos: int = Field(description="VCF POS, left-normalised (Tan et al. 2015)")
    vcf_ref: str
    vcf_alt: str
    hgvs_3prime_rule: bool | None = Field(
        default=None,
        description="indels: the description is the 3'-most on the transcript (HGVS rule)",
    )

    def apply(self, window_start: int, window: str) -> str:
        """Return ``window`` (+ strand bases from ``window_start``) with the variant applied."""
        i = self.start - window_start
        j = self.end - window_start + 1
        if i < 0 or j > len(window):
            raise InvalidInputError(f"{self.hgvs}: the variant is outside the sequence window")
        return window[:i] + self.alt + window[j:]


def _g_description(chrom: str, low: int, high: int, span: str, alt: str, edit: str) -> str:
    """Return the g. description (+ strand) of an edit of bases ``low..high``."""
    where = f"{low}" if low == high else f"{low}_{high}"
    if edit == "substitution":
        return f"{chrom}:g.{low}{span}>{alt}"
    if edit == "deletion":
        return f"{chrom}:g.{where}del"
    if edit == "duplication":
        return f"{chrom}:g.{where}dup"
    if edit == "insertion":
        return f"{chrom}:g.{low}_{high}ins{alt}"
    return f"{chrom}:g.{where}delins{alt}"


def map_variant(
    variant: HgvsVariant | str, transcript: TranscriptModel, reference: Reference
) -> GenomicVariant:
    """Return the + strand genomic form of a c./n./g. variant, checking stated reference bases.

    Basis: :meth:`TranscriptModel.c_to_g` (HGVS coordinates). Stated bases (``C`` of ``C>T``,
    ``del``/``dup`` sequences) are compared with the FASTA on the transcript's strand; a mismatch
    raises InvalidInputError ``c.1003C>T: reference base at chr1:12345 is G, expected C``.
    """
    parsed = parse_hgvs(variant) if isinstance(variant, str) else variant
    if parsed.coordinate == "p":
        raise InvalidInputError(f"{parsed.text}: a p. description cannot be mapped to the genome")
    described_on = parsed.accession if parsed.coordinate != "g" else None
    if described_on is not None and described_on != transcript.name:
        raise InvalidInputError(
            f"{parsed.text}: the variant is described on {described_on}, but the transcript "
            f"model is {transcript.name} (coordinates differ between transcripts and versions)"
        )
    strand = transcript.strand if parsed.coordinate != "g" else "+"

    def genomic(pos: Position) -> int:
        if parsed.coordinate == "g":
            return pos.base
        if parsed.coordinate == "n":
            return (
                transcript.n_to_g(pos.base)
                if pos.offset == 0
                else transcript.c_to_g(
                    transcript.n_to_c(pos.base).model_copy(update={"offset": pos.offset})
                )
            )
        return transcript.c_to_g(pos)

    g1, g2 = genomic(parsed.start), genomic(parsed.end)
    low, high = min(g1, g2), max(g1, g2)
    chrom = transcript.chrom
    span = reference.fetch(chrom, low, high)
    stranded = span if strand == "+" else reverse_complement(span)
    label = parsed.description

    def plus(seq: str) -> str:
        return seq if strand == "+" else reverse_complement(seq)

    if parsed.ref is not None and parsed.ref != stranded:
        if len(parsed.ref) == 1:
            where = f"{chrom}:{low}"
            note = "" if strand == "+" else " (transcript on the minus strand)"
            raise InvalidInputError(
                f"{label}: reference base at {where} is {stranded}, expected {parsed.ref}{note}"
            )
        raise InvalidInputError(
            f"{label}: reference bases at {chrom}:{low}-{high} are {stranded}, "
            f"expected {parsed.ref}"
            + ("" if strand == "+" else " (transcript on the minus strand)")
        )
    if parsed.edit == "substitution":
        start, end, ref, alt = low, high, span, plus(parsed.alt or "")
    elif parsed.edit == "deletion":
        start, end, ref, alt = low, high, span, ""
    elif parsed.edit == "duplication":
        # a duplication inserts a copy right after the duplicated bases (3' on the transcript)
        insert_at = high + 1 if strand == "+" else low
        start, end, ref, alt = insert_at, insert_at - 1, "", span
    elif parsed.edit == "insertion":
        start, end, ref, alt = high, high - 1, "", plus(parsed.alt or "")
    else:
        start, end, ref, alt = low, high, span, plus(parsed.alt or "")
    vcf_pos, vcf_ref, vcf_alt = left_normalise(reference, chrom, start, ref, alt)
    three_prime = None
    if (ref == "") != (alt == "") and parsed.coordinate != "g":
        three_prime = not _can_shift_3prime(reference, chrom, start, end, ref or alt, ref == "",
                                            transcript.strand)  # fmt: skip
    return GenomicVariant(
        hgvs=parsed.text,
        chrom=chrom,
        start=start,
        end=end,
        ref=ref,
        alt=alt,
        strand=transcript.strand,
        hgvs_g=_g_description(chrom, low, high, span, plus(parsed.alt or ""), parsed.edit),
        vcf_pos=vcf_pos,
        vcf_ref=vcf_ref,
        vcf_alt=vcf_alt,
        hgvs_3prime_rule=three_prime,
    )


def left_normalise(
    reference: Reference, chrom: str, start: int, ref: str, alt: str
) -> tuple[int, str, str]:
    """Return (POS, REF, ALT) of a replacement of ``ref`` at ``start`` by ``alt``, as VCF writes
    it: trimmed, shifted left as far as the sequence allows, and with the anchor base before an
    indel (the normalisation of Tan et al., Bioinformatics 2015;31:2202)."""
    pos = start
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if not ref or not alt:
            if pos <= 1:
                break
            pos -= 1
            base = reference.fetch(chrom, pos, pos)
            ref, alt = base + ref, base + alt
            changed = True
        if not changed:
            break
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _can_shift_3prime(
    reference: Reference,
    chrom: str,
    start: int,
    end: int,
    seq: str,
    insertion: bool,
    strand: str,
) -> bool:
    """Return True if a pure deletion (``start..end``) or insertion (before ``start``) of ``seq``
    could move one base towards the transcript's 3' end (+ strand: right; - strand: left)."""
    length = reference.length(chrom)
    if strand == "+":
        nxt = start if insertion else end + 1
        return nxt <= length and reference.fetch(chrom, nxt, nxt) == seq[0]
    prev = start - 1
    return prev >= 1 and reference.fetch(chrom, prev, prev) == seq[-1]


# --- protein consequence -----------------------------------------------------------------------


Consequence = Literal[
    "synonymous", "missense", "nonsense", "frameshift", "inframe_deletion", "inframe_insertion",
    "inframe_delins", "stop_lost", "start_lost", "splice_site", "intronic", "5_prime_utr",
    "3_prime_utr",
]  # fmt: skip


class NmdPrediction(FrozenModel):
    """Whether a premature stop codon escapes nonsense-mediated decay, and why."""

    ptc_c_position: int = Field(description="c. position of the first base of the new stop")
    exon_number: int
    exon_count: int
    nt_to_last_junction: int | None = Field(
        description="nt from the stop's first base to the last exon-exon junction (None: last exon)"
    )
    escapes_nmd: bool
    reason: str


def nmd_escape(transcript: TranscriptModel, ptc_c_position: int) -> NmdPrediction:
    """Return the NMD prediction for a premature stop codon starting at c.``ptc_c_position``.

    Rule (Abou Tayoun 2018, after Nagy & Maquat 1998): the stop escapes NMD when it lies in the
    last exon, or in the 3'-most 50 nt of the penultimate exon (its first base at most 50 nt
    upstream of the last exon-exon junction); otherwise NMD is predicted.
    """
    n = transcript.c_to_n(Position(base=ptc_c_position))
    exon = transcript.exon_number(n)
    count = len(transcript.ordered_exons)
    if exon == count:
        return NmdPrediction(
            ptc_c_position=ptc_c_position,
            exon_number=exon,
            exon_count=count,
            nt_to_last_junction=None,
            escapes_nmd=True,
            reason=f"stop in the last exon ({exon} of {count}): escapes NMD",
        )
    distance = transcript.exon_end_n(count - 1) - n + 1
    escapes = distance <= 50
    where = "within" if escapes else "more than"
    verdict = "escapes NMD" if escapes else "NMD predicted"
    return NmdPrediction(
        ptc_c_position=ptc_c_position,
        exon_number=exon,
        exon_count=count,
        nt_to_last_junction=distance,
        escapes_nmd=escapes,
        reason=(
            f"stop in exon {exon} of {count}, {distance} nt upstream of the last exon-exon "
            f"junction ({where} 50 nt): {verdict}"
        ),
    )


class ProteinEffect(FrozenModel):
    """The effect of a variant on the protein of one transcript."""

    consequence: Consequence
    hgvs_p: str | None = Field(description="e.g. p.(Gln335Ter); None outside the CDS")
    first_changed_residue: int | None = None
    reference_protein_length: int
    nmd: NmdPrediction | None = None
    fraction_of_protein_removed: float | None = Field(
        default=None, description="for truncating variants: residues lost / reference length"
    )


def protein_effect(
    mapped: GenomicVariant, transcript: TranscriptModel, reference: Reference
) -> ProteinEffect:
    """Return the protein consequence of ``mapped`` on ``transcript``.

    Basis: the spliced reference and patient mRNAs are built from the FASTA and translated from
    c.1 (Biopython, standard code) until the first stop; the two proteins are compared. A stop
    before the reference stop is a premature termination codon, with :func:`nmd_escape`.
    Variants wholly outside exons are ``splice_site`` (within 2 nt of an exon: the canonical
    +/-1,2 dinucleotides) or ``intronic``.
    """
    from pmpath.evidence.variants.hgvs import AMINO_ACIDS

    exon_spans = transcript.ordered_exons
    touches_exon = any(
        e.start <= max(mapped.end, mapped.start) and min(mapped.start, mapped.end) <= e.end
        for e in exon_spans
    ) or (mapped.ref == "" and any(e.start < mapped.start <= e.end for e in exon_spans))
    mrna_ref = spliced_mrna(transcript, reference, None)
    protein_ref = translate(mrna_ref[transcript.cds_n_start - 1 :]).split("*")[0]
    length = len(protein_ref)
    if not touches_exon:
        near = min(
            min(abs(mapped.start - e.start), abs(mapped.start - e.end),
                abs(mapped.end - e.start), abs(mapped.end - e.end))
            for e in exon_spans
        )  # fmt: skip
        kind: Consequence = "splice_site" if near <= 2 else "intronic"
        return ProteinEffect(consequence=kind, hgvs_p=None, reference_protein_length=length)
    exonic_n = [
        n
        for g in range(min(mapped.start, mapped.end), max(mapped.start, mapped.end) + 1)
        if (n := transcript.g_to_n(g)) is not None
    ]
    if exonic_n and max(exonic_n) < transcript.cds_n_start:
        return ProteinEffect(
            consequence="5_prime_utr", hgvs_p="p.(=)", reference_protein_length=length
        )
    if exonic_n and min(exonic_n) > transcript.cds_n_end:
        return ProteinEffect(
            consequence="3_prime_utr", hgvs_p="p.(=)", reference_protein_length=length
        )
    mrna_alt = spliced_mrna(transcript, reference, mapped)
    protein_alt_full = translate(mrna_alt[transcript.cds_n_start - 1 :])
    stop = protein_alt_full.find("*")
    protein_alt = protein_alt_full if stop < 0 else protein_alt_full[:stop]
    delta = len(mrna_alt) - len(mrna_ref)
    if protein_alt == protein_ref:
        return ProteinEffect(
            consequence="synonymous", hgvs_p="p.(=)", reference_protein_length=length
        )
    first = next(
        (i for i, (a, b) in enumerate(zip(protein_ref, protein_alt, strict=False)) if a != b),
        min(len(protein_ref), len(protein_alt)),
    )
    residue = first + 1
    ref_aa = protein_ref[first] if first < length else "*"
    alt_aa = protein_alt_full[first] if first < len(protein_alt_full) else "X"
    if residue == 1 and ref_aa == "M":
        return ProteinEffect(
            consequence="start_lost",
            hgvs_p="p.(Met1?)",
            first_changed_residue=1,
            reference_protein_length=length,
        )
    nmd = None
    removed = None
    if delta % 3 != 0:
        consequence: Consequence = "frameshift"
        new_aa = AMINO_ACIDS.get(alt_aa, "Xaa") if alt_aa not in ("X", "*") else ""
        ter = f"Ter{stop - first + 1}" if stop >= first else "Ter?"
        hgvs_p = f"p.({AMINO_ACIDS[ref_aa]}{residue}{new_aa}fs{ter})"
    elif first >= length:
        consequence = "stop_lost"
        new_aa = AMINO_ACIDS.get(alt_aa, "Xaa") if alt_aa != "X" else "Xaa"
        hgvs_p = f"p.(Ter{residue}{new_aa}extTer?)"
    elif alt_aa == "*":
        consequence = "nonsense"
        hgvs_p = f"p.({AMINO_ACIDS[ref_aa]}{residue}Ter)"
    elif delta == 0:
        consequence = "missense"
        hgvs_p = f"p.({AMINO_ACIDS[ref_aa]}{residue}{AMINO_ACIDS[alt_aa]})"
    else:
        consequence = (
            "inframe_deletion"
            if delta < 0
            else "inframe_insertion"
            if delta > 0
            else "inframe_delins"
        )
        hgvs_p = f"p.({AMINO_ACIDS[ref_aa]}{residue}{'del' if delta < 0 else 'delins'})"
    if consequence in ("nonsense", "frameshift") and stop >= 0 and stop < length:
        # the stop's first base in the patient CDS, back in reference c. numbering
        nmd = nmd_escape(transcript, max(1, 3 * stop + 1 - delta))
        removed = round((length - stop) / length, 4)
    return ProteinEffect(
        consequence=consequence,
        hgvs_p=hgvs_p,
        first_changed_residue=residue,
        reference_protein_length=length,
        nmd=nmd,
        fraction_of_protein_removed=removed,
    )


def spliced_mrna(
    transcript: TranscriptModel, reference: Reference, variant: GenomicVariant | None
) -> str:
    """Return the spliced mRNA (transcript strand, 5'->3') of the reference allele, or of the
    allele carrying ``variant`` (its exonic part applied), built from the FASTA."""
    low = min(e.start for e in transcript.exons)
    high = max(e.end for e in transcript.exons)
    genome = reference.fetch(transcript.chrom, low, high)
    if variant is not None:
        i = variant.start - low
        j = variant.end - low + 1
        marked = list(genome)
        # mark deleted bases, attach inserted bases to the base before (or after) the site
        for k in range(max(i, 0), min(j, len(marked))):
            marked[k] = ""
        if variant.alt:
            if 0 <= i < len(marked):
                marked[i] = variant.alt + (marked[i] if j <= i else "")
            else:
                raise InvalidInputError(f"{variant.hgvs}: the variant lies outside the gene")
        pieces = marked
    else:
        pieces = list(genome)
    exon_pieces = [
        "".join(pieces[e.start - low : e.end - low + 1])
        for e in sorted(transcript.exons, key=lambda e: e.start)
    ]
    plus = "".join(exon_pieces)
    return plus if transcript.strand == "+" else reverse_complement(plus)
