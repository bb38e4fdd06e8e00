"""The letter scan of plain FASTA files (the file's letters compared as they are, by the native
loop ``scan_ascii.c`` and by its numba twin :func:`pmpath.evidence.offtarget.kernel.scan_ascii`,
each test run with both) finds exactly what the naive string search of
``bruteforce.py`` finds, however the FASTA is laid out: soft-masked (lower-case) runs, IUPAC
letters and N, lines of random widths, Windows line ends and stray blanks, an unwrapped contig,
sites across the pieces the file is read in and across the two threads' halves of a piece, both
``genome_n`` rules, 3' and 5' PAMs, one and several guides of two lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget import native
from pmpath.evidence.offtarget.genome import Genome, _find_header
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, SiteFinder, search_genome
from tests.evidence.offtarget.bruteforce import Key, brute_force, revcomp

GUIDES = ["GACCCACACCGGAGGTGTAG", "TTGCAGTCCAGATCCGAAGT", "ACGGATCCTAGGCTA"]


def _plant(
    rng: np.random.Generator, seq: list[str], at: int, guide: str, pam_site: str, side: str
) -> None:
    """Write a site of ``guide`` with 0..4 mismatches (sometimes an N) at ``at``, either
    strand."""
    spacer = list(guide)
    for p in rng.choice(len(guide), size=int(rng.integers(0, 5)), replace=False).tolist():
        spacer[p] = "ACGT"[("ACGT".index(spacer[p]) + 1) % 4]
    if rng.random() < 0.15:
        spacer[int(rng.integers(0, len(guide)))] = "N"
    site = "".join(spacer) + pam_site if side == "3prime" else pam_site + "".join(spacer)
    text = site if rng.random() < 0.5 else revcomp(site)
    seq[at : at + len(text)] = list(text)


def _records(
    rng: np.random.Generator, sizes: list[int], pam_site: str, side: str, every: int = 53
) -> list[tuple[str, str]]:
    records = []
    for number, size in enumerate(sizes):
        seq = list("".join(rng.choice(list("ACGT"), size)))
        for _ in range(size // 400):
            seq[int(rng.integers(0, size))] = str(rng.choice(list("NRYKM")))
        for at in range(20, size - 40, every):
            _plant(rng, seq, at, GUIDES[at % len(GUIDES)], pam_site, side)
        records.append((f"chr{number + 1}", "".join(seq)))
    return records


def _write_messy(path: Path, records: list[tuple[str, str]], rng: np.random.Generator) -> None:
    """Lines of random widths (the last contig unwrapped), lower-case runs, and, in the second
    contig, Windows line ends and a few blanks inside lines."""
    with path.open("wb") as out:
        for number, (name, seq) in enumerate(records):
            out.write(f">{name} description\n".encode())
            text = list(seq)
            for _ in range(len(seq) // 300):
                at = int(rng.integers(0, len(seq) - 40))
                text[at : at + 40] = list("".join(text[at : at + 40]).lower())
            body = "".join(text)
            if number == len(records) - 1:
                out.write(body.encode() + b"\n")
                continue
            at = 0
            while at < len(body):
                width = int(rng.integers(1, 120))
                line = body[at : at + width]
                if number == 1 and rng.random() < 0.05:
                    line = line[: len(line) // 2] + " " + line[len(line) // 2 :]
                out.write(line.encode() + (b"\r\n" if number == 1 else b"\n"))
                at += width


@pytest.fixture(params=["native", "numba"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the native letter loop (``scan_ascii.c``), then with numba's."""
    if request.param == "numba":
        monkeypatch.setattr(native, "_loop", native.Loop(None, "numba (the test asks for it)"))
    elif native.scan_ascii() is None:
        pytest.skip(f"no native letter scan here: {native.loop().about}")
    return str(request.param)


def _keys(hits: list, guide_index: int) -> dict[Key, str]:  # type: ignore[type-arg]
    return {
        (h.contig, h.start_bp, h.end_bp, h.strand, h.bulge_type, h.bulge_size, h.mismatches): h.site
        for h in hits
        if h.guide_index == guide_index
    }


@pytest.mark.parametrize(
    ("pam", "pam_site", "side"),
    [("NGG", "TGG", "3prime"), ("NRG", "CAG", "3prime"), ("TTTV", "TTTC", "5prime")],
)
@pytest.mark.parametrize("genome_n", ["skip", "mismatch"])
@pytest.mark.parametrize("n_guides", [1, 3])
def test_letter_scan_equals_brute_force_on_messy_files(
    tmp_path: Path, pam: str, pam_site: str, side: str, genome_n: str, n_guides: int, kernel: str
) -> None:
    rng = np.random.default_rng(sum(map(ord, pam + genome_n)) + n_guides)
    records = _records(rng, [3000, 2500, 1800], pam_site, side)
    path = tmp_path / "g.fa"
    _write_messy(path, records, rng)
    settings = ScanSettings(pam=pam, pam_side=side, max_mismatches=4, genome_n=genome_n)  # type: ignore[arg-type]
    guides = [Guide(name=f"g{i}", sequence=s) for i, s in enumerate(GUIDES[:n_guides])]
    assert SiteFinder(guides, settings)._letters is not None  # the letter scan runs
    for piece_bytes in (64, 997, 1 << 20):
        hits = search_genome(Genome(path), guides, settings, block_bp=piece_bytes, threads=2)
        for i, guide in enumerate(GUIDES[:n_guides]):
            expected = brute_force(records, guide, pam, 4, pam_side=side, genome_n=genome_n)
            assert _keys(hits, i) == expected, (guide, piece_bytes)
            assert any(key[-1] == 4 for key in expected) and any(key[3] == "-" for key in expected)


