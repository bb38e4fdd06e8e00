"""VCF reading on htslib (pysam): FILTER and GT honoured, multi-allelic records split, AF per
ALT, errors naming the line, and a bgzipped tabix-indexed file streamed in bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pysam
import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.io.vcf import VcfReader

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=100000000>\n##contig=<ID=chr2,length=100000000>\n"
    '##FILTER=<ID=q10,Description="low quality">\n'
    '##INFO=<ID=AF,Number=A,Type=Float,Description="allele frequency">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">\n'
)


def _write(path: Path, body: str, samples: list[str] | None = None) -> Path:
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if samples:
        columns += "\tFORMAT\t" + "\t".join(samples)
    path.write_text(HEADER + columns + "\n" + body)
    return path


def test_filter_multiallelic_split_and_af_per_alt(tmp_path: Path) -> None:
    vcf = _write(
        tmp_path / "a.vcf",
        "chr1\t10\trs1\tA\tG,T,<DEL>\t.\tPASS\tAF=0.1,0.2,0.3\n"
        "chr1\t20\trs2\tC\tA\t.\tq10\tAF=0.5\n"
        "chr1\t30\t.\tG\tC\t.\t.\t.\n",
    )
    reader = VcfReader(vcf)
    got = [(a.contig, a.pos_bp, a.ref, a.alt, a.variant_id, a.allele_frequency)
           for a in reader.alleles()]  # fmt: skip
    assert got == [
        ("chr1", 9, "A", "G", "rs1", pytest.approx(0.1)),
        ("chr1", 9, "A", "T", "rs1", pytest.approx(0.2)),
        ("chr1", 29, "G", "C", None, None),
    ]
    c = reader.counts
    assert (c.records, c.alleles_used, c.alleles_skipped, c.filtered) == (3, 3, 1, 1)
    everything = VcfReader(vcf, pass_only=False)
    assert len(list(everything.alleles())) == 4


def test_genotypes_of_the_sample_are_honoured(tmp_path: Path) -> None:
    vcf = _write(
        tmp_path / "g.vcf",
        "chr1\t10\t.\tA\tG,T\t.\tPASS\t.\tGT\t0/2\t1/1\n"
        "chr1\t20\t.\tC\tA\t.\tPASS\t.\tGT\t0/0\t0/1\n"
        "chr1\t30\t.\tG\tC\t.\tPASS\t.\tGT\t./.\t0/0\n",
        samples=["patient", "mother"],
    )
    patient = VcfReader(vcf, sample="patient")
    assert [(a.pos_bp, a.alt) for a in patient.alleles()] == [(9, "T"), (29, "C")]
    assert patient.counts.not_carried == 2  # G at 10, A at 20; a missing GT keeps C at 30
    both = VcfReader(vcf)  # two samples and none chosen: every allele (a population VCF)
    assert len(list(both.alleles())) == 4
    with pytest.raises(InvalidInputError, match="no sample 'father'"):
        VcfReader(vcf, sample="father")


def test_unparsable_record_names_its_line(tmp_path: Path) -> None:
    vcf = _write(
        tmp_path / "bad.vcf", "chr1\t10\t.\tA\tG\t.\tPASS\t.\nchr1\tten\t.\tA\tC\t.\tPASS\t.\n"
    )
    with pytest.raises(InvalidInputError, match=r"line 9: record 2 cannot be parsed"):
        list(VcfReader(vcf).alleles())


def test_tabix_indexed_vcf_streams_contig_by_contig_in_bounded_memory(tmp_path: Path) -> None:
    """60,000 records, bgzipped and tabix-indexed (the 1M case: bench/offtarget_vcf.py):
    read one contig at a time through the index, the reader's memory stays flat."""
    plain = tmp_path / "big.vcf"
    lines = []
    for contig in ("chr1", "chr2"):
        for i in range(30_000):
            lines.append(f"{contig}\t{10 * i + 1}\t.\tA\tG\t.\tPASS\tAF=0.01\n")
    _write(plain, "".join(lines))
    gz = tmp_path / "big.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    reader = VcfReader(gz)
    assert reader.indexed and reader.indexed_contigs == ["chr1", "chr2"]
    tracemalloc.start()
    counted = 0
    for contig in ("chr2", "chr1"):  # any order: the index finds each contig
        for allele in reader.alleles(contig):
            assert allele.contig == contig
            counted += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert counted == 60_000 and reader.counts.alleles_used == 60_000
    assert peak < 2**20  # streamed: far below the ~12 MB the alleles would take if held
