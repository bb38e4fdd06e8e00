"""A site index of a genome for one PAM: built once, then searched for many guides.

What it is: every position of the genome, on both strands, where the PAM fits, with the bases of
the whole site (protospacer and PAM, 5'->3' on the site's strand) packed two bits per base in a
64-bit word, and where the site holds an N (or another IUPAC letter). Searching a guide is then
one pass over the words: mismatches are popcount(fold(word XOR guide) & protospacer positions),
the bit-parallel Hamming distance of :mod:`.kernel`, so a guide costs a few instructions per PAM
site instead of a scan of the genome. The idea is that of indexed off-target search (CRISPRitz,
Cancellieri et al., Bioinformatics 2020; FlashFry, McKenna & Shendure, BMC Biol 2018): the
genome is read once per PAM, and every later guide is answered from the index.

Contract: for a guide of the index's length, mismatches only (no bulges), the sites an index
search returns are exactly those of the scan (:mod:`.scan`) with the same PAM, PAM side, mismatch
limit and ``genome_n`` rule: a PAM fits on the same definite bases, an N among them fails it,
and an N elsewhere in the site skips it or counts as a mismatch facing a guide base. The tests
check this against the scan on random genomes with planted sites.

File layout (written by :func:`index_parts`' caller, read by :func:`load_index`): a magic line,
the arrays (64-byte aligned), then a JSON header and its length and the magic again; the header
names each array's dtype, offset and length, the PAM, the guide length, the contigs, the
genome's name, size and sha256 (computed while building, in the same pass), and the sha256 of the
array bytes. Arrays are memory-mapped read-only when searched (numpy), so a search touches only
the index, never the FASTA. numba compiles the search loop (like :mod:`.kernel`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.design.editors import IUPAC
from pmpath.evidence.offtarget.genome import BASE_CODES, Genome
from pmpath.evidence.offtarget.scan import Guide, Hit, check_pam, windows

MAGIC = b"PMPATH-SITE-INDEX 1\n"
ALIGN = 64
FOLD = 0x5555555555555555
ARRAYS = ("word", "contig", "start", "strand", "n_site", "n_mask")
"""Per site: packed bases, contig number, 0-based + strand start, strand (0 +, 1 -); and, for
the sites holding an N, the site number and its N positions (bit 2d for site base d)."""


@dataclass(frozen=True)
class SiteIndex:
    """An index loaded for searching: its header and its (memory-mapped) arrays."""

    header: dict[str, Any]
    word: npt.NDArray[np.uint64]
    contig: npt.NDArray[np.uint16]
    start: npt.NDArray[np.uint32]
    strand: npt.NDArray[np.uint8]
    n_site: npt.NDArray[np.int64]
    n_mask: npt.NDArray[np.uint64]

    @property
    def contigs(self) -> list[str]:
        """Return the genome's contig names, in file order."""
        return list(self.header["contigs"])


def _site_layout(pam: str, pam_side: str, guide_length: int) -> tuple[int, int, int]:
    """Return (span, first protospacer base, first PAM base) of a site, 5'->3'."""
    span = guide_length + len(pam)
    if span > 32:
        raise InvalidInputError(
            f"guide length {guide_length} + PAM {pam} is {span} bases; an index holds sites of "
            "at most 32"
        )
    return (span, 0, guide_length) if pam_side == "3prime" else (span, len(pam), 0)


