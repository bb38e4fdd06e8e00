"""A synthetic gene carrying a patient's nonsense variant that an adenine base editor corrects.

:func:`build_gene` lays out, deterministically from a seed, a + strand gene on one contig: a
5' UTR of 60 nt, exons of the given CDS sizes separated by 300-nt introns (GT...AG), a 3' UTR of
120 nt and 200-nt flanks; a random coding sequence without internal stops. At the variant codon
``codon`` it places CAG (Gln) in the reference, so that c.(3 codon - 2)C>T makes TAG (stop) in the
patient; the codons around it are fixed so that an ABE guide on the - strand finds an NGG PAM
(CC on +) with the target A at protospacer position 6 (ABE8e window 4-8), one synonymous
bystander A at position 7 and no other A in the window. :attr:`SyntheticGene.guide` is that
protospacer (5'->3', - strand) on the patient allele, read from the built sequence, so a design
check recovers it. Several variant codons may be laid out in one gene (one reference shared by
the patients of one disease, each with its own variant and guide).

It is not any human sequence; transcript names are labels.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from pmpath.domain.sequence import reverse_complement

_STOPS = {"TAA", "TAG", "TGA"}


@dataclass(frozen=True)
class GeneSpec:
    """What to build: gene symbol, contig and transcript labels, CDS sizes per exon, the
    variant codons (1-based; one per patient variant the gene carries) and the seed."""

    gene: str
    contig: str
    transcript: str
    codons: tuple[int, ...]
    seed: int
    exon_cds_sizes: tuple[int, ...] = (120, 300, 400, 350, 200, 133)


def variant_at(codon: int) -> str:
    """The patient variant at ``codon``, c. notation: the C of the CAG codon to T."""
    return f"c.{3 * codon - 2}C>T"


def protein_at(codon: int) -> str:
    """The variant's protein consequence, e.g. p.(Gln335Ter)."""
    return f"p.(Gln{codon}Ter)"


@dataclass(frozen=True)
class SyntheticGene:
    """A built gene: the reference contig, its transcript model and the correcting guide."""

    spec: GeneSpec
    sequence: str
    model: dict[str, object]
    guides: dict[int, str]
    """codon -> the ABE protospacer (5'->3', - strand) matching the patient allele there."""

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``<gene>_synthetic.fa`` and ``<gene>_synthetic_transcript.json`` into
        ``folder`` (files with the same content are left alone); return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self.spec.gene.lower()}_synthetic"
        fasta = folder / f"{stem}.fa"
        lines = [self.sequence[i : i + 60] for i in range(0, len(self.sequence), 60)]
        header = f">{self.spec.contig} synthetic {self.spec.gene}-like gene (not human sequence)"
        _write_if_changed(fasta, header + "\n" + "\n".join(lines) + "\n")
        transcript = folder / f"{stem}_transcript.json"
        _write_if_changed(transcript, json.dumps(self.model, indent=2) + "\n")
        return fasta, transcript


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _random_bases(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(size))


def build_gene(spec: GeneSpec) -> SyntheticGene:
    """Return the synthetic gene of ``spec`` (see the module docstring for the layout)."""
    n_codons = sum(spec.exon_cds_sizes) // 3 - 1  # the last codon is the stop
    fixed: dict[int, str] = {}
    for codon in spec.codons:
        if not 8 <= codon <= n_codons - 3:
            raise ValueError(f"codon {codon} leaves no room for the guide in {n_codons} codons")
        fixed |= {
            codon - 6: "ACC",  # CC: the PAM (TGG on the - strand)
            codon - 1: "GCT",  # T: a synonymous bystander at protospacer position 7
            codon: "CAG",  # the target: c.(3n-2)C>T gives TAG
            codon + 1: "GAA",
        }
    rng = random.Random(spec.seed)
    codons = ["ATG"]
    for number in range(2, n_codons + 1):
        if number in fixed:
            codons.append(fixed[number])
            continue
        while True:
            drawn = _random_bases(rng, 3)
            near = any(c - 2 <= number <= c + 2 for c in spec.codons)
            if drawn not in _STOPS and not (near and "T" in drawn):
                codons.append(drawn)
                break
    cds = "".join(codons) + "TGA"
    utr5, utr3 = _random_bases(rng, 60), _random_bases(rng, 120)
    pieces = [_random_bases(rng, 200)]
    exons: list[dict[str, int]] = []
    position, offset = 200, 0
    for number, size in enumerate(spec.exon_cds_sizes):
        exon = cds[offset : offset + size]
        offset += size
        if number == 0:
            exon = utr5 + exon
        if number == len(spec.exon_cds_sizes) - 1:
            exon = exon + utr3
        exons.append({"start": position + 1, "end": position + len(exon)})
        pieces.append(exon)
        position += len(exon)
        if number < len(spec.exon_cds_sizes) - 1:
            intron = "GT" + _random_bases(rng, 296) + "AG"
            pieces.append(intron)
            position += len(intron)
    pieces.append(_random_bases(rng, 200))
    sequence = "".join(pieces)
    model: dict[str, object] = {
        "name": spec.transcript,
        "gene": spec.gene,
        "chrom": spec.contig,
        "strand": "+",
        "exons": exons,
        "cds_start": exons[0]["start"] + 60,
        "cds_end": exons[-1]["end"] - 120,
    }
    guides: dict[int, str] = {}
    for codon in spec.codons:
        target = _genomic(exons, 60 + 3 * codon - 3)  # 0-based index of the variant C
        window = target is not None and _genomic(exons, 60 + 3 * codon - 20) == target - 17
        if target is None or not window or sequence[target - 17 : target - 15] != "CC":
            raise ValueError(f"codon {codon}: the guide crosses an exon boundary; choose another")
        patient = sequence[:target] + "T" + sequence[target + 1 :]
        guides[codon] = reverse_complement(patient[target - 14 : target + 6])
    return SyntheticGene(spec=spec, sequence=sequence, model=model, guides=guides)


def _genomic(exons: list[dict[str, int]], transcript_index: int) -> int | None:
    """0-based contig index of the 0-based transcript (spliced) position, or None."""
    remaining = transcript_index
    for exon in exons:
        length = exon["end"] - exon["start"] + 1
        if remaining < length:
            return exon["start"] - 1 + remaining
        remaining -= length
    return None