def test_eight_guides_take_the_letter_scan_with_the_native_loop_only(
    tmp_path: Path, kernel: str
) -> None:
    """Up to 10 guides with the C loop, 6 with numba's; the sites are the naive search's."""
    rng = np.random.default_rng(8)
    guides = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(8)]
    records = []
    for number, size in enumerate([4000, 2600]):
        seq = list("".join(rng.choice(list("ACGT"), size)))
        for at in range(30, size - 40, 61):
            _plant(rng, seq, at, guides[at % 8], "AGG", "3prime")
        records.append((f"chr{number + 1}", "".join(seq)))
    path = tmp_path / "g.fa"
    _write_messy(path, records, rng)
    settings = ScanSettings(pam="NGG", max_mismatches=4)
    finder = SiteFinder([Guide(name=f"g{i}", sequence=g) for i, g in enumerate(guides)], settings)
    assert (finder._letters is not None) == (kernel == "native")
    hits = search_genome(Genome(path), finder.guides, settings, block_bp=997, threads=2)
    for i, guide in enumerate(guides):
        assert _keys(hits, i) == brute_force(records, guide, "NGG", 4), guide
    assert len(hits) > 80


def test_sites_across_the_threads_halves_and_the_pieces(tmp_path: Path, kernel: str) -> None:
    """A contig long enough to be split between two threads, read in pieces whose junctions
    fall inside planted sites: the letter scan, the one-word kernel and the brute force agree
    (site text included), and the digest and names come from the same pass."""
    import hashlib

    rng = np.random.default_rng(41)
    records = _records(rng, [300_000], "AGG", "3prime", every=997)
    seq = list(records[0][1])
    for middle, text in (
        (149_960, GUIDES[0] + "AGG"),
        (149_989, revcomp("C" + GUIDES[0][1:] + "TGG")),
    ):
        seq[middle : middle + 23] = list(text)  # across and at the two threads' boundary
    records = [("chr1", "".join(seq)), ("chr2", "ACGT" * 10)]
    path = tmp_path / "g.fa"
    _write_messy(path, records, rng)
    settings = ScanSettings(pam="NGG", max_mismatches=4)
    guides = [Guide(name="g", sequence=GUIDES[0])]
    expected = brute_force(records, GUIDES[0], "NGG", 4)
    for piece_bytes in (100_003, 1 << 24):
        genome = Genome(path)
        hits = search_genome(genome, guides, settings, block_bp=piece_bytes, threads=2)
        assert _keys(hits, 0) == expected
        assert genome.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert genome.contigs == ["chr1", "chr2"]
    finder = SiteFinder(guides, settings)
    finder._letters = None  # the one-word kernel on the encoded blocks
    from pmpath.evidence.offtarget.scan import scan_genome

    assert scan_genome(Genome(path), finder, threads=2) == hits
    assert {(k[1], k[3], k[6]) for k in expected} >= {(149_960, "+", 0), (149_989, "-", 1)}


def test_bad_letters_are_named_with_their_contig(tmp_path: Path, kernel: str) -> None:
    path = tmp_path / "g.fa"
    path.write_bytes(b">c1\n" + b"ACGT" * 40 + b"\n>c2 x\n" + b"ACGTACGT" * 9 + b"A>C\n")
    guides = [Guide(name="g", sequence=GUIDES[0])]
    with pytest.raises(InvalidInputError, match=r"contig c2: character '>' is not a nucleotide"):
        search_genome(Genome(path), guides, ScanSettings(pam="NGG"), block_bp=64)
    path.write_bytes(b">c1\nACGT\xc3\xa9ACGT\n")
    with pytest.raises(InvalidInputError, match=r"contig c1: character '\\\\xc3'"):
        search_genome(Genome(path), guides, ScanSettings(pam="NGG"))
    path.write_bytes(b">c1\n>c2\n")
    with pytest.raises(InvalidInputError, match="has no sequence"):
        search_genome(Genome(path), guides, ScanSettings(pam="NGG"))


@given(
    data=st.binary(max_size=40).map(lambda b: bytes(b"\n>A"[x % 3] for x in b)),
    pos=st.integers(0, 41),
)
@settings(max_examples=500, deadline=None)
def test_header_search_is_bytes_find_of_line_break_and_gt(data: bytes, pos: int) -> None:
    # The oracle is CPython's two-byte bytes.find, which the memchr search replaces.
    assert _find_header(data, pos) == data.find(b"\n>", pos)
