"""Genome-wide candidate off-target search: every site matching guide + PAM with up to k
mismatches and, optionally, one DNA or RNA bulge, on both strands, for several guides at once.

Method: exhaustive, index-free scanning, the approach of Cas-OFFinder (Bae, Park & Kim,
Bioinformatics 2014;30:1473), written from the paper's description. Each alignment a site may
have with a guide is a *layout*: the guide's bases paired with DNA bases (mismatches counted),
plus, for a bulged layout, DNA bases paired with no guide base (a DNA bulge of size b inserted
after guide position j) or guide bases paired with no DNA base (an RNA bulge of size b at guide
positions j+1..j+b), and the PAM, which must fit its IUPAC pattern exactly. Bulges are single,
contiguous and interior (1 <= j, and at least one paired guide base on each side), the
definition of Cas-OFFinder 3 and CRISPRitz. Every layout is anchored at the PAM, so one PAM test
per genome position and strand filters all guides and layouts of a pass; the - strand is
searched by matching the reverse-complemented layouts against the + strand.

Definitions (the contract the tests check against a brute-force search):

- a site is reported once per (guide, contig, start, end, strand, bulge type, bulge size), with
  the fewest mismatches any layout gives it (ties: the bulge nearest the guide's 5' end);
- genome N (or any IUPAC ambiguity letter): with ``genome_n="skip"`` (the default) a site
  whose span holds one is not reported (N runs and assembly gaps are skipped); with
  ``genome_n="mismatch"`` it is, and each such base facing a guide base counts as a mismatch
  (Cas-OFFinder's behaviour); either way an N among the PAM's definite bases fails the PAM;
- coordinates are 0-based, half-open, on the + strand; the site text reads 5'->3' on the site's
  strand, protospacer then PAM (or PAM first for a 5' PAM), mismatched and DNA-bulge bases in
  lower case, '-' for each guide base of an RNA bulge.

Heavy lifting: the inner loops are compiled with numba (:mod:`.kernel`) and release the GIL, so
the anchors of a block are split among threads; the letter scan's loop also exists in C
(:mod:`.native`), used where a C compiler is found, since loading numba costs more than that
scan of a 100-Mb genome. No library offers an exhaustive mismatch- and
bulge-tolerant PAM-anchored scan in Python (Cas-OFFinder is a C++/OpenCL program), hence this
module.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from queue import Empty, Full, Queue
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.design.editors import IUPAC
from pmpath.evidence.offtarget.genome import BASE_CODES, CodeArray, Genome

BulgeType = Literal["none", "DNA", "RNA"]
Strand = Literal["+", "-"]

MAX_MISMATCHES = 6
MAX_BULGE = 2


class Guide(BaseModel):
    """A guide spacer (DNA letters, 5'->3', without the PAM) and its name."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    sequence: str

    @field_validator("sequence")
    @classmethod
    def _acgt(cls, value: str) -> str:
        return check_guide(value)


def check_guide(sequence: str) -> str:
    """Return ``sequence`` upper-cased; InvalidInputError unless it is 10-40 letters of ACGT."""
    upper = sequence.strip().upper()
    bad = sorted({ch for ch in upper if ch not in "ACGT"})
    if bad:
        raise InvalidInputError(
            f"guide {sequence!r} has {', '.join(repr(b) for b in bad)}: only A, C, G, T allowed"
        )
    if not 10 <= len(upper) <= 40:
        raise InvalidInputError(f"guide {sequence!r} has {len(upper)} bases; allowed 10 to 40")
    return upper


def check_pam(pattern: str) -> str:
    """Return the IUPAC PAM ``pattern`` upper-cased; InvalidInputError if it does not parse."""
    upper = pattern.strip().upper()
    bad = sorted({ch for ch in upper if ch not in IUPAC})
    if not upper or bad:
        what = "is empty" if not upper else f"has {', '.join(repr(b) for b in bad)}"
        raise InvalidInputError(f"PAM pattern {pattern!r} {what}; use IUPAC letters (e.g. NGG)")
    if len(upper) > 12:
        raise InvalidInputError(f"PAM pattern {pattern!r} is longer than 12 bases")
    return upper


class ScanSettings(BaseModel):
    """What counts as a candidate site."""

    model_config = ConfigDict(frozen=True)

    pam: str = Field(description="IUPAC PAM, 5'->3' on the protospacer strand")
    pam_side: Literal["3prime", "5prime"] = "3prime"
    max_mismatches: int = Field(default=4, ge=0, le=MAX_MISMATCHES)
    dna_bulge: int = Field(default=0, ge=0, le=MAX_BULGE, description="largest DNA bulge (nt)")
    rna_bulge: int = Field(default=0, ge=0, le=MAX_BULGE, description="largest RNA bulge (nt)")
    genome_n: Literal["skip", "mismatch"] = Field(
        default="skip",
        description="sites with genome N/IUPAC letters: skipped, or the letter is a mismatch",
    )

    @field_validator("pam")
    @classmethod
    def _pam(cls, value: str) -> str:
        return check_pam(value)


@dataclass(frozen=True)
class Layout:
    """One alignment shape of one guide on one strand (see the module docstring)."""

    guide_index: int
    strand: Strand
    bulge_type: BulgeType
    bulge_size: int
    bulge_after: int  # guide bases before the bulge (0 when there is none)
    columns: tuple[tuple[str, int], ...]  # ('G'|'R', guide index) | ('D', -1) | ('P', pam index)


