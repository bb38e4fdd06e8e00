"""Variant-aware off-target search: sites that exist only on an alternative allele of a VCF.

What it computes: for every small variant of a VCF (population variants with their allele
frequency, or a patient's own genome), the candidate sites of the guides on the alternative
haplotype around the variant that overlap the changed bases and that the reference genome does
not have (or has only with more mismatches), with the variant and its allele frequency.

Method: the approach of variant-aware searches such as CRISPRitz (Cancellieri et al.,
Bioinformatics 2020) and CRISPR-HAWK, written from their descriptions. While the genome streams
past (:func:`pmpath.evidence.offtarget.scan.search_genome`), each variant's window (the variant
plus one site length on each side) is rebuilt with the alternative allele; the windows of a
block are joined with N separators (a site never spans an N) and scanned in one call of the
same compiled search, and each hit is mapped back to reference coordinates. An insertion or
deletion in a repeat slides between equivalent positions (the same haplotype): a site counts as
created by it only if it overlaps the changed bases at every such position (otherwise it is a
reference site, shifted), and is reported at the leftmost one (the VCF normalisation of
``bcftools norm``). Variants are taken one at a time (no phasing, no combinations of nearby
variants). REF must match the genome, which
catches a VCF from another build. Coordinates: VCF POS is 1-based; everything here is 0-based.

Assumptions and limits: SNVs and indels whose REF and ALT are at most 50 bases of A/C/G/T;
symbolic (``<DEL>``), breakend, ``*`` and N-containing alleles are skipped and counted. The
allele frequency is INFO ``AF`` (per ALT), else ``AC/AN``, else none. The variants are held in
memory: for a population-scale VCF, filter by ``min_allele_frequency``.

Heavy lifting: the scan kernel; VCF lines are split by hand (eight tab-separated columns; the
position, alleles and two INFO keys are all that is needed), so no htslib binding is required.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.offtarget.genome import N_CODE, CodeArray, decode, encode
from pmpath.evidence.offtarget.scan import BufferHit, Hit, SiteFinder

MAX_ALLELE_BP = 50


@dataclass(frozen=True)
class VcfVariant:
    """One alternative allele of a VCF record (0-based ``pos_bp`` of REF's first base)."""

    contig: str
    pos_bp: int
    ref: str
    alt: str
    variant_id: str | None
    allele_frequency: float | None

    @property
    def label(self) -> str:
        """``chrom:POS:REF>ALT`` with the 1-based VCF position."""
        return f"{self.contig}:{self.pos_bp + 1}:{self.ref}>{self.alt}"


@dataclass(frozen=True)
class VariantHit:
    """A site found on an alternative allele; ``reference_mismatches`` is the same site's
    mismatch count on the reference (None: the reference has no such site)."""

    hit: Hit
    variant: VcfVariant
    reference_mismatches: int | None


@dataclass
class VcfSummary:
    """What was read from the VCF."""

    records: int = 0
    alleles_used: int = 0
    alleles_skipped: int = 0
    below_min_frequency: int = 0
    by_contig: dict[str, list[VcfVariant]] = field(default_factory=dict)


def _frequency(info: str, index: int, n_alts: int) -> float | None:
    values: dict[str, str] = {}
    for item in info.split(";"):
        key, _, value = item.partition("=")
        if key in ("AF", "AC", "AN"):
            values[key] = value
    try:
        if "AF" in values:
            parts = values["AF"].split(",")
            if len(parts) == n_alts and parts[index] not in (".", ""):
                return float(parts[index])
        if "AC" in values and "AN" in values:
            counts = values["AC"].split(",")
            total = float(values["AN"])
            if len(counts) == n_alts and total > 0:
                return float(counts[index]) / total
    except ValueError:
        return None
    return None


def read_vcf(path: Path, contigs: list[str], *, min_allele_frequency: float = 0.0) -> VcfSummary:
    """Return the usable alternative alleles of the VCF at ``path`` (plain or gzip/bgzip), by
    contig, sorted by position.

    InvalidInputError (one line) for a malformed record (with its line number) or a chromosome
    that is not among the genome's ``contigs`` (with the name that would match, if adding or
    removing a ``chr`` prefix would); NotFoundError if the file does not exist.
    """
    if not path.is_file():
        raise NotFoundError(f"VCF {path} does not exist")
    known = set(contigs)
    summary = VcfSummary()
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    seen_header = False
    with opener(path, "rt", encoding="utf-8") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.startswith("##"):
                    continue
                if line.startswith("#"):
                    seen_header = True
                    continue
                if not line.strip():
                    continue
                if not seen_header:
                    raise InvalidInputError(f"VCF {path} line {number}: no #CHROM header line")
                _parse_record(path, number, line, known, contigs, summary, min_allele_frequency)
        except (UnicodeDecodeError, OSError, EOFError) as exc:
            raise InvalidInputError(f"VCF {path} cannot be read: {exc}") from None
    for variants in summary.by_contig.values():
        variants.sort(key=lambda v: (v.pos_bp, v.ref, v.alt))
    return summary


def _parse_record(
    path: Path,
    number: int,
    line: str,
    known: set[str],
    contigs: list[str],
    summary: VcfSummary,
    min_allele_frequency: float,
) -> None:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 8:
        raise InvalidInputError(
            f"VCF {path} line {number}: {len(fields)} tab-separated columns; a record has 8+"
        )
    chrom, pos_text, vid, ref, alts, _, _, info = fields[:8]
    if chrom not in known:
        hint = ""
        other = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
        if other in known:
            hint = f" (the genome calls it {other!r}: rename the VCF's chromosomes)"
        shown = ", ".join(contigs[:3]) + (", ..." if len(contigs) > 3 else "")
        raise InvalidInputError(
            f"VCF {path} line {number}: chromosome {chrom!r} is not in the genome ({shown}){hint}"
        )
    try:
        pos = int(pos_text) - 1
    except ValueError:
        raise InvalidInputError(
            f"VCF {path} line {number}: POS {pos_text!r} is not a number"
        ) from None
    if pos < 0:
        raise InvalidInputError(f"VCF {path} line {number}: POS {pos_text} is below 1")
    summary.records += 1
    alt_list = alts.split(",")
    ref = ref.upper()
    for index, alt in enumerate(alt_list):
        alt = alt.upper()
        usable = (
            alt not in (".", "*")
            and not alt.startswith("<")
            and all(ch in "ACGT" for ch in ref + alt)
            and 0 < len(ref) <= MAX_ALLELE_BP
            and 0 < len(alt) <= MAX_ALLELE_BP
            and ref != alt
        )
        if not usable:
            summary.alleles_skipped += 1
            continue
        frequency = _frequency(info, index, len(alt_list))
        if min_allele_frequency > 0 and (frequency is None or frequency < min_allele_frequency):
            summary.below_min_frequency += 1
            continue
        summary.alleles_used += 1
        summary.by_contig.setdefault(chrom, []).append(
            VcfVariant(chrom, pos, ref, alt, None if vid in (".", "") else vid, frequency)
        )


def _trim(variant: VcfVariant) -> tuple[int, str, str]:
    """(0-based position, REF core, ALT core) without the bases REF and ALT share."""
    ref, alt, pos = variant.ref, variant.alt, variant.pos_bp
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _placements(
    buffer: CodeArray, buffer_start: int, pos: int, ref_core: str, alt_core: str
) -> tuple[int, int, str, str]:
    """Leftmost and rightmost equivalent positions of a pure insertion or deletion within the
    buffer (the indel slides along a repeat and gives the same haplotype), with the REF and ALT
    cores at the leftmost one; other variants do not move."""
    if ref_core and alt_core:
        return pos, pos, ref_core, alt_core
    lo, hi = buffer_start, buffer_start + len(buffer)

    def base(i: int) -> int:
        return int(buffer[i - buffer_start])

    if ref_core:  # deletion of genome[p : p + n]
        n = len(ref_core)
        left = pos
        while left - 1 >= lo and base(left - 1) == base(left + n - 1) and base(left - 1) < 4:
            left -= 1
        right = pos
        while right + n < hi and base(right + n) == base(right) and base(right) < 4:
            right += 1
        return left, right, decode(buffer[left - lo : left - lo + n]), ""
    codes = [int(c) for c in encode(alt_core)]  # insertion before genome[pos]
    left, inserted = pos, list(codes)
    while left - 1 >= lo and base(left - 1) == inserted[-1]:
        inserted = [base(left - 1), *inserted[:-1]]
        left -= 1
    right, moving = pos, list(codes)
    while right < hi and base(right) == moving[0]:
        moving = [*moving[1:], base(right)]
        right += 1
    return left, right, "", decode(np.array(inserted, np.uint8))


class VariantScanner:
    """Collects alternative-allele sites while the genome streams past (see module docstring).

    Pass :meth:`on_window` to ``search_genome(..., on_window=...)`` with
    ``overlap_bp=scanner.overlap_bp``, then call :meth:`finish` with the reference hits.
    """

    def __init__(self, finder: SiteFinder, variants: dict[str, list[VcfVariant]], genome: str):
        self.finder = finder
        self.variants = variants
        self.genome_name = genome
        self.flank_bp = finder.max_site_bp - 1
        self.overlap_bp = 2 * self.flank_bp + MAX_ALLELE_BP
        self._next: dict[str, int] = {}
        self._last: tuple[str, int, CodeArray] | None = None
        self.candidates: list[VariantHit] = []

    def on_window(self, contig: str, buffer_start: int, buffer: CodeArray, first_new: int) -> None:
        """Handle the variants whose window ends inside this buffer (all that remain of the
        previous contig when the contig changes)."""
        if self._last is not None and self._last[0] != contig:
            self._drain(*self._last, final=True)
        self._last = (contig, buffer_start, buffer)
        self._drain(contig, buffer_start, buffer, final=False)

    def _drain(self, contig: str, buffer_start: int, buffer: CodeArray, *, final: bool) -> None:
        variants = self.variants.get(contig, [])
        i = self._next.get(contig, 0)
        buffer_end = buffer_start + len(buffer)
        batch: list[VcfVariant] = []
        while i < len(variants):
            v = variants[i]
            if not final and v.pos_bp + len(v.ref) + self.flank_bp > buffer_end:
                break
            batch.append(v)
            i += 1
        self._next[contig] = i
        if batch:
            self._scan_batch(contig, buffer_start, buffer, batch)

    def _scan_batch(
        self, contig: str, buffer_start: int, buffer: CodeArray, batch: list[VcfVariant]
    ) -> None:
        pieces: list[CodeArray] = []
        meta: list[tuple[int, VcfVariant, int, int, int, int, int]] = []
        offset = 0
        separator = np.full(1, N_CODE, np.uint8)
        buffer_end = buffer_start + len(buffer)
        for v in batch:
            if v.pos_bp + len(v.ref) > buffer_end:
                raise InvalidInputError(
                    f"VCF variant {v.label} lies beyond the end of contig {contig} "
                    f"({buffer_end} bp) in genome {self.genome_name}"
                )
            found = decode(buffer[v.pos_bp - buffer_start : v.pos_bp - buffer_start + len(v.ref)])
            if found != v.ref and "N" not in found:
                raise InvalidInputError(
                    f"VCF variant {v.label}: REF {v.ref} does not match the genome "
                    f"({found}) in {self.genome_name}: is the VCF on the same build?"
                )
            pos, ref_core, alt_core = _trim(v)
            left_pos, right_pos, ref_core, alt_core = _placements(
                buffer, buffer_start, pos, ref_core, alt_core
            )
            w_start = max(left_pos - self.flank_bp, buffer_start)
            w_end = min(right_pos + len(ref_core) + self.flank_bp, buffer_end)
            left = buffer[w_start - buffer_start : left_pos - buffer_start]
            right = buffer[left_pos + len(ref_core) - buffer_start : w_end - buffer_start]
            window = np.concatenate([left, encode(alt_core), right])
            meta.append(
                (offset, v, w_start, left_pos, right_pos - left_pos, len(ref_core), len(alt_core))
            )
            pieces.extend([window, separator])
            offset += len(window) + 1
        joined = np.concatenate(pieces)
        starts = np.array([m[0] for m in meta])
        for hit in self.finder.find(joined):
            index = int(np.searchsorted(starts, hit.start, side="right")) - 1
            w_offset, v, w_start, pos, shift, ref_len, alt_len = meta[index]
            mapped = self._map(hit, w_offset, w_start, pos, shift, ref_len, alt_len)
            if mapped is not None:
                self.candidates.append(VariantHit(self._hit(contig, hit, *mapped), v, None))

    @staticmethod
    def _map(
        hit: BufferHit,
        w_offset: int,
        w_start: int,
        pos: int,
        shift: int,
        ref_len: int,
        alt_len: int,
    ) -> tuple[int, int] | None:
        """Reference (start, end) of a window hit that overlaps the changed bases wherever the
        indel is placed in its repeat (leftmost ``pos`` to ``pos + shift``), else None: a hit
        that misses them for some placement is a reference site shifted by the indel."""
        s, e = hit.start - w_offset, hit.end - w_offset
        j = pos - w_start  # where the ALT core starts in the window (leftmost placement)
        if not (s < j + alt_len and e > j + shift):
            return None

        def to_ref(x: int) -> int:  # a window boundary (0..len) to a reference boundary
            if x <= j:
                return w_start + x
            if x >= j + alt_len:
                return w_start + x - alt_len + ref_len
            return pos  # inside inserted bases

        start = to_ref(s)
        end = to_ref(e) if not (j < e < j + alt_len) else pos + ref_len
        return start, max(end, start + 1)

    @staticmethod
    def _hit(contig: str, hit: BufferHit, start: int, end: int) -> Hit:
        return Hit(
            guide_index=hit.guide_index,
            contig=contig,
            start_bp=start,
            end_bp=end,
            strand=hit.strand,
            mismatches=hit.mismatches,
            bulge_type=hit.bulge_type,
            bulge_size=hit.bulge_size,
            site=hit.site,
            pam=hit.pam,
            aligned=hit.aligned,
        )

    def finish(self, reference: list[Hit]) -> list[VariantHit]:
        """Return the alternative-allele sites the reference lacks or has only with more
        mismatches (after the last buffer has been seen), one per site and variant."""
        if self._last is not None:
            self._drain(*self._last, final=True)
            self._last = None
        ref_mm: dict[tuple[int, str, int, int, str, str, int], int] = {}
        for h in reference:
            key = (
                h.guide_index,
                h.contig,
                h.start_bp,
                h.end_bp,
                h.strand,
                h.bulge_type,
                h.bulge_size,
            )
            ref_mm[key] = min(ref_mm.get(key, h.mismatches), h.mismatches)
        out: dict[tuple[object, ...], VariantHit] = {}
        for cand in self.candidates:
            h = cand.hit
            key = (
                h.guide_index,
                h.contig,
                h.start_bp,
                h.end_bp,
                h.strand,
                h.bulge_type,
                h.bulge_size,
            )
            before = ref_mm.get(key)
            if before is not None and before <= h.mismatches:
                continue
            full = (*key, cand.variant.label)
            if full not in out or h.mismatches < out[full].hit.mismatches:
                out[full] = VariantHit(h, cand.variant, before)
        return sorted(
            out.values(),
            key=lambda c: (c.hit.contig, c.hit.start_bp, c.hit.strand, c.variant.label),
        )
