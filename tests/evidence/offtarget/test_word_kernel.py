"""The one-word kernel of unbulged searches (:func:`pmpath.evidence.offtarget.kernel.scan_words`)
finds exactly what the naive string search of ``bruteforce.py`` finds: random genomes with
planted sites of 0..4 mismatches on both strands, N sprinkled over the genome and into planted
sites, under both ``genome_n`` rules, for 3' and 5' PAMs and several guides of two lengths in
one pass, read from a FASTA in small blocks over two threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pmpath.evidence.offtarget.genome import Genome, encode, write_fasta
from pmpath.evidence.offtarget.scan import Guide, ScanSettings, SiteFinder, scan_genome
from tests.evidence.offtarget.bruteforce import Key, brute_force, revcomp

GUIDES = ["GACCCACACCGGAGGTGTAG", "TTGCAGTCCAGATCCGAAGT", "ACGGATCCTAGGCTA"]


def _genome(rng: np.random.Generator, pam_site: str, side: str) -> list[tuple[str, str]]:
    """Two contigs: random bases with a few N runs and single Ns, and sites of every guide
    with 0..4 mismatches planted on both strands, some with an N inside."""
    records = []
    for name, size in (("c1", 4000), ("c2", 3000)):
        seq = list("".join(rng.choice(list("ACGT"), size)))
        for _ in range(12):
            seq[int(rng.integers(0, size))] = "N"
        start = int(rng.integers(0, size - 60))
        seq[start : start + 40] = ["N"] * 40
        at = 50
        for guide in GUIDES:
            for mm in range(5):
                for strand in "+-":
                    spacer = list(guide)
                    for p in rng.choice(len(guide), size=mm, replace=False).tolist():
                        spacer[p] = "ACGT"[("ACGT".index(spacer[p]) + 1) % 4]
                    if rng.random() < 0.2:
                        spacer[int(rng.integers(0, len(guide)))] = "N"
                    site = (
                        "".join(spacer) + pam_site
                        if side == "3prime"
                        else pam_site + "".join(spacer)
                    )
                    text = site if strand == "+" else revcomp(site)
                    if at + len(text) < size:
                        seq[at : at + len(text)] = list(text)
                    at += 60
        records.append((name, "".join(seq)))
    return records


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
def test_word_kernel_equals_brute_force(
    tmp_path: Path, pam: str, pam_site: str, side: str, genome_n: str
) -> None:
    rng = np.random.default_rng(sum(map(ord, pam + genome_n)))
    records = _genome(rng, pam_site, side)
    path = tmp_path / "g.fa"
    write_fasta(path, records, line_bp=70)
    settings = ScanSettings(pam=pam, pam_side=side, max_mismatches=4, genome_n=genome_n)  # type: ignore[arg-type]
    guides = [Guide(name=f"g{i}", sequence=s) for i, s in enumerate(GUIDES)]
    finder = SiteFinder(guides, settings)
    assert finder._fast is not None  # the one-word kernel runs (not the letter scan)
    finder._letters = None
    hits = scan_genome(Genome(path), finder, block_bp=1500, threads=2)
    for i, guide in enumerate(GUIDES):
        expected = brute_force(records, guide, pam, 4, pam_side=side, genome_n=genome_n)
        assert _keys(hits, i) == expected, guide
        assert any(key[-1] == 4 for key in expected) and any(key[3] == "-" for key in expected)


@pytest.mark.parametrize("n_guides", [1, 3])
def test_word_kernel_equals_general_kernel_on_a_large_buffer(n_guides: int) -> None:
    """Above 1 Mb a buffer is split among threads: the one-word kernel and the general one
    (bulge-capable, layout by layout) give the same sites, N rules and all."""
    rng = np.random.default_rng(5)  # <= 6 mismatches of the 15-nt guide: hundreds of sites
    letters = rng.choice(np.frombuffer(b"ACGTN", np.uint8), 1_500_000, p=[0.2475] * 4 + [0.01])
    codes = encode(letters.tobytes())
    for genome_n in ("skip", "mismatch"):
        settings = ScanSettings(pam="NGG", max_mismatches=6, genome_n=genome_n)  # type: ignore[arg-type]
        finder = SiteFinder(
            [Guide(name=f"g{i}", sequence=GUIDES[2 - i]) for i in range(n_guides)], settings
        )
        fast = finder.find(codes, threads=2)
        finder._fast = None
        assert fast == finder.find(codes, threads=2)
        assert fast
