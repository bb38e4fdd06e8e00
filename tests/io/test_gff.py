"""The one GFF3/GTF reader: Parent links followed to the gene, GTF attributes, gzip, errors
that name the file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.io.gff import read_annotation_file

GFF3 = """##gff-version 3
chr1\tsrc\tgene\t100\t900\t.\t+\t.\tID=g1;Name=CPS1
chr1\tsrc\tmRNA\t100\t900\t.\t+\t.\tID=tx1;Parent=g1
chr1\tsrc\texon\t100\t200\t.\t+\t.\tID=e1;Parent=tx1
chr1\tsrc\tCDS\t150\t200\t.\t+\t0\tParent=tx1,tx2
chr1\tsrc\tmRNA\t100\t900\t.\t+\t.\tID=tx2;Parent=g1;Note=a%3Bb
"""

GTF = """chr2\tsrc\texon\t10\t50\t.\t-\t.\tgene_id "G2"; transcript_id "T2"; gene_name "OTC";
"""


def test_parent_links_lead_to_the_gene(tmp_path: Path) -> None:
    path = tmp_path / "a.gff3.gz"
    path.write_bytes(gzip.compress(GFF3.encode()))
    annotation = read_annotation_file(path)
    assert not annotation.gtf
    cds = annotation.of_type("CDS")[0]
    assert (cds.start, cds.end, cds.parents) == (150, 200, ["tx1", "tx2"])
    assert annotation.gene_of("tx1") == "CPS1" and annotation.gene_of("e1") == "CPS1"
    assert annotation.by_id["tx2"].attributes["Note"] == "a;b"  # percent-escapes decoded
    assert annotation.gene_of("unknown") == "unknown"


def test_gtf_attributes(tmp_path: Path) -> None:
    path = tmp_path / "a.gtf"
    path.write_text(GTF)
    annotation = read_annotation_file(path)
    exon = annotation.features[0]
    assert annotation.gtf and exon.parents == ["T2"] and exon.strand == "-"
    assert annotation.gene_of("T2") == "OTC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\tsrc\texon\t1\t2\n", "line 1: 5 tab-separated columns; GFF3 and GTF lines have 9"),
        ("chr1\ts\texon\tone\t2\t.\t+\t.\tParent=t\n", "line 1: start/end 'one'/'2' are not"),
        ("chr1\ts\texon\t5\t2\t.\t+\t.\tParent=t\n", "line 1: start 5 and end 2 must be 1-based"),
        ("chr1\ts\texon\t1\t2\t.\tx\t.\tParent=t\n", "line 1: strand 'x' is not +, -, . or ?"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.gff3"
    path.write_text("##gff-version 3\n" + text)
    with pytest.raises(InvalidInputError) as info:
        read_annotation_file(path)
    assert str(info.value).startswith(f"annotation {path} ")
    assert message.replace("line 1", "line 2") in str(info.value)


def test_missing_binary_and_corrupt_gzip_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_annotation_file(tmp_path / "none.gff3")
    binary = tmp_path / "b.gff3"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(InvalidInputError, match="cannot be read"):
        read_annotation_file(binary)
    corrupt = tmp_path / "c.gff3.gz"
    data = bytearray(gzip.compress(GFF3.encode() * 50))
    data[20:40] = b"\x00" * 20  # a broken deflate stream
    corrupt.write_bytes(bytes(data))
    with pytest.raises(InvalidInputError, match="cannot be read"):
        read_annotation_file(corrupt)
