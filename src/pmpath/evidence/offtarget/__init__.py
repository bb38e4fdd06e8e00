"""Off-target nomination: genome-wide candidate search (mismatches, bulges, variant-aware),
CFD and MIT scores, gene annotation, amplicon panels for follow-up sequencing.

Modules: :mod:`.genome` (streamed FASTA), :mod:`.scan` (the search) and :mod:`.kernel` (its
compiled loop), :mod:`.variants` (VCF alternative alleles), :mod:`.score` (CFD, MIT),
:mod:`.annotate` (GFF3/GTF), :mod:`.nominate` (the whole nomination), :mod:`.output`
(TSV, JSON), :mod:`.panel` (amplicons).
"""
