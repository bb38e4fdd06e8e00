"""A site index of a genome for one PAM: built once, then searched for many guides.

What it is: every position of the genome, on both strands, where the PAM fits, with the bases of
the whole site (protospacer and PAM, 5'->3' on the site's strand) packed two bits per base in a
64-bit word, and where the site holds an N (or another IUPAC letter). The sites are sorted by
their *seed*, the 10 protospacer bases next to the PAM, and a table gives where each of the
4^10 seeds' sites begin. The idea is that of indexed off-target search (CRISPRitz, Cancellieri
et al., Bioinformatics 2020; FlashFry, McKenna & Shendure, BMC Biol 2018): the genome is read
once per PAM, and every later guide is answered from the index.

Search: a site within k mismatches of a guide has a seed within k mismatches of the guide's
seed, so only the buckets of those seeds are read (for k = 4, 20,686 of the 1,048,576 seeds, about
2% of the index); each site there is tested with the bit-parallel Hamming distance of
:mod:`.kernel`, popcount(fold(word XOR guide) & protospacer positions), over all its bases. For
k >= 6 about a fifth of the buckets qualify; the answer is the same, only slower.

Contract: for a guide of the index's length, mismatches only (no bulges), the sites an index
search returns are exactly those of the scan (:mod:`.scan`) with the same PAM, PAM side, mismatch
limit and ``genome_n`` rule: a PAM fits on the same definite bases, an N among them fails it,
and an N elsewhere in the site skips it or counts as a mismatch facing a guide base (an N is
packed as A, and a seed with an N read as A is never further from the guide's seed than the
site's own mismatch count, so no site is lost). The tests check this against the scan on random
genomes with planted sites.

File layout (format 2; written by :func:`build_index`'s caller, read by :func:`load_index`): a
magic line, the arrays (64-byte aligned), then a JSON header and its length and the magic again;
the header names each array's dtype, offset and length, the PAM, the guide length, the seed, the
contigs, the genome's name, size and sha256 (computed while building, in the same pass), and the
sha256 of the array bytes. A search reads the seed table and, with ``os.preadv``, the words of
the buckets it needs (never the FASTA nor the whole index; the other arrays only at the hits,
memory-mapped); each guide's sites are tested with numpy, guides in threads. Building is one pass
over the FASTA that spools the sites into 64 files by the seed's first 3 bases, then sorts each
file by seed (numpy's stable sort keeps genome order within a seed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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

MAGIC = b"PMPATH-SITE-INDEX 2\n"
_MAGIC_PREFIX = b"PMPATH-SITE-INDEX "
ALIGN = 64
FOLD = 0x5555555555555555
ARRAYS = ("word", "contig", "start", "strand", "n_site", "n_mask", "bucket")
"""Per site, in seed order: packed bases, contig number, 0-based + strand start, strand (0 +,
1 -); for the sites holding an N, the site number and its N positions (bit 2d for site base d);
and per seed s, ``bucket[s]``, the first site of seed s (``bucket[4**SEED_BASES]`` = all)."""
SEED_BASES = 10
"""Protospacer bases next to the PAM that sort the index (4^10 buckets)."""
PARTITIONS = 64
"""Spool files of a build (by the seed's first 3 bases)."""


@dataclass(frozen=True)
class SiteIndex:
    """An index loaded for searching: its header and its (memory-mapped) arrays."""

    header: dict[str, Any]
    path: Path
    word: npt.NDArray[np.uint64]
    contig: npt.NDArray[np.uint16]
    start: npt.NDArray[np.uint32]
    strand: npt.NDArray[np.uint8]
    n_site: npt.NDArray[np.int64]
    n_mask: npt.NDArray[np.uint64]
    bucket: npt.NDArray[np.int64]

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


def _seed_shift(pam: str, pam_side: str, guide_length: int) -> int:
    """Return the bit of the packed word where the seed (the :data:`SEED_BASES` protospacer
    bases next to the PAM) begins."""
    _, proto_at, _ = _site_layout(pam, pam_side, guide_length)
    first = proto_at + guide_length - SEED_BASES if pam_side == "3prime" else proto_at
    return 2 * first


def build_index(
    genome: Genome,
    pam: str,
    *,
    pam_side: Literal["3prime", "5prime"] = "3prime",
    guide_length: int = 20,
    progress: Callable[[float], None] | None = None,
    spool_dir: Path | None = None,
) -> Iterator[dict[str, npt.NDArray[Any]]]:
    """Yield the index's arrays in pieces, in file order (see :data:`ARRAYS`: each array is
    the concatenation of its pieces; ``n_site`` numbers sites from 0 in that order), from one
    streaming pass over ``genome``; afterwards ``genome.sha256`` and ``genome.contigs`` hold
    the file's digest and names.

    The pass (:func:`.kernel.index_sites`, compiled) spools the sites to :data:`PARTITIONS`
    files in a temporary folder in ``spool_dir`` (default: the system's), 24 bytes per site,
    removed as they are read back; each is ordered by seed with a counting sort. Sites follow
    the scan's definitions (module docstring). InvalidInputError for a bad
    PAM, a site longer than 32 bases or a guide shorter than the seed.
    """
    pam = check_pam(pam)
    span, _, pam_at = _site_layout(pam, pam_side, guide_length)
    if guide_length < SEED_BASES:
        raise InvalidInputError(f"guide length {guide_length}: an index needs {SEED_BASES} or more")
    shift = np.uint64(_seed_shift(pam, pam_side, guide_length))
    seed_mask = np.uint64(4**SEED_BASES - 1)
    part_shift = np.uint64(2 * SEED_BASES - 6)  # PARTITIONS = 4**3: the seed's first 3 bases
    masks = [sum(1 << BASE_CODES.index(b) for b in IUPAC[ch]) for ch in pam]
    contig_numbers: dict[str, int] = {}
    fractions: dict[int, float] = {}

    def blocks() -> Iterator[tuple[str, int, npt.NDArray[np.uint8]]]:
        for block in genome.blocks():
            fractions[block.start_bp] = block.file_fraction_done
            yield block.contig, block.start_bp, block.codes

    from pmpath.evidence.offtarget.kernel import index_sites, stable_order

    allow = np.array(masks, np.uint8)
    span_mask = np.uint64((1 << (2 * span)) - 1)
    per = 4**SEED_BASES // PARTITIONS
    spool = Path(tempfile.mkdtemp(prefix="pmpath-index-", dir=spool_dir))
    try:
        handles = [(spool / f"{p:02d}").open("wb") for p in range(PARTITIONS)]
        try:
            for contig, buffer_start, codes, first_new in windows(blocks(), span - 1):
                number = contig_numbers.setdefault(contig, len(contig_numbers))
                if number > np.iinfo(np.uint16).max:
                    raise InvalidInputError(f"genome {genome.path}: more than 65,535 contigs")
                meta_base = np.uint64((number << 33) | (buffer_start << 1))
                rows = np.empty((len(codes) // 4 + 64, 3), np.uint64)  # NGG: 1/8 per base
                while True:
                    count = index_sites(codes, first_new - buffer_start, span, pam_at, allow,
                                        span_mask, meta_base, rows)  # fmt: skip
                    if count <= len(rows):
                        break
                    rows = np.empty((count, 3), np.uint64)
                rows = rows[:count]
                part = ((rows[:, 0] >> shift) & seed_mask) >> part_shift
                order, firsts = stable_order(part.astype(np.int64), PARTITIONS)
                rows = rows[order]
                for p in np.flatnonzero(np.diff(firsts)).tolist():
                    handles[p].write(rows[firsts[p] : firsts[p + 1]].tobytes())
                if progress is not None:
                    progress(fractions.pop(first_new, 0.0))
        finally:
            for handle in handles:
                handle.close()
        numbered = 0
        for p in range(PARTITIONS):
            rows = np.fromfile(spool / f"{p:02d}", dtype=np.uint64).reshape(-1, 3)
            (spool / f"{p:02d}").unlink()
            seeds = ((rows[:, 0] >> shift) & seed_mask).astype(np.int64) - p * per
            order, firsts = stable_order(seeds, per)  # genome order kept within a seed
            rows = rows[order]
            bucket = numbered + firsts[:per]
            if p == PARTITIONS - 1:
                bucket = np.append(bucket, numbered + len(rows))
            where = rows[:, 1]
            with_n = np.flatnonzero(rows[:, 2])
            yield {
                "word": np.ascontiguousarray(rows[:, 0]),
                "contig": (where >> np.uint64(33)).astype(np.uint16),
                "start": ((where >> np.uint64(1)) & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                "strand": (where & np.uint64(1)).astype(np.uint8),
                "n_site": (numbered + with_n).astype(np.int64),
                "n_mask": np.ascontiguousarray(rows[with_n, 2]),
                "bucket": bucket,
            }
            numbered += len(rows)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


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
        "seed_bases": SEED_BASES,
        "seed_shift": _seed_shift(pam, pam_side, guide_length),
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
    "n_mask": "<u8", "bucket": "<i8",
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
            magic = handle.read(len(MAGIC))
            if magic != MAGIC:
                if magic.startswith(_MAGIC_PREFIX):
                    raise InvalidInputError(
                        f"{path}: a site index of another format ({magic.decode().strip()}; "
                        f"this pmpath reads {MAGIC.decode().strip()}): rebuild it with "
                        "`pmpath offtarget index`"
                    )
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
    return SiteIndex(header=header, path=path, **arrays)


def search_index(
    index: SiteIndex,
    guides: list[Guide],
    *,
    max_mismatches: int,
    genome_n: Literal["skip", "mismatch"] = "skip",
    threads: int = 1,
) -> list[Hit]:
    """Return every site of ``guides`` in ``index`` within ``max_mismatches`` (the scan's site
    set, module docstring), in genome order (contig, start, strand) then by guide.
    InvalidInputError for a guide whose length is not the index's."""
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
    shift = np.uint64(int(header["seed_shift"]))
    seeds = (patterns >> shift) & np.uint64(4 ** int(header["seed_bases"]) - 1)
    parts = max(1, min(threads, len(guides)))
    reader = _IndexFile(index)
    try:

        def run(g: int) -> _Found:
            return _search_guide(index, reader, g, patterns[g], care[g], seeds[g],
                                 max_mismatches, genome_n)  # fmt: skip

        if parts == 1:
            found = [run(g) for g in range(len(guides))]
        else:
            with ThreadPoolExecutor(max_workers=parts) as pool:
                found = list(pool.map(run, range(len(guides))))
        sites = np.concatenate([f[0] for f in found])
        which = np.concatenate([f[1] for f in found])
        mms = np.concatenate([f[2] for f in found])
        return _hits(index, reader, guides, sites, which, mms, span, proto_at, pam_at, length, pam)
    finally:
        reader.close()


_Found = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]
MERGE_GAP_SITES = 512
"""Buckets closer than this many sites (4 KiB of words) are read in one call (the sites
between them are tested too: their seeds are too far from the guide's to be hits)."""


class _IndexFile:
    """Reads of an index file with ``os.preadv`` straight into arrays: only the bytes asked
    for are read and, unlike the memory map, no neighbouring page of the file is mapped into
    the process (a map's page faults map 64 KiB around each byte touched)."""

    def __init__(self, index: SiteIndex) -> None:
        self.index = index
        self.fd = os.open(index.path, os.O_RDONLY)

    def _read(self, out: npt.NDArray[Any], spans: list[tuple[int, int]], name: str) -> None:
        spec = self.index.header["arrays"][name]
        size = np.dtype(spec["dtype"]).itemsize
        view = memoryview(out.view(np.uint8).data)
        at = 0
        for first, count in spans:
            got = os.preadv(self.fd, [view[at : at + size * count]], spec["offset"] + size * first)
            if got != size * count:
                raise InvalidInputError(f"{self.index.path}: truncated site index")
            at += size * count

    def words(self, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        """Return the words of sites ``lo[i] <= site < hi[i]``, the ranges one after another."""
        out = np.empty(int((hi - lo).sum()), np.uint64)
        self._read(out, list(zip(lo.tolist(), (hi - lo).tolist(), strict=True)), "word")
        return out

    def rows(self, name: str, sites: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """Return array ``name`` at ``sites``."""
        out = np.empty(len(sites), np.dtype(self.index.header["arrays"][name]["dtype"]))
        self._read(out, [(site, 1) for site in sites.tolist()], name)
        return out

    def close(self) -> None:
        os.close(self.fd)


def _near_seeds(seed: np.uint64, n_seeds: int, max_mm: int) -> npt.NDArray[np.int64]:
    """Return the seeds within ``max_mm`` mismatches of ``seed`` (bases 2 bits each)."""
    x = np.arange(n_seeds, dtype=np.uint64) ^ seed
    distance = np.bitwise_count((x | (x >> np.uint64(1))) & np.uint64(FOLD))
    return np.flatnonzero(distance <= max_mm)


def _search_guide(
    index: SiteIndex,
    reader: _IndexFile,
    g: int,
    pattern: np.uint64,
    care: np.uint64,
    seed: np.uint64,
    max_mm: int,
    genome_n: str,
) -> _Found:
    """Return (site, guide ``g``, mismatches) of every hit of one guide: the buckets of its near
    seeds read (merged where close), each site tested (numpy; the loops release the GIL, so
    guides run in threads)."""
    bucket = np.asarray(index.bucket)
    near = _near_seeds(seed, len(bucket) - 1, max_mm)
    lo, hi = bucket[near], bucket[near + 1]
    full = hi > lo
    lo, hi = lo[full], hi[full]
    if len(lo) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int32)
    apart = np.flatnonzero(lo[1:] - hi[:-1] > MERGE_GAP_SITES) + 1
    lo = lo[np.concatenate([[0], apart])]
    hi = hi[np.concatenate([apart - 1, [len(hi) - 1]])]
    size = hi - lo
    x = reader.words(lo, hi)
    np.bitwise_xor(x, pattern, out=x)
    np.bitwise_or(x, x >> np.uint64(1), out=x)
    np.bitwise_and(x, np.uint64(FOLD) & care, out=x)
    mm = np.bitwise_count(x)
    near_hit = np.flatnonzero(mm <= max_mm)  # N read as A: never more mismatches than true
    ends = np.cumsum(size)
    which = np.searchsorted(ends, near_hit, side="right")
    site = lo[which] + near_hit - (ends[which] - size[which])
    mm_hit = mm[near_hit].astype(np.int32)
    n_site = np.asarray(index.n_site)
    if len(n_site) and len(site):
        at = np.minimum(np.searchsorted(n_site, site), len(n_site) - 1)
        with_n = np.flatnonzero(n_site[at] == site)
        if genome_n == "skip":
            mm_hit[with_n] = max_mm + 1
        else:
            n_bits = np.asarray(index.n_mask[at[with_n]]) & care
            mm_hit[with_n] = np.bitwise_count(x[near_hit[with_n]] | n_bits).astype(np.int32)
    hit = np.flatnonzero(mm_hit <= max_mm)
    return site[hit], np.full(len(hit), g, np.int32), mm_hit[hit]


def _hits(
    index: SiteIndex,
    reader: _IndexFile,
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
    """Return the hits (site numbers, guides, mismatches) as :class:`Hit` s, in genome order
    (contig, start, strand) then by guide."""
    contig = reader.rows("contig", sites)
    start = reader.rows("start", sites)
    strand = reader.rows("strand", sites)
    order = np.lexsort((which, strand, start, contig))
    sites, which, mms = sites[order], which[order], mms[order]
    contig, start, strand = contig[order], start[order], strand[order]
    words = reader.rows("word", sites)
    nmasks = np.zeros(len(sites), np.uint64)
    if len(index.n_site) and len(sites):
        at = np.minimum(np.searchsorted(index.n_site, sites), len(index.n_site) - 1)
        with_n = np.asarray(index.n_site[at]) == sites
        nmasks[with_n] = np.asarray(index.n_mask[at[with_n]])
    contigs = index.contigs
    hits: list[Hit] = []
    rows = zip(
        which.tolist(), mms.tolist(), words.tolist(), nmasks.tolist(), contig.tolist(),
        start.tolist(), strand.tolist(), strict=True,
    )  # fmt: skip
    for g, mm, word, nmask, number, begin, minus in rows:
        letters = [
            "N" if nmask >> (2 * d) & 1 else BASE_CODES[(word >> (2 * d)) & 3] for d in range(span)
        ]
        guide = guides[g].sequence
        proto = letters[proto_at : proto_at + length]
        marked = "".join(b if b == guide[j] else b.lower() for j, b in enumerate(proto))
        site_pam = "".join(letters[pam_at : pam_at + len(pam)])
        hits.append(
            Hit(
                guide_index=g,
                contig=contigs[number],
                start_bp=begin,
                end_bp=begin + span,
                strand="-" if minus else "+",
                mismatches=mm,
                bulge_type="none",
                bulge_size=0,
                site=marked + site_pam if proto_at == 0 else site_pam + marked,
                pam=site_pam,
                aligned="".join(proto),
            )
        )
    return hits
