"""Gene context from GFF3 and GTF: exon, splice-site window, intron; malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.offtarget.annotate import read_annotation

# Gene GENE1 on chr1: exons 1001-1200 and 2001-2300 (1-based inclusive) -> 0-based [1000, 1200)
# and [2000, 2300); junctions at 1200 (donor) and 2000 (acceptor).
GFF3 = """##gff-version 3
chr1\tsrc\tgene\t1001\t2300\t.\t+\t.\tID=gene:G1;Name=GENE1
chr1\tsrc\tmRNA\t1001\t2300\t.\t+\t.\tID=tx:T1;Parent=gene:G1
chr1\tsrc\texon\t1001\t1200\t.\t+\t.\tParent=tx:T1
chr1\tsrc\texon\t2001\t2300\t.\t+\t.\tParent=tx:T1
chr2\tsrc\texon\t1\t50\t.\t-\t.\tParent=tx:T9;gene_name=SOLO
##FASTA
>chr1
ACGT
"""

GTF = """chr1\tsrc\texon\t1001\t1200\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "GENE1";
chr1\tsrc\texon\t2001\t2300\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "GENE1";
"""


@pytest.mark.parametrize(("name", "text"), [("a.gff3", GFF3), ("a.gtf", GTF)])
def test_exon_splice_and_intron(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    ann = read_annotation(path)
    assert ann.n_transcripts == 1 or name.endswith("gff3")
    assert ann.annotate("chr1", 1050, 1073) == "exon:GENE1"
    # ends 5 bp before the donor junction at 1200: exonic and within the 10-bp splice window
    assert ann.annotate("chr1", 1172, 1195) == "splice-site:GENE1,exon:GENE1"
    # intronic, starting 8 bp after the donor junction
    assert ann.annotate("chr1", 1208, 1231) == "splice-site:GENE1"
    assert ann.annotate("chr1", 1211, 1234) == "intron:GENE1"  # 11 bp away
    assert ann.annotate("chr1", 1970, 1990) == "splice-site:GENE1"  # 10 bp before acceptor
    assert ann.annotate("chr1", 1500, 1523) == "intron:GENE1"
    assert ann.annotate("chr1", 1000 - 30, 1000 - 7) is None  # first exon start: no junction
    assert ann.annotate("chr3", 0, 23) is None


def test_gff3_gene_name_from_exon_attribute_and_parent_chain(tmp_path: Path) -> None:
    path = tmp_path / "b.gff3"
    path.write_text(GFF3)
    ann = read_annotation(path, splice_window_bp=0)
    assert ann.annotate("chr2", 10, 33) == "exon:SOLO"
    assert ann.annotate("chr1", 1195, 1205) == "splice-site:GENE1,exon:GENE1"
    assert ann.annotate("chr1", 1201, 1205) == "intron:GENE1"


def test_malformed_annotation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gff3"
    bad.write_text("##gff-version 3\nchr1\tsrc\texon\t10\n")
    with pytest.raises(InvalidInputError, match="line 2: 4 tab-separated columns"):
        read_annotation(bad)
    empty = tmp_path / "empty.gff3"
    empty.write_text("##gff-version 3\nchr1\tsrc\tgene\t1\t9\t.\t+\t.\tID=g\n")
    with pytest.raises(InvalidInputError, match="no exon or CDS"):
        read_annotation(empty)