@dataclass(frozen=True)
class BufferHit:
    """A site found in a buffer: positions relative to the buffer's first base."""

    guide_index: int
    start: int
    end: int
    strand: Strand
    mismatches: int
    bulge_type: BulgeType
    bulge_size: int
    site: str
    pam: str
    aligned: str  # the DNA base facing each guide base, 5'->3' ('-' for an RNA bulge)


@dataclass(frozen=True)
class Hit:
    """A site in the genome (0-based, half-open, + strand coordinates)."""

    guide_index: int
    contig: str
    start_bp: int
    end_bp: int
    strand: Strand
    mismatches: int
    bulge_type: BulgeType
    bulge_size: int
    site: str
    pam: str
    aligned: str


@dataclass(frozen=True)
class _WordGroup:
    """The arrays :func:`.kernel.scan_words` reads for the guides of one length (strand s in
    row s; ``variant[s, g]`` is the unbulged layout of member g on strand s)."""

    span: int
    members: np.ndarray
    pam_tab: np.ndarray
    pam_shift: np.ndarray
    pam_mask: np.ndarray
    pam_off: np.ndarray
    pam_allow: np.ndarray
    pat: np.ndarray
    care: np.ndarray
    g_off: np.ndarray
    g_code: np.ndarray
    variant: np.ndarray


LETTER_SCAN_MAX_GUIDES = 6
"""Up to this many guides an unbulged scan of a plain FASTA compares the file's letters
directly (:func:`.kernel.scan_ascii`, whose cost grows with the guides); more go through the
packed-word kernel, which tests all guides at once after one PAM test."""

NATIVE_LETTER_SCAN_MAX_GUIDES = 10
"""The same bound when the letter loop runs in C (:mod:`.native`): at 10 guides it costs what
the packed-word kernel does on a 3.1-Gb genome (17.7 s against 17.9 s end to end) and less on
small ones, where it spares loading numba (100 Mb: 1.43 s against 1.93 s)."""


@dataclass(frozen=True)
class _LetterGroup:
    """The arrays :func:`.kernel.scan_ascii` reads for the guides of one length: a
    :class:`_WordGroup`'s PAM offsets, guide offsets and codes as lower-case letters."""

    word: _WordGroup
    pam_letters: np.ndarray
    g_letters: np.ndarray

    @classmethod
    def of(cls, group: _WordGroup) -> _LetterGroup:
        letters = np.frombuffer(b"acgt", np.uint8)
        pam_letters = np.zeros((2, group.pam_off.shape[1], 4), np.uint8)
        for s in range(2):
            for r in range(group.pam_off.shape[1]):
                for c in range(4):
                    if group.pam_allow[s, r] >> c & 1:
                        pam_letters[s, r, c] = letters[c]
        return cls(group, pam_letters, np.ascontiguousarray(letters[group.g_code]))


class _Whitespace(Exception):
    """A piece of letters held white space other than line breaks: strip it, scan again."""


def _proto_columns(
    length: int, settings: ScanSettings
) -> list[tuple[BulgeType, int, int, list[tuple[str, int]]]]:
    guide_cols = [("G", j) for j in range(length)]
    shapes: list[tuple[BulgeType, int, int, list[tuple[str, int]]]] = [("none", 0, 0, guide_cols)]
    for size in range(1, settings.dna_bulge + 1):
        for after in range(1, length):
            cols = guide_cols[:after] + [("D", -1)] * size + guide_cols[after:]
            shapes.append(("DNA", size, after, cols))
    for size in range(1, settings.rna_bulge + 1):
        for after in range(1, length - size):
            cols = (
                guide_cols[:after]
                + [("R", j) for j in range(after, after + size)]
                + guide_cols[after + size :]
            )
            shapes.append(("RNA", size, after, cols))
    return shapes


def _complement_mask(mask: int) -> int:
    return sum(1 << (3 - c) for c in range(4) if mask >> c & 1)


def _pam_masks(pam: str) -> list[int]:
    return [sum(1 << BASE_CODES.index(b) for b in IUPAC[ch]) for ch in pam]


def _letter_scan_takes(n_guides: int) -> bool:
    """Whether the letter scan serves ``n_guides`` guides (the bounds above; the native loop is
    looked for only when the count needs it)."""
    if n_guides <= LETTER_SCAN_MAX_GUIDES:
        return True
    from pmpath.evidence.offtarget import native

    return n_guides <= NATIVE_LETTER_SCAN_MAX_GUIDES and native.scan_ascii() is not None


