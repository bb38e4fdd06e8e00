"""Simulated data with known truth, for tests, benchmarks and the demo (like ``sklearn.datasets``).

- :mod:`.amplicon`: amplicon sequencing reads (FASTQ) drawn from given alleles, with the truth of
  every read in its name.

Nothing here is used by an analysis: simulators only write the files an analysis then reads.
"""
