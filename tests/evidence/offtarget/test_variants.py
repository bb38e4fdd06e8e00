"""Variant-aware search: an alternative allele that creates a site is found only with the VCF;
REF must match the genome; VCF chromosomes must be the genome's."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.genome import Genome, encode, write_fasta
from pmpath.evidence.offtarget.scan import Guide, Hit, ScanSettings, SiteFinder, scan_genome
from pmpath.evidence.offtarget.variants import VariantScanner, VcfVariant, read_vcf
from tests.evidence.offtarget.bruteforce import brute_force, revcomp

GUIDE = "GACCCACACCGGAGGTGTAG"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _genome(tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    rng = np.random.default_rng(5)
    chr1 = list("".join(rng.choice(list("ACGT"), 4000)))
    # 4 mismatches (positions 2, 6, 11, 15 -> 1-based 3, 7, 12, 16): above k = 3
    site = list(GUIDE)
    for p in (2, 6, 11, 15):
        site[p] = "A" if site[p] != "A" else "C"
    chr1[1000:1023] = list("".join(site) + "TGG")
    # a minus-strand site missing one guide base (needs a 1-base insertion to exist)
    broken = GUIDE[:8] + GUIDE[9:] + "AGG"
    chr1[2500 : 2500 + len(broken)] = list(revcomp(broken))
    chr2 = "".join(rng.choice(list("ACGT"), 3000))
    records = [("chr1", "".join(chr1)), ("chr2", chr2)]
    path = tmp_path / "g.fa"
    write_fasta(path, records)
    return path, records


def _vcf(tmp_path: Path, lines: list[str], name: str = "v.vcf.gz") -> Path:
    path = tmp_path / name
    text = HEADER + "".join(line + "\n" for line in lines)
    if name.endswith(".gz"):  # bgzip, as htslib needs (plain gzip is refused: see below)
        plain = tmp_path / (name + ".txt")
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
    else:
        path.write_text(text)
    return path


def _run(genome: Path, vcf: Path | None, k: int = 3):  # type: ignore[no-untyped-def]
    finder = SiteFinder(
        [Guide(name="g", sequence=GUIDE)], ScanSettings(pam="NGG", max_mismatches=k)
    )
    g = Genome(genome)
    if vcf is None:
        return scan_genome(g, finder, block_bp=600), []
    summary = read_vcf(vcf, g.contigs)
    scanner = VariantScanner(finder, summary.by_contig, str(genome))
    hits = scan_genome(
        g, finder, block_bp=600, on_window=scanner.on_window, overlap_bp=scanner.overlap_bp
    )
    return hits, scanner.finish(hits)


def test_snv_creates_a_site_found_only_in_variant_aware_mode(tmp_path: Path) -> None:
    genome, records = _genome(tmp_path)
    ref_base = records[0][1][1006]  # guide position 7 (0-based 6) of the planted site
    vcf = _vcf(tmp_path, [f"chr1\t1007\trs7\t{ref_base}\t{GUIDE[6]}\t.\tPASS\tAF=0.031"])
    plain, none = _run(genome, None)
    assert none == []
    assert not [h for h in plain if h.contig == "chr1" and h.start_bp == 1000]
    hits, alt = _run(genome, vcf)
    assert {(h.contig, h.start_bp, h.strand) for h in hits} == {
        (h.contig, h.start_bp, h.strand) for h in plain
    }
    assert len(alt) == 1
    found = alt[0]
    assert (found.hit.contig, found.hit.start_bp, found.hit.end_bp, found.hit.strand) == (
        "chr1", 1000, 1023, "+",
    )  # fmt: skip
    assert found.hit.mismatches == 3 and found.reference_mismatches is None
    assert found.variant.variant_id == "rs7" and found.variant.allele_frequency == 0.031
    assert found.variant.label == f"chr1:1007:{ref_base}>{GUIDE[6]}"
    # oracle: brute force on the alternative haplotype has the site, on the reference not
    alt_seq = records[0][1][:1006] + GUIDE[6] + records[0][1][1007:]
    key = ("chr1", 1000, 1023, "+", "none", 0, 3)
    assert key in brute_force([("chr1", alt_seq)], GUIDE, "NGG", 3)
    assert key[:6] not in {k[:6] for k in brute_force([records[0]], GUIDE, "NGG", 3)}


def test_insertion_creates_a_minus_strand_site(tmp_path: Path) -> None:
    genome, records = _genome(tmp_path)
    # the broken site, on the - strand, lacks guide base 9 (0-based 8); insert it back
    broken = GUIDE[:8] + GUIDE[9:] + "AGG"
    minus = revcomp(broken)
    # in + strand text the guide base 9 sits 11 bases before the end of the protospacer part
    insert_after = 2500 + 3 + 11 - 1  # 0-based position of the base before the insertion
    anchor = records[0][1][insert_after]
    alt_seq = (
        records[0][1][: insert_after + 1] + revcomp(GUIDE[8]) + records[0][1][insert_after + 1 :]
    )
    assert revcomp(GUIDE + "AGG") in alt_seq[2490:2540]
    vcf = _vcf(
        tmp_path,
        [
            f"chr1\t{insert_after + 1}\t.\t{anchor}\t{anchor}{revcomp(GUIDE[8])}\t.\tPASS\t"
            "AC=3;AN=100"
        ],
        name="ins.vcf",
    )
    assert minus in records[0][1]
    _, alt = _run(genome, vcf, k=0)
    assert len(alt) == 1
    hit = alt[0].hit
    assert (hit.strand, hit.mismatches, hit.bulge_type) == ("-", 0, "none")
    assert hit.site == GUIDE + "AGG"
    assert hit.start_bp == 2500 and hit.end_bp == 2500 + len(broken)
    assert alt[0].variant.allele_frequency == pytest.approx(0.03)


def test_vcf_chromosomes_must_match_the_genome(tmp_path: Path) -> None:
    genome, _ = _genome(tmp_path)
    vcf = _vcf(tmp_path, ["1\t1007\t.\tA\tG\t.\tPASS\t."], name="b.vcf")
    with pytest.raises(InvalidInputError, match=r"chromosome '1' is not in the genome.*'chr1'"):
        read_vcf(vcf, Genome(genome).contigs)


def test_vcf_ref_must_match_the_genome(tmp_path: Path) -> None:
    genome, records = _genome(tmp_path)
    wrong = {"A": "C", "C": "G", "G": "T", "T": "A"}[records[1][1][99]]
    alt = next(b for b in "ACGT" if b not in (wrong, records[1][1][99]))
    vcf = _vcf(tmp_path, [f"chr2\t100\t.\t{wrong}\t{alt}\t.\tPASS\t."], name="c.vcf")
    with pytest.raises(InvalidInputError, match="does not match the genome"):
        _run(genome, vcf)


def test_vcf_skips_symbolic_alleles_and_reads_af_per_alt(tmp_path: Path) -> None:
    genome, records = _genome(tmp_path)
    base = records[1][1][9]
    vcf = _vcf(
        tmp_path,
        [
            f"chr2\t10\tx\t{base}\t<DEL>,{'A' if base != 'A' else 'C'},*\t.\tPASS\tAF=0.1,0.2,0.3",
            "chr2\t20\t.\tN\tA\t.\tPASS\t.",
        ],
        name="d.vcf",
    )
    summary = read_vcf(vcf, Genome(genome).contigs)
    assert summary.records == 2 and summary.alleles_used == 1 and summary.alleles_skipped == 3
    assert summary.by_contig["chr2"][0].allele_frequency == 0.2
    bad = _vcf(tmp_path, ["chr2\tten\t.\tA\tC\t.\tPASS\t."], name="e.vcf")
    with pytest.raises(InvalidInputError, match="line 3: record 1 cannot be parsed"):
        read_vcf(bad, Genome(genome).contigs)
    plain_gzip = tmp_path / "f.vcf.gz"
    with gzip.open(plain_gzip, "wt") as out:
        out.write(HEADER)
    with pytest.raises(InvalidInputError, match="not bgzip-compressed"):
        read_vcf(plain_gzip, Genome(genome).contigs)


_COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}


@st.composite
def _variant_cases(draw: st.DrawFn, indels: bool) -> tuple[str, str, VcfVariant, int, int]:
    """A small genome holding a near-copy of the guide + PAM that a variant may repair (the
    variant is placed to repair it in most examples), flanked by guide pieces and noise."""
    guide = draw(st.text(alphabet="ACGT", min_size=10, max_size=11))
    noise = st.one_of(
        st.text(alphabet="ACGT", min_size=1, max_size=5),
        st.just(guide),
        st.just(revcomp(guide)),
        st.sampled_from(["AGG", "CCT", "TGG", "CCA"]),
    )
    before = "".join(draw(st.lists(noise, min_size=1, max_size=5)))
    after = "".join(draw(st.lists(noise, min_size=1, max_size=5))) + "ACGTA"
    k = draw(st.integers(0, 2))
    minus = draw(st.booleans())
    i = draw(st.integers(1, len(guide) - 2))
    kind = draw(st.sampled_from(["ins", "del"] if indels else ["snv"]))
    if kind == "snv":
        swap = draw(st.sampled_from([b for b in "ACGT" if b != guide[i]]))
        plus = guide[:i] + swap + guide[i + 1 :] + "AGG"
        index, fix = (i, guide[i]) if not minus else (len(plus) - 1 - i, _COMP[guide[i]])
    elif kind == "ins":  # the site lacks guide base i; inserting it back repairs the site
        plus = guide[:i] + guide[i + 1 :] + "AGG"
        index, fix = (i, guide[i]) if not minus else (len(plus) - i, _COMP[guide[i]])
    else:  # the site has an extra base before guide base i; deleting it repairs the site
        plus = guide[:i] + draw(st.sampled_from("ACGT")) + guide[i:] + "AGG"
        index, fix = (i, "") if not minus else (len(plus) - 1 - i, "")
    site = revcomp(plus) if minus else plus
    genome = before + site + after
    at = len(before) + index
    if not draw(st.integers(0, 3)):  # sometimes a variant anywhere instead
        at = draw(st.integers(1, len(genome) - 4))
        fix = draw(st.sampled_from("ACGT")) if kind != "del" else ""
    if kind == "snv":
        if fix == genome[at]:
            fix = _COMP[fix]
        variant = VcfVariant("c", at, genome[at], fix, None, 0.5)
    elif kind == "ins":
        variant = VcfVariant("c", at - 1, genome[at - 1], genome[at - 1] + fix, None, None)
    else:
        variant = VcfVariant("c", at - 1, genome[at - 1 : at + 1], genome[at - 1], None, None)
    return genome, guide, variant, k, draw(st.integers(0, 1))


def _run_scanner(
    genome: str, guide: str, variant: VcfVariant, k: int, rna: int
) -> dict[tuple[object, ...], int]:
    settings_ = ScanSettings(pam="NGG", max_mismatches=k, dna_bulge=rna, rna_bulge=rna)
    finder = SiteFinder([Guide(name="g", sequence=guide)], settings_)
    scanner = VariantScanner(finder, {"c": [variant]}, "test")
    codes = encode(genome)
    reference = [
        Hit(0, "c", h.start, h.end, h.strand, h.mismatches, h.bulge_type, h.bulge_size,
            h.site, h.pam, h.aligned)
        for h in finder.find(codes)
    ]  # fmt: skip
    scanner.on_window("c", 0, codes, 0)
    return {
        (v.hit.start_bp, v.hit.end_bp, v.hit.strand, v.hit.bulge_type, v.hit.bulge_size):
        v.hit.mismatches
        for v in scanner.finish(reference)
    }  # fmt: skip


def _oracle(
    genome: str, guide: str, variant: VcfVariant, k: int, rna: int
) -> dict[tuple[object, ...], int]:
    """Brute force on the alternative haplotype. An indel in a repeat has several placements
    giving the same haplotype (found by trying every position); a site that misses the changed
    bases for one of them is a reference site, shifted. The others are mapped to reference
    coordinates with the leftmost placement (a boundary inside inserted bases maps to the
    change) and kept unless the reference has them with no more mismatches."""
    ref, alt, pos = variant.ref, variant.alt, variant.pos_bp
    alt_genome = genome[:pos] + alt + genome[pos + len(ref) :]
    if len(ref) == len(alt):  # SNV: the changed base is at pos
        placements, m, r = [pos], 1, 1
    else:  # VCF indel: the first base is shared
        m, r = len(alt) - 1, len(ref) - 1
        placements = [
            q
            for q in range(len(genome) + 1)
            if genome[:q] == alt_genome[:q] and genome[q + r :] == alt_genome[q + m :]
        ]
        assert pos + 1 in placements
    j = min(placements)

    def to_ref(x: int) -> int:
        return x if x <= j else (x - m + r if x >= j + m else j)

    ref_mm = {key[1:6]: key[6] for key in brute_force([("c", genome)], guide, "NGG", k, rna, rna)}
    best: dict[tuple[object, ...], int] = {}
    for key in brute_force([("c", alt_genome)], guide, "NGG", k, rna, rna):
        if not all(key[1] < q + m and key[2] > q for q in placements):
            continue
        start = to_ref(key[1])
        end = j + r if j < key[2] < j + m else to_ref(key[2])
        mapped = (start, max(end, start + 1), *key[3:6])
        best[mapped] = min(best.get(mapped, key[6]), key[6])
    return {key: mm for key, mm in best.items() if key not in ref_mm or ref_mm[key] > mm}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_variant_cases(indels=False))
def test_property_snv_sites_equal_brute_force_on_the_alternative_haplotype(
    case: tuple[str, str, VcfVariant, int, int],
) -> None:
    assert _run_scanner(*case) == _oracle(*case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_variant_cases(indels=True))
def test_property_indel_sites_equal_brute_force_on_the_alternative_haplotype(
    case: tuple[str, str, VcfVariant, int, int],
) -> None:
    assert _run_scanner(*case) == _oracle(*case)
