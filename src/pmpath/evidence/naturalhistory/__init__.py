"""Elements 3 and 5: natural-history models and treated patients' improvement against them.

- :mod:`.data`: the subject and observation tables (CSV or Parquet), validated on load.
- :mod:`.describe`: Kaplan-Meier, mixed-effects trajectory and negative-binomial event rates.
- :mod:`.adequacy`: is the natural history adequate as a comparator for a given treated patient.
- :mod:`.compare`: one-sample log-rank, conditional trajectory prediction, event-rate ratios.
- :mod:`.durability`: the effect re-estimated over successive windows after dosing.
- :mod:`.figures`: matplotlib figures of each result.
"""