def _sites_of(
    reading: npt.NDArray[np.uint8], pam_masks: list[int], span: int, pam_at: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Return the starts (in ``reading``), packed words and N masks of the sites of one strand
    (``reading`` is that strand, 5'->3'): the PAM's definite bases fit and are not N."""
    n = len(reading) - span + 1
    if n <= 0:
        empty = np.empty(0, np.uint64)
        return np.empty(0, np.int64), empty, empty
    ok = np.ones(n, dtype=bool)
    for j, mask in enumerate(pam_masks):
        if mask == 15:
            continue  # an N of the pattern: no constraint
        column = reading[pam_at + j : pam_at + j + n]
        ok &= ((np.uint8(mask) >> np.minimum(column, 7)) & 1).astype(bool) & (column < 4)
    starts = np.flatnonzero(ok)
    word = np.zeros(len(starts), np.uint64)
    nmask = np.zeros(len(starts), np.uint64)
    for d in range(span):
        column = reading[starts + d]
        word |= (column & 3).astype(np.uint64) << np.uint64(2 * d)
        nmask |= (column > 3).astype(np.uint64) << np.uint64(2 * d)
    return starts, word, nmask


def build_index(
    genome: Genome,
    pam: str,
    *,
    pam_side: Literal["3prime", "5prime"] = "3prime",
    guide_length: int = 20,
    progress: Callable[[float], None] | None = None,
) -> Iterator[dict[str, npt.NDArray[Any]]]:
    """Yield the index's arrays block by block (see :data:`ARRAYS`; ``n_site`` numbers sites
    from 0 over the whole genome), from one streaming pass over ``genome``; afterwards
    ``genome.sha256`` and ``genome.contigs`` hold the file's digest and names.

    Sites follow the scan's definitions (module docstring). InvalidInputError for a bad PAM or
    a site longer than 32 bases.
    """
    pam = check_pam(pam)
    span, _, pam_at = _site_layout(pam, pam_side, guide_length)
    masks = [sum(1 << BASE_CODES.index(b) for b in IUPAC[ch]) for ch in pam]
    contig_numbers: dict[str, int] = {}
    numbered = 0
    fractions: dict[int, float] = {}

    def blocks() -> Iterator[tuple[str, int, npt.NDArray[np.uint8]]]:
        for block in genome.blocks():
            fractions[block.start_bp] = block.file_fraction_done
            yield block.contig, block.start_bp, block.codes

    complement = np.array([3, 2, 1, 0, 4], np.uint8)
    for contig, buffer_start, codes, first_new in windows(blocks(), span - 1):
        number = contig_numbers.setdefault(contig, len(contig_numbers))
        if number > np.iinfo(np.uint16).max:
            raise InvalidInputError(f"genome {genome.path}: more than 65,535 contigs")
        min_end = first_new - buffer_start
        parts: list[
            tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], int]
        ] = []
        forward = _sites_of(codes, masks, span, pam_at)
        parts.append((*forward, 0))
        reverse = _sites_of(complement[codes[::-1]], masks, span, pam_at)
        parts.append((len(codes) - span - reverse[0], reverse[1], reverse[2], 1))
        starts = np.concatenate([p[0] for p in parts])
        keep = starts + span > min_end
        word = np.concatenate([p[1] for p in parts])[keep]
        nmask = np.concatenate([p[2] for p in parts])[keep]
        strand = np.concatenate([np.full(len(p[0]), p[3], np.uint8) for p in parts])[keep]
        starts = starts[keep]
        order = np.lexsort((strand, starts))
        starts, word, nmask, strand = starts[order], word[order], nmask[order], strand[order]
        with_n = np.flatnonzero(nmask)
        yield {
            "word": word,
            "contig": np.full(len(word), number, np.uint16),
            "start": (buffer_start + starts).astype(np.uint32),
            "strand": strand,
            "n_site": (numbered + with_n).astype(np.int64),
            "n_mask": nmask[with_n],
        }
        numbered += len(word)
        if progress is not None:
            progress(fractions.pop(first_new, 0.0))


def index_header(
    genome: Genome,
    pam: str,
    pam_side: str,
    guide_length: int,
    counts: dict[str, int],
    data_sha256: str,
) -> dict[str, Any]:
    """Return the header of an index whose arrays hold ``counts`` elements each (the offsets
    follow :func:`array_offsets`)."""
    from pmpath import __version__

    offsets = array_offsets(counts)
    return {
        "format": MAGIC.decode().strip(),
        "pmpath_version": __version__,
        "pam": check_pam(pam),
        "pam_side": pam_side,
        "guide_length": guide_length,
        "genome": genome.path.name,
        "genome_size_bytes": genome.path.stat().st_size,
        "genome_sha256": genome.sha256,
        "contigs": genome.contigs,
        "n_sites": counts["word"],
        "arrays": {
            name: {"dtype": _DTYPES[name], "offset": offsets[name], "count": counts[name]}
            for name in ARRAYS
        },
        "data_sha256": data_sha256,
    }


