"""A synthetic four-exon gene built in code, with a hand-laid layout (known truth for tests).

Layout on the + strand of ``chrT`` (720 nt, 1-based, inclusive):

    flank 1-50 | exon1 51-110 (5' UTR 51-70, CDS c.1-40 at 71-110) | intron1 111-210 |
    exon2 211-300 (c.41-130) | intron2 301-400 | exon3 401-460 (c.131-190) | intron3 461-560 |
    exon4 561-660 (c.191-240 at 561-610, stop c.238-240; 3' UTR c.*1-*50 at 611-660) | 661-720

CDS: 80 codons (79 residues + TAA). Codon 34 (c.100-102) is CAG (Gln34) in the reference; the
patient allele c.100C>T makes TAG (p.Gln34Ter). An adenine base editor guide on the opposite
strand, ``GUIDE``, has the target A at protospacer position 6 and the PAM TGG (from c.83-85):
position p covers c.(106 - p). Codon 33 is TTT (c.97-99 at positions 9, 8, 7): ABE bystanders
give Leu (p9), Ser (p8), Phe (p7, synonymous). Codon 31 is TGG (c.91-93 at positions 15, 14, 13)
for cytosine-editor bystanders that make a stop. The - strand version is the reverse complement
of the whole chromosome (g' = 721 - g).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from pmpath.domain.sequence import reverse_complement

LENGTH = 720
EXONS = [(51, 110), (211, 300), (401, 460), (561, 660)]
CDS = (71, 610)
_STOPS = {"TAA", "TAG", "TGA"}


def _cds(rng: random.Random) -> str:
    bases = "ACGT"
    codons = ["ATG"]
    fixed = {
        28: "ACC",  # c.82-84: c.83-84 = CC -> PAM TGG on the other strand
        31: "TGG",  # Trp31: C>T on the other strand makes TAG / TGA
        33: "TTT",  # Phe33: ABE bystanders
        34: "CAG",  # Gln34: the target codon
        35: "GAA",  # Glu35: no T at c.103 (position 3)
    }
    for number in range(2, 80):
        if number in fixed:
            codons.append(fixed[number])
            continue
        while True:
            codon = "".join(rng.choice(bases) for _ in range(3))
            # keep Ts (ABE-editable on the other strand) out of the protospacer's codons
            if codon not in _STOPS and not (29 <= number <= 36 and "T" in codon):
                codons.append(codon)
                break
    codons.append("TAA")
    return "".join(codons)


def _intron(rng: random.Random, size: int) -> str:
    return "GT" + "".join(rng.choice("ACGT") for _ in range(size - 4)) + "AG"


def plus_strand_genome(seed: int = 7) -> str:
    """Return the + strand chromosome of the reference allele."""
    rng = random.Random(seed)
    cds = _cds(rng)
    assert len(cds) == 240
    flank = "".join(rng.choice("ACGT") for _ in range(50))
    utr5 = "".join(rng.choice("ACGT") for _ in range(20))
    utr3 = "".join(rng.choice("ACGT") for _ in range(50))
    tail = "".join(rng.choice("ACGT") for _ in range(60))
    genome = (
        flank
        + utr5
        + cds[0:40]
        + _intron(rng, 100)
        + cds[40:130]
        + _intron(rng, 100)
        + cds[130:190]
        + _intron(rng, 100)
        + cds[190:240]
        + utr3
        + tail
    )
    assert len(genome) == LENGTH
    return genome


@dataclass(frozen=True)
class Gene:
    """Files and facts of one built gene."""

    fasta: Path
    transcript_json: Path
    gff3: Path
    strand: str
    genome: str
    guide: str

    def g(self, plus_coordinate: int) -> int:
        """Return the coordinate in this gene of a + strand layout coordinate."""
        return plus_coordinate if self.strand == "+" else LENGTH + 1 - plus_coordinate


def guide_for(genome_plus: str) -> str:
    """Return the ABE guide of the layout: the reverse complement of the patient allele's
    c.86..c.105 (+ layout; c.100 is g270, T in the patient)."""
    c86 = 211 + (86 - 41)  # exon2 starts at c.41 = g211
    patient = genome_plus[:269] + "T" + genome_plus[270:]
    return reverse_complement(patient[c86 - 1 : c86 - 1 + 20])


def build(directory: Path, strand: str = "+") -> Gene:
    """Write the gene's FASTA, JSON and GFF3 transcript into ``directory``; return them."""
    directory.mkdir(parents=True, exist_ok=True)
    plus = plus_strand_genome()
    guide = guide_for(plus)
    genome = plus if strand == "+" else reverse_complement(plus)

    def flip(a: int, b: int) -> tuple[int, int]:
        return (a, b) if strand == "+" else (LENGTH + 1 - b, LENGTH + 1 - a)

    exons = [flip(a, b) for a, b in EXONS]
    cds = flip(*CDS)
    fasta = directory / f"gene{strand}.fa"
    lines = [genome[i : i + 60] for i in range(0, len(genome), 60)]
    fasta.write_text(">chrT synthetic\n" + "\n".join(lines) + "\n")
    model = {
        "name": "NM_SYN1.1",
        "gene": "SYN1",
        "chrom": "chrT",
        "strand": strand,
        "exons": [{"start": a, "end": b} for a, b in exons],
        "cds_start": cds[0],
        "cds_end": cds[1],
    }
    transcript_json = directory / f"tx{strand}.json"
    transcript_json.write_text(json.dumps(model))
    gff_lines = ["##gff-version 3"]
    gff_lines.append(
        f"chrT\ttest\tmRNA\t{min(a for a, _ in exons)}\t{max(b for _, b in exons)}\t.\t{strand}"
        "\t.\tID=tx1;Name=NM_SYN1.1;gene=SYN1"
    )
    for a, b in exons:
        gff_lines.append(f"chrT\ttest\texon\t{a}\t{b}\t.\t{strand}\t.\tParent=tx1")
        lo, hi = max(a, cds[0]), min(b, cds[1])
        if lo <= hi:
            gff_lines.append(f"chrT\ttest\tCDS\t{lo}\t{hi}\t.\t{strand}\t0\tParent=tx1")
    gff3 = directory / f"tx{strand}.gff3"
    gff3.write_text("\n".join(gff_lines) + "\n")
    return Gene(fasta, transcript_json, gff3, strand, genome, guide)