class SiteFinder:
    """The compiled search for a set of guides and settings: call :meth:`find` on a buffer.

    Building it checks the inputs (InvalidInputError for a bad guide or PAM); the first call
    of :meth:`find` (:meth:`find_letters`) in a process loads (or compiles, once) the numba
    kernel (the native letter loop, else numba's).
    """

    def __init__(self, guides: list[Guide], settings: ScanSettings) -> None:
        if not guides:
            raise InvalidInputError("no guide given")
        self.guides = guides
        self.settings = settings
        self.layouts: list[Layout] = []
        pam = settings.pam
        masks = _pam_masks(pam)
        for strand in ("+", "-"):
            for gi, guide in enumerate(guides):
                for btype, size, after, proto in _proto_columns(len(guide.sequence), settings):
                    pam_cols = [("P", i) for i in range(len(pam))]
                    cols = proto + pam_cols if settings.pam_side == "3prime" else pam_cols + proto
                    self.layouts.append(Layout(gi, strand, btype, size, after, tuple(cols)))
        self._compile_arrays(masks)
        self.letter_loop: str | None = None
        """Which copy of the letter scan's loop ran, once one has (for the provenance)."""
        self._fast = self._word_groups(masks)
        self._letters = (
            [_LetterGroup.of(group) for group in self._fast]
            if self._fast is not None and _letter_scan_takes(len(guides))
            else None
        )

    def _compile_arrays(self, masks: list[int]) -> None:
        n_var = len(self.layouts)
        width = max(len(lay.columns) for lay in self.layouts)
        self.v_start = np.zeros(n_var, np.int32)
        self.v_end = np.zeros(n_var, np.int32)
        self.v_npos = np.zeros(n_var, np.int32)
        self.v_off = np.zeros((n_var, width), np.int32)
        self.v_code = np.zeros((n_var, width), np.uint8)
        self.v_k = np.full(n_var, self.settings.max_mismatches, np.int32)
        self.v_word = np.zeros(n_var, np.uint8)
        self.v_pat = np.zeros(n_var, np.uint64)
        self.v_care = np.zeros(n_var, np.uint64)
        self.v_lo = np.zeros(2, np.int32)
        self.v_hi = np.zeros(2, np.int32)
        self.word_end = np.zeros(2, np.int32)
        pam_checks: dict[int, list[tuple[int, int]]] = {}
        guide_offsets: list[dict[int, int]] = []  # per layout: guide base -> offset
        for v, lay in enumerate(self.layouts):
            s = 0 if lay.strand == "+" else 1
            if v == 0 or self.layouts[v - 1].strand != lay.strand:
                self.v_lo[s] = v
            self.v_hi[s] = v + 1
            dna_cols = [c for c in lay.columns if c[0] != "R"]
            n_dna = len(dna_cols)
            offsets = [d if s == 0 else n_dna - 1 - d for d in range(n_dna)]
            pam_lo = min(o for o, c in zip(offsets, dna_cols, strict=True) if c[0] == "P")
            self.v_start[v] = -pam_lo
            self.v_end[v] = n_dna - pam_lo
            checks: list[tuple[int, int, int]] = []  # (distance to PAM, offset, code)
            guide = self.guides[lay.guide_index].sequence
            placed: dict[int, int] = {}
            for o, (kind, j) in zip(offsets, dna_cols, strict=True):
                if kind == "G":
                    code = BASE_CODES.index(guide[j])
                    proximity = len(guide) - j if self.settings.pam_side == "3prime" else j
                    checks.append((proximity, o - pam_lo, code if s == 0 else 3 - code))
                    placed[j] = o - pam_lo
            guide_offsets.append(placed)
            checks.sort()
            self.v_npos[v] = len(checks)
            for j, (_, off, code) in enumerate(checks):
                self.v_off[v, j] = off
                self.v_code[v, j] = code
            if s not in pam_checks:
                pam_checks[s] = [
                    (o - pam_lo, masks[i] if s == 0 else _complement_mask(masks[i]))
                    for o, (kind, i) in zip(offsets, dna_cols, strict=True)
                    if kind == "P" and masks[i] != 15
                ]
        for s in (0, 1):
            lo, hi = int(self.v_lo[s]), int(self.v_hi[s])
            self.word_end[s] = max(
                int(self.v_off[v, j]) for v in range(lo, hi) for j in range(self.v_npos[v])
            )
            for v in range(lo, hi):
                offs = [int(self.v_off[v, j]) for j in range(self.v_npos[v])]
                if min(offs) <= self.word_end[s] - 32:
                    continue  # a guide longer than 32 nt: compared base by base
                self.v_word[v] = 1
                pat = care = 0
                for j, off in enumerate(offs):
                    d = int(self.word_end[s]) - off
                    pat |= int(self.v_code[v, j]) << (2 * d)
                    care |= 1 << (2 * d)
                self.v_pat[v] = pat
                self.v_care[v] = care
        self._families(guide_offsets)
        self._pam_table(pam_checks, len(masks))
        self.pam_span_bp = len(masks)
        self.max_site_bp = int(max(self.v_end - self.v_start))

    def _families(self, guide_offsets: list[dict[int, int]]) -> None:
        """Group the packed-word bulged layouts by guide, strand, bulge type and size.

        In a family every layout pairs the PAM-proximal guide bases as the unbulged layout does
        and the PAM-distal ones shifted by the same number of bases, and the more distal bases
        are shifted the more a layout has. So the kernel XORs the genome word with two patterns
        per family (unshifted, shifted) and walks the layouts in that order, stopping as soon
        as the shifted part alone exceeds the mismatch budget. Layouts are reordered so that
        each strand's other layouts come first (``v_lo..v_mid``), then its family members.
        """
        old_lo, old_hi = self.v_lo.copy(), self.v_hi.copy()
        layouts = list(self.layouts)  # indices below are of this order, before the reordering
        strand_of = [0 if lay.strand == "+" else 1 for lay in layouts]
        base = {
            (lay.guide_index, strand_of[v]): v
            for v, lay in enumerate(layouts)
            if lay.bulge_type == "none"
        }
        groups: dict[tuple[int, int, str, int], list[int]] = {}
        for v, lay in enumerate(layouts):
            key = (strand_of[v], lay.guide_index, lay.bulge_type, lay.bulge_size)
            v0 = base[(lay.guide_index, strand_of[v])]
            if lay.bulge_type != "none" and self.v_word[v] and self.v_word[v0]:
                groups.setdefault(key, []).append(v)

        def shifted(v: int) -> dict[int, int]:
            v0 = base[(layouts[v].guide_index, strand_of[v])]
            return {
                g: off - guide_offsets[v0][g]
                for g, off in guide_offsets[v].items()
                if off != guide_offsets[v0][g]
            }

        for members in groups.values():
            members.sort(key=lambda v: len(shifted(v)))
        order: list[int] = []
        self.v_mid = np.zeros(2, np.int32)
        family_keys = sorted(groups)
        for s in (0, 1):
            in_family = {v for key in family_keys if key[0] == s for v in groups[key]}
            self.v_lo[s] = len(order)
            plain = range(int(old_lo[s]), int(old_hi[s]))
            order += [v for v in plain if v not in in_family]
            self.v_mid[s] = len(order)
            order += [v for key in family_keys if key[0] == s for v in groups[key]]
            self.v_hi[s] = len(order)
        new_index = {old: new for new, old in enumerate(order)}
        for name in ("v_start", "v_end", "v_npos", "v_off", "v_code", "v_k", "v_word", "v_pat",
                     "v_care"):  # fmt: skip
            setattr(self, name, getattr(self, name)[order])
        self.layouts = [self.layouts[v] for v in order]
        width = max((len(groups[key]) for key in family_keys), default=1)
        n_fam = len(family_keys)
        self.f_lo = np.zeros(2, np.int32)
        self.f_hi = np.zeros(2, np.int32)
        self.f_start = np.zeros(n_fam, np.int32)
        self.f_end = np.zeros(n_fam, np.int32)
        self.f_k = np.full(n_fam, self.settings.max_mismatches, np.int32)
        self.f_n = np.zeros(n_fam, np.int32)
        self.f_pat0 = np.zeros(n_fam, np.uint64)
        self.f_pats = np.zeros(n_fam, np.uint64)
        self.f_pre = np.zeros((n_fam, width), np.uint64)
        self.f_suf = np.zeros((n_fam, width), np.uint64)
        self.f_v = np.zeros((n_fam, width), np.int32)
        for f, family in enumerate(family_keys):
            s = family[0]
            if f == 0 or family_keys[f - 1][0] != s:
                self.f_lo[s] = f
            self.f_hi[s] = f + 1
            members = groups[family]
            v0 = base[(family[1], s)]
            end = int(self.word_end[s])
            codes = {g: self._code(family[1], g, s) for g in guide_offsets[v0]}
            deltas = {d for v in members for d in shifted(v).values()}
            assert len(deltas) == 1, "a family shifts its bases by one amount"
            delta = deltas.pop()
            pats = 0
            for g, off in guide_offsets[v0].items():
                d = end - (off + delta)
                if 0 <= d < 32:
                    pats |= codes[g] << (2 * d)
            self.f_pat0[f] = int(self.v_pat[new_index[v0]])
            self.f_pats[f] = pats
            first = new_index[members[0]]
            self.f_start[f] = self.v_start[first]
            self.f_end[f] = self.v_end[first]
            self.f_n[f] = len(members)
            previous = 0
            for i, v in enumerate(members):
                moved = shifted(v)
                pre = sum(1 << (2 * (end - guide_offsets[v][g])) for g in moved)
                suf = sum(
                    1 << (2 * (end - off)) for g, off in guide_offsets[v].items() if g not in moved
                )
                assert pre & previous == previous, "shifted parts must be nested"
                previous = pre
                self.f_pre[f, i] = pre
                self.f_suf[f, i] = suf
                self.f_v[f, i] = new_index[v]

    def _code(self, guide_index: int, base: int, strand: int) -> int:
        code = BASE_CODES.index(self.guides[guide_index].sequence[base])
        return code if strand == 0 else 3 - code

    def _pam_table(self, checks: dict[int, list[tuple[int, int]]], pam_len: int) -> None:
        """Lookup table: 2-bit codes of the PAM's definite positions -> strand bits."""
        definite = [off for s in checks for off, _ in checks[s]]
        self.pam_min = min(definite) if definite else 0
        self.pam_window = (max(definite) - self.pam_min + 1) if definite else 0
        span = self.pam_window
        self.pam_def = np.zeros((2, max(span, 1)), np.uint8)
        for s in (0, 1):
            for off, _ in checks[s]:
                self.pam_def[s, off - self.pam_min] = 1
        words = np.arange(4**span, dtype=np.int64)
        table = np.zeros(4**span, np.uint8)
        for s in (0, 1):
            ok = np.ones(4**span, bool)
            for off, mask in checks[s]:
                i = off - self.pam_min
                base = (words >> (2 * (span - 1 - i))) & 3
                ok &= ((mask >> base) & 1).astype(bool)
            table |= ok.astype(np.uint8) << s
        self.pam_tab = table

    def _word_groups(self, masks: list[int]) -> list[_WordGroup] | None:
        """The arrays of :func:`.kernel.scan_words`, one set per guide length, when every site
        fits one 64-bit word (guide + PAM <= 32 nt), there is no bulge and the PAM's definite
        bases lie within 8 bases; else None (the general kernel then runs)."""
        settings = self.settings
        if settings.dna_bulge or settings.rna_bulge:
            return None
        pam_len = len(settings.pam)
        definite = [i for i, mask in enumerate(masks) if mask != 15]
        if definite and definite[-1] - definite[0] >= 8:
            return None
        if max(len(g.sequence) for g in self.guides) + pam_len > 32:
            return None
        layout_of = {
            (lay.guide_index, lay.strand): v
            for v, lay in enumerate(self.layouts)
            if lay.bulge_type == "none"
        }
        groups: list[_WordGroup] = []
        for length in sorted({len(g.sequence) for g in self.guides}):
            members = [i for i, g in enumerate(self.guides) if len(g.sequence) == length]
            span = length + pam_len
            cols = [("G", j) for j in range(length)]
            pam_cols = [("P", i) for i in range(pam_len)]
            cols = cols + pam_cols if settings.pam_side == "3prime" else pam_cols + cols
            width = (definite[-1] - definite[0] + 1) if definite else 0
            tab = np.zeros((2, 4**width), np.uint8)
            shift = np.zeros(2, np.int32)
            mask = np.full(2, 4**width - 1, np.uint64)
            pam_off = np.zeros((2, len(definite)), np.int32)
            pam_allow = np.zeros((2, len(definite)), np.uint8)
            pat = np.zeros((2, len(members)), np.uint64)
            care = np.zeros((2, len(members)), np.uint64)
            g_off = np.zeros((2, length), np.int32)
            g_code = np.zeros((2, len(members), length), np.uint8)
            variant = np.zeros((2, len(members)), np.int32)
            for s in (0, 1):
                # column c (5'->3' on strand s) lies at + strand offset o of the site
                offsets = [c if s == 0 else span - 1 - c for c in range(span)]
                checks = [
                    (o, masks[i] if s == 0 else _complement_mask(masks[i]))
                    for o, (kind, i) in zip(offsets, cols, strict=True)
                    if kind == "P" and masks[i] != 15
                ]
                checks.sort()
                for i, (o, allowed) in enumerate(checks):
                    pam_off[s, i] = o
                    pam_allow[s, i] = allowed
                if checks:
                    first, last = checks[0][0], checks[-1][0]
                    shift[s] = 2 * (span - 1 - last)
                    index = np.arange(4**width, dtype=np.int64)
                    ok = np.ones(4**width, bool)
                    for o, allowed in checks:
                        base = (index >> (2 * (last - o))) & 3
                        ok &= ((allowed >> base) & 1).astype(bool)
                    assert last - first + 1 == width
                    tab[s] = ok
                else:
                    tab[s, 0] = 1
                for g, gi in enumerate(members):
                    guide = self.guides[gi].sequence
                    pattern = bits = 0
                    for o, (kind, j) in zip(offsets, cols, strict=True):
                        if kind != "G":
                            continue
                        code = BASE_CODES.index(guide[j])
                        code = code if s == 0 else 3 - code
                        pattern |= code << (2 * (span - 1 - o))
                        bits |= 1 << (2 * (span - 1 - o))
                        g_off[s, j] = o
                        g_code[s, g, j] = code
                    pat[s, g] = pattern
                    care[s, g] = bits
                    variant[s, g] = layout_of[(gi, "+" if s == 0 else "-")]
            groups.append(
                _WordGroup(
                    span, np.asarray(members, np.int32), tab, shift, mask, pam_off, pam_allow,
                    pat, care, g_off, g_code, variant,
                )
            )  # fmt: skip
        return groups

    def _word_kernel(
        self, group: _WordGroup, codes: CodeArray, lo: int, hi: int, cap: int
    ) -> tuple[np.ndarray, ...]:
        from pmpath.evidence.offtarget.kernel import scan_words

        found = np.empty(max(1024, (hi - lo) >> 6), np.int64)
        while True:
            starts = np.empty(cap, np.int32)
            guides = np.empty(cap, np.int32)
            strands = np.empty(cap, np.int32)
            mms = np.empty(cap, np.int32)
            count = scan_words(
                codes, lo, hi, group.span, group.pam_tab, group.pam_shift, group.pam_mask,
                group.pam_off, group.pam_allow, group.pat, group.care, group.g_off,
                group.g_code, self.settings.max_mismatches, self.settings.genome_n == "mismatch",
                starts, guides, strands, mms, found,
            )  # fmt: skip
            if count < 0:
                found = np.empty(max(hi - lo, 1), np.int64)
                continue
            if count <= cap:
                variants = group.variant[strands[:count], guides[:count]]
                return starts[:count] - self.v_start[variants], variants, mms[:count]
            cap = count

    def _letter_kernel(
        self, group: _LetterGroup, letters: np.ndarray, lo: int, hi: int, check_to: int
    ) -> tuple[np.ndarray, ...]:
        from pmpath.evidence.offtarget import native
        from pmpath.evidence.offtarget.genome import _STREAM_LUT

        loop = native.loop()
        self.letter_loop = loop.about
        scan_ascii = loop.function
        if scan_ascii is None:  # no C compiler here: numba's copy of the loop
            from pmpath.evidence.offtarget import kernel

            scan_ascii = kernel.scan_ascii
        word = group.word
        cap = 1024
        state = np.zeros(2, np.int64)
        while True:
            starts = np.empty(cap, np.int64)
            guides = np.empty(cap, np.int32)
            strands = np.empty(cap, np.int32)
            mms = np.empty(cap, np.int32)
            count = scan_ascii(
                letters, lo, hi, check_to, word.span, word.pam_off, group.pam_letters,
                word.g_off, group.g_letters, self.settings.max_mismatches,
                self.settings.genome_n == "mismatch", _STREAM_LUT, starts, guides, strands,
                mms, state,
            )  # fmt: skip
            if count <= cap or state[0] >= 0:
                count = min(count, cap)
                return starts[:count], guides[:count], strands[:count], mms[:count], state

            cap = count

    def find_letters(
        self,
        letters: bytes,
        tail: bytes,
        *,
        check: bool = True,
        pool: ThreadPoolExecutor | None = None,
        where: str = "",
    ) -> list[BufferHit]:
        """Return the sites ending in ``letters`` (FASTA sequence bytes, line breaks removed)
        whose start lies in ``letters`` or in ``tail`` (the letters before them on the same
        contig, at least a site's length but one, checked before), with starts relative to
        ``letters`` (negative in ``tail``), sorted by position. ``letters`` are checked
        (InvalidInputError naming ``where`` for a byte that is not a nucleotide letter;
        :class:`_Whitespace` for white space, to be stripped by the caller). Uses ``pool``
        to split the letters between its threads.

        Only for finders with a letter scan (``self._letters``: unbulged, and no more guides
        than :data:`LETTER_SCAN_MAX_GUIDES`, or :data:`NATIVE_LETTER_SCAN_MAX_GUIDES` with the
        native loop).
        """
        assert self._letters is not None
        array = np.frombuffer(letters, np.uint8)
        jobs: list[tuple[_LetterGroup, np.ndarray, int, int, int, int]] = []
        for number, group in enumerate(self._letters):
            span = group.word.span
            checked = number == 0 and check
            if tail:
                joint = np.frombuffer(tail[-(span - 1) :] + letters[: span - 1], np.uint8)
                lead = min(len(tail), span - 1)
                jobs.append((group, joint, 0, max(min(lead, len(joint) - span + 1), 0), 0, lead))
            n_start = max(len(array) - span + 1, 0)
            parts = 2 if pool is not None and n_start > 1 << 16 else 1
            bounds = [n_start * i // parts for i in range(parts + 1)]
            for i in range(parts):
                last = i == parts - 1
                check_to = (len(array) if last else bounds[i + 1]) if checked else bounds[i]
                jobs.append((group, array, bounds[i], bounds[i + 1], check_to, 0))
        if pool is None:
            results = [self._letter_kernel(*job[:5]) for job in jobs]
        else:
            results = list(pool.map(lambda job: self._letter_kernel(*job[:5]), jobs))
        hits: list[BufferHit] = []
        for (group, source, _, _, _, shift), result in zip(jobs, results, strict=True):
            starts, guides, strands, mms, state = result
            if state[0] >= 0:
                byte = int(source[state[0]])
                if state[1]:
                    raise _Whitespace()
                char = chr(byte) if byte < 128 else f"\\x{byte:02x}"
                raise InvalidInputError(f"{where}: character {char!r} is not a nucleotide letter")
            hits += self._letter_hits(group, source, starts, guides, strands, mms, shift)
        hits.sort(key=lambda h: (h.start, h.end, h.strand, h.guide_index))
        return hits

    def _letter_hits(
        self,
        group: _LetterGroup,
        source: np.ndarray,
        starts: np.ndarray,
        guides: np.ndarray,
        strands: np.ndarray,
        mms: np.ndarray,
        shift: int,
    ) -> list[BufferHit]:
        from pmpath.evidence.offtarget.genome import _LUT

        span = group.word.span
        hits: list[BufferHit] = []
        for p, g, st, mm in zip(starts.tolist(), guides.tolist(), strands.tolist(),
                                mms.tolist(), strict=True):  # fmt: skip
            guide_index = int(group.word.members[g])
            v = int(group.word.variant[st, g])
            strand = "+" if st == 0 else "-"
            hit = self._describe(
                _LUT[source[p : p + span]], (guide_index, 0, span, strand, "none", 0), (mm, 0, v)
            )
            start = p - shift
            hits.append(dataclasses.replace(hit, start=start, end=start + span))
        return hits

    @property
    def overlap_bp(self) -> int:
        """Bases consecutive buffers must share so that no site is missed at their junction."""
        return self.max_site_bp - 1

    def _kernel(self, codes: CodeArray, lo: int, hi: int, cap: int) -> tuple[np.ndarray, ...]:
        from pmpath.evidence.offtarget.kernel import scan_anchors

        while True:
            anchors = np.empty(cap, np.int32)
            variants = np.empty(cap, np.int32)
            mms = np.empty(cap, np.int32)
            count = scan_anchors(
                codes, lo, hi, self.pam_tab, self.pam_min, self.pam_window, self.word_end,
                self.v_lo, self.v_mid, self.v_start, self.v_end, self.v_word, self.v_pat,
                self.v_care, self.v_npos, self.v_off, self.v_code, self.v_k,
                self.f_lo, self.f_hi, self.f_start, self.f_end, self.f_k, self.f_n,
                self.f_pat0, self.f_pats, self.f_pre, self.f_suf, self.f_v,
                anchors, variants, mms, self.settings.genome_n == "mismatch", self.pam_def,
            )  # fmt: skip
            if count <= cap:
                return anchors[:count], variants[:count], mms[:count]
            cap = count

    def find(self, codes: CodeArray, *, min_end: int = 0, threads: int = 1) -> list[BufferHit]:
        """Return the sites lying wholly in ``codes`` and ending after ``min_end`` (so that a
        site shared by two overlapping buffers is reported once), sorted by position.

        Uses ``threads`` threads over disjoint anchor ranges when the buffer is large.
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        n_anchor = max(len(codes) - self.pam_span_bp + 1, 0)
        if n_anchor == 0:
            return []
        parts = threads if threads > 1 and n_anchor > 1 << 20 else 1
        cap = max(1024, n_anchor >> 12)
        jobs: list[Callable[[], tuple[np.ndarray, ...]]] = []
        if self._fast is None:
            bounds = [n_anchor * i // parts for i in range(parts + 1)]
            for i in range(parts):
                jobs.append(partial(self._kernel, codes, bounds[i], bounds[i + 1], cap))
        else:
            for group in self._fast:
                n_start = max(len(codes) - group.span + 1, 0)
                bounds = [n_start * i // parts for i in range(parts + 1)]
                for i in range(parts):
                    jobs.append(
                        partial(self._word_kernel, group, codes, bounds[i], bounds[i + 1], cap)
                    )
        if parts == 1:
            results = [job() for job in jobs]
        else:
            with ThreadPoolExecutor(max_workers=parts) as pool:
                results = list(pool.map(lambda job: job(), jobs))
        anchors = np.concatenate([r[0] for r in results])
        variants = np.concatenate([r[1] for r in results])
        mms = np.concatenate([r[2] for r in results])
        ends = anchors + self.v_end[variants]
        keep = ends > min_end
        return self._collapse(codes, anchors[keep], variants[keep], mms[keep])

    def _collapse(
        self, codes: CodeArray, anchors: np.ndarray, variants: np.ndarray, mms: np.ndarray
    ) -> list[BufferHit]:
        best: dict[tuple[int, int, int, str, str, int], tuple[int, int, int]] = {}
        for a, v, mm in zip(anchors.tolist(), variants.tolist(), mms.tolist(), strict=True):
            lay = self.layouts[v]
            start = a + int(self.v_start[v])
            end = a + int(self.v_end[v])
            key = (lay.guide_index, start, end, lay.strand, lay.bulge_type, lay.bulge_size)
            rank = (mm, lay.bulge_after, v)
            if key not in best or rank < best[key]:
                best[key] = rank
        hits = [self._describe(codes, key, rank) for key, rank in best.items()]
        hits.sort(key=lambda h: (h.start, h.end, h.strand, h.guide_index, h.bulge_type))
        return hits

    def _describe(
        self,
        codes: CodeArray,
        key: tuple[int, int, int, str, str, int],
        rank: tuple[int, int, int],
    ) -> BufferHit:
        guide_index, start, end, strand, btype, bsize = key
        mm, _, v = rank
        lay = self.layouts[v]
        guide = self.guides[guide_index].sequence
        span = codes[start:end]
        letters = "ACGTN" if strand == "+" else "TGCAN"
        dna = "".join(letters[c] for c in (span if strand == "+" else span[::-1]))
        site: list[str] = []
        pam: list[str] = []
        aligned = ["-"] * len(guide)
        d = 0
        for kind, j in lay.columns:
            if kind == "R":
                site.append("-")
                continue
            base = dna[d]
            d += 1
            if kind == "G":
                aligned[j] = base
                site.append(base if base == guide[j] else base.lower())
            elif kind == "D":
                site.append(base.lower())
            else:
                pam.append(base)
                site.append(base)
        return BufferHit(
            guide_index=guide_index,
            start=start,
            end=end,
            strand=strand,  # type: ignore[arg-type]
            mismatches=mm,
            bulge_type=btype,  # type: ignore[arg-type]
            bulge_size=bsize,
            site="".join(site),
            pam="".join(pam),
            aligned="".join(aligned),
        )


def windows(
    blocks: Iterable[tuple[str, int, CodeArray]], overlap_bp: int
) -> Iterator[tuple[str, int, CodeArray, int]]:
    """Yield (contig, buffer start, buffer codes, first new base) from per-contig blocks: each
    buffer repeats the last ``overlap_bp`` bases of the one before on the same contig."""
    contig: str | None = None
    tail = np.empty(0, np.uint8)
    for name, start, codes in blocks:
        if name != contig:
            contig, tail = name, np.empty(0, np.uint8)
        buffer = np.concatenate([tail, codes]) if len(tail) else codes
        buffer_start = start - len(tail)
        yield name, buffer_start, buffer, start
        tail = buffer[max(len(buffer) - overlap_bp, 0) :] if overlap_bp > 0 else tail[:0]


ProgressCallback = Callable[[float], None]

_T = TypeVar("_T")


def _prefetch(items: Iterator[_T], depth: int = 2) -> Iterator[_T]:
    """Yield ``items`` while a background thread reads ahead up to ``depth`` of them (the FASTA
    is read and encoded while the previous block is scanned; both release the GIL). An
    exception in the reader is raised here; closing this generator stops the reader."""
    queue: Queue[tuple[str, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(("item", item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            queue.put(("error", exc))

    reader = threading.Thread(target=read, name="fasta-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while reader.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                reader.join(timeout=0.05)


def search_genome(
    genome: Genome, guides: list[Guide], settings: ScanSettings, **options: Any
) -> list[Hit]:
    """Return every site of ``guides`` in ``genome`` under ``settings``: :func:`scan_genome`
    with a new :class:`SiteFinder` (same options)."""
    return scan_genome(genome, SiteFinder(guides, settings), **options)


def scan_genome(
    genome: Genome,
    finder: SiteFinder,
    *,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    block_bp: int = 8 << 20,
    on_window: Callable[[str, int, CodeArray, int], None] | None = None,
    overlap_bp: int = 0,
) -> list[Hit]:
    """Return every site ``finder`` defines in ``genome`` (module docstring for the
    definitions), in genome order, from one streaming pass over the FASTA.

    ``progress`` is called with the fraction of the file read; ``on_window`` sees every buffer
    (contig, buffer start, codes, first new base), which the variant-aware search uses; it may
    ask consecutive buffers to share more than a site's length with ``overlap_bp``.
    """
    n_threads = threads if threads is not None else (os.cpu_count() or 1)
    if on_window is None and finder._letters is not None and not genome.compressed:
        return _scan_letters(genome, finder, n_threads, progress, block_bp)
    found: list[Hit] = []
    fractions: dict[int, float] = {}

    def blocks() -> Iterator[tuple[str, int, CodeArray]]:
        for block in _prefetch(genome.blocks(block_bp)):
            fractions[block.start_bp] = block.file_fraction_done
            yield block.contig, block.start_bp, block.codes

    overlap = max(finder.overlap_bp, overlap_bp)
    for contig, buffer_start, buffer, first_new in windows(blocks(), overlap):
        for hit in finder.find(buffer, min_end=first_new - buffer_start, threads=n_threads):
            found.append(
                Hit(
                    guide_index=hit.guide_index,
                    contig=contig,
                    start_bp=buffer_start + hit.start,
                    end_bp=buffer_start + hit.end,
                    strand=hit.strand,
                    mismatches=hit.mismatches,
                    bulge_type=hit.bulge_type,
                    bulge_size=hit.bulge_size,
                    site=hit.site,
                    pam=hit.pam,
                    aligned=hit.aligned,
                )
            )
        if on_window is not None:
            on_window(contig, buffer_start, buffer, first_new)
        if progress is not None:
            progress(fractions.pop(first_new, 0.0))
    return found


def _scan_letters(
    genome: Genome,
    finder: SiteFinder,
    threads: int,
    progress: ProgressCallback | None,
    piece_bytes: int,
) -> list[Hit]:
    """:func:`scan_genome` for a plain FASTA and a finder with a letter scan: the file's pieces
    (read, hashed and stripped of line breaks by a reader thread, :meth:`.Genome.letter_pieces`)
    scanned as they are, split between ``threads`` threads; the last letters of each piece are
    kept so that sites across two pieces are found."""
    found: list[Hit] = []
    keep = finder.overlap_bp
    record = -1
    contig_bp = 0
    tail = b""
    pool = ThreadPoolExecutor(max_workers=2) if threads > 1 else None
    try:
        pieces = genome.letter_pieces(max(min(2 * piece_bytes, 16 << 20), 64))
        for number, name, letters, fraction in _prefetch(pieces):
            if number != record:
                record, contig_bp, tail = number, 0, b""
            where = f"genome {genome.path} contig {name}"
            try:
                hits = finder.find_letters(letters, tail, pool=pool, where=where)
            except _Whitespace:
                genome.strip_all = True
                letters = letters.translate(None, b"\n\r \t")
                hits = finder.find_letters(letters, tail, pool=pool, where=where)
            for hit in hits:
                found.append(
                    Hit(
                        guide_index=hit.guide_index,
                        contig=name,
                        start_bp=contig_bp + hit.start,
                        end_bp=contig_bp + hit.end,
                        strand=hit.strand,
                        mismatches=hit.mismatches,
                        bulge_type=hit.bulge_type,
                        bulge_size=hit.bulge_size,
                        site=hit.site,
                        pam=hit.pam,
                        aligned=hit.aligned,
                    )
                )
            contig_bp += len(letters)
            tail = (tail + letters)[-keep:] if len(letters) < keep else letters[-keep:]
            if progress is not None:
                progress(fraction)
    finally:
        if pool is not None:
            pool.shutdown()
    return found
