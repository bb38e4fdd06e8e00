"""The nomination: ranked, scored, annotated sites; TSV/JSON; the amplicon panel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from pmpath.domain.canonical import digest
from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.genome import write_fasta
from pmpath.evidence.offtarget.nominate import nominate
from pmpath.evidence.offtarget.panel import amplicon_panel, panel_fasta
from pmpath.evidence.offtarget.scan import Guide, ScanSettings
from pmpath.evidence.offtarget.score import cfd_score, mit_score
from pmpath.reports.offtarget import TSV_COLUMNS, json_text, tsv_text, write_atomic
from tests.evidence.offtarget.bruteforce import revcomp

GUIDE = "GACCCACACCGGAGGTGTAG"


def _mutate(positions: list[int]) -> str:
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return "".join(swap[b] if i in positions else b for i, b in enumerate(GUIDE))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("nominate")
    rng = np.random.default_rng(21)
    chr1 = list("".join(rng.choice(list("ACGT"), 6000)))
    chr1[2000:2023] = list(GUIDE + "TGG")  # on-target, in an exon
    chr1[4000:4023] = list(revcomp(_mutate([18]) + "AGG"))  # 1 mm, PAM-proximal
    chr1[5000:5023] = list(_mutate([1, 2]) + "CGG")  # 2 mm, PAM-distal
    chr1[700:723] = list(_mutate([4, 9, 15]) + "TGG")  # 3 mm, near a splice site
    chr1[3000:3023] = list(_mutate([0, 5, 10, 16, 17]) + "GGG")  # 5 mm: one more than k
    genome = folder / "g.fa"
    write_fasta(genome, [("chr1", "".join(chr1)), ("chr2", "".join(rng.choice(list("ACGT"), 900)))])
    gff = folder / "a.gff3"
    gff.write_text(
        "##gff-version 3\n"
        "chr1\tt\tgene\t600\t2500\t.\t+\t.\tID=g1;Name=DEMO1\n"
        "chr1\tt\tmRNA\t600\t2500\t.\t+\t.\tID=t1;Parent=g1\n"
        "chr1\tt\texon\t600\t730\t.\t+\t.\tParent=t1\n"
        "chr1\tt\texon\t1901\t2500\t.\t+\t.\tParent=t1\n"
    )
    base = chr1[3000 + 17]
    vcf = folder / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{3000 + 17 + 1}\trs99\t{base}\t{GUIDE[17]}\t.\tPASS\tAF=0.12\n"
    )
    return {"genome": genome, "gff": gff, "vcf": vcf}


def test_nomination_ranks_scores_and_annotates(inputs: dict[str, Path]) -> None:
    result = nominate(
        inputs["genome"],
        [Guide(name="demo", sequence=GUIDE)],
        ScanSettings(pam="NGG", max_mismatches=4),
        annotation=inputs["gff"],
        vcf=inputs["vcf"],
        genome_build="test-1",
    )
    first = result.sites[0]
    assert first.on_target and (first.chrom, first.start, first.strand) == ("chr1", 2000, "+")
    assert first.annotation == "exon:DEMO1" and first.cfd == 1.0 and first.mit == 100.0
    assert result.guides[0].on_target_site_id == "chr1:2000-2023+"
    by_start = {s.start: s for s in result.sites if s.variant is None}
    assert by_start[4000].strand == "-" and by_start[4000].mismatches == 1
    assert by_start[4000].cfd == pytest.approx(cfd_score(GUIDE, _mutate([18]), "AGG"), abs=1e-6)
    assert by_start[5000].site == "G" + _mutate([1, 2])[1:3].lower() + GUIDE[3:] + "CGG"
    assert by_start[700].annotation == "splice-site:DEMO1,exon:DEMO1"
    assert 3000 not in by_start
    # the VCF allele fixes one of the five mismatches: a 4-mismatch site on the alternative allele
    alt = [s for s in result.sites if s.variant is not None]
    assert len(alt) == 1 and alt[0].start == 3000 and alt[0].mismatches == 4
    assert alt[0].allele_frequency == 0.12 and alt[0].variant_id == "rs99"
    # risk order: on-target, then CFD descending among the scored sites
    cfds = [s.cfd for s in result.sites[1:] if s.cfd is not None]
    assert cfds == sorted(cfds, reverse=True)
    # aggregate specificity from the reference off-targets
    off = [s for s in result.sites if not s.on_target and s.variant is None]
    assert result.guides[0].mit_specificity == pytest.approx(
        100 / (100 + sum(mit_score(GUIDE, _aligned(s.site)) for s in off)), rel=1e-6
    )
    assert result.guides[0].cfd_specificity == pytest.approx(
        1 / (1 + sum(s.cfd or 0 for s in off)), rel=1e-9
    )
    assert result.candidate_list_sha256 == digest(result.sites)
    assert result.n_sites == len(result.sites) == 5  # on-target, 3 planted, 1 on the VCF allele
    assert set(result.input_sha256) == {"genome", "vcf", "annotation"}
    assert result.variants is not None and result.variants.alleles_used == 1


def _aligned(site: str) -> str:
    return site[:20].upper()


def test_tsv_and_json(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = nominate(
        inputs["genome"],
        [Guide(name="demo", sequence=GUIDE)],
        ScanSettings(pam="NGG", max_mismatches=4),
        vcf=inputs["vcf"],
    )
    text = tsv_text(result)
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert list(rows[0]) == TSV_COLUMNS
    assert TSV_COLUMNS[:13] == [
        "chrom", "start", "end", "strand", "site", "mismatches", "bulge_type", "bulge_size",
        "pam", "cfd", "mit", "variant", "annotation",
    ]  # fmt: skip
    assert rows[0]["site"] == GUIDE + "TGG" and rows[0]["cfd"] == "1"
    variant_rows = [r for r in rows if r["variant"]]
    assert variant_rows[0]["variant"].endswith(";rs99;AF=0.12")
    assert json.loads(json_text(result))["sites"][0]["site_id"] == "chr1:2000-2023+"
    out = tmp_path / "sites.tsv"
    write_atomic(out, text)
    assert out.read_text() == text and not list(tmp_path.glob(".sites.tsv.*"))


def test_panel_puts_the_on_target_first_with_flanks(inputs: dict[str, Path]) -> None:
    result = nominate(
        inputs["genome"],
        [Guide(name="demo", sequence=GUIDE)],
        ScanSettings(pam="NGG", max_mismatches=4),
        vcf=inputs["vcf"],
    )
    genome_text = "".join(inputs["genome"].read_text().split("\n", 1)[1].split(">")[0].split())
    panel = amplicon_panel(result, inputs["genome"], top=3, flank_bp=50)
    assert panel.amplicons[0].name == "chr1:2000-2023+"
    assert len(panel.amplicons) == 4
    on = panel.amplicons[0]
    assert (on.start, on.end) == (1950, 2073) and on.sequence == genome_text[1950:2073]
    fasta = panel_fasta(panel)
    assert fasta.startswith(">chr1:2000-2023+ on-target chr1:1950-2073\n")
    names = [line[1:].split()[0] for line in fasta.splitlines() if line.startswith(">")]
    assert names == [a.name for a in panel.amplicons]
    # the alternative-allele site's amplicon carries the variant
    full = amplicon_panel(result, inputs["genome"], top=10, flank_bp=50)
    alt = next(a for a in full.amplicons if a.variant)
    assert alt.sequence != genome_text[alt.start : alt.end]
    assert alt.sequence[50 + 17] == GUIDE[17]
    with pytest.raises(InvalidInputError, match="not in the nomination"):
        amplicon_panel(result, inputs["genome"], guide="other")


def test_pinned_on_target_and_several_guides(inputs: dict[str, Path]) -> None:
    other = "".join(np.random.default_rng(2).choice(list("ACGT"), 20))
    result = nominate(
        inputs["genome"],
        [Guide(name="a", sequence=GUIDE), Guide(name="b", sequence=other)],
        ScanSettings(pam="NGG", max_mismatches=2),
        on_target="chr1:2000",
    )
    assert [g.name for g in result.guides] == ["a", "b"]
    assert result.sites[0].site_id == "a@chr1:2000-2023+"
    with pytest.raises(InvalidInputError, match="not the start of a site"):
        nominate(
            inputs["genome"],
            [Guide(name="a", sequence=GUIDE)],
            ScanSettings(pam="NGG", max_mismatches=2),
            on_target="chr1:17",
        )