_DTYPES = {
    "word": "<u8", "contig": "<u2", "start": "<u4", "strand": "u1", "n_site": "<i8",
    "n_mask": "<u8",
}  # fmt: skip


def array_offsets(counts: dict[str, int]) -> dict[str, int]:
    """Return each array's byte offset in the file (after the magic line, 64-byte aligned)."""
    offsets: dict[str, int] = {}
    position = len(MAGIC)
    for name in ARRAYS:
        position = -(-position // ALIGN) * ALIGN
        offsets[name] = position
        position += counts[name] * np.dtype(_DTYPES[name]).itemsize
    return offsets


def load_index(path: Path) -> SiteIndex:
    """Return the index at ``path`` with its arrays memory-mapped read-only.

    InvalidInputError naming the file if it is not a pmpath site index (or is truncated).
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise InvalidInputError(f"{path}: not a pmpath site index (offtarget index)")
            handle.seek(-(8 + len(MAGIC)), 2)
            size = int.from_bytes(handle.read(8), "little")
            if handle.read(len(MAGIC)) != MAGIC:
                raise InvalidInputError(f"{path}: truncated site index (no trailer)")
            handle.seek(-(8 + len(MAGIC) + size), 2)
            header = json.loads(handle.read(size))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable site index ({exc})") from None
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name in ARRAYS:
        spec = header["arrays"][name]
        if spec["count"] == 0:
            arrays[name] = np.empty(0, dtype=spec["dtype"])
            continue
        arrays[name] = np.memmap(
            path, dtype=spec["dtype"], mode="r", offset=spec["offset"], shape=(spec["count"],)
        )
    return SiteIndex(header=header, **arrays)


def search_index(
    index: SiteIndex,
    guides: list[Guide],
    *,
    max_mismatches: int,
    genome_n: Literal["skip", "mismatch"] = "skip",
    threads: int = 1,
) -> list[Hit]:
    """Return every site of ``guides`` in ``index`` within ``max_mismatches`` (the scan's site
    set, module docstring), in genome order then by guide. InvalidInputError for a guide whose
    length is not the index's."""
    header = index.header
    length = int(header["guide_length"])
    pam = str(header["pam"])
    span, proto_at, pam_at = _site_layout(pam, header["pam_side"], length)
    bad = [g.name for g in guides if len(g.sequence) != length]
    if bad:
        raise InvalidInputError(
            f"guide(s) {', '.join(bad)}: the index holds {length}-nt guides (build another "
            "index, or scan the genome)"
        )
    patterns = np.zeros(len(guides), np.uint64)
    care = np.zeros(len(guides), np.uint64)
    for g, guide in enumerate(guides):
        for j, base in enumerate(guide.sequence):
            d = proto_at + j
            patterns[g] |= np.uint64(BASE_CODES.index(base) << (2 * d))
            care[g] |= np.uint64(1 << (2 * d))
    n = len(index.word)
    if len(guides) <= NUMPY_MAX_GUIDES:
        sites, which, mms = _search_numpy(index, patterns, care, max_mismatches, genome_n)
        return _hits(index, guides, sites, which, mms, span, proto_at, pam_at, length, pam)
    from pmpath.evidence.offtarget.kernel import search_sites as _search

    parts = max(1, min(threads, 64)) if n > 1 << 20 else 1
    bounds = [n * i // parts for i in range(parts + 1)]

    def run(
        part: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        lo, hi = bounds[part], bounds[part + 1]
        cap = max(1024, (hi - lo) >> 10)
        while True:
            site = np.empty(cap, np.int64)
            guide = np.empty(cap, np.int32)
            mm = np.empty(cap, np.int32)
            found = _search(
                index.word, lo, hi, index.n_site, index.n_mask, patterns, care,
                max_mismatches, genome_n == "mismatch", site, guide, mm,
            )  # fmt: skip
            if found <= cap:
                return site[:found], guide[:found], mm[:found]
            cap = found

    if parts == 1:
        results = [run(0)]
    else:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            results = list(pool.map(run, range(parts)))
    sites = np.concatenate([r[0] for r in results])
    which = np.concatenate([r[1] for r in results])
    mms = np.concatenate([r[2] for r in results])
    return _hits(index, guides, sites, which, mms, span, proto_at, pam_at, length, pam)


NUMPY_MAX_GUIDES = 4
"""Up to this many guides the index is searched with numpy (one vectorised pass per guide, no
JIT to load); more go through the compiled loop (one pass for all guides)."""


def _search_numpy(
    index: SiteIndex,
    patterns: npt.NDArray[np.uint64],
    care: npt.NDArray[np.uint64],
    max_mm: int,
    genome_n: str,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Return (site, guide, mismatches) of every hit, the compiled loop's rule with numpy."""
    fold = np.uint64(FOLD)
    words = np.asarray(index.word)
    n_site = np.asarray(index.n_site)
    n_mask = np.asarray(index.n_mask)
    out: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]] = []
    for g in range(len(patterns)):
        x = words ^ patterns[g]
        x = (x | (x >> np.uint64(1))) & fold & care[g]
        mm = np.bitwise_count(x).astype(np.int32)
        if len(n_site):
            if genome_n == "skip":
                mm[n_site] = max_mm + 1
            else:
                mm[n_site] = np.bitwise_count(x[n_site] | (n_mask & care[g])).astype(np.int32)
        hit = np.flatnonzero(mm <= max_mm)
        out.append((hit.astype(np.int64), np.full(len(hit), g, np.int32), mm[hit]))
    sites = np.concatenate([o[0] for o in out])
    order = np.argsort(sites, kind="stable")  # genome order, then guide (as the compiled loop)
    return (
        sites[order],
        np.concatenate([o[1] for o in out])[order],
        np.concatenate([o[2] for o in out])[order],
    )


def _hits(
    index: SiteIndex,
    guides: list[Guide],
    sites: npt.NDArray[np.int64],
    which: npt.NDArray[np.int32],
    mms: npt.NDArray[np.int32],
    span: int,
    proto_at: int,
    pam_at: int,
    length: int,
    pam: str,
) -> list[Hit]:
    """Return the hits (site numbers, guides, mismatches) as :class:`Hit` s."""
    n_of = (
        dict(zip(index.n_site.tolist(), index.n_mask.tolist(), strict=True)) if len(sites) else {}
    )
    contigs = index.contigs
    hits: list[Hit] = []
    for i, g, mm in zip(sites.tolist(), which.tolist(), mms.tolist(), strict=True):
        word = int(index.word[i])
        nmask = n_of.get(i, 0)
        letters = [
            "N" if nmask >> (2 * d) & 1 else BASE_CODES[(word >> (2 * d)) & 3] for d in range(span)
        ]
        guide = guides[g].sequence
        proto = letters[proto_at : proto_at + length]
        marked = "".join(b if b == guide[j] else b.lower() for j, b in enumerate(proto))
        site_pam = "".join(letters[pam_at : pam_at + len(pam)])
        start = int(index.start[i])
        hits.append(
            Hit(
                guide_index=g,
                contig=contigs[int(index.contig[i])],
                start_bp=start,
                end_bp=start + span,
                strand="+" if index.strand[i] == 0 else "-",
                mismatches=mm,
                bulge_type="none",
                bulge_size=0,
                site=marked + site_pam if proto_at == 0 else site_pam + marked,
                pam=site_pam,
                aligned="".join(proto),
            )
        )
    return hits
