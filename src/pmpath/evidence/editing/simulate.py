"""Moved to :mod:`pmpath.simulate.amplicon` (simulators live in :mod:`pmpath.simulate`).

Kept only so that callers not yet moved (the demo) keep importing; import from
:mod:`pmpath.simulate.amplicon` instead.
"""

from pmpath.simulate.amplicon import simulate_amplicon_reads

__all__ = ["simulate_amplicon_reads"]
