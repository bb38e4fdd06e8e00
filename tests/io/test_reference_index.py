"""Random access to a user's FASTA without writing an index next to it."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_reference_fasta_gets_no_index_written_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmpath.evidence.variants.transcript import Reference
    from pmpath.io.fasta import index_path

    monkeypatch.setenv("PMPATH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "user"
    folder.mkdir()
    fasta = folder / "ref.fa"
    fasta.write_text(">chrT\nACGTACGTAC\nGGCC\n")
    reference = Reference(fasta)
    try:
        assert reference.fetch("chrT", 9, 14) == "ACGGCC"
    finally:
        reference.close()
    assert sorted(p.name for p in folder.iterdir()) == ["ref.fa"]  # nothing written beside it
    assert index_path(fasta).parent == tmp_path / "cache" / "fai" and index_path(fasta).is_file()
    (folder / "ref.fa.fai").write_text("chrT\t14\t6\t10\t11\n")  # a samtools index is used as is
    assert index_path(fasta) == folder / "ref.fa.fai"
