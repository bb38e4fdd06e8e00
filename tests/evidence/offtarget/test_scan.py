"""The scan finds exactly the sites a brute-force search finds: planted sites of 0..k
mismatches on both strands, at contig ends, beside and across N runs, with bulges; junctions
between streamed blocks; several guides in one pass; and random small cases (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.genome import Genome, encode, write_fasta
from pmpath.evidence.offtarget.scan import (
    Guide,
    ScanSettings,
    SiteFinder,
    check_guide,
    check_pam,
    search_genome,
)
from tests.evidence.offtarget.bruteforce import Key, brute_force, revcomp

GUIDE = "GACCCACACCGGAGGTGTAG"


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def _mutate(guide: str, positions: list[int]) -> str:
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return "".join(swap[b] if i in positions else b for i, b in enumerate(guide))


def _keys(hits: list) -> dict[Key, str]:  # type: ignore[type-arg]
    return {
        (h.contig, h.start_bp, h.end_bp, h.strand, h.bulge_type, h.bulge_size, h.mismatches): (
            h.site if h.bulge_type == "none" else ""
        )
        for h in hits
    }


def _planted_genome(rng: np.random.Generator) -> list[tuple[str, str]]:
    """Three contigs with sites of 0..6 mismatches on both strands, at both ends of a contig,
    next to and across N runs, and with DNA and RNA bulges."""
    chr1 = list(_random(rng, 3000))
    chr2 = list(_random(rng, 2500))

    def plant(contig: list[str], at: int, site: str, strand: str) -> None:
        text = site if strand == "+" else revcomp(site)
        contig[at : at + len(text)] = list(text)

    for mm in range(7):
        positions = sorted(rng.choice(20, size=mm, replace=False).tolist())
        plant(chr1, 100 + 200 * mm, _mutate(GUIDE, positions) + "AGG", "+")
        plant(chr2, 100 + 200 * mm, _mutate(GUIDE, positions) + "TGG", "-")
    plant(chr1, 0, GUIDE + "CGG", "+")  # at the very start
    plant(chr1, len(chr1) - 23, GUIDE + "GGG", "-")  # at the very end
    plant(chr1, 1600, GUIDE[:9] + "T" + GUIDE[9:] + "AGG", "+")  # DNA bulge 1
    plant(chr1, 1700, GUIDE[:6] + "GA" + GUIDE[6:] + "TGG", "-")  # DNA bulge 2
    plant(chr1, 1800, GUIDE[:11] + GUIDE[12:] + "CGG", "+")  # RNA bulge 1
    plant(chr1, 1900, GUIDE[:4] + GUIDE[6:] + "GGG", "-")  # RNA bulge 2
    plant(chr1, 2000, _mutate(GUIDE, [3]) + "AAG", "+")  # NAG: only with an NRG PAM
    plant(chr2, 1600, GUIDE + "AGG", "+")
    chr2[1580:1600] = ["N"] * 20  # N run just before a site: still found
    plant(chr2, 1700, GUIDE + "TGG", "+")
    chr2[1710:1715] = ["N"] * 5  # N run inside a site: skipped
    chr2[2400:] = ["N"] * 100  # contig ending in Ns
    chr3 = "N" * 50 + GUIDE + "TGG" + "n" * 10 + _random(rng, 200).lower() + revcomp(GUIDE + "AGG")
    return [("chr1", "".join(chr1)), ("chr2", "".join(chr2)), ("chr3", chr3)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]]]:
    records = _planted_genome(np.random.default_rng(7))
    path = tmp_path_factory.mktemp("genome") / "planted.fa"
    write_fasta(path, records, line_bp=60)
    return path, records


@pytest.mark.parametrize(
    ("pam", "max_mm", "dna", "rna"),
    [("NGG", 4, 0, 0), ("NGG", 6, 0, 0), ("NRG", 3, 0, 0), ("NGG", 2, 2, 2), ("NGG", 3, 1, 0)],
)
@pytest.mark.parametrize("block_bp", [100, 1 << 20])
def test_scan_equals_brute_force_on_planted_genome(
    planted: tuple[Path, list[tuple[str, str]]],
    pam: str,
    max_mm: int,
    dna: int,
    rna: int,
    block_bp: int,
) -> None:
    path, records = planted
    settings_ = ScanSettings(pam=pam, max_mismatches=max_mm, dna_bulge=dna, rna_bulge=rna)
    hits = search_genome(
        Genome(path), [Guide(name="g", sequence=GUIDE)], settings_, block_bp=block_bp, threads=2
    )
    expected = brute_force(records, GUIDE, pam, max_mm, dna, rna)
    assert _keys(hits) == expected
    assert len(hits) == len(expected)  # no site reported twice


def test_planted_sites_are_found_with_their_mismatch_counts(
    planted: tuple[Path, list[tuple[str, str]]],
) -> None:
    path, _ = planted
    hits = search_genome(Genome(path), [Guide(name="g", sequence=GUIDE)], ScanSettings(pam="NGG"))
    by_place = {(h.contig, h.start_bp, h.strand): h for h in hits if h.bulge_type == "none"}
    for mm in range(5):
        assert by_place[("chr1", 100 + 200 * mm, "+")].mismatches == mm
        assert by_place[("chr2", 100 + 200 * mm, "-")].mismatches == mm
    for mm in (5, 6):  # beyond k = 4
        assert ("chr1", 100 + 200 * mm, "+") not in by_place
    assert by_place[("chr1", 0, "+")].site == GUIDE + "CGG"
    assert by_place[("chr1", 2977, "-")].site == GUIDE + "GGG"
    assert ("chr2", 1600, "+") in by_place  # beside an N run
    assert ("chr2", 1700, "+") not in by_place  # across an N run
    assert by_place[("chr3", 50, "+")].end_bp == 73
    assert by_place[("chr3", 50 + 23 + 10 + 200, "-")].site == GUIDE + "AGG"  # soft-masked
    two = by_place[("chr1", 500, "+")]
    assert sum(ch.islower() for ch in two.site) == 2 and two.pam == "AGG"


def test_bulged_sites_are_typed_and_shown_with_gaps(
    planted: tuple[Path, list[tuple[str, str]]],
) -> None:
    path, _ = planted
    settings_ = ScanSettings(pam="NGG", max_mismatches=0, dna_bulge=2, rna_bulge=2)
    hits = search_genome(Genome(path), [Guide(name="g", sequence=GUIDE)], settings_)
    by_place = {(h.start_bp, h.end_bp, h.strand): h for h in hits if h.contig == "chr1"}
    dna1 = by_place[(1600, 1624, "+")]
    assert (dna1.bulge_type, dna1.bulge_size, dna1.mismatches) == ("DNA", 1, 0)
    assert dna1.site.upper() == GUIDE[:9] + "T" + GUIDE[9:] + "AGG"
    assert sum(ch.islower() for ch in dna1.site) == 1
    dna2 = by_place[(1700, 1725, "-")]
    assert (dna2.bulge_type, dna2.bulge_size) == ("DNA", 2)
    rna1 = by_place[(1800, 1822, "+")]
    assert (rna1.bulge_type, rna1.bulge_size, rna1.mismatches) == ("RNA", 1, 0)
    assert (
        rna1.site.count("-") == 1 and rna1.site.replace("-", "") == GUIDE[:11] + GUIDE[12:] + "CGG"
    )
    rna2 = by_place[(1900, 1921, "-")]
    assert (rna2.bulge_type, rna2.bulge_size) == ("RNA", 2)
    assert len(rna2.aligned) == 20 and rna2.aligned.count("-") == 2


def test_several_guides_in_one_pass_equal_separate_passes(
    planted: tuple[Path, list[tuple[str, str]]],
) -> None:
    path, records = planted
    rng = np.random.default_rng(3)
    guides = [Guide(name="g0", sequence=GUIDE)] + [
        Guide(name=f"g{i}", sequence=_random(rng, 20 + 2 * i)) for i in range(1, 4)
    ]  # 20, 22, 24 and 26 nt
    settings_ = ScanSettings(pam="NGG", max_mismatches=4, dna_bulge=2, rna_bulge=1)
    together = search_genome(Genome(path), guides, settings_, block_bp=500)
    for index, guide in enumerate(guides):
        mine = [h for h in together if h.guide_index == index]
        assert _keys(mine) == brute_force(records, guide.sequence, "NGG", 4, 2, 1)
    assert _keys([h for h in together if h.guide_index == 0])


def test_five_prime_pam_editor(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    guide = _random(rng, 23)
    body = list(_random(rng, 1500))
    body[200:250] = list("TTTA" + _mutate(guide, [2, 20]) + "A" * 23)
    body[700:727] = list(revcomp("TTTC" + guide))
    records = [("c", "".join(body))]
    path = tmp_path / "g.fa"
    write_fasta(path, records)
    settings_ = ScanSettings(pam="TTTV", pam_side="5prime", max_mismatches=3, rna_bulge=1)
    hits = search_genome(Genome(path), [Guide(name="x", sequence=guide)], settings_)
    expected = brute_force(records, guide, "TTTV", 3, 0, 1, pam_side="5prime")
    assert _keys(hits) == expected
    assert ("c", 700, 727, "-", "none", 0, 0) in expected


def test_bad_guide_and_pam_are_one_line_errors() -> None:
    with pytest.raises(InvalidInputError, match="only A, C, G, T"):
        check_guide("GACCCACACCGGAGGTGTAX")
    with pytest.raises(InvalidInputError, match="10 to 40"):
        check_guide("ACGT")
    with pytest.raises(InvalidInputError, match="IUPAC"):
        check_pam("NGZ")
    with pytest.raises(InvalidInputError, match="empty"):
        check_pam("")


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, str, str, int, int, int]:
    guide = draw(st.text(alphabet="ACGT", min_size=10, max_size=12))
    pam = draw(st.sampled_from(["NGG", "NRG", "NG", "TTN", "N"]))
    # a genome built from guide pieces so that near-matches are common
    pieces = st.one_of(
        st.text(alphabet="ACGTN", min_size=1, max_size=6),
        st.just(guide),
        st.just(revcomp(guide)),
        st.sampled_from(["AGG", "CCT", "TGG", "CCA", "NN", "NGG", "CCN"]),
    )
    genome = "".join(draw(st.lists(pieces, min_size=1, max_size=25)))
    max_mm = draw(st.integers(0, 3))
    dna = draw(st.integers(0, 2))
    rna = draw(st.integers(0, 2))
    return genome, guide, pam, max_mm, dna, rna


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_property_finder_equals_brute_force(case: tuple[str, str, str, int, int, int]) -> None:
    genome, guide, pam, max_mm, dna, rna = case
    settings_ = ScanSettings(pam=pam, max_mismatches=max_mm, dna_bulge=dna, rna_bulge=rna)
    finder = SiteFinder([Guide(name="g", sequence=guide)], settings_)
    hits = finder.find(encode(genome))
    got = {
        ("c", h.start, h.end, h.strand, h.bulge_type, h.bulge_size, h.mismatches): (
            h.site if h.bulge_type == "none" else ""
        )
        for h in hits
    }
    assert got == brute_force([("c", genome)], guide, pam, max_mm, dna, rna)
    assert len(hits) == len(got)


def test_bgzip_genome_with_index_gives_the_same_sites(
    planted: tuple[Path, list[tuple[str, str]]], tmp_path: Path
) -> None:
    import struct
    import zlib

    path, records = planted
    data = path.read_bytes()
    blocks = []
    for i in range(0, len(data), 4000):  # several BGZF blocks, as bgzip writes them
        piece = data[i : i + 4000]
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = compressor.compress(piece) + compressor.flush()
        extra = b"BC" + struct.pack("<HH", 2, len(body) + 25)
        header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra))
        blocks.append(header + extra + body + struct.pack("<II", zlib.crc32(piece), len(piece)))
    bgz = tmp_path / "planted.fa.gz"
    bgz.write_bytes(b"".join(blocks))
    offset, fai = 0, []
    for name, seq in records:
        offset += len(f">{name}\n")
        fai.append(f"{name}\t{len(seq)}\t{offset}\t60\t61\n")
        offset += len(seq) + (len(seq) + 59) // 60
    Path(f"{bgz}.fai").write_text("".join(fai))
    genome = Genome(bgz)
    assert genome.compressed and genome.contigs == ["chr1", "chr2", "chr3"]
    assert genome.lengths_bp == {name: len(seq) for name, seq in records}
    settings_ = ScanSettings(pam="NGG", max_mismatches=3)
    guide = [Guide(name="g", sequence=GUIDE)]
    assert _keys(search_genome(genome, guide, settings_)) == _keys(
        search_genome(Genome(path), guide, settings_)
    )


def test_long_guides_and_mixed_lengths_in_one_pass() -> None:
    """Guides over 32 nt use the base-by-base path; guides of several lengths share a pass."""
    rng = np.random.default_rng(17)
    long_guide = _random(rng, 35)
    short_guide = _random(rng, 18)
    body = list(_random(rng, 2000))
    body[100:138] = list(_mutate(long_guide, [0, 20]) + "TGG")
    body[400:438] = list(revcomp(long_guide[:20] + long_guide[21:] + "AGG"))  # RNA bulge
    body[900:921] = list(_mutate(short_guide, [5]) + "GGG")
    body[1500:1521] = list(revcomp(short_guide[:9] + "A" + short_guide[9:] + "CGG")[1:])
    genome = "".join(body)
    guides = [Guide(name="long", sequence=long_guide), Guide(name="short", sequence=short_guide)]
    settings_ = ScanSettings(pam="NGG", max_mismatches=3, dna_bulge=1, rna_bulge=1)
    hits = SiteFinder(guides, settings_).find(encode(genome))
    for index, guide in enumerate(guides):
        got = {
            ("c", h.start, h.end, h.strand, h.bulge_type, h.bulge_size, h.mismatches)
            for h in hits
            if h.guide_index == index
        }
        expected = brute_force([("c", genome)], guide.sequence, "NGG", 3, 1, 1)
        assert got == set(expected)
        assert len(expected) >= 2


def test_bad_fasta_files_are_one_line_errors(tmp_path: Path) -> None:
    import gzip

    from pmpath.domain.errors import NotFoundError

    guide = [Guide(name="g", sequence=GUIDE)]
    settings_ = ScanSettings(pam="NGG")
    bad_char = tmp_path / "x.fa"
    bad_char.write_text(">c1\n" + "ACGT" * 30 + "\n>c2\nACGTAC1GT\n")
    with pytest.raises(InvalidInputError, match=r"contig c2: character '1' is not a nucleotide"):
        search_genome(Genome(bad_char), guide, settings_)  # raised from the reader thread
    not_fasta = tmp_path / "y.fa"
    not_fasta.write_text("ACGT\n")
    with pytest.raises(InvalidInputError, match="must start with '>'"):
        search_genome(Genome(not_fasta), guide, settings_)
    plain_gzip = tmp_path / "z.fa.gz"
    with gzip.open(plain_gzip, "wt") as out:
        out.write(">c\nACGT\n")
    with pytest.raises(InvalidInputError, match="not bgzip-compressed"):
        Genome(plain_gzip)
    with pytest.raises(NotFoundError, match="does not exist"):
        Genome(tmp_path / "missing.fa")
    duplicated = tmp_path / "d.fa"
    duplicated.write_text(">c\nACGT\n>c\nACGT\n")
    with pytest.raises(InvalidInputError, match="appears twice"):
        _ = Genome(duplicated).contigs


def test_threads_split_a_large_buffer_without_changing_the_result() -> None:
    rng = np.random.default_rng(23)
    codes = rng.integers(0, 4, 1_300_000).astype(np.uint8)
    guides = [Guide(name="a", sequence=GUIDE), Guide(name="b", sequence=_random(rng, 20))]
    site = encode(revcomp(_mutate(GUIDE, [4]) + "AGG"))
    middle = 1_300_000 // 2 - 10  # across the boundary between the two threads' anchors
    codes[middle : middle + 23] = site
    finder = SiteFinder(guides, ScanSettings(pam="NGG", max_mismatches=4, dna_bulge=1))
    one = finder.find(codes, threads=1)
    two = finder.find(codes, threads=2)
    assert one == two
    assert any(h.start == middle and h.mismatches == 1 and h.strand == "-" for h in two)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_property_genome_n_as_mismatch_equals_brute_force(
    case: tuple[str, str, str, int, int, int],
) -> None:
    """Issue 14 item 10: with ``genome_n="mismatch"`` (Cas-OFFinder's rule) sites holding N are
    reported, each N facing a guide base counted as a mismatch; a brute force agrees."""
    genome, guide, pam, max_mm, dna, rna = case
    settings_ = ScanSettings(
        pam=pam, max_mismatches=max_mm, dna_bulge=dna, rna_bulge=rna, genome_n="mismatch"
    )
    hits = SiteFinder([Guide(name="g", sequence=guide)], settings_).find(encode(genome))
    got = {
        ("c", h.start, h.end, h.strand, h.bulge_type, h.bulge_size, h.mismatches): (
            h.site if h.bulge_type == "none" else ""
        )
        for h in hits
    }
    expected = brute_force([("c", genome)], guide, pam, max_mm, dna, rna, genome_n="mismatch")
    assert got == expected


def test_genome_n_choice_on_a_site_with_an_n() -> None:
    genome = "ACGT" * 5 + GUIDE[:5] + "N" + GUIDE[6:] + "TGG" + "ACGT" * 5
    skip = SiteFinder([Guide(name="g", sequence=GUIDE)], ScanSettings(pam="NGG", max_mismatches=2))
    assert skip.find(encode(genome)) == []
    counted = SiteFinder(
        [Guide(name="g", sequence=GUIDE)],
        ScanSettings(pam="NGG", max_mismatches=2, genome_n="mismatch"),
    ).find(encode(genome))
    assert [(h.start, h.mismatches, h.site) for h in counted] == [
        (20, 1, GUIDE[:5] + "n" + GUIDE[6:] + "TGG")
    ]


def test_the_scan_pass_gives_the_digest_and_the_names_without_rereading(
    planted: tuple[Path, list[tuple[str, str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14 item 9: the genome's sha256 comes from the scan's own pass, and its contig names
    after the scan need no second read of the FASTA (plain, and bgzip with its .fai)."""
    import hashlib

    import pysam

    path, records = planted
    gz = tmp_path / "g.fa.gz"
    pysam.tabix_compress(str(path), str(gz), force=True)
    pysam.faidx(str(gz))
    for fasta in (path, gz):
        genome = Genome(fasta)
        assert genome.sha256 is None
        search_genome(genome, [Guide(name="g", sequence=GUIDE)], ScanSettings(pam="NGG"))
        assert genome.sha256 == hashlib.sha256(fasta.read_bytes()).hexdigest()

        def no_second_read(*_: object) -> None:
            raise AssertionError("the FASTA was read again")

        monkeypatch.setattr(genome, "_scan_headers", no_second_read)
        monkeypatch.setattr(genome, "_open_stream", no_second_read)
        assert genome.contigs == [name for name, _ in records]


def test_region_fetch_by_random_access_equals_the_stream_and_writes_no_index_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMPATH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "g.fa"
    rng = np.random.default_rng(9)
    chr2 = _random(rng, 900)
    write_fasta(path, [("chr1", _random(rng, 1200)), ("chr2", chr2[:300] + "RYK" + chr2[303:])])
    regions = [("chr1", 0, 50), ("chr1", 1150, 1300), ("chr2", 290, 320), ("chr2", -5, 10)]
    genome = Genome(path)
    fetched = genome.fetch(regions)
    assert fetched == genome.stream_fetch(regions)
    assert fetched[("chr2", 290, 320)][10:13] == "NNN" and len(fetched[("chr1", 1150, 1300)]) == 50
    assert sorted(p.name for p in folder.iterdir()) == ["g.fa"]  # the index went to the cache
