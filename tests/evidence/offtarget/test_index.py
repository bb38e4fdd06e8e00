"""The site index gives exactly the scan's sites (issue 14): random genomes with planted sites
on both strands, 0-6 mismatches (seeds with mismatches and N too), N letters under both rules,
3' and 5' PAMs (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.genome import Genome, write_fasta
from pmpath.evidence.offtarget.index import load_index, search_index
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, search_genome
from pmpath.services.offtarget import build_site_index
from tests.evidence.offtarget.bruteforce import revcomp

GUIDE = "GACCCACACCGGAGGTGTAG"


def _key(h: object) -> tuple[object, ...]:
    return (
        h.guide_index, h.contig, h.start_bp, h.end_bp, h.strand, h.mismatches,  # type: ignore[attr-defined]
        h.site, h.pam, h.aligned,  # type: ignore[attr-defined]
    )  # fmt: skip


def _both(
    records: list[tuple[str, str]], guides: list[str], pam: str, side: str, mm: int, n_rule: str
) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    with tempfile.TemporaryDirectory() as folder:
        fasta = Path(folder) / "g.fa"
        write_fasta(fasta, records)
        index_path = Path(folder) / "g.idx"
        build_site_index(fasta, index_path, pam=pam, pam_side=side, guide_length=len(guides[0]))  # type: ignore[arg-type]
        named = [Guide(name=f"g{i}", sequence=g) for i, g in enumerate(guides)]
        scan_settings = ScanSettings(pam=pam, pam_side=side, max_mismatches=mm, genome_n=n_rule)  # type: ignore[arg-type]
        scanned = search_genome(Genome(fasta), named, scan_settings, threads=1)
        indexed = search_index(
            load_index(index_path),
            named,
            max_mismatches=mm,
            genome_n=n_rule,  # type: ignore[arg-type]
        )
        assert len(indexed) == len({_key(h) for h in indexed})
        return {_key(h) for h in scanned}, {_key(h) for h in indexed}


def _mutate(guide: str, positions: list[int]) -> str:
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return "".join(swap[b] if i in positions else b for i, b in enumerate(guide))


@st.composite
def _genomes(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str], str, str, int, str]:
    pam, side = draw(st.sampled_from([("NGG", "3prime"), ("NRG", "3prime"), ("TTTV", "5prime")]))
    guides = [GUIDE, draw(st.text(alphabet="ACGT", min_size=20, max_size=20))]
    pieces = st.one_of(
        st.text(alphabet="ACGT", min_size=1, max_size=30),
        st.just("NNNN"),
        st.builds(
            lambda g, pos, p, minus: (
                revcomp(_mutate(g, pos) + p)
                if minus and side == "3prime"
                else revcomp(p + _mutate(g, pos))
                if minus
                else (_mutate(g, pos) + p if side == "3prime" else p + _mutate(g, pos))
            ),
            st.sampled_from(guides),
            st.lists(st.integers(0, 19), max_size=5, unique=True),
            st.sampled_from(["AGG", "TGG", "GAG", "TTTA", "TTTG", "NGG"]),
            st.booleans(),
        ),
        st.builds(  # a site with an N inside the protospacer
            lambda g, at: g[:at] + "N" + g[at + 1 :] + ("TGG" if side == "3prime" else ""),
            st.sampled_from(guides),
            st.integers(0, 19),
        ),
    )
    contigs = [
        (f"chr{i + 1}", "".join(draw(st.lists(pieces, min_size=1, max_size=12))))
        for i in range(draw(st.integers(1, 3)))
    ]
    return (
        contigs,
        guides,
        pam,
        side,
        draw(st.integers(0, 6)),
        draw(st.sampled_from(["skip", "mismatch"])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_genomes())
def test_property_index_search_equals_scan(
    case: tuple[list[tuple[str, str]], list[str], str, str, int, str],
) -> None:
    records, guides, pam, side, mm, n_rule = case
    scanned, indexed = _both(records, guides, pam, side, mm, n_rule)
    assert indexed == scanned


def test_planted_sites_both_strands_across_blocks(tmp_path: Path) -> None:
    """A larger genome (several 8-Mb blocks would be slow; the junction logic is the scan's
    ``windows``): every planted site of 0-4 mismatches on either strand is found once."""
    rng = np.random.default_rng(3)
    chars = list("".join(rng.choice(list("ACGT"), 200_000)))
    planted = []
    for mm in range(5):
        for strand in "+-":
            at = int(rng.integers(0, 199_000))
            site = _mutate(GUIDE, list(range(mm))) + "AGG"
            text = site if strand == "+" else revcomp(site)
            chars[at : at + 23] = list(text)
            planted.append((at, strand, mm))
    scanned, indexed = _both([("chr1", "".join(chars))], [GUIDE], "NGG", "3prime", 4, "skip")
    assert indexed == scanned
    found = {(k[2], k[4], k[5]) for k in indexed}
    assert set(planted) <= found


def test_index_refuses_other_guide_lengths_and_is_checked(tmp_path: Path) -> None:
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, [("chr1", GUIDE + "TGG" + "ACGT" * 10)])
    path = tmp_path / "g.idx"
    header = build_site_index(fasta, path, pam="NGG")
    assert header["genome_sha256"] and header["n_sites"] >= 1
    with pytest.raises(InvalidInputError, match="20-nt guides"):
        search_index(load_index(path), [Guide(name="s", sequence=GUIDE[:18])], max_mismatches=1)
    path.write_bytes(b"not an index")
    with pytest.raises(InvalidInputError, match="not a pmpath site index"):
        load_index(path)
    path.write_bytes(b"PMPATH-SITE-INDEX 1\n" + bytes(100))
    with pytest.raises(InvalidInputError, match=r"another format .* rebuild it"):
        load_index(path)


def test_search_reads_only_the_near_seeds_buckets(tmp_path: Path) -> None:
    """Sites sit in the bucket of their seed (the 10 bases next to the PAM): a site whose seed
    differs from the guide's in 5 bases is not found at <= 4 mismatches even though the index
    holds it, and every bucket holds sites of its seed only."""
    from pmpath.evidence.offtarget.index import SEED_BASES

    far = _mutate(GUIDE, [10, 12, 14, 16, 18]) + "TGG"  # 5 mismatches, all in the seed
    near = _mutate(GUIDE, [0, 1, 2, 19]) + "CGG"  # 4 mismatches, one in the seed
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, [("chr1", "A" * 30 + far + "A" * 30 + near + "A" * 30)])
    build_site_index(fasta, tmp_path / "g.idx", pam="NGG")
    index = load_index(tmp_path / "g.idx")
    bucket = np.asarray(index.bucket)
    assert len(bucket) == 4**SEED_BASES + 1 and bucket[-1] == len(index.word)
    for seed in np.flatnonzero(np.diff(bucket)).tolist():
        words = np.asarray(index.word[bucket[seed] : bucket[seed + 1]])
        assert set(((words >> np.uint64(20)) & np.uint64(4**SEED_BASES - 1)).tolist()) == {seed}
    hits = search_index(index, [Guide(name="g", sequence=GUIDE)], max_mismatches=4)
    assert [(h.start_bp, h.mismatches) for h in hits] == [(30 + 23 + 30, 4)]
    hits = search_index(index, [Guide(name="g", sequence=GUIDE)], max_mismatches=5)
    assert [(h.start_bp, h.mismatches) for h in hits] == [(30, 5), (30 + 23 + 30, 4)]


@pytest.mark.parametrize("n_rule", ["skip", "mismatch"])
def test_guides_together_in_threads_and_one_at_a_time_agree(tmp_path: Path, n_rule: str) -> None:
    """Six guides searched together (in 2 threads), the same guides one at a time, and the
    scan give the same sites."""
    rng = np.random.default_rng(11)
    guides = [GUIDE] + ["".join(rng.choice(list("ACGT"), 20)) for _ in range(5)]
    chars = list("".join(rng.choice(list("ACGT"), 60_000)))
    for i, g in enumerate(guides):
        site = _mutate(g, list(range(i % 5))) + "TGG"
        chars[1000 + 5000 * i : 1023 + 5000 * i] = list(site if i % 2 else revcomp(site))
    chars[3005] = "N"
    records = [("chr1", "".join(chars))]
    scanned, indexed = _both(records, guides, "NGG", "3prime", 4, n_rule)
    assert indexed == scanned
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, records)
    build_site_index(fasta, tmp_path / "g.idx", pam="NGG")
    loaded = load_index(tmp_path / "g.idx")
    named = [Guide(name=f"g{i}", sequence=g) for i, g in enumerate(guides)]
    together = search_index(loaded, named, max_mismatches=4, genome_n=n_rule, threads=2)  # type: ignore[arg-type]
    assert {_key(h) for h in together} == indexed
    one_by_one = set()
    for i, g in enumerate(guides):
        for h in search_index(
            loaded,
            [Guide(name=f"g{i}", sequence=g)],
            max_mismatches=4,
            genome_n=n_rule,  # type: ignore[arg-type]
        ):
            one_by_one.add((*_key(h)[1:], i))
    assert one_by_one == {(*k[1:], k[0]) for k in indexed}


def test_a_block_with_a_site_at_every_base(tmp_path: Path) -> None:
    """A poly-G run has an NGG site at every base (more than a block's first guess of sites):
    the index still holds them all and gives the scan's sites."""
    records = [("chr1", "G" * 3000 + _mutate(GUIDE, [3, 9]) + "TGG" + "G" * 500)]
    scanned, indexed = _both(records, [GUIDE, "G" * 20], "NGG", "3prime", 4, "skip")
    assert indexed == scanned
    assert sum(k[0] == 1 for k in indexed) > 3000
