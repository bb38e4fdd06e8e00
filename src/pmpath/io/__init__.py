"""Reading and writing files on kept libraries: FASTA (random access), FASTQ (dnaio), VCF,
GFF3/GTF, and atomic writes. Every reader raises errors that name the file, the line or record
and what is wrong with it."""
