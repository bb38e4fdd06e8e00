"""Input digests hashed in a thread while the reads are counted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pmpath.evidence.editing.quantify import InputDigests

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2


def test_digests_are_the_files_sha256_in_the_order_given(tmp_path: Path) -> None:
    reads, amplicon = tmp_path / "b.fastq", tmp_path / "a.fa"
    reads.write_bytes(b"@r1\nACGT\n+\nIIII\n" * 200_000)  # 3.2 MB: several 1 MiB blocks
    amplicon.write_bytes(b"abc")
    got = InputDigests({"r1": reads, "amplicon_fasta": amplicon}).result()
    assert list(got) == ["r1", "amplicon_fasta"]
    assert got["r1"] == hashlib.sha256(reads.read_bytes()).hexdigest()
    assert got["amplicon_fasta"] == ABC_SHA256


def test_an_unreadable_file_raises_from_result_only(tmp_path: Path) -> None:
    digests = InputDigests({"r1": tmp_path / "missing.fastq"})
    digests.join()  # waiting alone does not raise
    with pytest.raises(FileNotFoundError):
        digests.result()


def test_no_files_no_digests() -> None:
    assert InputDigests({}).result() == {}
