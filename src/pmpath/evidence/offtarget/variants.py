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
symbolic (``<DEL>``), breakend, ``*`` and N-containing alleles are skipped and counted, as are
alleles of records that did not PASS their filters and, for a sample's VCF, alleles its GT does
not carry. The allele frequency is INFO ``AF`` (per ALT), else ``AC/AN``, else none. A bgzipped,
tabix-indexed VCF is read one contig at a time as the genome streams past; another is held in
memory (filter a population-scale one by ``min_allele_frequency``, or index it).

Heavy lifting: the scan kernel; the VCF is read by htslib through pysam (:mod:`pmpath.io.vcf`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.genome import N_CODE, CodeArray, decode, encode
from pmpath.evidence.offtarget.scan import BufferHit, Hit, SiteFinder
from pmpath.io.vcf import MAX_ALLELE_BP, VcfAllele, VcfCounts, VcfReader

VcfVariant = VcfAllele
"""One alternative allele of a VCF record (:class:`pmpath.io.vcf.VcfAllele`)."""


@dataclass(frozen=True)
class VariantHit:
    """A site found on an alternative allele; ``reference_mismatches`` is the same site's
    mismatch count on the reference (None: the reference has no such site)."""

    hit: Hit
    variant: VcfVariant
    reference_mismatches: int | None


class _ContigAlleles(Mapping[str, list[VcfVariant]]):
    """The alleles of an indexed VCF by contig, read through the index when a contig is first
    asked for; only the last contig's are held (the scan asks for contigs in genome order)."""

    def __init__(self, reader: VcfReader) -> None:
        self._reader = reader
        self._names = reader.indexed_contigs
        self._current: tuple[str, list[VcfVariant]] | None = None

    def __getitem__(self, contig: str) -> list[VcfVariant]:
        if contig not in self._names:
            raise KeyError(contig)
        if self._current is None or self._current[0] != contig:
            alleles = sorted(self._reader.alleles(contig), key=lambda v: (v.pos_bp, v.ref, v.alt))
            self._current = (contig, alleles)
        return self._current[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass
class VcfSummary:
    """What was read from the VCF (for an indexed VCF read lazily: complete after the scan)."""

    counts: VcfCounts
    by_contig: Mapping[str, list[VcfVariant]]

    @property
    def records(self) -> int:
        return self.counts.records

    @property
    def alleles_used(self) -> int:
        return self.counts.alleles_used

    @property
    def alleles_skipped(self) -> int:
        return self.counts.alleles_skipped

    @property
    def below_min_frequency(self) -> int:
        return self.counts.below_min_frequency


def _check_contigs(path: Path, names: Iterable[str], contigs: list[str]) -> None:
    known = set(contigs)
    for chrom in sorted(set(names) - known):
        hint = ""
        other = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
        if other in known:
            hint = f" (the genome calls it {other!r}: rename the VCF's chromosomes)"
        shown = ", ".join(contigs[:3]) + (", ..." if len(contigs) > 3 else "")
        raise InvalidInputError(
            f"VCF {path}: chromosome {chrom!r} is not in the genome ({shown}){hint}"
        )


def read_vcf(
    path: Path,
    contigs: list[str],
    *,
    min_allele_frequency: float = 0.0,
    sample: str | None = None,
    pass_only: bool = True,
) -> VcfSummary:
    """Return the usable alternative alleles of the VCF at ``path`` by contig, sorted by
    position (:class:`pmpath.io.vcf.VcfReader`: FILTER and GT honoured, multi-allelic records
    split). A bgzipped VCF with a tabix/CSI index is read contig by contig while the genome
    streams (bounded memory); another is read whole here.

    InvalidInputError (one line) for a record htslib cannot parse (with its line number) or a
    chromosome that is not among the genome's ``contigs`` (with the name that would match, if
    adding or removing a ``chr`` prefix would); NotFoundError if the file does not exist.
    """
    reader = VcfReader(
        path, sample=sample, pass_only=pass_only, min_allele_frequency=min_allele_frequency
    )
    if reader.indexed:
        _check_contigs(path, reader.indexed_contigs, contigs)
        return VcfSummary(reader.counts, _ContigAlleles(reader))
    by_contig: dict[str, list[VcfVariant]] = {}
    for allele in reader.alleles():
        by_contig.setdefault(allele.contig, []).append(allele)
    _check_contigs(path, reader.counts.contigs, contigs)
    for variants in by_contig.values():
        variants.sort(key=lambda v: (v.pos_bp, v.ref, v.alt))
    reader.close()
    return VcfSummary(reader.counts, by_contig)


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

    def __init__(
        self, finder: SiteFinder, variants: Mapping[str, list[VcfVariant]], genome: str
    ) -> None:
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
