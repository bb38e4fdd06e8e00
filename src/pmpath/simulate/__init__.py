"""Simulated data with known truth, for tests, benchmarks and the demo (like ``sklearn.datasets``).

- :mod:`.amplicon`: amplicon sequencing reads (FASTQ) drawn from given alleles, with the truth of
  every read in its name.
- :mod:`.natural_history`: natural-history cohorts and treated patients from a stated model.
- :mod:`.gene`: a synthetic gene (FASTA and transcript model) carrying a patient variant that a
  base editor can correct, with the guide that does it.

Nothing here is used by an analysis: simulators only write the files an analysis then reads.
"""
