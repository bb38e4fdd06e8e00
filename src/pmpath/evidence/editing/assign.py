"""Assigning reads to amplicons: which amplicon (and strand) a read comes from.

Computes, for a read, the candidate amplicons and strands ranked by shared k-mers. The final
choice is the candidate whose alignment scores best (:mod:`pmpath.evidence.editing.quantify`);
a read with fewer than ``min_votes`` seed hits on every amplicon is unassigned (counted, not
dropped silently).

Method: seed voting, the idea of CRISPResso2's orientation seeds (Clement et al., Nat Biotechnol
2019) and of k-mer read classifiers generally: every 12-mer of each amplicon and of its reverse
complement goes into a dict; a read's 12-mers taken every 10 bases vote for the amplicons and
strands that hold them. Plain Python dicts (hashing strings is what CPython does fastest); no
library offers this for a handful of references.
"""

from __future__ import annotations

from collections import Counter

from pmpath.domain.sequence import reverse_complement

KMER = 12
STEP = 10


class AmpliconIndex:
    """A k-mer index of a few amplicons on both strands."""

    def __init__(self, amplicons: list[str], *, min_votes: int = 2) -> None:
        self.min_votes = min_votes
        self._index: dict[str, set[tuple[int, bool]]] = {}
        for number, sequence in enumerate(amplicons):
            for reverse, strand in ((False, sequence), (True, reverse_complement(sequence))):
                for i in range(len(strand) - KMER + 1):
                    self._index.setdefault(strand[i : i + KMER], set()).add((number, reverse))

    def candidates(
        self, read: str, *, step: int = STEP, min_votes: int | None = None
    ) -> list[tuple[int, bool]]:
        """Return (amplicon number, read is reverse-complemented) pairs with at least
        ``min_votes`` (default: the index's) seed hits among the read's 12-mers taken every
        ``step`` bases, best first (ties keep amplicon order)."""
        votes: Counter[tuple[int, bool]] = Counter()
        needed = self.min_votes if min_votes is None else min_votes
        for i in range(0, max(len(read) - KMER + 1, 0), step):
            hits = self._index.get(read[i : i + KMER])
            if hits:
                votes.update(hits)
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        return [key for key, count in ranked if count >= needed]

    def holds_seed(self, read: str, amplicon: int) -> bool:
        """Return whether one of the read's 12-mers (every one) is on ``amplicon``'s + strand:
        :meth:`candidates` with step 1 and one vote would list (amplicon, False)."""
        key = (amplicon, False)
        index = self._index
        return any(key in index.get(read[i : i + KMER], ()) for i in range(len(read) - KMER + 1))
